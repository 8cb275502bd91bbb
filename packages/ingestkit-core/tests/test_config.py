from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from ingestkit_core import ConfigError, LocalExecutionBackend, load_config
from ingestkit_core.config import IngestkitConfig, StoreOptions, build_backend
from ingestkit_core.execution.local import LocalExecutionOptions
from ingestkit_core.execution.redis import RedisExecutionOptions, WorkerOptions
from ingestkit_core.registry import processors
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


def _settable_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    paths = set()
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths |= _settable_paths(annotation, (*prefix, name))
        else:
            paths.add((*prefix, name))
    return paths


@pytest.mark.parametrize(
    ("section", "model"),
    [
        (("execution",), LocalExecutionOptions),
        (("execution", "redis"), RedisExecutionOptions),
        (("worker",), WorkerOptions),
        (("store",), StoreOptions),
    ],
)
def test_every_component_option_can_be_set_from_the_config_file(
    section: tuple[str, ...], model: type[BaseModel]
) -> None:
    settable = _settable_paths(IngestkitConfig)
    missing = {
        ".".join((*section, *path))
        for path in _settable_paths(model)
        if (*section, *path) not in settable and path != ("strategy",)  # strategy follows backend
    }
    assert not missing, f"options a config file cannot set: {sorted(missing)}"


def test_every_processor_option_can_be_set_from_its_section() -> None:
    unsettable = []
    for name, processor in processors().items():
        fields = _settable_paths(processor.options_model) - {("processor",)}
        assert fields, name
        for path in fields:
            section: dict[str, object] = {}
            cursor = section
            for part in path[:-1]:
                cursor = cursor.setdefault(part, {})  # type: ignore[assignment]
            cursor[path[-1]] = "__probe__"  # wrong type for most fields: only "not permitted" matters
            try:
                load_config(environ={}, overrides={name: section})
            except ConfigError as exc:
                if "not permitted" in str(exc):
                    unsettable.append(f"{name}.{'.'.join(path)}")
    assert not unsettable


def test_invalid_values_name_their_full_path_and_variable(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"INGESTKIT_TESTKIT__CHUNKING__MAX_TOKNS \(testkit\.chunking\.max_tokns\)"
    ):
        load_config(environ={"INGESTKIT_TESTKIT__CHUNKING__MAX_TOKNS": "100"}).options_for("testkit")
    with pytest.raises(ConfigError, match=r"INGESTKIT_EXECUTION__REDIS__PREFIX \(execution\.redis\.prefix\)"):
        load_config(environ={"INGESTKIT_EXECUTION__REDIS__PREFIX": "bad prefix"})
    path = tmp_path / "c.toml"
    path.write_text("[worker]\nworkers = 0\n")
    with pytest.raises(ConfigError, match=r"E_CONFIG_INVALID: worker\.workers: Input should be greater"):
        load_config(path, environ={})
