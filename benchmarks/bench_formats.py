"""Word, PowerPoint, HTML and e-mail on real documents nobody here wrote, next to markitdown;
and the memory a large CSV needs.

Documents (not committed; fetched into ``--cache``, default /tmp/ingestkit-bench-formats):

- ``.docx`` / ``.pptx``: the test files of the python-docx and python-pptx sdists
  (``pip download --no-deps --no-binary :all: python-docx python-pptx``);
- ``.html``: the Debian Reference (``apt-get download debian-reference-en``) and git's HTML
  manual pages (``apt-get download git-doc``), unpacked with ``dpkg-deb -x``;
- ``.eml``: the test messages of the mail-parser sdist (``pip download --no-deps --no-binary
  :all: mail-parser``) and CPython's e-mail test data (``apt-get download
  libpython3.11-testsuite``: ``test_email/data/msg_*.txt``, copied as ``.eml``).

For each format: files read, failures, MB/s (and slides/s) for ingestkit and markitdown
in the same run; word coverage = the share of markitdown's words (as a multiset, after
dropping its markdown syntax, image file names and link targets) found in ingestkit's
chunk text; headings = the share of markitdown's ``#`` headings found among ingestkit's
heading paths. markitdown reads no .eml, so e-mail is timed only.

CSV: a generated file of ``--csv-rows`` rows is processed in a child process and its peak
RSS compared with the file size and with a child that only imports the packages.

    .venv/bin/pip install 'markitdown[docx,pptx]'
    .venv/bin/python benchmarks/bench_formats.py                # everything
    .venv/bin/python benchmarks/bench_formats.py --only csv --csv-rows 2000000
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from ingestkit_core import Extraction, IngestkitError
from ingestkit_office import OfficeOptions, OfficeProcessor
from ingestkit_text import TextOptions, TextProcessor

SDISTS = ("python-docx==1.2.0", "python-pptx==1.0.2", "mail-parser==4.8.0")
DEBS = ("debian-reference-en", "git-doc", "libpython3.11-testsuite")
_WORD = re.compile(r"\w+")
_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MD_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
# markitdown's own labels, not document text: "### Notes:" above speaker notes, "### Chart: <title>".
_MD_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_PEER_LABELS = re.compile(r"^#{1,6}\s*(?:Notes:|Chart)(?::\s*|\s*$)", re.MULTILINE)


def fetch(cache: Path) -> dict[str, list[Path]]:
    """The benchmark documents by format, downloading what is missing."""
    cache.mkdir(parents=True, exist_ok=True)
    sdists = cache / "sdists"
    if not sdists.exists():
        sdists.mkdir()
        pip = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:"]
        subprocess.run([*pip, "--no-build-isolation", "-d", str(sdists), *SDISTS], check=True)
        for archive in sdists.glob("*.tar.gz"):
            with tarfile.open(archive) as opened:
                opened.extractall(sdists, filter="data")
    debs = cache / "debs"
    if not debs.exists():
        debs.mkdir()
        subprocess.run(["apt-get", "download", "-q", *DEBS], cwd=debs, check=True)
        for package in debs.glob("*.deb"):
            subprocess.run(["dpkg-deb", "-x", str(package), str(debs / "root")], check=True)
    mail = cache / "eml"
    if not mail.exists():
        mail.mkdir()
        sources = [
            *sdists.glob("mail_parser-*/tests/mails/*"),
            *debs.glob("root/usr/lib/python3*/test/test_email/data/msg_*.txt"),
        ]
        for index, source in enumerate(sorted(sources)):
            shutil.copyfile(source, mail / f"{index:03d}-{source.stem}.eml")
    root = debs / "root"
    return {
        "docx": sorted(sdists.glob("python_docx-*/**/*.docx")),
        "pptx": sorted(sdists.glob("python_pptx-*/**/*.pptx")),
        "html": sorted(root.glob("usr/share/debian-reference/*.html"))
        + sorted(root.glob("usr/share/doc/git-doc/*.html")),
        "eml": sorted(mail.glob("*.eml")),
    }


def _words(text: str) -> collections.Counter[str]:
    return collections.Counter(word.lower() for word in _WORD.findall(text))


def _peer_text(markdown: str) -> str:
    text = _PEER_LABELS.sub("", _HTML_COMMENT.sub(" ", markdown))
    text = _MD_IMAGE.sub(" ", text)
    return _MD_LINK_TARGET.sub("]", text)


def _ours(path: Path, fmt: str) -> Extraction:
    if fmt in ("docx", "pptx"):
        return OfficeProcessor().process(path, OfficeOptions())
    return TextProcessor().process(path, TextOptions())


def bench_documents(fmt: str, files: list[Path], peer: Callable[[Path], str] | None) -> None:
    size = sum(path.stat().st_size for path in files)
    ours_s = peer_s = 0.0
    failed: collections.Counter[str] = collections.Counter()
    peer_failed = 0
    found = total = 0
    headings_found = headings_total = 0
    pages = 0
    worst: list[tuple[float, str]] = []
    for path in files:
        started = time.perf_counter()
        try:
            extraction = _ours(path, fmt)
        except IngestkitError as exc:
            failed[exc.code.value] += 1
            extraction = None
        ours_s += time.perf_counter() - started
        if extraction is not None:
            pages += extraction.page_count
        if peer is None:
            continue
        started = time.perf_counter()
        try:
            peer_markdown = peer(path)
        except Exception:
            peer_failed += 1
            continue
        finally:
            peer_s += time.perf_counter() - started
        peer_words = _words(_peer_text(peer_markdown))
        if extraction is None or not peer_words:
            total += sum(peer_words.values())
            continue
        mine = _words("\n".join(chunk.text for chunk in extraction.chunks))
        hit = sum((peer_words & mine).values())
        found += hit
        total += sum(peer_words.values())
        worst.append((hit / sum(peer_words.values()), path.name))
        titles = {
            " ".join(title.lower().split())
            for chunk in extraction.chunks
            for title in chunk.metadata.heading_path
        }
        # "# apt-get update" inside a code block is a root prompt, not a heading.
        for heading in _MD_HEADING.findall(_MD_FENCE.sub("", _PEER_LABELS.sub("", peer_markdown))):
            plain = " ".join(_peer_text(heading).replace("*", "").replace("`", "").lower().split())
            if plain:
                headings_total += 1
                headings_found += plain in titles
    mb = size / 1e6
    line = f"{fmt:5} {len(files):4} files {mb:7.2f} MB | ingestkit {mb / ours_s:7.2f} MB/s"
    if pages and fmt == "pptx":
        line += f" {pages / ours_s:7.0f} slides/s"
    line += f", failed {dict(failed) or 0}"
    if peer is not None:
        line += f" | markitdown {mb / peer_s:6.2f} MB/s, failed {peer_failed}"
        line += f" | word coverage {found / max(total, 1):6.1%}"
        if headings_total:
            line += f", headings {headings_found}/{headings_total}"
    print(line, flush=True)
    if worst:
        worst.sort()
        print("      lowest coverage: " + ", ".join(f"{name} {share:.0%}" for share, name in worst[:3]))


_CHILD = """
import resource, sys, time
from pathlib import Path
from ingestkit_text import TextOptions, TextProcessor
path = Path(sys.argv[1])
started = time.perf_counter()
if path.exists():
    extraction = TextProcessor().process(path, TextOptions())
    rows = len(extraction.tables[0].rows)
