"""A deterministic office-style PDF corpus with known ground truth.

Every document has a running header (company and title) and a footer ("Page N of M"
plus a confidentiality line), numbered headings in bold, paragraphs with the odd
hyphenated line break, bulleted and lettered lists; some documents are set in two
columns with full-width headings between column sections, and about a third of the
pages carry a ruled table (some continued over two pages, header row repeated). The
same seed always gives the same bytes, so benchmark numbers compare across runs.

    python benchmarks/corpus_pdf.py OUT_DIR [--pages N] [--seed S] [--tables R]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pymupdf

PAGE_W, PAGE_H = 612.0, 792.0
MARGIN_X = 72.0
BODY_TOP, BODY_BOTTOM = 92.0, 730.0
GUTTER = 24.0
BODY_SIZE = 10.0
LEADING = 1.32
HEADING_SIZES = {1: 15.0, 2: 12.5}
TABLE_COLUMNS = ["Item", "Region", "Quantity", "Unit price", "Due date"]
TABLE_TYPES = ["text", "text", "integer", "real", "date"]
TABLE_COL_WIDTHS = [0.30, 0.20, 0.14, 0.16, 0.20]
TABLE_ROW_H = 17.0

COMPANIES = ["Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Tailspin Toys", "Litware Group"]
TITLES = [
    "Employee Handbook",
    "Travel and Expense Policy",
    "Quarterly Operations Review",
    "Information Security Standard",
    "Procurement Guidelines",
    "Facilities Management Plan",
]
SECTIONS = [
    "Introduction",
    "Scope and Applicability",
    "Annual Leave",
    "Working Hours",
    "Expense Claims",
    "Approvals",
    "Data Protection",
    "Supplier Selection",
    "Health and Safety",
    "Reporting",
    "Training",
    "Review Cycle",
]
SUBJECTS = ["Employees", "Managers", "The finance team", "Each department", "Contractors", "The committee"]
VERBS = [
    "must submit",
    "should review",
    "may request",
    "are required to document",
    "will approve",
    "can carry over",
]
OBJECTS = [
    "annual leave requests",
    "expense reports",
    "supplier invoices",
    "quarterly forecasts",
    "access permissions",
    "training records",
    "incident reports",
    "purchase orders",
]
TAILS = [
    "before the end of each calendar month",
    "through the internal administration portal",
    "in accordance with the documented responsibilities",
    "after consultation with the relevant stakeholders",
    "within ten working days of the triggering event",
    "unless an exception has been approved in writing",
    "to ensure transparency and accountability",
    "as described in the accompanying procedures",
]
LONG_WORDS = [
    "notwithstanding",
    "administrative",
    "responsibilities",
    "comprehensive",
    "implementation",
    "documentation",
    "reimbursement",
    "authorisation",
]
ITEMS = [
    "Laptop",
    "Monitor",
    "Desk chair",
    "Headset",
    "Docking station",
    "Printer toner",
    "Projector",
    "Webcam",
]
REGIONS = ["North", "South", "East", "West", "Central"]


@dataclass
class TableTruth:
    pages: list[int]
    header: list[str]
    types: list[str]
    rows: list[list[str]]


@dataclass
class DocumentTruth:
    path: str
    pages: int
    columns: int
    header_text: str
    footer_text: str
    headings: list[tuple[int, str, int]] = field(default_factory=list)
    """(level, text, 1-based page)."""
    tables: list[TableTruth] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    list_items: list[str] = field(default_factory=list)

    @property
    def table_pages(self) -> set[int]:
        return {page for table in self.tables for page in table.pages}


_FONTS: dict[bool, pymupdf.Font] = {}
_WIDTHS: dict[tuple[bool, str], float] = {}


def _font(bold: bool) -> pymupdf.Font:
    if bold not in _FONTS:
        _FONTS[bold] = pymupdf.Font("hebo" if bold else "helv")
    return _FONTS[bold]


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """Width in points, from a per-character cache (PyMuPDF's measuring is slow per call)."""
    total = 0.0
    for char in text:
        width = _WIDTHS.get((bold, char))
        if width is None:
            width = _WIDTHS[(bold, char)] = _font(bold).glyph_advance(ord(char))
        total += width
    return total * size


class _Page:
    """Text for one page, written in one go (one TextWriter per font is much faster)."""

    def __init__(self, page: pymupdf.Page) -> None:
        self.writers = {False: pymupdf.TextWriter(page.rect), True: pymupdf.TextWriter(page.rect)}

    def text(self, point: tuple[float, float], text: str, size: float, *, bold: bool = False) -> None:
        self.writers[bold].append(point, text, font=_font(bold), fontsize=size)

    def commit(self, page: pymupdf.Page) -> None:
        for writer in self.writers.values():
            writer.write_text(page)


class _Writer:
    """A tiny typesetter: flows lines into one or two columns, page after page."""

    def __init__(self, doc: pymupdf.Document, columns: int) -> None:
        self.doc = doc
        self.pages: list[_Page] = []
        self.columns = columns
        self.page: pymupdf.Page | None = None
        self.page_no = 0
        self.column = 0
        self.y = BODY_TOP
        self.section_top = BODY_TOP
        self.column_bottom = BODY_TOP
        self.width = (PAGE_W - 2 * MARGIN_X - GUTTER * (columns - 1)) / columns
        self.new_page()

    def new_page(self) -> None:
        self.page = self.doc.new_page(width=PAGE_W, height=PAGE_H)
        self.pages.append(_Page(self.page))
        self.page_no += 1
        self.column = 0
        self.y = self.section_top = self.column_bottom = BODY_TOP

    @property
    def x(self) -> float:
        return MARGIN_X + self.column * (self.width + GUTTER)

    def room(self) -> float:
        return BODY_BOTTOM - self.y

    def advance_column(self) -> None:
        self.column_bottom = max(self.column_bottom, self.y)
        if self.column + 1 < self.columns:
            self.column += 1
            self.y = self.section_top
        else:
            self.new_page()

    def full_width_break(self) -> None:
        """End the column section: the next full-width item goes below every column."""
        self.y = max(self.column_bottom, self.y)
        self.column = 0
        self.section_top = self.y

    def line(self, text: str, *, size: float = BODY_SIZE, bold: bool = False, indent: float = 0) -> None:
        height = size * LEADING
        if self.y + height > BODY_BOTTOM:
            self.advance_column()
        self.pages[-1].text((self.x + indent, self.y + size), text, size, bold=bold)
        self.y += height
        self.column_bottom = max(self.column_bottom, self.y)

    def wrap(self, text: str, rng: random.Random, *, indent: float = 0) -> list[str]:
        width = self.width - indent
        space = text_width(" ", BODY_SIZE)
        lines: list[str] = []
        current: list[str] = []
        used = 0.0
        for word in text.split():
            word_width = text_width(word, BODY_SIZE)
            extra = word_width + (space if current else 0.0)
            if used + extra <= width:
                current.append(word)
                used += extra
                continue
            if len(word) >= 9 and word.isalpha() and rng.random() < 0.5:
                # Break the word with a hyphen, as a word processor would.
                cut = len(word) // 2
                head = f"{word[:cut]}-"
                if used + space + text_width(head, BODY_SIZE) <= width:
                    lines.append(" ".join([*current, head]))
                    current, used = [word[cut:]], text_width(word[cut:], BODY_SIZE)
                    continue
            if current:
                lines.append(" ".join(current))
            current, used = [word], word_width
        if current:
            lines.append(" ".join(current))
        return lines


def _sentence(rng: random.Random) -> str:
    words = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
    if rng.random() < 0.5:
        words += f", {rng.choice(LONG_WORDS)} of the {rng.choice(LONG_WORDS)} requirements"
    return words + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(2, 5)))


