"""Each package is a real distribution, and dependencies point one way: formats -> core."""

from __future__ import annotations

import ast
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["ingestkit-core", "ingestkit-pdf", "ingestkit-excel"]


def build_wheel(package: str, out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT / "packages" / package),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob(f"{package.replace('-', '_')}-*.whl")
    return wheel


def metadata(wheel: Path) -> tuple[list[str], str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        message = Parser().parsestr(archive.read(name).decode())
        entry_points = next((n for n in archive.namelist() if n.endswith("entry_points.txt")), None)
        entries = archive.read(entry_points).decode() if entry_points else ""
    requires = [req.split(";")[0].strip() for req in message.get_all("Requires-Dist") or []]
    return requires, entries


@pytest.mark.parametrize("package", PACKAGES)
def test_wheel_builds_and_depends_only_on_core(package: str, tmp_path: Path) -> None:
    requires, entries = metadata(build_wheel(package, tmp_path))
    names = {req.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip() for req in requires}
    if package == "ingestkit-core":
        assert not names & {"ingestkit-pdf", "ingestkit-excel"}
        assert "ingestkit = ingestkit_core.cli:main" in entries
    else:
        assert "ingestkit-core" in names
        assert not names & (set(PACKAGES) - {"ingestkit-core", package})
        assert "[ingestkit.processors]" in entries


def test_core_never_imports_a_format_package() -> None:
    for source in (ROOT / "packages/ingestkit-core/src").rglob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert not module.startswith(("ingestkit_pdf", "ingestkit_excel")), f"{source}: {module}"


def test_format_packages_never_import_each_other() -> None:
    for package, other in (("ingestkit-pdf", "ingestkit_excel"), ("ingestkit-excel", "ingestkit_pdf")):
        for source in (ROOT / "packages" / package / "src").rglob("*.py"):
            assert other not in source.read_text(), f"{source} mentions {other}"