else:
    rows = 0
print(rows, time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def bench_csv(rows: int, cache: Path) -> None:
    path = cache / f"generated-{rows}.csv"
    if not path.exists():
        with path.open("w", encoding="utf-8") as handle:
            handle.write("id,opened,site,priority,cost,summary\n")
            for index in range(rows):
                handle.write(
                    f"{index},2024-{index % 12 + 1:02d}-{index % 28 + 1:02d},site {index % 97},"
                    f"{('low', 'high')[index % 2]},{index % 1000}.25,ticket number {index} about a printer\n"
                )
    size_mb = path.stat().st_size / 1e6

    def child(target: Path) -> tuple[int, float, float]:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, str(target)], check=True, capture_output=True, text=True
        )
        kept, seconds, rss_kb = out.stdout.split()
        return int(kept), float(seconds), int(rss_kb) / 1024

    _, _, baseline = child(cache / "missing.csv")
    kept, seconds, peak = child(path)
    print(
        f"csv   {rows} rows, {size_mb:.0f} MB: {seconds:.1f} s ({size_mb / seconds:.1f} MB/s), "
        f"kept {kept} rows (max_rows default), peak RSS {peak:.0f} MiB (imports alone {baseline:.0f} MiB)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ingestkit-bench-formats")
    parser.add_argument("--only", choices=["docx", "pptx", "html", "eml", "csv"], action="append")
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--no-peer", action="store_true", help="Time ingestkit only")
    args = parser.parse_args()
    chosen = set(args.only or ["docx", "pptx", "html", "eml", "csv"])
    peer: Callable[[Path], str] | None = None
    if not args.no_peer:
        try:
            from markitdown import MarkItDown
        except ImportError:
            print("markitdown is not installed: pip install 'markitdown[docx,pptx]' (or pass --no-peer)")
            raise SystemExit(2) from None
        converter = MarkItDown()

        def peer(path: Path) -> str:
            return str(converter.convert(str(path)).text_content)

    documents = fetch(args.cache) if chosen - {"csv"} else {}
    for fmt in ("docx", "pptx", "html", "eml"):
        if fmt in chosen:
            bench_documents(fmt, documents[fmt], None if fmt == "eml" else peer)
    if "csv" in chosen:
        bench_csv(args.csv_rows, args.cache)


if __name__ == "__main__":
    main()
