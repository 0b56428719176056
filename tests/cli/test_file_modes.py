"""Clinical files are private (issue 14, item 7): whatever the user's umask, everything the
CLI writes — data directory, store, kept audio, reports, --out files, trends, the unsaved/
fallback, calibration profiles — is 0600, and every folder it makes is 0700."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest


def run(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user whose umask is the usual 022 (files 0644, folders 0755)."""
    env = {**os.environ, "LIVE_ATTUNE_HOME": str(home), "HOME": str(home.parent),
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.run([sys.executable, "-m", "live_attune.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=600, env=env,
                          preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == 0, (args, proc.stderr)
    return proc


def modes(*roots: Path) -> dict[str, int]:
    """Every file and folder under ``roots`` (roots included) → its permission bits."""
    found = {}
    for root in roots:
        for path in (root, *root.rglob("*")):
            found[str(path)] = stat.S_IMODE(path.lstat().st_mode)
    return found


@pytest.mark.slow
def test_everything_the_cli_writes_is_private(short_conversation: dict[str, Path],
                                              conversation: dict[str, Path],
                                              tmp_path: Path) -> None:
    home, out = tmp_path / "data", tmp_path / "out"
    for old in (out / "analyze" / "turns.csv", out / "exported.json",  # written over
                out / "trends" / "trends-C-1.html"):
        old.parent.mkdir(parents=True, exist_ok=True)
        old.write_text("an older file, readable by everyone\n")
        old.chmod(0o644)
    run(home, "demo", "--speed", "0", "--exit-at-end", "--no-browser", "--no-transcribe",
        "--no-prosody", "--keep-audio", "--port", "0", "--out", out / "live", "--client", "C-1")
    run(home, "analyze", short_conversation["stereo"], "--no-transcribe", "--out",
        out / "analyze", "--client", "C-1")
    run(home, "report", "last", "--format", "html,json,csv")  # into the data directory
    run(home, "report", "last", "--format", "html,json,csv", "--out", out / "reports")
    run(home, "trends", "--client", "C-1", "--out", out / "trends")
    run(home, "sessions", "export", "last", "--out", out / "exported.json")
    run(home, "calibrate", "--from-file", conversation["stereo"], "--no-prompt")
    src = tmp_path / "utterances.csv"
    src.write_text("speaker,text\ntherapist,What brings you here?\n", encoding="utf-8")
    run(home, "label-utterances", src, out / "labelled.csv")
    unusable = tmp_path / "data2"
    (unusable / "sessions.sqlite").mkdir(parents=True, mode=0o700)  # no store: unsaved/ID
    run(unusable, "analyze", short_conversation["stereo"], "--no-transcribe")

    found = modes(home, out, unusable / "unsaved")
    names = {Path(p).relative_to(tmp_path).as_posix() for p in found}
    for expected in ("data/sessions.sqlite", "data/audio", "data/reports", "data/profiles",
                     "out/live/session.json", "out/analyze/turns.csv", "out/trends",
                     "out/reports", "out/exported.json", "out/labelled.csv", "data2/unsaved"):
        assert any(n.startswith(expected) for n in names), expected
    assert any(p.endswith(".wav") for p in found)  # --keep-audio
    loose = {p: oct(m) for p, m in found.items()
             if m != (0o700 if Path(p).is_dir() else 0o600)}
    loose.pop(str(out), None)  # made by this test (0755 folders): not the CLI's
    loose.pop(str(out / "analyze"), None)
    loose.pop(str(out / "trends"), None)
    assert loose == {}, loose


def test_an_existing_data_directory_is_made_private(tmp_path: Path) -> None:
    """A data directory and store an older version left readable by everyone (0755/0644)
    are made private by the next command that opens the store, even a reading one."""
    import sqlite3

    home = tmp_path / "data"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    store = home / "sessions.sqlite"
    sqlite3.connect(store).close()
    store.chmod(0o644)
    run(home, "sessions", "list")
    assert modes(home) == {str(home): 0o700, str(store): 0o600}
