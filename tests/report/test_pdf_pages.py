"""The printed report, page by page (issue 20): each PDF page rendered to PNG with Debian's
pdftoppm (poppler-utils), checked for A4, for its page number, and for emptiness — no page
but the last less than 60 % filled (the old report left page 2 half empty), the last not
blank. The images go to build/test-artifacts/ (not committed) for a look."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from live_attune.report import write_report

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"
DPI = 40
A4_MM = (210.0, 297.0)
BOTTOM_MM = 16.0  # style.py's @page bottom margin, where the page number sits
MIN_FILL = 0.6  # a page other than the last is filled at least this far down
INK = 200  # a grey level below this is ink

pytestmark = pytest.mark.skipif(shutil.which("pdftoppm") is None,
                                reason="needs pdftoppm (Debian: apt install poppler-utils)")


def pages_as_png(pdf: Path, out: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", str(pdf), str(out / "page")],
                   check=True, capture_output=True, timeout=60)
    return sorted(out.glob("page-*.png"), key=lambda p: int(p.stem.split("-")[-1]))


def fill(image: Image.Image) -> tuple[float, bool]:
    """How far down the page the content reaches, as a share of the area above the bottom
    margin; and whether anything is printed above that margin at all."""
    grey = np.asarray(image.convert("L"))  # (height, width) grey levels
    body_h = grey.shape[0] - round(BOTTOM_MM / A4_MM[1] * grey.shape[0])
    rows = np.flatnonzero(grey[:body_h].min(axis=1) < INK)
    return (int(rows[-1]) + 1) / body_h if rows.size else 0.0, bool(rows.size)


def check_pdf(pdf: Path, name: str, tmp: Path) -> int:
    pngs = pages_as_png(pdf, tmp)
    assert pngs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True, timeout=60).stdout.split("\f")
    for k, png in enumerate(pngs):
        image = Image.open(png)
        shutil.copy(png, ARTIFACTS / f"{name}-page{k + 1}.png")
        ratio = image.height / image.width
        assert ratio == pytest.approx(A4_MM[1] / A4_MM[0], rel=0.01), (name, k)  # A4
        assert image.width == pytest.approx(A4_MM[0] / 25.4 * DPI, abs=1)
        reach, inked = fill(image)
        assert inked, (name, k, "blank page")
        if k < len(pngs) - 1:
            assert reach >= MIN_FILL, (name, k + 1, f"filled only {reach:.0%}")
        assert re.search(rf"page {k + 1} of {len(pngs)}", text[k]), (name, k)
    return len(pngs)


@pytest.mark.slow
def test_the_golden_report_prints_on_full_a4_pages(tmp_path: Path) -> None:
    golden: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    _, pdf = write_report(golden, tmp_path, ["html", "pdf"])
    pages = check_pdf(pdf, "golden-report", tmp_path)
    assert pages <= 4  # a 1.6-minute session: not the 6 pages of 3.6 minutes there were


@pytest.mark.slow
def test_a_real_analysis_prints_on_full_a4_pages(session_json: dict[str, Any],
                                                 tmp_path: Path) -> None:
    [pdf] = write_report(session_json, tmp_path, ["pdf"])
    check_pdf(pdf, "report", tmp_path)


def test_the_check_catches_a_half_empty_page(tmp_path: Path) -> None:
    """The emptiness check can fail: a page break after a short first page."""
    from live_attune.report.build import html_to_pdf
    from live_attune.report.style import CSS

    page = (f"<!doctype html><html><head><style>{CSS}</style></head><body><main><h1>Short"
            "</h1><p style='break-after: page'>one line</p><p>next page</p></main></body>"
            "</html>")
    html_to_pdf(page, tmp_path / "half.pdf")
    with pytest.raises(AssertionError, match="filled only"):
        check_pdf(tmp_path / "half.pdf", "half-empty", tmp_path)
