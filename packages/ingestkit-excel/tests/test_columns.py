from __future__ import annotations

import datetime as dt

from ingestkit_excel.columns import render, type_column


def test_whole_numbers_become_integers_and_fractions_reals() -> None:
    assert type_column([1.0, 2.0, 3.0]).values == [1, 2, 3]
    assert type_column([1.0, 2.0, 3.0]).type == "integer"
    real = type_column([1.5, 2.0, ""])
    assert (real.type, real.values) == ("real", [1.5, 2.0, None])


def test_salary_like_numbers_never_become_dates() -> None:
    # 45000 is a plausible Excel date serial; without a date number format it is money.
    typed = type_column([45000.0, 52000.5, 61000.0])
    assert typed.type == "real"
    assert typed.values == [45000.0, 52000.5, 61000.0]


def test_dates_and_datetimes_are_iso_strings() -> None:
    dates = type_column([dt.date(2024, 1, 5), "", dt.date(2023, 12, 31)])
    assert (dates.type, dates.values) == ("date", ["2024-01-05", None, "2023-12-31"])
    mixed = type_column([dt.date(2024, 1, 5), dt.datetime(2024, 1, 6, 8, 30)])
    assert (mixed.type, mixed.values) == ("datetime", ["2024-01-05T00:00:00", "2024-01-06T08:30:00"])


def test_null_markers_do_not_force_text() -> None:
    typed = type_column([10.0, "n/a", "-", 12.0, "#N/A"])
    assert (typed.type, typed.values) == ("integer", [10, None, None, 12, None])


def test_mixed_columns_are_text_rendered_cleanly() -> None:
    typed = type_column(["A-1", 2.0, dt.date(2024, 2, 1), True, 2.5])
    assert typed.type == "text"
    assert typed.values == ["A-1", "2", "2024-02-01", "TRUE", "2.5"]


def test_booleans_and_empty_columns() -> None:
    assert type_column([True, False, ""]).values == [True, False, None]
    assert type_column([True, False]).type == "boolean"
    assert type_column(["", ""]).values == [None, None]
    assert render(3.0) == "3"


def test_numbers_beyond_64_bits_stay_real() -> None:
    assert type_column([1e20, 2.0]).type == "real"
