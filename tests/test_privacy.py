"""Privacy (issue 9, issue 15): a live run talks to nobody but its own local server, writes
no audio unless asked — anywhere, under any name — and `sessions delete` leaves no trace.

Each run is traced whole by strace (``tests/test_no_network.py``: every thread and child,
``HOME`` and ``TMPDIR`` pointed at folders of the test's own), with every write traced too,
each with the file it went to and its first bytes. Audio is found by what a file holds, not
by its name: a write that begins with a container's signature (RIFF/WAVE, Ogg, FLAC, ID3,
an MPEG frame sync, AIFF, Matroska/WebM, CAF), or more than 64 kB of binary data (raw PCM
looks like that; session.json does not) written to one file that is not the store, its WAL
or a runtime cache — including files deleted before the run ended.
After the run every file left in the data directory, ``--out``, ``HOME``, ``TMPDIR`` and the
working directory is read and judged the same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_no_network import STRACE, TRACED, Places, check, network_violations, traced

WRITES = ",write,pwrite64,writev,pwritev,pwritev2,sendfile,copy_file_range"
# -y: the file each descriptor names; -x: non-ASCII data in \x escapes; -s 8: 8 bytes of it
WRITE_OPTIONS = ("-y", "-x", "-s", "8")
WRITE = re.compile(r'^(?:write|writev|pwrite64|pwritev2?|sendfile)\(\d+<([^>]*)>, '
                   r'(?:\[\{iov_base=)?(?:"((?:[^"\\]|\\.)*)")?.*\) = (\d+)')
COPY = re.compile(r"^copy_file_range\(\d+<[^>]*>, [^,]+, \d+<([^>]*)>.*\) = (\d+)")
SIGNATURES = (b"RIFF", b"RIFX", b"RF64", b"OggS", b"fLaC", b"ID3", b"FORM", b"caff",
              b"\x1aE\xdf\xa3", b".snd")
MPEG_SYNC = re.compile(rb"^\xff[\xe0-\xff]")  # an MPEG audio frame header (MP3, ADTS AAC)
BIG = 64 * 1024
STORE = re.compile(r"/sessions\.sqlite(-wal|-shm|-journal)?$")
CACHE = "/cache/"  # the data directory's runtime caches (matplotlib, numba): not audio


@pytest.fixture(name="places")
def watched_places() -> Iterator[Places]:
    """As test_no_network's: a short root (Unix socket paths), home/tmp/cwd made, the data
    directory and --out left for the tool to make."""
    root = Path(tempfile.mkdtemp(prefix="la-"))
    made = Places(*(root / name for name in ("home", "tmp", "data", "out", "cwd")))
    for folder in (made.home, made.tmp, made.cwd):
        folder.mkdir()
    yield made
    shutil.rmtree(root, ignore_errors=True)


def looks_like_audio(head: bytes) -> bool:
    return head.startswith(SIGNATURES) or bool(MPEG_SYNC.match(head))


def is_text(sample: bytes) -> bool:
    """UTF-8 text without NUL bytes (a multi-byte character cut at the end allowed)."""
    if b"\0" in sample:
        return False
    for cut in range(4):
        try:
            sample[:len(sample) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def suspicious_size(path: str, size: int, binary: bool) -> bool:
    return size > BIG and binary and not STORE.search(path) and CACHE not in path


def _bytes(escaped: str) -> bytes:
    """strace's C-escaped string back to bytes."""
    return escaped.encode("latin-1").decode("unicode_escape").encode("latin-1")


def written(lines: list[str]) -> dict[str, tuple[int, list[bytes]]]:
    """Every regular file written during the run: (bytes written, first bytes of each
    write). Sockets, pipes and devices are left out."""
    files: dict[str, tuple[int, list[bytes]]] = defaultdict(lambda: (0, []))
    for line in lines:
        m, c = WRITE.match(line), COPY.match(line)
        path, count, head = ((m.group(1), m.group(3), m.group(2)) if m else
                             (c.group(1), c.group(2), None) if c else (None, None, None))
        if path is None or not path.startswith("/") or path.startswith("/dev/"):
            continue
        size, heads = files[path]
        files[path] = (size + int(count), [*heads, _bytes(head)] if head is not None else heads)
    return dict(files)


def audio_written(lines: list[str]) -> list[str]:
    """Files written during the run that held audio or were suspiciously big."""
    bad = []
    for path, (size, heads) in written(lines).items():
        if any(looks_like_audio(h) for h in heads):
            bad.append(f"{path}: audio ({heads[0][:4]!r})")
        elif suspicious_size(path, size, not all(is_text(h) for h in heads)):
            bad.append(f"{path}: {size} bytes of binary data written")
    return bad


def audio_left(places: Places) -> list[Path]:
    """Files left in any watched place that hold audio (by content) or are big."""
    bad = []
    for root in (places.data, places.out, places.home, places.tmp, places.cwd):
        for f in root.rglob("*") if root.exists() else ():
            if not f.is_file() or f.is_symlink():
                continue
            with f.open("rb") as fh:
                head = fh.read(4096)
            big = suspicious_size(str(f), f.stat().st_size, not is_text(head))
            if looks_like_audio(head) or big:
                bad.append(f)
    return bad


