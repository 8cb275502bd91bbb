"""Deterministic, realistic workbooks for the spreadsheet demo and benchmark.

``generate(out_dir, seed=0)`` writes a small set of workbooks — an HR roster table, an
onboarding checklist with merged headers, a skills matrix, and a hybrid report sheet
(title block, table with a totals row, notes) — and returns what they hold, so a test
or a demo can check the extraction against it. ``generate_large(out_dir, rows=100_000)``
writes the benchmark's typed 12-column sheet.

    python benchmarks/corpus_excel.py OUT_DIR [--large-rows N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
from pathlib import Path
from typing import Any

import xlsxwriter

FIRST = ["Ada", "Ben", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas", "Kemi", "Luca"]
LAST = ["Lovelace", "Okafor", "Martin", "Ivanov", "Schmidt", "Haddad", "Hopper", "Tanaka", "Silva", "Berg"]
DEPARTMENTS = ["Finance", "HR", "IT", "Operations", "Sales"]
CITIES = ["Berlin", "Lisbon", "Nairobi", "Osaka", "Toronto"]
LARGE_HEADER = [
    "Employee ID", "Full name", "Department", "Hire date", "Annual salary", "Bonus",
    "Active", "Rating", "City", "Cost centre", "Last login", "Notes",
]  # fmt: skip


def _fixed_props(book: xlsxwriter.Workbook) -> None:
    # A fixed creation time keeps the bytes identical from run to run.
    book.set_properties({"created": dt.datetime(2024, 1, 1), "author": "ingestkit corpus"})


def roster(path: Path, rnd: random.Random, rows: int = 40) -> dict[str, Any]:
    """One clean table: ids, names, dates, salaries (money format), booleans."""
    book = xlsxwriter.Workbook(str(path))
    _fixed_props(book)
    sheet = book.add_worksheet("Staff")
    bold = book.add_format({"bold": True})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, ["Employee ID", "Name", "Department", "Start date", "Salary", "Remote"], bold)
    salaries = []
    for index in range(rows):
        salary = rnd.randrange(38_000, 140_000, 500)
        salaries.append(salary)
        sheet.write_number(index + 1, 0, 1001 + index)
        sheet.write_string(index + 1, 1, f"{rnd.choice(FIRST)} {rnd.choice(LAST)}")
        sheet.write_string(index + 1, 2, rnd.choice(DEPARTMENTS))
        start = dt.datetime(2012, 1, 1) + dt.timedelta(days=rnd.randrange(4000))
        sheet.write_datetime(index + 1, 3, start, date)
        sheet.write_number(index + 1, 4, salary, money)
        sheet.write_boolean(index + 1, 5, rnd.random() < 0.4)
    book.close()
    return {"file": path.name, "tables": {"Staff": {"rows": rows, "salary_sum": sum(salaries)}}}


def checklist(path: Path, rnd: random.Random) -> dict[str, Any]:
    """An onboarding checklist: merged title, two-row merged header, section rows, marks."""
    book = xlsxwriter.Workbook(str(path))
    _fixed_props(book)
    sheet = book.add_worksheet("Onboarding")
    head = book.add_format({"bold": True, "align": "center"})
    sheet.merge_range("A1:E1", "New starter onboarding checklist", head)
    sheet.merge_range("A3:A4", "Task", head)
    sheet.merge_range("B3:B4", "Owner", head)
    sheet.merge_range("C3:E3", "Status", head)
    sheet.write_row(3, 2, ["Done", "Date", "Comment"], head)
    sections = {
        "Before the first day": [
            ("Send the signed contract and the employee handbook", "HR"),
            ("Order a laptop and a security badge", "IT"),
            ("Create accounts for email, chat and the HR portal", "IT"),
        ],
        "First week": [
            ("Introduce the team and assign an onboarding buddy", "Manager"),
            ("Explain annual leave, carry over rules and the holiday calendar", "HR"),
            ("Complete the mandatory security awareness training", "Employee"),
        ],
    }
    row = 4
    items = []
    for section, tasks in sections.items():
        sheet.merge_range(row, 0, row, 4, section, head)
        row += 1
        for task, owner in tasks:
            done = rnd.random() < 0.6
            sheet.write_row(row, 0, [task, owner, "✓" if done else "☐"])
            if done:
                sheet.write_string(row, 3, f"2024-02-{rnd.randrange(1, 28):02d}")
            items.append(task)
            row += 1
    book.close()
    return {"file": path.name, "items": items, "sections": list(sections)}


def matrix(path: Path, rnd: random.Random) -> dict[str, Any]:
    """A skills matrix: people down the side, skills across the top, x marks inside."""
    book = xlsxwriter.Workbook(str(path))
    _fixed_props(book)
    sheet = book.add_worksheet("Skills")
    skills = ["Python", "SQL", "Excel", "Tableau", "Spanish"]
    sheet.write_row(0, 1, skills)
    people = [f"{first} {rnd.choice(LAST)}" for first in FIRST[:8]]
    marks = {}
    for index, person in enumerate(people, start=1):
        sheet.write_string(index, 0, person)
        marked = [skill for skill in skills if rnd.random() < 0.45]
        marks[person] = marked
        for skill in marked:
            sheet.write_string(index, 1 + skills.index(skill), "x")
    book.close()
    return {"file": path.name, "marks": marks}


def hybrid(path: Path, rnd: random.Random) -> dict[str, Any]:
    """A report sheet: title block, key-value block, a table with a totals row, notes."""
    book = xlsxwriter.Workbook(str(path))
    _fixed_props(book)
    sheet = book.add_worksheet("Q1 report")
    bold = book.add_format({"bold": True})
    money = book.add_format({"num_format": "#,##0"})
    sheet.write_string(0, 0, "Regional sales report — Q1 2024", bold)
    sheet.write_row(2, 0, ["Prepared by:", "Finance team"])
    sheet.write_row(3, 0, ["Currency:", "EUR"])
    sheet.write_row(4, 0, ["Status:", "Final"])
    sheet.write_row(6, 0, ["Region", "January", "February", "March", "Q1 total"], bold)
    totals = [0, 0, 0, 0]
    regions = ["North", "South", "East", "West", "Central"]
    for index, region in enumerate(regions, start=7):
        months = [rnd.randrange(20_000, 90_000) for _ in range(3)]
        values = [*months, sum(months)]
        totals = [a + b for a, b in zip(totals, values, strict=True)]
        sheet.write_string(index, 0, region)
        for col, value in enumerate(values, start=1):
            sheet.write_number(index, col, value, money)
    total_row = 7 + len(regions)
    sheet.write_string(total_row, 0, "Total", bold)
    for col, value in enumerate(totals, start=1):
        sheet.write_number(total_row, col, value, money)
    sheet.write_string(total_row + 2, 0, "Notes: figures are net of returns and exclude intra-group sales.")
    sheet.write_string(
        total_row + 3, 0, "Source: ERP export of 2024-04-03, reconciled with the general ledger."
    )
    book.close()
    return {"file": path.name, "regions": regions, "q1_total": totals[3]}


def generate(out_dir: Path, *, seed: int = 0, rows: int = 40) -> dict[str, Any]:
    """Write the small realistic workbooks into ``out_dir``; returns their ground truth."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rnd = random.Random(seed)
    return {
        "roster": roster(out_dir / "staff_roster.xlsx", rnd, rows),
        "checklist": checklist(out_dir / "onboarding_checklist.xlsx", rnd),
        "matrix": matrix(out_dir / "skills_matrix.xlsx", rnd),
        "hybrid": hybrid(out_dir / "q1_sales_report.xlsx", rnd),
    }


