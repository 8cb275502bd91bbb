"""Import layers, checked rather than hoped for (``make lint`` runs this file too).

- Every package imports core, never another format package; core imports no format.
- Inside core, module-level imports form no cycle, and lower layers never import
  upper ones: models and errors import nothing of the pipeline; stores and execution
  never import the ingestor, routers, config or the CLI; only the CLI imports the CLI.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "packages"
CORE = ROOT / "ingestkit-core" / "src" / "ingestkit_core"
FORMATS = {"ingestkit_pdf", "ingestkit_excel", "ingestkit_office", "ingestkit_text"}
UPPER = ("ingestkit_core.ingestor", "ingestkit_core.router", "ingestkit_core.config", "ingestkit_core.cli")
FORBIDDEN = {
    "ingestkit_core.models": ("ingestkit_core.",),
    "ingestkit_core.errors": ("ingestkit_core.",),
    "ingestkit_core.stores": UPPER,
    "ingestkit_core.execution": UPPER,
    "ingestkit_core.stages": UPPER,
    "ingestkit_core.embedding": UPPER,
    "ingestkit_core.routing": UPPER,
}
ALLOWED_FROM_MODELS = {"ingestkit_core.errors"}


def module_name(path: Path, src: Path) -> str:
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def top_level_imports(tree: ast.Module, name: str, is_package: bool) -> Iterator[str]:
    """Imports run when the module is imported: not in functions, not under TYPE_CHECKING."""
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for child in ast.walk(node) if not isinstance(node, ast.FunctionDef | ast.ClassDef) else ():
            if isinstance(child, ast.Import):
                yield from (alias.name for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = name.split(".") if is_package else name.split(".")[:-1]
                    base = base[: len(base) - child.level + 1]
                    yield ".".join([*base, child.module] if child.module else base)
                elif child.module:
                    yield child.module


def graph(src: Path) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in src.rglob("*.py"):
        name = module_name(path, src.parent)
        tree = ast.parse(path.read_text())
        edges[name] = set(top_level_imports(tree, name, path.name == "__init__.py"))
    return edges


def test_packages_import_core_and_never_each_other() -> None:
    for package in ROOT.iterdir():
        src = package / "src"
        if not src.is_dir():
            continue
        for module, imports in graph(next(src.iterdir())).items():
            own = module.split(".")[0]
            for imported in imports:
                top = imported.split(".")[0]
                assert top not in FORMATS or top == own, f"{module} imports {imported}"


def test_core_has_no_import_cycle() -> None:
    edges = graph(CORE)
    internal = {
        module: {target for target in targets if target in edges and target != module}
        for module, targets in edges.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in internal[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            # A package's __init__ re-exporting its own modules is not a cycle of layers.
            if len(component) > 1 and not _package_and_children(component):
                cycles.append(sorted(component))

    for node in internal:
        if node not in index:
            visit(node)
    assert not cycles, f"import cycles: {cycles}"


def _package_and_children(component: list[str]) -> bool:
    shortest = min(component, key=len)
    return all(member == shortest or member.startswith(shortest + ".") for member in component)


def test_lower_layers_never_import_upper_ones() -> None:
    violations = []
    for module, imports in graph(CORE).items():
        for layer, forbidden in FORBIDDEN.items():
            if module != layer and not module.startswith(layer + "."):
                continue
            for imported in imports:
                if imported.startswith(forbidden) and not (
                    imported in ALLOWED_FROM_MODELS or imported.startswith(layer)
                ):
                    violations.append(f"{module} imports {imported}")
        if not module.startswith("ingestkit_core.cli"):
            violations += [f"{module} imports {i}" for i in imports if i.startswith("ingestkit_core.cli")]
    assert not violations
