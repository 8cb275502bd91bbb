"""LocalExecutionOptions: one declaration, described for the CLI, refused clearly when wrong."""

from __future__ import annotations

import os

import pytest

from ingestkit_core import ConfigError, ErrorCode, LocalExecutionBackend, LocalExecutionOptions


def test_every_option_is_described() -> None:
    for name, field in LocalExecutionOptions.model_fields.items():
        assert field.description, f"LocalExecutionOptions.{name} has no description"


def test_an_empty_worker_count_means_the_cpu_count() -> None:
    assert LocalExecutionOptions(workers=None).workers == (os.cpu_count() or 1)  # type: ignore[arg-type]
    assert LocalExecutionOptions(workers=3).workers == 3


def test_keyword_overrides_keep_the_options_they_do_not_name() -> None:
    options = LocalExecutionOptions(strategy="thread", workers=3, timeout_s=12)
    with LocalExecutionBackend(options, timeout_s=5) as backend:
        assert backend.options == LocalExecutionOptions(strategy="thread", workers=3, timeout_s=5)


@pytest.mark.parametrize(
    ("overrides", "named"),
    [({"workers": 0}, "workers"), ({"max_workers": 2}, "max_workers"), ({"strategy": "fork"}, "strategy")],
)
def test_invalid_options_are_a_config_error_naming_the_field(
    overrides: dict[str, object], named: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        LocalExecutionBackend(**overrides)
    assert raised.value.code is ErrorCode.E_CONFIG_INVALID
    assert f"{named}:" in raised.value.message
