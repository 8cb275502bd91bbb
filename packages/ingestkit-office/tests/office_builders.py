"""Word and PowerPoint documents written by python-docx / python-pptx for the tests.

What those libraries cannot write (footnotes, tracked changes, outline levels) is added
as the WordprocessingML Word itself writes, either through python-docx's XML layer or
by adding a part to the saved package.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import docx
import pptx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from pptx.util import Inches

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
NS = f'xmlns:w="{W_NS}" xmlns:r="{R_NS}"'


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so tests need no image library."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def policy_docx(path: Path) -> Path:
    """A help-desk policy with every Word feature the processor reads."""
    document = docx.Document()
    document.core_properties.title = "Password policy"
    document.core_properties.author = "IT Service Desk"
    document.core_properties.keywords = "passwords, accounts"
    section = document.sections[0]
    section.header.paragraphs[0].text = "CONFIDENTIAL HEADER TEXT"
    section.footer.paragraphs[0].text = "Page footer boilerplate"

    document.add_heading("Password policy", level=1)
    document.add_paragraph("Every employee must follow this policy. Passwords protect company data.")
    document.add_heading("Rules", level=2)
    document.add_paragraph("Use at least twelve characters", style="List Number")
    document.add_paragraph("Never reuse a password", style="List Number")
    document.add_paragraph("Use a password manager", style="List Bullet")

    outline = document.add_paragraph("Exceptions by outline level")
    outline._p.get_or_add_pPr().append(parse_xml(f'<w:outlineLvl {NS} w:val="1"/>'))
    document.add_paragraph("Service accounts are reviewed every quarter.")

    tracked = document.add_paragraph("Reset requests go to ")
    tracked._p.append(
        parse_xml(f"<w:ins {NS} w:id='1' w:author='A'><w:r><w:t>the service desk</w:t></w:r></w:ins>")
    )
    tracked._p.append(
        parse_xml(f"<w:del {NS} w:id='2' w:author='A'><w:r><w:delText>your manager</w:delText></w:r></w:del>")
    )
    tracked.add_run(".")

    linked = document.add_paragraph("Read the ")
    rel = document.part.relate_to("https://example.invalid/kb", RT.HYPERLINK, is_external=True)
    linked._p.append(
        parse_xml(
            f'<w:hyperlink {NS} r:id="{rel}"><w:r><w:t>knowledge base article</w:t></w:r></w:hyperlink>'
        )
    )
    linked.add_run(" for details.")

    noted = document.add_paragraph("Lockouts happen after five failed attempts.")
    noted._p.append(parse_xml(f'<w:r {NS}><w:footnoteReference w:id="1"/></w:r>'))

    commented = document.add_paragraph("Temporary passwords expire after one day.")
    document.add_comment(commented.runs, text="Check with security team", author="Dana")

    document.add_heading("Lockout thresholds", level=2)
    table = document.add_table(rows=1, cols=3)
    for cell, text in zip(
        table.rows[0].cells, ["Account type", "Attempts", "Unlock after (minutes)"], strict=True
    ):
        cell.text = text
    for values in (["Staff", "5", "15"], ["Admin", "3", "60"], ["Service", "10", "5"]):
        cells = table.add_row().cells
        for cell, text in zip(cells, values, strict=True):
            cell.text = text
    layout = document.add_table(rows=1, cols=1)
    layout.rows[0].cells[0].text = "Boxed reminder inside a one-cell table"
    image = path.parent / "pixel.png"
    image.write_bytes(tiny_png())
    document.add_picture(str(image))
    document.save(path)
    add_part(
        path,
        "word/footnotes.xml",
        f"<w:footnotes {NS}>"
        '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
        '<w:footnote w:id="1"><w:p><w:r><w:t>Counted per rolling hour.</w:t></w:r></w:p></w:footnote>'
        "</w:footnotes>",
        rel_type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footnotes",
        content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.footnotes+xml",
    )
    return path


def add_part(
    path: Path, name: str, xml: str, *, rel_type: str, content_type: str, rel_id: str = "rIdAdded1"
) -> None:
    """Add a part related to word/document.xml to a saved package."""
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    rels = members["word/_rels/document.xml.rels"].decode()
    target = name.removeprefix("word/")
    rels = rels.replace(
        "</Relationships>",
        f'<Relationship Id="{rel_id}" Type="{rel_type}" Target="{target}"/></Relationships>',
    )
    members["word/_rels/document.xml.rels"] = rels.encode()
    types = members["[Content_Types].xml"].decode()
    types = types.replace("</Types>", f'<Override PartName="/{name}" ContentType="{content_type}"/></Types>')
    members["[Content_Types].xml"] = types.encode()
    members[name] = xml.encode()
    write_zip(path, members)


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)


def replace_member(path: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members[name] = data
    write_zip(path, members)


def training_pptx(path: Path) -> Path:
    """A training deck: titled slides, bullets, a table, notes, a group and a hidden slide."""
    deck = pptx.Presentation()
    deck.core_properties.title = "VPN training"
    title_only = deck.slide_layouts[5]
    bullets = deck.slide_layouts[1]

    first = deck.slides.add_slide(bullets)
    first.shapes.title.text = "Connecting to the VPN"
    body = first.placeholders[1].text_frame
    body.text = "Open the VPN client"
    for text, level in (("Choose the Europe gateway", 1), ("Sign in with your badge number", 0)):
        paragraph = body.add_paragraph()
        paragraph.text = text
        paragraph.level = level
    low = first.shapes.add_textbox(Inches(1), Inches(6.5), Inches(6), Inches(0.5))
    low.text_frame.text = "Bottom note: ask the desk if the client is missing."
    high = first.shapes.add_textbox(Inches(1), Inches(1.4), Inches(6), Inches(0.4))
    high.text_frame.text = "Top banner: VPN is mandatory off-site."
    first.notes_slide.notes_text_frame.text = "Remind people that the badge number has six digits."

    second = deck.slides.add_slide(title_only)
    second.shapes.title.text = "Gateways"
    shape = second.shapes.add_table(4, 3, Inches(0.5), Inches(1.5), Inches(8), Inches(2))
    for row_index, values in enumerate(
        [
            ["Region", "Gateway", "Capacity"],
            ["Europe", "vpn-eu", "400"],
            ["Americas", "vpn-us", "650"],
            ["Asia", "vpn-ap", "250"],
        ]
    ):
        for column, text in enumerate(values):
            shape.table.cell(row_index, column).text = text
    group = second.shapes.add_group_shape()
    grouped = group.shapes.add_textbox(Inches(1), Inches(5), Inches(4), Inches(0.5))
    grouped.text_frame.text = "Grouped caption under the table"

    hidden = deck.slides.add_slide(title_only)
    hidden.shapes.title.text = "Internal draft slide"
    box = hidden.shapes.add_textbox(Inches(1), Inches(2), Inches(4), Inches(1))
    box.text_frame.text = "Secret draft content"
    hidden._element.set("show", "0")

    untitled = deck.slides.add_slide(deck.slide_layouts[6])
    box = untitled.shapes.add_textbox(Inches(1), Inches(2), Inches(4), Inches(1))
    box.text_frame.text = "A slide without a title"
    deck.save(path)
    return path


def charts_pptx(path: Path) -> Path:
    """A deck with a titled column chart, a title-only divider slide and a described picture."""
    from pptx.chart.data import CategoryChartData
    from pptx.enum.chart import XL_CHART_TYPE

    deck = pptx.Presentation()
    slide = deck.slides.add_slide(deck.slide_layouts[5])
    slide.shapes.title.text = "Tickets per quarter"
    data = CategoryChartData()
    data.categories = ["Q1", "Q2", "Q3"]
    data.add_series("Opened", (120, 95, 130))
    data.add_series("Closed", (110, 100, 125))
    frame = slide.shapes.add_chart(
        XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(1), Inches(2), Inches(6), Inches(4), data
    )
    frame.chart.has_title = True
    frame.chart.chart_title.text_frame.text = "Ticket volume 2024"
    divider = deck.slides.add_slide(deck.slide_layouts[5])
    divider.shapes.title.text = "Part two: escalation"
    pictured = deck.slides.add_slide(deck.slide_layouts[6])
    image = path.parent / "pixel.png"
    image.write_bytes(tiny_png())
    picture = pictured.shapes.add_picture(str(image), Inches(1), Inches(1))
    picture._element.nvPicPr.cNvPr.set("descr", "Escalation flow diagram")
    deck.save(path)
    return path


def report_docx(path: Path) -> Path:
    """A report with a table of contents and a chart (its part taken from a python-pptx deck)."""
    from docx.enum.style import WD_STYLE_TYPE

    deck = charts_pptx(path.with_suffix(".pptx"))
    with zipfile.ZipFile(deck) as source:
        chart_xml = source.read("ppt/charts/chart1.xml").decode()
    document = docx.Document()
    for name in ("TOC Heading", "toc 1", "toc 2"):
        if name not in [style.name for style in document.styles]:
            document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Contents", style="TOC Heading")
    document.add_paragraph("Volumes\t2", style="toc 1")
    document.add_paragraph("Quarterly detail\t3", style="toc 2")
    document.add_heading("Volumes", level=1)
    document.add_paragraph("Ticket volumes rose in the third quarter.")
    holder = document.add_paragraph()
    holder._p.append(
        parse_xml(
            f'<w:r {NS} xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" '
            'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
            'xmlns:c="http://schemas.openxmlformats.org/drawingml/2006/chart"><w:drawing><wp:inline>'
            '<wp:extent cx="5486400" cy="3200400"/><wp:docPr id="1" name="Chart 1"/><a:graphic>'
            '<a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/chart">'
            '<c:chart r:id="rIdChart1"/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r>'
        )
    )
    document.save(path)
    add_part(
        path,
        "word/charts/chart1.xml",
        chart_xml,
        rel_type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart",
        content_type="application/vnd.openxmlformats-officedocument.drawingml.chart+xml",
        rel_id="rIdChart1",
    )
    return path