def _table_rows(rng: random.Random, count: int) -> list[list[str]]:
    rows = []
    start = dt.date(2024, 1, 1)
    for _ in range(count):
        due = start + dt.timedelta(days=rng.randint(0, 700))
        rows.append(
            [
                rng.choice(ITEMS),
                rng.choice(REGIONS),
                str(rng.randint(1, 5000)),
                f"{rng.randint(1, 2000)}.{rng.randint(0, 99):02d}",
                due.isoformat(),
            ]
        )
    return rows


def _draw_table(w: _Writer, header: list[str], rows: list[list[str]]) -> None:
    """Draw header + rows as a fully ruled grid at the writer's position (full width)."""
    assert w.page is not None
    x0 = MARGIN_X
    total = PAGE_W - 2 * MARGIN_X
    xs = [x0]
    for frac in TABLE_COL_WIDTHS:
        xs.append(xs[-1] + frac * total)
    y0 = w.y + 4
    all_rows = [header, *rows]
    shape = w.page.new_shape()
    for r, row in enumerate(all_rows):
        top = y0 + r * TABLE_ROW_H
        for c, cell in enumerate(row):
            w.pages[-1].text((xs[c] + 4, top + 12), cell, 9, bold=r == 0)
    bottom = y0 + len(all_rows) * TABLE_ROW_H
    for r in range(len(all_rows) + 1):
        y = y0 + r * TABLE_ROW_H
        shape.draw_line((xs[0], y), (xs[-1], y))
    for x in xs:
        shape.draw_line((x, y0), (x, bottom))
    shape.finish(color=(0, 0, 0), width=0.6)
    shape.commit()
    w.y = bottom + 10
    w.column_bottom = max(w.column_bottom, w.y)


