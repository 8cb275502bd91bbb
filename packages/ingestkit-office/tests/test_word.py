"""Word documents: structure, notes, tracked changes, tables and properties."""

from __future__ import annotations

from pathlib import Path

import docx
import pytest
from office_builders import policy_docx, report_docx

from ingestkit_core import ContentType, Extraction, SQLiteStore
from ingestkit_office import OfficeOptions, OfficeProcessor, OfficeRouter


@pytest.fixture
def policy(tmp_path: Path) -> Extraction:
    return OfficeProcessor().process(policy_docx(tmp_path / "policy.docx"), OfficeOptions())


def _text(extraction: Extraction) -> str:
    return "\n".join(chunk.text for chunk in extraction.chunks)


def _chunk_with(extraction: Extraction, needle: str) -> tuple[str, list[str], ContentType]:
    for chunk in extraction.chunks:
        if needle in chunk.text:
            return chunk.text, chunk.metadata.heading_path, chunk.metadata.content_type
    raise AssertionError(f"{needle!r} is in no chunk")


def test_heading_styles_and_outline_levels_give_heading_paths(policy: Extraction) -> None:
    assert _chunk_with(policy, "Never reuse")[1] == ["Password policy", "Rules"]
    # A Normal paragraph with an outline level is a heading too (level 2 here).
    assert _chunk_with(policy, "reviewed every quarter")[1] == [
        "Password policy",
        "Exceptions by outline level",
    ]
    assert _chunk_with(policy, "Every employee")[1] == ["Password policy"]


def test_lists_keep_their_numbering_in_one_list_chunk(policy: Extraction) -> None:
    text, _, content_type = _chunk_with(policy, "twelve characters")
    assert content_type is ContentType.LIST
    assert "1. Use at least twelve characters\n2. Never reuse a password\n- Use a password manager" in text


def test_tracked_changes_read_as_accepted_and_hyperlink_text_kept(policy: Extraction) -> None:
    text = _text(policy)
    assert "Reset requests go to the service desk." in text
    assert "your manager" not in text
    assert "Read the knowledge base article for details." in text
    assert "example.invalid" not in text


def test_footnotes_and_comments_follow_their_paragraph_as_notes(policy: Extraction) -> None:
    texts = [chunk.text for chunk in policy.chunks]
    footnote = next(i for i, text in enumerate(texts) if "Counted per rolling hour" in text)
    assert "Lockouts happen after five failed attempts." in texts[footnote - 1]
    note = policy.chunks[footnote]
    assert note.metadata.content_type is ContentType.NOTE
    assert note.metadata.heading_path == ["Password policy", "Exceptions by outline level"]
    comment, _, kind = _chunk_with(policy, "Check with security team")
    assert kind is ContentType.NOTE
    assert comment.startswith("Password policy > Exceptions by outline level\n\n[comment by Dana]")


def test_headers_and_footers_stay_out_of_the_body(policy: Extraction) -> None:
    assert "CONFIDENTIAL HEADER TEXT" not in _text(policy)
    assert "Page footer boilerplate" not in _text(policy)
    assert policy.metadata["headers_footers"] == ["CONFIDENTIAL HEADER TEXT", "Page footer boilerplate"]


def test_document_properties_and_images_in_metadata(policy: Extraction) -> None:
    assert policy.metadata["title"] == "Password policy"
    assert policy.metadata["author"] == "IT Service Desk"
    assert policy.metadata["keywords"] == "passwords, accounts"
    assert policy.metadata["images"] == 1
    assert policy.metadata["format"] == "docx"


def test_table_is_typed_and_readable_and_a_one_cell_box_is_text(policy: Extraction) -> None:
    (table,) = policy.tables
    assert table.sql_name == "policy__table_1"
    assert [(c.name, c.type) for c in table.columns] == [
        ("account_type", "text"),
        ("attempts", "integer"),
        ("unlock_after_minutes", "integer"),
    ]
    assert table.rows == [["Staff", 5, 15], ["Admin", 3, 60], ["Service", 10, 5]]
    text, path, kind = _chunk_with(policy, "Unlock after (minutes)")
    assert kind is ContentType.TABLE
    assert "SQL table policy__table_1" in text
    assert "Admin | 3 | 60" in text
    assert path == ["Password policy", "Lockout thresholds"]
    assert _chunk_with(policy, "Boxed reminder")[2] is ContentType.NARRATIVE


