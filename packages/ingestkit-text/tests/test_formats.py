"""Markdown, plain text and HTML: structure kept, boilerplate and scripts gone."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestkit_core import ContentType, DocumentError, ErrorCode, Extraction, SQLiteStore
from ingestkit_text import HtmlOptions, TextOptions, TextProcessor, TextRouter

MARKDOWN = """---
title: front matter is not text
---
# VPN guide

Intro with a [link text](https://example.invalid/x) and `inline code`.

## Setup

1. Install the client
2. Sign in
   - with your badge

```bash
vpn connect --gateway eu
```

| Region | Capacity |
|---|---|
| EU | 400 |
| US | 650 |

> A quoted tip.

Setext heading
--------------

Closing words.
"""

PAGE = """<!doctype html><html lang="en"><head><title>Reset password</title>
<style>p { color: red }</style><script>var tracking = "SCRIPT TEXT";</script>
<link rel="stylesheet" href="https://cdn.example.invalid/site.css"></head>
<body><header><a href="/">Home</a> | <a href="/kb">Knowledge base</a></header>
<nav><ul><li>Menu one</li><li>Menu two</li></ul></nav>
<div class="cookie-banner">We use cookies</div>
<main><article><header><h1>Resetting a password</h1></header>
<p>Go to the <a href="https://portal.example.invalid">self-service portal</a> and click <b>Re</b>set.</p>
<h2>Steps</h2>
<ol><li>Open the portal<ul><li>use the VPN off-site</li></ul></li><li>Type your badge number</li></ol>
<table><caption>Lockout limits</caption><thead><tr><th>System</th><th>Attempts</th></tr></thead>
<tbody><tr><td>Directory</td><td>5</td></tr><tr><td>VPN</td><td>3</td></tr></tbody></table>
<pre>reset --user alice
  --notify</pre>
<p hidden>hidden paragraph</p><img src="https://img.example.invalid/a.png" alt="diagram of the portal">
</article></main>
<aside>Related articles</aside><div class="sidebar">Popular posts</div>
<footer>Copyright 2024 Example</footer></body></html>
"""


def _process(tmp_path: Path, name: str, content: str, options: TextOptions | None = None) -> Extraction:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return TextProcessor().process(path, options or TextOptions())


def _all(extraction: Extraction) -> str:
    return "\n".join(chunk.text for chunk in extraction.chunks)


def test_markdown_headings_lists_code_and_tables(tmp_path: Path) -> None:
    extraction = _process(tmp_path, "guide.md", MARKDOWN)
    text = _all(extraction)
    assert "front matter" not in text
    assert "Intro with a link text and inline code." in text
    assert "example.invalid" not in text
    setup = next(chunk for chunk in extraction.chunks if "Install the client" in chunk.text)
    assert setup.metadata.heading_path == ["VPN guide", "Setup"]
    assert "1. Install the client\n2. Sign in\n- with your badge" in setup.text
    assert "```bash\nvpn connect --gateway eu\n```" in setup.text
    assert setup.metadata.extra["code"] == "bash"
    (table,) = extraction.tables
    assert table.sql_name == "guide__table_1"
    assert table.rows == [["EU", 400], ["US", 650]]
    quoted = next(chunk for chunk in extraction.chunks if "quoted tip" in chunk.text)
    assert quoted.metadata.extra == {"quoted": True}
    closing = next(chunk for chunk in extraction.chunks if "Closing words" in chunk.text)
    assert closing.metadata.heading_path == ["VPN guide", "Setext heading"]


def test_plain_text_paragraphs_lists_and_underlined_headings(tmp_path: Path) -> None:
    content = (
        "Printer guide\n=============\n\nThe printers are on floor 3.\nThey need badges.\n\n"
        "- Load paper\n- Clear jams\n\nToner\n-----\n\nCall the desk.\n"
    )
    extraction = _process(tmp_path, "printers.txt", content)
    assert [chunk.metadata.heading_path for chunk in extraction.chunks] == [
        ["Printer guide"],
        ["Printer guide", "Toner"],
    ]
    assert (
        "The printers are on floor 3. They need badges.\n\n- Load paper\n- Clear jams"
        in extraction.chunks[0].text
    )


def test_html_main_content_only(tmp_path: Path) -> None:
    extraction = _process(tmp_path, "reset.html", PAGE)
    text = _all(extraction)
    for boilerplate in (
        "Menu one",
        "Knowledge base",
        "We use cookies",
        "Related articles",
        "Popular posts",
        "Copyright",
        "SCRIPT TEXT",
        "color: red",
        "hidden paragraph",
    ):
        assert boilerplate not in text, boilerplate
    assert "Go to the self-service portal and click Reset." in text
    assert "diagram of the portal" in text
    steps = next(chunk for chunk in extraction.chunks if "Open the portal" in chunk.text)
    assert steps.metadata.heading_path == ["Resetting a password", "Steps"]
    assert "1. Open the portal\n- use the VPN off-site\n2. Type your badge number" in steps.text
    assert "```\nreset --user alice\n--notify\n```" in text
    assert extraction.metadata["title"] == "Reset password"
    assert extraction.metadata["language"] == "en"


def test_html_table_is_typed_and_named_by_its_caption(tmp_path: Path) -> None:
    extraction = _process(tmp_path, "reset.html", PAGE)
    (table,) = extraction.tables
    assert table.name == "Lockout limits"
    assert table.sql_name == "reset__lockout_limits"
    assert [(c.name, c.type) for c in table.columns] == [("system", "text"), ("attempts", "integer")]
    chunk = next(chunk for chunk in extraction.chunks if chunk.metadata.content_type is ContentType.TABLE)
    assert "SQL table reset__lockout_limits" in chunk.text


def test_html_boilerplate_kept_when_main_content_is_off(tmp_path: Path) -> None:
    options = TextOptions(html=HtmlOptions(main_content=False))
    text = _all(_process(tmp_path, "reset.html", PAGE, options))
    assert "Menu one" in text
    assert "Copyright 2024" in text
    assert "SCRIPT TEXT" not in text


def test_xhtml_with_an_encoding_declaration(tmp_path: Path) -> None:
    page = (
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" "http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Chapter 1</title></head>'
        "<body><h1>Tutorials</h1><p>Console basics: the shell prompt.</p></body></html>"
    )
    extraction = _process(tmp_path, "ch01.html", page)
    assert extraction.chunks[0].text == "Tutorials\n\nConsole basics: the shell prompt."
    assert extraction.metadata["title"] == "Chapter 1"


def test_html_table_of_contents_is_one_toc_chunk(tmp_path: Path) -> None:
    page = (
        '<html><body><h1>Chapter 1</h1><div class="toc"><p><b>Table of Contents</b></p><dl class="toc">'
        '<dt><a href="#a">1.1. Console basics</a></dt>'
        '<dt><a href="#b">1.2. Midnight Commander</a></dt></dl></div>'
        '<h2 id="a">1.1. Console basics</h2><p>The shell prompt.</p></body></html>'
    )
    extraction = _process(tmp_path, "ch01.html", page)
    toc = [chunk for chunk in extraction.chunks if chunk.metadata.content_type is ContentType.TOC]
    assert [chunk.text for chunk in toc] == ["Chapter 1\n\n1.1. Console basics\n1.2. Midnight Commander"]
    assert extraction.chunks[-1].text == "Chapter 1 > 1.1. Console basics\n\nThe shell prompt."


def test_html_spans_and_layout_tables(tmp_path: Path) -> None:
    page = (
        "<html><body><table><tr><td><table><tr><th>A</th><th>B</th></tr>"
        "<tr><td rowspan=2>x</td><td colspan=1>1</td></tr><tr><td>2</td></tr></table></td>"
        "<td><p>Side text in a layout cell</p></td></tr></table></body></html>"
    )
    extraction = _process(tmp_path, "layout.html", page)
    (table,) = extraction.tables
    assert table.rows == [["x", 1], ["x", 2]]
    assert "Side text in a layout cell" in _all(extraction)


def test_html_never_fetches_anything(tmp_path: Path) -> None:
    # An external entity and remote resources: nothing is resolved, the text is read.
    page = (
        '<?xml version="1.0"?><!DOCTYPE html [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        '<html><body><p>Safe &x; text</p><img src="http://127.0.0.1:9/x.png">'
        '<iframe src="http://127.0.0.1:9/"></iframe></body></html>'
    )
    text = _all(_process(tmp_path, "xxe.html", page))
    assert "Safe" in text
    assert "root:" not in text


def test_huge_single_line_is_cut_into_bounded_chunks(tmp_path: Path) -> None:
    extraction = _process(tmp_path, "blob.txt", "A" * 3_000_000)
    assert len(extraction.chunks) > 10
    assert max(len(chunk.text) for chunk in extraction.chunks) < 100_000
    assert sum(chunk.text.count("A") for chunk in extraction.chunks) == 3_000_000


@pytest.mark.parametrize("name", ["empty.txt", "empty.md", "empty.html", "empty.csv", "empty.eml"])
def test_empty_files_fail_as_empty(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"")
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions())
    assert caught.value.code is ErrorCode.E_PARSE_EMPTY


def test_whitespace_only_file_is_empty(tmp_path: Path) -> None:
    with pytest.raises(DocumentError) as caught:
        _process(tmp_path, "blank.md", "\n\n   \n")
    assert caught.value.code is ErrorCode.E_PARSE_EMPTY


def test_wrong_extension_is_refused_or_read_by_content(tmp_path: Path) -> None:
    pdf = tmp_path / "report.html"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>stream\n" + bytes(range(256)) * 8)
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(pdf, TextOptions())
    assert caught.value.code is ErrorCode.E_FILE_UNSUPPORTED
    unnamed = tmp_path / "README"
    unnamed.write_text("<!DOCTYPE html><html><body><h1>Title</h1><p>Body.</p></body></html>")
    assert TextProcessor().sniff(unnamed.read_bytes()[:16])
    extraction = TextProcessor().process(unnamed, TextOptions())
    assert extraction.metadata["format"] == "html"


def test_large_text_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("word " * 300_000)
    with pytest.raises(DocumentError) as caught:
        TextProcessor().process(path, TextOptions(max_text_mb=1))
    assert caught.value.code is ErrorCode.E_FILE_TOO_LARGE


def test_router_stores_html_chunks_and_table(tmp_path: Path, router: TextRouter, store: SQLiteStore) -> None:
    path = tmp_path / "reset.html"
    path.write_text(PAGE)
    result = router.process(path)
    assert result.ok, result.errors
    assert result.processor == "text"
    assert store.query('SELECT SUM(attempts) FROM "reset__lockout_limits"') == [(8,)]


def test_inspect_explains_a_page(tmp_path: Path) -> None:
    path = tmp_path / "reset.html"
    path.write_text(PAGE)
    report = TextProcessor().inspect(path, TextOptions())
    assert report["format"] == "html"
    structure = report["structure"]
    assert isinstance(structure, dict)
    assert structure["content_scope"] == "main"
    assert isinstance(structure["boilerplate_elements_removed"], int)
    assert structure["boilerplate_elements_removed"] >= 8
    tables = report["tables"]
    assert isinstance(tables, list)
    assert tables[0] == {
        "table": "Lockout limits",
        "goes_to": "SQL table reset__lockout_limits",
        "rows": 2,
        "columns": ["system (text)", "attempts (integer)"],
    }


def test_html_entity_bomb_is_not_expanded(tmp_path: Path) -> None:
    levels = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(2, 10))
    body = "<html><body><p>&lol9;</p><p>real text</p></body></html>"
    page = f'<!DOCTYPE lolz [<!ENTITY lol1 "lol">{levels}]>{body}'
    text = _all(_process(tmp_path, "bomb.html", page))
    assert "real text" in text
    assert "lollol" not in text
    assert len(text) < 1000