def _write_table(w: _Writer, truth: DocumentTruth, rng: random.Random, *, continued: bool) -> None:
    w.full_width_break()
    header = list(TABLE_COLUMNS)
    if continued:
        # Start near the bottom so the table runs over to the next page.
        while w.room() > 5 * TABLE_ROW_H:
            w.line(_sentence(rng)[:60])
    fit = int((w.room() - 14) // TABLE_ROW_H) - 1
    wanted = rng.randint(6, 14) if not continued else fit + rng.randint(4, 8)
    if fit < 3:
        w.new_page()
        fit = int((w.room() - 14) // TABLE_ROW_H) - 1
    rows = _table_rows(rng, wanted)
    first, rest = rows[:fit], rows[fit:]
    pages = [w.page_no]
    _draw_table(w, header, first)
    if rest:
        w.new_page()
        pages.append(w.page_no)
        _draw_table(w, header, rest)
    w.section_top = w.y
    truth.tables.append(TableTruth(pages=pages, header=header, types=list(TABLE_TYPES), rows=rows))


def _document(
    path: Path, rng: random.Random, *, target_pages: int, columns: int, table_ratio: float
) -> DocumentTruth:
    company = rng.choice(COMPANIES)
    title = rng.choice(TITLES)
    doc = pymupdf.open()
    w = _Writer(doc, columns)
    truth = DocumentTruth(
        path=str(path),
        pages=0,
        columns=columns,
        header_text=f"{company} — {title}",
        footer_text="Confidential — internal use only",
    )
    tabled_pages: set[int] = set()
    section = 0
    while True:
        section += 1
        name = SECTIONS[(section - 1) % len(SECTIONS)]
        w.full_width_break()
        if w.room() < 120:
            w.new_page()
        if w.page_no > target_pages:
            break
        heading = f"{section}. {name}"
        w.line(heading, size=HEADING_SIZES[1], bold=True)
        truth.headings.append((1, heading, w.page_no))
        w.y += 4
        w.section_top = w.y
        for sub in range(1, rng.randint(2, 4)):
            if w.page_no > target_pages:
                break
            subheading = f"{section}.{sub} {rng.choice(OBJECTS).capitalize()}"
            if w.room() < 60:
                w.advance_column()
            w.line(subheading, size=HEADING_SIZES[2], bold=True)
            truth.headings.append((2, subheading, w.page_no))
            for _ in range(rng.randint(2, 4)):
                text = _paragraph(rng)
                for line in w.wrap(text, rng):
                    w.line(line)
                truth.paragraphs.append(text)
                w.y += BODY_SIZE * 0.6
            if rng.random() < 0.5:
                bullet = rng.random() < 0.5
                for number in range(rng.randint(3, 5)):
                    item = _sentence(rng)
                    marker = "•" if bullet else f"({chr(97 + number)})"
                    lines = w.wrap(item, rng, indent=14)
                    for index, line in enumerate(lines):
                        w.line(f"{marker}  {line}" if index == 0 else line, indent=0 if index == 0 else 14)
                    truth.list_items.append(item)
                w.y += BODY_SIZE * 0.6
        wanted_tables = table_ratio * w.page_no
        if len(tabled_pages) < wanted_tables and w.page_no <= target_pages and w.page_no not in tabled_pages:
            continued = rng.random() < 0.25 and w.page_no + 1 <= target_pages
            _write_table(w, truth, rng, continued=continued)
            tabled_pages.update(truth.tables[-1].pages)
    # Trim trailing pages past the target (a section may overflow) and blank pages.
    while len(w.pages) > max(target_pages, 1) or (
        len(w.pages) > 1
        and not w.pages[-1].writers[False].text_rect
        and not w.pages[-1].writers[True].text_rect
    ):
        w.pages.pop()
        doc.delete_page(-1)
    pages = doc.page_count
    truth.pages = pages
    truth.headings = [h for h in truth.headings if h[2] <= pages]
    truth.tables = [t for t in truth.tables if max(t.pages) <= pages]
    for number, page in enumerate(w.pages, start=1):
        page.text((MARGIN_X, 48), truth.header_text, 8.5)
        page.text((MARGIN_X, 760), truth.footer_text, 8)
        label = f"Page {number} of {pages}"
        page.text((PAGE_W - MARGIN_X - text_width(label, 8), 760), label, 8)
        page.commit(doc[number - 1])
    doc.set_metadata({"title": title, "author": company, "creationDate": "D:20240301120000Z"})
    toc = [[level, text, page] for level, text, page in truth.headings]
    if rng.random() < 0.5 and toc:
        doc.set_toc(toc)
    doc.save(path, garbage=3, deflate=True)
    doc.close()
    return truth


def generate(
    out_dir: Path,
    *,
    seed: int = 0,
    pages: int = 24,
    table_ratio: float = 1 / 3,
    two_column_ratio: float = 0.3,
    doc_pages: tuple[int, int] = (6, 40),
) -> list[DocumentTruth]:
    """Write documents totalling about ``pages`` pages to ``out_dir``; return their truth."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    truths: list[DocumentTruth] = []
    written = 0
    number = 0
    while written < pages:
        number += 1
        size = min(rng.randint(*doc_pages), pages - written)
        columns = 2 if rng.random() < two_column_ratio else 1
        path = out_dir / f"doc-{seed:02d}-{number:03d}.pdf"
        doc_rng = random.Random(f"{seed}:{number}")
        truth = _document(path, doc_rng, target_pages=max(size, 1), columns=columns, table_ratio=table_ratio)
        truths.append(truth)
        written += truth.pages
    return truths


def load_truth(path: Path) -> list[DocumentTruth]:
    """Read the ``truth.json`` that ``main`` writes."""
    truths = []
    for raw in json.loads(Path(path).read_text()):
        raw["tables"] = [TableTruth(**table) for table in raw["tables"]]
        raw["headings"] = [tuple(heading) for heading in raw["headings"]]
        truths.append(DocumentTruth(**raw))
    return truths


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--pages", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tables", type=float, default=1 / 3, help="share of pages with a table")
    parser.add_argument("--doc-pages", type=int, nargs=2, default=(6, 40), metavar=("MIN", "MAX"))
    args = parser.parse_args()
    truths = generate(
        args.out_dir,
        seed=args.seed,
        pages=args.pages,
        table_ratio=args.tables,
        doc_pages=tuple(args.doc_pages),
    )
    (args.out_dir / "truth.json").write_text(json.dumps([asdict(t) for t in truths], indent=1))
    print(f"wrote {len(truths)} PDFs, {sum(t.pages for t in truths)} pages to {args.out_dir}")


if __name__ == "__main__":
    main()