def test_merged_cells_repeat_their_value(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=3, cols=3)
    for row, values in enumerate((["Team", "Site", "Seats"], ["Desk", "Oslo", "4"], ["", "Lima", "6"])):
        for column, text in enumerate(values):
            table.cell(row, column).text = text
    table.cell(1, 0).merge(table.cell(2, 0))
    path = tmp_path / "merged.docx"
    document.save(path)
    (artifact,) = OfficeProcessor().process(path, OfficeOptions()).tables
    assert artifact.rows == [["Desk", "Oslo", 4], ["Desk", "Lima", 6]]


def test_table_suffix_names_tables_and_text_alike(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "policy.docx")
    extraction = OfficeProcessor().process(path, OfficeOptions(table_suffix="_2"))
    assert extraction.tables[0].sql_name == "policy__table_1_2"
    assert "SQL table policy__table_1_2" in _text(extraction)


def test_comments_can_be_left_out(tmp_path: Path) -> None:
    path = policy_docx(tmp_path / "policy.docx")
    extraction = OfficeProcessor().process(path, OfficeOptions(comments=False))
    assert "security team" not in _text(extraction)


def test_router_stores_chunks_and_the_sql_table(
    tmp_path: Path, router: OfficeRouter, store: SQLiteStore
) -> None:
    result = router.process(policy_docx(tmp_path / "policy.docx"))
    assert result.ok, result.errors
    assert result.processor == "office"
    assert store.query('SELECT SUM(attempts) FROM "policy__table_1"') == [(18,)]
    assert store.query("SELECT COUNT(*) FROM chunks WHERE text LIKE '%Counted per rolling hour%'") == [(1,)]


def test_inspect_explains_structure_and_tables(tmp_path: Path) -> None:
    report = OfficeProcessor().inspect(policy_docx(tmp_path / "policy.docx"), OfficeOptions())
    assert report["format"] == "docx"
    structure = report["structure"]
    assert isinstance(structure, dict)
    assert structure["headings"] == 4
    assert structure["list_items"] == 3
    assert structure["notes_and_comments"] == 2
    assert structure["layout_tables_read_as_text"] == 1
    tables = report["tables"]
    assert isinstance(tables, list)
    assert tables[0] == {
        "table": "table 1",
        "goes_to": "SQL table policy__table_1",
        "rows": 3,
        "columns": ["account_type (text)", "attempts (integer)", "unlock_after_minutes (integer)"],
    }


def test_child_processes_and_threads_give_the_same_result(tmp_path: Path) -> None:
    from ingestkit_core import LocalExecutionBackend

    path = policy_docx(tmp_path / "policy.docx")
    texts = []
    for strategy in ("inline", "thread", "process"):
        with OfficeRouter(execution=LocalExecutionBackend(strategy=strategy, workers=1)) as router:
            result = router.process(path)
        assert result.ok, (strategy, result.errors)
        texts.append([chunk.text for chunk in result.chunks])
    assert texts[0] == texts[1] == texts[2]


def test_table_of_contents_is_one_toc_chunk_and_charts_are_tables(tmp_path: Path) -> None:
    extraction = OfficeProcessor().process(report_docx(tmp_path / "report.docx"), OfficeOptions())
    toc = [chunk for chunk in extraction.chunks if chunk.metadata.content_type is ContentType.TOC]
    assert [chunk.text for chunk in toc] == ["Contents\nVolumes 2\nQuarterly detail 3"]
    (table,) = extraction.tables
    assert table.sql_name == "report__chart_1"
    assert table.rows == [["Q1", 120, 110], ["Q2", 95, 100], ["Q3", 130, 125]]
    volumes = next(chunk for chunk in extraction.chunks if "Chart: Ticket volume 2024" in chunk.text)
    assert volumes.metadata.heading_path == ["Volumes"]
