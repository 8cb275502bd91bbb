# mypy: disable-error-code="no-untyped-call"
# (PyMuPDF is only partly annotated.)
"""OCR of scanned pages with the ``tesseract`` command.

We call the Tesseract executable rather than a Python binding or MuPDF's built-in OCR:
its TSV output carries word confidences (for ``W_OCR_LOW_CONFIDENCE``) and Tesseract's
own block/paragraph/line structure; each page runs in its own short-lived process with a
hard timeout, so a pathological scan cannot hang or crash the worker; and it needs
nothing but the distribution package (``apt-get install tesseract-ocr``), so there is no
Python extra to install. The page is rendered in grey at the configured DPI and handed
over on stdin as PGM (no compression cost). Tesseract gets one thread
(``OMP_THREAD_LIMIT=1``): parallelism comes from processing documents side by side,
and oversubscribed OpenMP threads make everything slower.

Words become :class:`~ingestkit_pdf.text.Line` s in page coordinates, with a font size
estimated from the line height, so OCR text goes through the same header, heading and
chunking steps as native text.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass

from ingestkit_pdf._pymupdf import pymupdf
from ingestkit_pdf.options import OCROptions
from ingestkit_pdf.text import Line

logger = logging.getLogger(__name__)

SIZE_FROM_LINE_HEIGHT = 1.07
"""Tesseract's line box is about 0.93 of the font size (ascender to descender)."""
INSTALL_HINT = "install Tesseract: apt-get install tesseract-ocr (macOS: brew install tesseract)"


class OCRUnavailable(Exception):
    """Tesseract (or the requested language) is not installed."""


class OCRFailed(Exception):
    """Tesseract ran but could not read the page."""


@dataclass(slots=True)
class OCRPage:
    lines: list[Line]
    words: int
    mean_confidence: float


@functools.lru_cache(maxsize=8)
def _languages(command: str) -> frozenset[str] | None:
    executable = shutil.which(command)
    if executable is None:
        return None
    try:
        done = subprocess.run(
            [executable, "--list-langs"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    output = done.stdout or done.stderr
    return frozenset(line.strip() for line in output.splitlines()[1:] if line.strip())


def check_available(options: OCROptions) -> None:
    """Raise :class:`OCRUnavailable` with what to install when OCR cannot run."""
    languages = _languages(options.tesseract_cmd)
    if languages is None:
        raise OCRUnavailable(f"Tesseract ({options.tesseract_cmd!r}) is not installed: {INSTALL_HINT}")
    missing = [lang for lang in options.language.split("+") if lang not in languages]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise OCRUnavailable(
            f"Tesseract has no data for language {'+'.join(missing)} "
            f"(installed: {', '.join(sorted(languages)) or 'none'}): apt-get install {packages}"
        )


def ocr_page(page: pymupdf.Page, number: int, options: OCROptions) -> OCRPage:
    check_available(options)
    executable = shutil.which(options.tesseract_cmd) or options.tesseract_cmd
    pixmap = page.get_pixmap(dpi=options.dpi, colorspace=pymupdf.csGRAY, alpha=False)
    image = pixmap.tobytes("pgm")
    scale_x = page.rect.width / pixmap.width
    scale_y = page.rect.height / pixmap.height
    del pixmap
    command = [
        executable,
        "stdin",
        "stdout",
        "-l",
        options.language,
        "--dpi",
        str(options.dpi),
        "--psm",
        "3",
        "tsv",
    ]
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        done = subprocess.run(
            command, input=image, capture_output=True, timeout=options.timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        raise OCRFailed(f"Tesseract took longer than {options.timeout_s:.0f}s") from None
    except OSError as exc:
        raise OCRUnavailable(f"cannot run Tesseract: {exc}: {INSTALL_HINT}") from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise OCRFailed(f"Tesseract exited with status {done.returncode}: {detail[0]}")
    return _parse_tsv(done.stdout.decode("utf-8", errors="replace"), number, scale_x, scale_y)


def _parse_tsv(tsv: str, number: int, scale_x: float, scale_y: float) -> OCRPage:
    lines: dict[tuple[int, int, int], list[tuple[int, int, int, int, float, str]]] = {}
    boxes: dict[tuple[int, int, int], tuple[int, int, int, int]] = {}
    for row in tsv.splitlines()[1:]:
        fields = row.split("\t")
        if len(fields) < 12:
            continue
        level = fields[0]
        key = (int(fields[2]), int(fields[3]), int(fields[4]))
        left, top, width, height = (int(value) for value in fields[6:10])
        if level == "4":
            boxes[key] = (left, top, width, height)
        elif level == "5":
            text = fields[11].strip()
            confidence = float(fields[10])
            if text and confidence >= 0:
                lines.setdefault(key, []).append((left, top, width, height, confidence, text))
    result: list[Line] = []
    confidences: list[float] = []
    for key in sorted(lines, key=lambda k: (k[0], k[1], k[2])):
        words = lines[key]
        confidences.extend(word[4] for word in words)
        x0 = min(word[0] for word in words)
        y0 = min(word[1] for word in words)
        x1 = max(word[0] + word[2] for word in words)
        y1 = max(word[1] + word[3] for word in words)
        line_height = boxes.get(key, (0, 0, 0, y1 - y0))[3]
        size = round(line_height * scale_y * SIZE_FROM_LINE_HEIGHT * 2) / 2
        block = key[0] * 1000 + key[1]  # Tesseract's paragraph is our text block
        text = " ".join(word[5] for word in words)
        result.append(
            Line(
                text,
                x0 * scale_x,
                y0 * scale_y,
                x1 * scale_x,
                y1 * scale_y,
                size,
                False,
                block,
                number,
                ocr=True,
            )
        )
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OCRPage(result, len(confidences), mean)