def generate_large(out_dir: Path, *, rows: int = 100_000, seed: int = 0) -> Path:
    """The benchmark sheet: ``rows`` x 12 typed columns (ints, text, dates, money, bools…)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"typed_{rows}x12.xlsx"
    rnd = random.Random(seed)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    _fixed_props(book)
    sheet = book.add_worksheet("Data")
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    money = book.add_format({"num_format": "#,##0.00"})
    sheet.write_row(0, 0, LARGE_HEADER)
    start = dt.datetime(2005, 1, 1)
    for row in range(1, rows + 1):
        sheet.write_number(row, 0, 100_000 + row)
        sheet.write_string(row, 1, f"{rnd.choice(FIRST)} {rnd.choice(LAST)}")
        sheet.write_string(row, 2, rnd.choice(DEPARTMENTS))
        sheet.write_datetime(row, 3, start + dt.timedelta(days=rnd.randrange(7000)), date)
        sheet.write_number(row, 4, rnd.randrange(30_000, 180_000, 250), money)
        sheet.write_number(row, 5, round(rnd.random() * 5000, 2), money)
        sheet.write_boolean(row, 6, rnd.random() < 0.8)
        sheet.write_number(row, 7, rnd.randrange(1, 6))
        sheet.write_string(row, 8, rnd.choice(CITIES))
        sheet.write_string(row, 9, f"CC-{rnd.randrange(100, 999)}")
        sheet.write_datetime(row, 10, start + dt.timedelta(seconds=rnd.randrange(600_000_000)), stamp)
        sheet.write_string(row, 11, "ok" if row % 7 else "review pending")
    book.close()
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--large-rows", type=int, default=0, help="Also write the typed benchmark sheet")
    args = parser.parse_args()
    truth = generate(args.out_dir, seed=args.seed)
    for name, info in truth.items():
        print(f"{name}: {args.out_dir / info['file']}")
    if args.large_rows:
        print(f"large: {generate_large(args.out_dir, rows=args.large_rows, seed=args.seed)}")


if __name__ == "__main__":
    main()
