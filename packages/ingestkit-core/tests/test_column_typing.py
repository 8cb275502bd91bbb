"""Column typing shared by every format: markers, majorities, text numbers and dates."""

from __future__ import annotations

import datetime as dt

from ingestkit_core.columns import (
    date_order,
    is_null_marker,
    strip_leaders,
    text_date,
    text_number,
    type_column,
)


def test_null_markers_are_null_in_a_typed_column_and_counted() -> None:
    markers = ["-", "na", "..", "NA", "*", "<5", "n/a", "..C", "(s)"]
    typed = type_column([*markers, 1.0, 2.0])
    assert typed.type == "integer"
    assert typed.values == [None] * len(markers) + [1, 2]
    assert typed.markers["<5"] == 1
    assert all(is_null_marker(marker) for marker in markers)
    assert not is_null_marker("5")


def test_null_markers_stay_as_written_in_a_text_column() -> None:
    typed = type_column(["Music", "NA", "Drama"])
    assert (typed.type, typed.values) == ("text", ["Music", "NA", "Drama"])


def test_ninety_five_percent_majority_and_exceptions() -> None:
    values: list[object] = [float(n) for n in range(40)] + ["10 - really?"]
    typed = type_column(values)  # type: ignore[arg-type]
    assert typed.type == "integer"
    assert typed.values[-1] is None
    assert typed.exceptions == [(40, "10 - really?")]
    few = type_column([1.0, 2.0, 3.0, "ten"])
    assert few.type == "text"
    assert few.values == ["1", "2", "3", "ten"]


def test_text_numbers() -> None:
    typed = type_column(["1,234", " 41", "-7", "$1 200.50", ""])
    assert (typed.type, typed.values, typed.converted) == ("real", [1234.0, 41.0, -7.0, 1200.5, None], 4)
    assert text_number("0123") is None  # a code, not a number
    assert text_number("12345678901234567890") is None  # an identifier
    assert text_number("1.5e3") == 1500.0
    assert text_number("20.5 %") == 20.5


def test_text_dates_day_first_unless_the_column_says_otherwise() -> None:
    dotted = type_column(["31.12.2024", "01.02.2023", "-"])
    assert (dotted.type, dotted.values) == ("date", ["2024-12-31", "2023-02-01", None])
    slashed = type_column(["03/04/2024", "13/04/2024"])
    assert slashed.values == ["2024-04-03", "2024-04-13"]
    us = type_column(["03/04/2024", "12/31/2024"])
    assert us.values == ["2024-03-04", "2024-12-31"]
    assert date_order([["12/06/2021"], ["29/01/2020"]]) is True
    assert type_column(["12/06/2021"], day_first=False).values == ["2021-12-06"]
    assert text_date("2024-02-30") is None
    assert text_date("2024-02-03 10:30") == dt.datetime(2024, 2, 3, 10, 30)


def test_a_salary_never_becomes_a_date() -> None:
    typed = type_column([45000.0, 52000.5, "61,000"])
    assert (typed.type, typed.values) == ("real", [45000.0, 52000.5, 61000.0])


def test_reader_dates_and_times() -> None:
    assert type_column([dt.date(2024, 1, 5), None]).values == ["2024-01-05", None]
    mixed = type_column([dt.date(2024, 1, 5), dt.datetime(2024, 1, 6, 8, 30)])
    assert (mixed.type, mixed.values) == ("datetime", ["2024-01-05T00:00:00", "2024-01-06T08:30:00"])
    times = type_column([dt.time(1, 1), dt.time(2, 2)])
    assert (times.type, times.values) == ("text", ["01:01:00", "02:02:00"])


def test_dot_leaders_and_empty_columns() -> None:
    assert strip_leaders("March . . . . .") == "March"
    assert strip_leaders("Total……") == "Total"
    assert strip_leaders("U.S.") == "U.S."
    assert type_column(["March . . . .", "April ......"]).values == ["March", "April"]
    assert type_column(["", ""]).values == [None, None]
    assert type_column([True, False, None]).type == "boolean"
    assert type_column([1e20, 2.0]).type == "real"
