"""Every Python example in the README runs as written: as a plain script, in a folder with
the files it names, in a fresh interpreter. The format-package example installs as written
and its processor then runs on the process backend like any other.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLE_TIMEOUT_S = 300
PIP_INSTALL = (sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)


def python_examples() -> list[str]:
    return [block for block in blocks("python") if "class SubtitleProcessor" not in block]


def make_share(root: Path) -> None:
    """The folders the examples name: handbooks/ (PDFs) and shared-drive/ (every format)."""
    import docx
    import pymupdf
    from openpyxl import Workbook

    def pdf(path: Path, heading: str, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = pymupdf.open()
        page = document.new_page()
        page.insert_text((72, 80), heading, fontsize=16)
        page.insert_textbox(pymupdf.Rect(72, 100, 520, 700), text, fontsize=10)
        document.save(path)
        document.close()

    leave = "Annual leave is twenty-five days a year. Unused leave can be carried over until March."
    pdf(root / "handbooks" / "leave.pdf", "Leave policy", leave)
    share = root / "shared-drive"
    pdf(share / "finance" / "invoices.pdf", "Invoices", "Supplier invoices are approved by the finance lead.")
    book = Workbook()
    sheet = book.active
    sheet.title = "Staff"
    sheet.append(["Name", "Team", "Started"])
    sheet.append(["Ann", "Finance", 2019])
    sheet.append(["Bob", "IT", 2021])
    book.save(share / "roster.xlsx")
    word = docx.Document()
    word.add_heading("VPN", level=1)
    word.add_paragraph("Connect to the VPN before opening the finance portal.")
    word.save(share / "vpn.docx")
    (share / "printers.md").write_text("# Printers\n\nThe second-floor printer jams on Mondays.\n")


def needs(example: str) -> str | None:
    """Why an example cannot run here, if it cannot."""
    if "sentence-transformers" in example and importlib.util.find_spec("sentence_transformers") is None:
        return "the sentence-transformers embedder needs torch (pip install torch==2.13.0 first)"
    return None


@pytest.mark.parametrize("number", range(len(python_examples())))
def test_python_example_runs_as_a_plain_script(number: int, tmp_path: Path) -> None:
    example = python_examples()[number]
    reason = needs(example)
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"README example {number} cannot run under CI: {reason}")
        pytest.skip(reason)
    make_share(tmp_path)
    script = tmp_path / "example.py"
    script.write_text(example)
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT_S,
        env={**env, "HF_HUB_OFFLINE": "1"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout.strip(), "the example prints what it did"
    assert "succeeded" in proc.stdout


def test_the_format_package_example_installs_and_runs_everywhere(tmp_path: Path) -> None:
    (pyproject,) = [block for block in blocks("toml") if 'name = "ingestkit-subtitles"' in block]
    (module,) = [block for block in blocks("python") if "class SubtitleProcessor" in block]
    package = tmp_path / "ingestkit-subtitles"
    (package / "src" / "ingestkit_subtitles").mkdir(parents=True)
    (package / "pyproject.toml").write_text(pyproject)
    (package / "src" / "ingestkit_subtitles" / "__init__.py").write_text(module)
    site = tmp_path / "site"
    install = subprocess.run(
        [*PIP_INSTALL, "--target", str(site), str(package)],
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT_S,
        check=False,
    )
    assert install.returncode == 0, install.stderr

    talk = tmp_path / "talks" / "vpn_training.srt"
    talk.parent.mkdir()
    talk.write_text(
        "1\n00:00:01,000 --> 00:00:04,000\nWelcome to the VPN training.\n\n"
        "2\n00:00:05,000 --> 00:00:09,000\nAlways connect before opening\nthe finance portal.\n"
    )
    (tmp_path / "talks" / "broken.srt").write_bytes(b"\xff\xfe not subtitles \x00")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), env.get("PYTHONPATH")]))
    command = [sys.executable, "-c", "from ingestkit_core.cli import main; main()"]
    proc = subprocess.run(
        [*command, "ingest", "talks", "--json", "--store", "kb.db", "--backend", "process", "--workers", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr  # the broken file fails; the other is stored
    summary = json.loads(proc.stdout)
    by_name = {Path(result["path"]).name: result for result in summary["results"]}
    assert by_name["vpn_training.srt"]["status"] == "succeeded"
    assert by_name["vpn_training.srt"]["processor"] == "subtitles"
    assert by_name["broken.srt"]["errors"] == ["E_PARSE_CORRUPT"]
    found = subprocess.run(
        [*command, "search", "finance portal", "--store", "kb.db", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=EXAMPLE_TIMEOUT_S,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)["hits"]
    assert hits[0]["text"].endswith("[00:00:05] Always connect before opening the finance portal.")
    assert hits[0]["metadata"]["heading_path"] == ["vpn training"]