def udp_sockets(lines: list[str]) -> list[str]:
    return [x for x in lines if x.startswith("socket(AF_INET") and "SOCK_DGRAM" in x]


def run_demo(places: Places, *extra: str) -> list[str]:
    rc, err, lines = traced(places, "demo", "--exit-at-end", "--no-browser", "--port", "0",
                            *extra, also=WRITES, options=WRITE_OPTIONS)
    assert rc == 0, err
    check(places, lines)  # no DNS, no connection off the loopback, nothing outside the places
    assert [x for x in lines if x.startswith("bind(") and '"127.0.0.1"' in x], \
        "the trace saw no server socket: it would not see others either"
    assert udp_sockets(lines) == [], "a UDP socket was opened (DNS, telemetry …)"
    assert [p for p in written(lines) if STORE.search(p)], \
        "the trace saw no write to the store: it would not see others either"
    return lines


@pytest.mark.slow
def test_a_live_run_with_transcription_talks_to_nobody_and_keeps_no_audio(
        places: Places) -> None:
    lines = run_demo(places, "--speed", "8", "--out", str(places.out))
    assert json.loads((places.out / "session.json").read_text())["transcript"]
    assert audio_written(lines) == []
    assert audio_left(places) == []


@pytest.mark.slow
def test_no_audio_without_keep_audio_and_delete_leaves_no_trace(places: Places) -> None:
    lines = run_demo(places, "--speed", "0", "--no-transcribe", "--client", "ZEBRA-7")
    assert audio_written(lines) == []
    assert audio_left(places) == []
    lines = run_demo(places, "--speed", "0", "--no-transcribe", "--client", "ZEBRA-7",
                     "--keep-audio")
    # the one audio file written is the one asked for, in the data directory's audio/
    kept = audio_left(places)
    assert len(kept) == 1 and kept[0].parent == places.data / "audio", kept
    flagged = audio_written(lines)
    assert [b for b in flagged if b.startswith(f"{kept[0]}: audio")], flagged  # seen
    assert [b for b in flagged if not b.startswith(f"{kept[0]}:")] == []
    with wave.open(str(kept[0])) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 16_000
        assert abs(w.getnframes() / 16_000 - 214.5) < 1.0
    env = {**os.environ, "LIVE_ATTUNE_HOME": str(places.data)}
    ids = [line.split()[0] for line in subprocess.run(
        [sys.executable, "-m", "live_attune.cli", "sessions", "list"], env=env,
        capture_output=True, text=True, check=True).stdout.splitlines()[1:] if line.strip()]
    assert len(ids) == 2
    for sid in ids:
        subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "delete", sid,
                        "--yes"], env=env, capture_output=True, text=True, check=True)
    assert audio_left(places) == []
    for root in (places.data, places.home, places.tmp, places.cwd):
        for f in root.rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts:
                data = f.read_bytes()
                for sid in ids:
                    assert sid.encode() not in data, (f, sid)
                assert b"ZEBRA-7" not in data, f


def test_the_audio_checks_see_what_they_must(tmp_path: Path) -> None:
    """The checks can fail: a whole-session WAV written to TMPDIR and deleted before the end,
    an MP3 named .txt, raw PCM, and a UDP packet towards the outside are all caught."""
    places = Places(*(tmp_path / n for n in ("home", "tmp", "data", "out", "cwd")))
    for folder in (places.home, places.tmp, places.data, places.cwd):
        folder.mkdir()
    code = f"""
import os, socket, wave
with wave.open({str(places.tmp / 'x.wav')!r}, 'wb') as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(16000); w.writeframes(bytes(64000))
os.remove({str(places.tmp / 'x.wav')!r})
open({str(places.data / 'notes.txt')!r}, 'wb').write(b'\\xff\\xfb\\x90\\x64' + bytes(400))
open({str(places.home / 'pcm')!r}, 'wb').write(bytes(range(256)) * 400)  # 100 kB, binary
socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b'x', ('192.0.2.1', 53))
"""
    trace = tmp_path / "trace"
    trace.mkdir()
    assert STRACE
    subprocess.run([STRACE, "-f", "-ff", "-qq", *WRITE_OPTIONS, "-e",
                    f"trace={TRACED}{WRITES}", "-o", str(trace / "t"), sys.executable, "-c",
                    code], check=True, capture_output=True)
    lines = [x for f in sorted(trace.iterdir()) for x in f.read_text().splitlines()]
    bad = audio_written(lines)
    assert any(b.startswith(f"{places.tmp / 'x.wav'}: audio") for b in bad), bad
    assert any(b.startswith(f"{places.data / 'notes.txt'}: audio") for b in bad), bad
    assert any(b.startswith(f"{places.home / 'pcm'}: 102400 bytes") for b in bad), bad
    assert not (places.tmp / "x.wav").exists()  # gone: only the trace saw it
    assert set(audio_left(places)) == {places.data / "notes.txt", places.home / "pcm"}
    (places.out / "session.json").parent.mkdir()
    (places.out / "session.json").write_text('{"text": "' + "words " * 20_000 + '"}')
    assert places.out / "session.json" not in audio_left(places)  # big, but text
    assert [x for x in network_violations(lines) if "192.0.2.1" in x]
    assert udp_sockets(lines)  # however briefly it lived
