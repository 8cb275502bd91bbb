from __future__ import annotations

from pathlib import Path

from pdf_builders import new_document, new_page, put, save

from ingestkit_core import ContentType
from ingestkit_pdf import PDFOptions, PDFProcessor
from ingestkit_pdf._pymupdf import pymupdf


def _widget(
    page: pymupdf.Page, kind: int, name: str, rect: tuple[float, float, float, float], **fields: object
) -> None:
    widget = pymupdf.Widget()
    widget.field_type = kind
    widget.field_name = name
    widget.rect = pymupdf.Rect(rect)
    for key, value in fields.items():
        setattr(widget, key, value)
    page.add_widget(widget)


def _form(path: Path) -> Path:
    document = new_document()
    page = new_page(document)
    put(page, 80, "Travel Request Form", size=16, bold=True)
    put(page, 122, "Employee name:")
    _widget(page, pymupdf.PDF_WIDGET_TYPE_TEXT, "Text1", (180, 110, 400, 128), field_value="Jane Doe")
    _widget(
        page,
        pymupdf.PDF_WIDGET_TYPE_TEXT,
        "dest",
        (180, 140, 400, 158),
        field_label="Destination city",
        field_value="Lisbon",
    )
    put(page, 182, "Advance payment needed")
    _widget(page, pymupdf.PDF_WIDGET_TYPE_CHECKBOX, "Check Box 1", (260, 170, 274, 184), field_value=True)
    _widget(page, pymupdf.PDF_WIDGET_TYPE_CHECKBOX, "hotel_needed", (260, 200, 274, 214), field_value=False)
    return save(document, path)


def test_form_fields_become_label_value_lines(tmp_path: Path, run) -> None:
    result = run(_form(tmp_path / "form.pdf"))
    assert result.metadata["page_kinds"] == {"form": 1}
    [form] = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.FORM]
    title, fields = form.text.split("\n\n")
    assert title == "Travel Request Form"  # the form's heading path, as every chunk starts
    assert fields.splitlines() == [
        "Employee name: Jane Doe",
        "Destination city: Lisbon",
        "Advance payment needed: yes",
        "hotel needed: no",
    ]
    assert form.metadata.heading_path == ["Travel Request Form"]
    assert form.metadata.page_numbers == [1]
    narrative = "\n".join(c.text for c in result.chunks if c.metadata.content_type is not ContentType.FORM)
    assert "Lisbon" not in narrative  # the value drawn in the field is reported once, with its label


def test_forms_can_be_turned_off(tmp_path: Path) -> None:
    result = PDFProcessor().process(_form(tmp_path / "form.pdf"), PDFOptions(forms=False))
    assert not any(chunk.metadata.content_type is ContentType.FORM for chunk in result.chunks)
    assert "Employee name:" in result.chunks[0].text  # the printed labels are still text


def test_a_fillable_form_with_field_scripts_is_read_with_a_warning(tmp_path: Path, run) -> None:
    document = new_document()
    page = new_page(document)
    put(page, 80, "Expense Claim", size=16, bold=True)
    put(page, 122, "Amount:")
    _widget(page, pymupdf.PDF_WIDGET_TYPE_TEXT, "amount", (180, 110, 400, 128), field_value="125.00")
    # A formatting script on the field, as form designers add to most real forms.
    [widget] = list(page.widgets())
    action = document.get_new_xref()
    document.update_object(action, '<</S/JavaScript/JS(AFNumber_Format\\(2, 0, 0, 0, "", true\\);)>>')
    document.xref_set_key(widget.xref, "AA", f"<</F {action} 0 R>>")
    result = run(save(document, tmp_path / "claim.pdf"))
    assert result.status.value == "succeeded"
    assert result.warning_codes == ["W_JAVASCRIPT_IGNORED"]
    [form] = [chunk for chunk in result.chunks if chunk.metadata.content_type is ContentType.FORM]
    assert "amount: 125.00" in form.text
    refused = run(tmp_path / "claim.pdf", PDFOptions(allow_javascript=False))
    assert refused.error_codes == ["E_PARSE_UNSAFE"]
