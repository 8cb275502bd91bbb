"""The Redis backend as installed: its Lua scripts ship in the wheel; redis-py stays optional."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingestkit_core.execution.redis import RedisExecutionOptions, WorkerOptions

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "packages/ingestkit-core/src/ingestkit_core/execution/redis/scripts"


def test_the_wheel_carries_every_lua_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(ROOT / "packages/ingestkit-core")],
        check=True,
        capture_output=True,
    )  # fmt: skip
    [wheel] = tmp_path.glob("ingestkit_core-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(name).name for name in archive.namelist() if name.endswith(".lua")}
    expected = {path.name for path in SCRIPTS.glob("*.lua")}
    assert len(expected) >= 9
    assert shipped == expected


def test_core_imports_without_redis_py_and_names_the_extra_to_install() -> None:
    # A real interpreter in which `import redis` fails, as on an install without the extra.
    probe = textwrap.dedent(
        """
        import sys
        sys.modules["redis"] = None
        import ingestkit_core
        from ingestkit_core.execution.redis import RedisExecutionOptions, WorkerOptions
        RedisExecutionOptions(prefix="fine")
        assert "redis" not in [m for m in sys.modules if sys.modules[m] is not None]
        try:
            from ingestkit_core.execution.redis import RedisExecutionBackend
        except ImportError as exc:
            print(exc)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'ingestkit-core[redis]'" in done.stdout


@pytest.mark.parametrize(
    ("model", "values", "field"),
    [
        (RedisExecutionOptions, {"prefix": "bad prefix"}, "prefix"),
        (RedisExecutionOptions, {"lease_s": 0.1}, "lease_s"),
        (RedisExecutionOptions, {"inline_max_mb": 0}, "inline_max_mb"),
        (RedisExecutionOptions, {"file_transfer": "ftp"}, "file_transfer"),
        (RedisExecutionOptions, {"inline_max_bytes": 5}, "inline_max_bytes"),
        (WorkerOptions, {"workers": 0}, "workers"),
        (WorkerOptions, {"max_timeout_s": 0}, "max_timeout_s"),
        (WorkerOptions, {"concurrency": 2}, "concurrency"),
    ],
)
def test_invalid_options_raise_validation_errors_naming_the_field(
    model: type[RedisExecutionOptions | WorkerOptions], values: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(values)
    assert [error["loc"] for error in raised.value.errors()] == [(field,)]


def test_every_option_is_described() -> None:
    for model in (RedisExecutionOptions, WorkerOptions):
        undescribed = [name for name, info in model.model_fields.items() if not info.description]
        assert undescribed == [], model.__name__
