from __future__ import annotations

from pathlib import Path

import pytest

from ingestkit_core import ConfigError, LocalExecutionBackend, load_config
from ingestkit_core.config import build_backend
from ingestkit_testkit import TestkitOptions

TOML = """
[execution]
backend = "thread"
workers = 3
timeout_s = 120

[store]
url = "sqlite:///from-file.db"

[testkit]
label = "from-file"

[testkit.chunking]
max_tokens = 200

[testkit.execution]
timeout_s = 900
"""


def test_defaults_without_a_file() -> None:
    config = load_config(environ={})
    assert config.execution.backend == "process"
    assert config.execution.timeout_s == 300
    assert config.store.url == "sqlite:///ingestkit.db"
    assert config.options_for("testkit") == TestkitOptions()


def test_toml_file_with_per_format_override(tmp_path: Path) -> None:
    path = tmp_path / "ingestkit.toml"
    path.write_text(TOML)
    config = load_config(path, environ={})
    assert config.execution.backend == "thread"
    assert config.execution.workers == 3
    assert config.store.url == "sqlite:///from-file.db"
    options = config.options_for("testkit")
    assert isinstance(options, TestkitOptions)
    assert options.label == "from-file"
    assert options.chunking.max_tokens == 200
    assert config.timeout_for("testkit") == 900, "the format-level value wins"
    assert config.timeout_for("other") == 120


def test_yaml_file_is_equivalent(tmp_path: Path) -> None:
    path = tmp_path / "ingestkit.yaml"
    path.write_text(
        "execution:\n  backend: thread\n  workers: 3\n  timeout_s: 120\n"
        "testkit:\n  label: from-file\n  chunking: {max_tokens: 200}\n  execution: {timeout_s: 900}\n"
    )
    config = load_config(path, environ={})
    assert config.execution.backend == "thread"
    assert config.options_for("testkit").chunking.max_tokens == 200  # type: ignore[attr-defined]
    assert config.timeout_for("testkit") == 900


def test_environment_then_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ingestkit.toml"
    path.write_text(TOML)
    environ = {
        "INGESTKIT_EXECUTION__BACKEND": "inline",
        "INGESTKIT_TESTKIT__CHUNKING__MAX_TOKENS": "300",
        "INGESTKIT_TESTKIT__LABEL": "from-env",
        "INGESTKIT_TEST_REDIS_URL": "redis://ignored",  # not a config variable: no "__"
    }
    config = load_config(path, environ=environ, overrides={"execution": {"workers": 7}})
    assert config.execution.backend == "inline"
    assert config.execution.workers == 7
    options = config.options_for("testkit")
    assert options.chunking.max_tokens == 300  # type: ignore[attr-defined]
    assert options.label == "from-env"  # type: ignore[attr-defined]


def test_switching_backend_is_config_only() -> None:
    for name in ("inline", "thread", "process"):
        config = load_config(environ={"INGESTKIT_EXECUTION__BACKEND": name})
        with build_backend(config.execution) as backend:
            assert isinstance(backend, LocalExecutionBackend)
            assert backend.strategy == name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[execution]\nbackend = 'cloud'\n", "backend"),
        ("[execution]\nworkerz = 2\n", "workerz"),
        ("[testkit]\nlabel = 1\nunknown = 2\n", "unknown"),
        ("[pfd]\nx = 1\n", r"unknown config section\(s\) pfd"),
        ("[testkit.execution]\nretries = 1\n", "retries"),
        ("not toml = = =", "not valid"),
    ],
)
def test_bad_config_names_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, environ={})


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "nope.toml", environ={})
