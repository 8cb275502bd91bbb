from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from ingestkit_core import Ingestor, LocalExecutionBackend, ResultStatus, Router, SQLiteStore
from ingestkit_core.routing import walk
from ingestkit_testkit import TestkitOptions

Case = Callable[..., Path]


def test_walk_is_recursive_sorted_and_skips_hidden_and_lock_files(tmp_path: Path) -> None:
    for name in ("b.iktest", "a/c.iktest", "a/.hidden.iktest", ".git/x.iktest", "~$lock.xlsx", "z.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found = [str(e.path.relative_to(tmp_path)) for e in walk([tmp_path], exclude=[tmp_path / "z.txt"])]
    assert found == ["a/c.iktest", "b.iktest"]


def test_batch_routes_skips_unhandled_and_keeps_input_order(case: Case, tmp_path: Path) -> None:
    good = case("good", "ok", text="Good.")
    bad = case("bad", "raise", code="E_PARSE_CORRUPT")
    other = tmp_path / "notes.unknown"
    other.write_text("plain text")
    seen: list[str] = []
    with LocalExecutionBackend(strategy="thread", workers=2) as backend:
        ingestor = Ingestor([Router(TestkitOptions())], execution=backend)
        results = ingestor.run([other, bad, good], on_result=lambda r: seen.append(r.path))
    assert [r.path for r in results] == [str(other), str(bad), str(good)]
    assert [r.status for r in results] == [ResultStatus.SKIPPED, ResultStatus.FAILED, ResultStatus.SUCCEEDED]
    assert results[0].warning_codes == ["W_NO_PROCESSOR"]
    assert sorted(seen) == sorted(r.path for r in results), "progress hears about every file once"


def test_router_can_handle_by_suffix_or_content(tmp_path: Path) -> None:
    router = Router(TestkitOptions())
    renamed = tmp_path / "case.json"
    renamed.write_text('{"action": "ok"}')
    plain = tmp_path / "plain.json"
    plain.write_text('{"x": 1}')
    assert router.can_handle(tmp_path / "x.iktest")
    assert router.can_handle(renamed)
    assert not router.can_handle(plain)
    router.close()


def test_router_process_uses_its_own_pool_by_default_and_store_when_given(case: Case, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "x.db")
    with Router(TestkitOptions(label="x"), store=store) as router:
        result = router.process(case("doc", "ok", text="Stored through a router."))
    assert result.status is ResultStatus.SUCCEEDED
    assert result.metadata["label"] == "x"
    assert store.query("SELECT text FROM chunks") == [("Stored through a router.",)]


def test_a_long_run_can_keep_summaries_instead_of_documents(case: Case, tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "kb.db")
    paths = [case(f"doc{n}", "ok", text=f"# Part {n}\n\nParagraph {n} of the handbook.") for n in range(3)]
    paths.append(case("bad", "raise", code="E_PARSE_CORRUPT"))
    with LocalExecutionBackend(strategy="inline") as backend:
        results = Ingestor([Router(TestkitOptions())], execution=backend, store=store).run(
            paths, keep_content=False
        )
    stored = results[:3]
    assert all(r.chunks == [] and r.stored is not None and r.stored.outcome == "inserted" for r in stored)
    assert [r.chunk_count for r in stored] == [1, 1, 1]
    assert store.query("SELECT count(*) FROM chunks") == [(3,)], "the content is in the store"
    assert results[3].stored is None
    assert results[3].error_codes == ["E_PARSE_CORRUPT"]


def test_a_result_from_another_processor_version_says_it_will_be_redone(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingestkit_core import registry
    from ingestkit_testkit import TestkitProcessor

    route = Router(TestkitOptions()).route  # this client's processor, version 1
    newer = TestkitProcessor()
    newer.version = "2"  # what a worker with a newer package runs
    monkeypatch.setattr(registry, "_loaded", {**registry._loaded, "testkit": newer})
    with LocalExecutionBackend(strategy="inline") as backend:
        [result] = Ingestor([route], execution=backend, store=SQLiteStore(tmp_path / "kb.db")).run(
            [case("doc", "ok", text="Text.")]
        )
    assert result.processor_version == "2"
    assert result.warning_codes == ["W_PROCESSOR_VERSION"]
    assert "version 2, but this client has version 1" in result.warnings[0].message
