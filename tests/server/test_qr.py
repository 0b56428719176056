"""``live --lan`` prints a QR code to the terminal (issue 15): read back from what was
printed, by a real decoder (zbar's ``zbarimg``, Debian's zbar-tools), it is exactly the
printed URL with its token, and that URL opens the dashboard. The terminal's blocks are
parsed into modules and drawn as a PNG the way a dark terminal shows them (the glyphs in
light ink on a dark background); nothing is re-encoded. Served on 127.0.0.2 as the LAN
(tests/server/conftest.py)."""

from __future__ import annotations

import shutil
import subprocess
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image

from tests.server.conftest import LAN_ADDRESS, start

ZBARIMG = "/usr/bin/zbarimg"
# segno's compact terminal output: one character is two modules, the upper and the lower;
# its ink is a light module, the background a dark one (1 = light).
GLYPHS = {"█": (1, 1), "▀": (1, 0), "▄": (0, 1), " ": (0, 0)}
PIXELS_PER_MODULE = 8


def printed_qr(out: str) -> list[str]:
    """The lines of the QR code in what ``live --lan`` printed."""
    lines = out.splitlines()
    start = lines.index("Scan to open it on a tablet on this network:") + 1
    end = next(i for i, line in enumerate(lines) if line.startswith("Over the network"))
    return lines[start:end]


def modules(lines: list[str]) -> np.ndarray:
    """(rows, columns) uint8, 1 for a light module, 0 for a dark one."""
    assert lines and len({len(line) for line in lines}) == 1, "a ragged QR code"
    assert set("".join(lines)) <= set(GLYPHS), set("".join(lines)) - set(GLYPHS)
    rows = []
    for line in lines:
        rows.append([GLYPHS[c][0] for c in line])
        rows.append([GLYPHS[c][1] for c in line])
    return np.array(rows, np.uint8)


def decode(matrix: np.ndarray, png: Path) -> list[str]:
    """Every symbol zbar finds in the matrix drawn as an image."""
    image = Image.fromarray(matrix * 255).resize(
        (matrix.shape[1] * PIXELS_PER_MODULE, matrix.shape[0] * PIXELS_PER_MODULE),
        Image.Resampling.NEAREST)
    image.save(png)
    proc = subprocess.run([ZBARIMG, "--nodbus", "--raw", "-q", str(png)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode in (0, 4), proc.stderr  # 4: no symbol found
    return proc.stdout.splitlines()


def test_the_printed_qr_code_is_the_printed_url_with_its_token(
        brief_conversation: dict[str, Path], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert shutil.which(ZBARIMG), "zbar-tools is needed (scripts/setup.sh --test)"
    # in real time: the session outlasts the checks, which then end it
    running = start(brief_conversation["stereo"], tmp_path, speed=1.0, lan=True)
    try:
        out = capsys.readouterr().out
        printed = [line.removeprefix("Dashboard: ") for line in out.splitlines()
                   if line.startswith("Dashboard: ")]
        assert printed == [running.url]
        url = urlsplit(running.url)
        assert url.hostname == LAN_ADDRESS and len(parse_qs(url.query)["token"][0]) >= 16
        matrix = modules(printed_qr(out))
        (scanned,) = decode(matrix, tmp_path / "qr.png")
        assert scanned == running.url
        # The reading depends on the glyphs' meaning: zbar reads dark on light only, so the
        # same modules the other way round decode to nothing.
        assert decode(1 - matrix, tmp_path / "inverted.png") == []
        with urllib.request.urlopen(scanned, timeout=30) as r:  # the token lets it in
            assert r.status == 200 and b"<html" in r.read().lower()
    finally:
        running.stop()
        running.wait()
