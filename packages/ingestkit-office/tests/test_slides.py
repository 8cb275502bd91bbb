"""PowerPoint decks: slides as sections, reading order, tables, notes, hidden slides."""

from __future__ import annotations

from pathlib import Path

import pytest
from office_builders import charts_pptx, training_pptx

from ingestkit_core import ContentType, ErrorCode, Extraction
from ingestkit_office import OfficeOptions, OfficeProcessor


@pytest.fixture
def deck(tmp_path: Path) -> Extraction:
    return OfficeProcessor().process(training_pptx(tmp_path / "vpn.pptx"), OfficeOptions())


def test_each_slide_is_a_section_headed_by_its_title(deck: Extraction) -> None:
    paths = {tuple(chunk.metadata.heading_path) for chunk in deck.chunks}
    assert paths == {("Connecting to the VPN",), ("Gateways",), ("Slide 4",)}
    assert deck.page_count == 4
    first = deck.chunks[0]
    assert first.metadata.page_numbers == [1]
    assert first.text.startswith(
        "Connecting to the VPN\n\n- Open the VPN client\n- Choose the Europe gateway"
    )


def test_body_text_follows_reading_order(deck: Extraction) -> None:
    text = deck.chunks[0].text
    assert text.index("Top banner") < text.index("Bottom note")


def test_speaker_notes_are_their_own_note_chunks(deck: Extraction) -> None:
    notes = [chunk for chunk in deck.chunks if chunk.metadata.content_type is ContentType.NOTE]
    assert [note.text for note in notes] == [
        "Connecting to the VPN\n\nRemind people that the badge number has six digits."
    ]
    assert notes[0].metadata.heading_path == ["Connecting to the VPN"]
    assert notes[0].metadata.extra == {"note": "speaker notes"}
    assert "six digits" not in deck.chunks[0].text


def test_slide_table_is_typed_and_grouped_shapes_are_read(deck: Extraction) -> None:
    (table,) = deck.tables
    assert table.sql_name == "vpn__slide_2_table_1"
    assert table.rows == [["Europe", "vpn-eu", 400], ["Americas", "vpn-us", 650], ["Asia", "vpn-ap", 250]]
    assert table.metadata.page_numbers == [2]
    assert any("Grouped caption under the table" in chunk.text for chunk in deck.chunks)


def test_hidden_slides_are_skipped_with_a_warning(deck: Extraction) -> None:
    assert not any("Secret draft" in chunk.text for chunk in deck.chunks)
    (warning,) = deck.warnings
    assert warning.code == ErrorCode.W_SLIDE_HIDDEN_SKIPPED
    assert "slide(s) skipped (3)" in warning.message


def test_hidden_slides_on_request(tmp_path: Path) -> None:
    path = training_pptx(tmp_path / "vpn.pptx")
    extraction = OfficeProcessor().process(path, OfficeOptions(include_hidden_slides=True))
    assert any("Secret draft content" in chunk.text for chunk in extraction.chunks)
    assert extraction.warnings == []


def test_speaker_notes_can_be_left_out(tmp_path: Path) -> None:
    path = training_pptx(tmp_path / "vpn.pptx")
    extraction = OfficeProcessor().process(path, OfficeOptions(speaker_notes=False))
    assert not any(chunk.metadata.content_type is ContentType.NOTE for chunk in extraction.chunks)


def test_inspect_lists_each_slide_and_what_happens_to_it(tmp_path: Path) -> None:
    report = OfficeProcessor().inspect(training_pptx(tmp_path / "vpn.pptx"), OfficeOptions())
    slides = report["slides"]
    assert isinstance(slides, list)
    assert [(s["slide"], s["action"]) for s in slides if isinstance(s, dict)] == [
        (1, "processed"),
        (2, "processed"),
        (3, "skipped: hidden"),
        (4, "processed"),
    ]


def test_chart_data_becomes_a_table_and_its_title_text(tmp_path: Path) -> None:
    extraction = OfficeProcessor().process(charts_pptx(tmp_path / "stats.pptx"), OfficeOptions())
    (table,) = extraction.tables
    assert table.sql_name == "stats__slide_1_chart_1"
    assert [column.name for column in table.columns] == ["category", "opened", "closed"]
    assert table.rows == [["Q1", 120, 110], ["Q2", 95, 100], ["Q3", 130, 125]]
    first = "\n".join(chunk.text for chunk in extraction.chunks if chunk.metadata.page_numbers == [1])
    assert "Chart: Ticket volume 2024" in first


def test_title_only_slide_and_picture_descriptions_are_text(tmp_path: Path) -> None:
    extraction = OfficeProcessor().process(charts_pptx(tmp_path / "stats.pptx"), OfficeOptions())
    divider = [chunk for chunk in extraction.chunks if chunk.metadata.page_numbers == [2]]
    assert [chunk.metadata.heading_path for chunk in divider] == [["Part two: escalation"]]
    assert any("Escalation flow diagram" in chunk.text for chunk in extraction.chunks)
    assert extraction.metadata["images"] == 1
