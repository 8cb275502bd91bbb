"""The real ``ingestkit`` command, run in a subprocess on temporary folders."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestkit_testkit import write_case

INGESTKIT = shutil.which("ingestkit", path=str(Path(sys.executable).parent)) or "ingestkit"
JSON_KEYS = {
    "files",
    "succeeded",
    "partial",
    "failed",
    "skipped",
    "pages",
    "chunks",
    "tables",
    "seconds",
    "results",
}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    return subprocess.run(
        [INGESTKIT, *args], check=False, cwd=cwd, capture_output=True, text=True, timeout=120, env=env
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "nested").mkdir(parents=True)
    write_case(docs / "handbook.iktest", "ok", text="# Leave\n\nAnnual leave is twenty-five days.")
    write_case(
        docs / "nested" / "roster.iktest",
        "ok",
        text="Roster.",
        table={"name": "Staff", "columns": [["Name", "text"], ["Age", "integer"]], "rows": [["Ann", 41]]},
    )
    (docs / "readme.unknown").write_text("not handled")
    return docs


def test_ingest_json_summary_and_exit_zero(folder: Path) -> None:
    proc = run("ingest", str(folder), "--json", "--backend", "thread", cwd=folder.parent)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert set(summary) == JSON_KEYS
    assert (summary["files"], summary["succeeded"], summary["skipped"], summary["failed"]) == (3, 2, 1, 0)
    assert summary["tables"] == 1
    by_name = {Path(r["path"]).name: r for r in summary["results"]}
    assert by_name["readme.unknown"] == {
        "path": str(folder / "readme.unknown"),
        "status": "skipped",
        "processor": "",
        "pages": 0,
        "chunks": 0,
        "tables": 0,
        "errors": [],
        "warnings": ["W_NO_PROCESSOR"],
        "messages": ["W_NO_PROCESSOR: no processor handles this file"],
    }
    assert by_name["roster.iktest"]["tables"] == 1
    assert (folder.parent / "ingestkit.db").exists(), "default store in the working directory"

    again = json.loads(run("ingest", str(folder), "--json", cwd=folder.parent).stdout)
    assert again["skipped"] == 3, "unchanged files are not processed again"
    forced = json.loads(run("ingest", str(folder), "--json", "--force", cwd=folder.parent).stdout)
    assert forced["succeeded"] == 2


def test_a_failed_file_gives_exit_one_and_the_rest_is_stored(folder: Path) -> None:
    write_case(folder / "broken.iktest", "raise", code="E_PARSE_CORRUPT")
    write_case(folder / "stuck.iktest", "hang")
    proc = run(
        "ingest", str(folder), "--json", "--timeout", "1", "--store", "sqlite:///out/k.db", cwd=folder.parent
    )
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    codes = {Path(r["path"]).name: r["errors"] for r in summary["results"]}
    assert codes["broken.iktest"] == ["E_PARSE_CORRUPT"]
    assert codes["stuck.iktest"] == ["E_EXECUTION_TIMEOUT"]
    assert summary["succeeded"] == 2
    search = run("search", "annual leave", "--store", "sqlite:///out/k.db", "--json", cwd=folder.parent)
    hits = json.loads(search.stdout)["hits"]
    assert hits[0]["text"].startswith("Leave")
    assert hits[0]["metadata"]["heading_path"] == ["Leave"]


def test_human_summary_names_files_and_codes(folder: Path) -> None:
    write_case(folder / "broken.iktest", "raise", code="E_PARSE_PASSWORD")
    proc = run("ingest", str(folder), "--backend", "inline", cwd=folder.parent)
    assert proc.returncode == 1
    assert "broken.iktest" in proc.stdout
    assert "E_PARSE_PASSWORD" in proc.stdout
    assert "4 files" in proc.stdout
    assert "1 failed" in proc.stdout
    quiet = run("ingest", str(folder), "--quiet", "--force", cwd=folder.parent)
    assert quiet.returncode == 1
    assert quiet.stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "missing-folder"], "no such file or directory"),
        (["ingest", ".", "--backend", "cloud"], "backend"),
        (["ingest", ".", "--store", "mongodb://x"], "unsupported store URL"),
        (["ingest", ".", "--config", "bad.toml"], "unknown config section"),
        (["ingest", ".", "--workers", "0"], "workers"),
        (["inspect", "readme.unknown"], "no installed processor handles"),
    ],
)
def test_usage_and_configuration_errors_exit_two_and_write_nothing(
    folder: Path, args: list[str], message: str
) -> None:
    (folder / "bad.toml").write_text("[nosuch]\nx = 1\n")
    proc = run(*args, cwd=folder)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert not (folder / "ingestkit.db").exists()


def test_inspect_json(folder: Path) -> None:
    proc = run("inspect", str(folder / "handbook.iktest"), "--json", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "path": str(folder / "handbook.iktest"),
        "processor": "testkit",
        "action": "ok",
    }


def test_search_needs_an_existing_store_and_says_when_nothing_matches(folder: Path) -> None:
    missing = run("search", "anything", cwd=folder)
    assert missing.returncode == 2
    assert "no store at sqlite:///ingestkit.db" in missing.stderr
    assert not (folder / "ingestkit.db").exists(), "searching never creates a store"
    run("ingest", str(folder), "--backend", "inline", "--quiet", cwd=folder)
    proc = run("search", "zebra", cwd=folder)
    assert proc.returncode == 0
    assert "no chunks match 'zebra'" in proc.stdout


def test_search_prints_a_hit_s_heading_path_once(folder: Path) -> None:
    run("ingest", str(folder), "--backend", "inline", "--quiet", cwd=folder)
    proc = run("search", "annual leave", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    printed = " ".join(proc.stdout.split())  # long paths wrap
    assert printed.endswith("(p. 1; Leave) Annual leave is twenty-five days."), printed


def test_square_brackets_in_names_and_text_are_printed_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Terminal output is styled with bracket tags; names and text from files are not
    # tags: "[draft]" would vanish and "[/etc]" would crash the command.
    monkeypatch.setenv("COLUMNS", "250")  # a table row per file, unwrapped
    write_case(
        tmp_path / "[draft] paths.iktest", "ok", text="# Paths [v2]\n\nEdit under [/etc] with [bold] care."
    )
    write_case(tmp_path / "[old] broken.iktest", "raise")
    ingested = run("ingest", str(tmp_path), "--backend", "inline", cwd=tmp_path)
    assert ingested.returncode == 1, ingested.stderr
    printed = " ".join(ingested.stdout.split())
    assert "[draft] paths.iktest" in printed
    assert "scripted failure of [old] broken.iktest" in printed
    found = run("search", "care", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    printed = " ".join(found.stdout.split())
    assert "[draft] paths.iktest (p. 1; Paths [v2])" in printed
    assert "Edit under [/etc] with [bold] care." in printed
    nothing = run("search", "[/zebra]", cwd=tmp_path)
    assert nothing.returncode == 0, nothing.stderr
    assert "no chunks match '[/zebra]'" in nothing.stdout
    status = run("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "[old] broken.iktest" in " ".join(status.stdout.split())
    inspected = run("inspect", str(tmp_path / "[draft] paths.iktest"), cwd=tmp_path)
    assert inspected.returncode == 0, inspected.stderr
    assert "[draft] paths.iktest" in inspected.stdout


def test_help_lists_the_commands(tmp_path: Path) -> None:
    proc = run("--help", cwd=tmp_path)
    for command in ("ingest", "search", "inspect", "worker"):
        assert command in proc.stdout


def test_sigterm_ends_an_ingest_like_ctrl_c_without_a_traceback(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("a", "b"):
        write_case(docs / f"{name}.iktest", "hang")
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    proc = subprocess.Popen(
        [INGESTKIT, "ingest", str(docs), "--workers", "1"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "ingestkit.db").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # the hanging document is in its child by now
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr


def test_a_reader_that_goes_away_gets_no_traceback(folder: Path) -> None:
    assert (
        run("ingest", str(folder), "--store", "kb.db", "--backend", "inline", cwd=folder.parent).returncode
        == 0
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTKIT_")}
    proc = subprocess.Popen(
        [INGESTKIT, "search", "leave", "--store", "kb.db", "--json"],
        cwd=folder.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    proc.stdout.close()  # like `| head -c 0`
    _, stderr = proc.communicate(timeout=60)
    assert b"Traceback" not in stderr
    assert b"BrokenPipeError" not in stderr
