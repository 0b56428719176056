"""The store becomes unwritable during a live session (issue 9): a clear warning on the
dashboard, capture and metrics go on, nothing crashes."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from live_attune.server.session import LAN_STORE_ERROR
from live_attune.session.config import PipelineConfig
from live_attune.session.offline import analyze_file
from live_attune.session.output import config_dict, session_dict
from live_attune.store import NewSession, SessionRecorder
from tests.server.conftest import start
from tests.server.test_live_server import collect


@pytest.mark.slow
def test_an_unusable_store_warns_on_the_dashboard_and_the_session_goes_on(
        conversation: dict[str, Path], tmp_path: Path) -> None:
    store = tmp_path / "sessions.sqlite"
    store.mkdir()  # the store's path is a directory: no SQLite file can be opened there
    recorder = SessionRecorder(store, NewSession(
        kind="live", source="test", mode="channels", speakers=("therapist", "client"),
        config=config_dict(PipelineConfig())))
    running = start(conversation["stereo"], tmp_path / "out", speed=8.0, recorder=recorder)
    messages = asyncio.run(collect(running.ws))
    running.wait()
    errors = [m["store"]["error"] for m in messages if m["type"] == "status"]
    assert any(e and "session store not writable" in e for e in errors)
    live = json.loads((tmp_path / "out" / "session.json").read_text())
    offline = session_dict(analyze_file(conversation["stereo"], prosody=False))
    assert live["segments"] == offline["segments"] and live["metrics"] == offline["metrics"]


@pytest.mark.slow
def test_a_full_disk_is_a_warning_not_a_crash(tmp_path: Path) -> None:
    """RLIMIT_FSIZE makes every write past 48 KB fail with EFBIG, as a full disk would."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (48 * 1024, 48 * 1024))

    env = {**os.environ, "LIVE_ATTUNE_HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "live_attune.cli", "demo", "--speed", "0",
                           "--exit-at-end", "--no-browser", "--no-transcribe", "--no-prosody",
                           "--port", "0"], capture_output=True, text=True, timeout=300,
                          env=env, preexec_fn=limit)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "warning: session store not writable" in proc.stderr
    assert "talk T" in proc.stdout  # the session's measures were still reported


@pytest.mark.slow
def test_without_out_an_unusable_store_still_leaves_the_session_on_disk(
        conversation: dict[str, Path], tmp_path: Path) -> None:
    """No --out and no store: the result goes to the data directory's unsaved/ID."""
    from live_attune.paths import data_dir

    store = tmp_path / "sessions.sqlite"
    store.mkdir()
    recorder = SessionRecorder(store, NewSession(
        kind="live", source="test", mode="channels", speakers=("therapist", "client"),
        config=config_dict(PipelineConfig())))
    running = start(conversation["stereo"], None, speed=8.0,  # type: ignore[arg-type]
                    recorder=recorder)
    asyncio.run(collect(running.ws))
    session = running.wait()
    expected = data_dir() / "unsaved" / recorder.session_id / "session.json"
    assert session.saved_to == expected
    live = json.loads(expected.read_text())
    offline = session_dict(analyze_file(conversation["stereo"], prosody=False))
    assert live["segments"] == offline["segments"] and live["metrics"] == offline["metrics"]



@pytest.mark.slow
def test_the_stand_in_for_the_store_keeps_no_words_when_the_store_would_not(
        short_conversation: dict[str, Path], tmp_path: Path) -> None:
    """--no-transcript without a usable store: unsaved/ID is where the store's copy would
    have been, so it keeps the measures but not the words (as analyze's does)."""
    store = tmp_path / "sessions.sqlite"
    store.mkdir()
    recorder = SessionRecorder(store, NewSession(
        kind="live", source="test", mode="channels", speakers=("therapist", "client"),
        config=config_dict(PipelineConfig()), keep_transcript=False))
    running = start(short_conversation["stereo"], None, speed=None,  # type: ignore[arg-type]
                    asr=True, recorder=recorder)
    session = running.wait()
    assert session.saved_to is not None and session.saved_to.parent.parent.name == "unsaved"
    saved = json.loads(session.saved_to.read_text())
    assert saved["transcript"] == [] and saved["metrics"]["talk_time_s"]["therapist"] > 0
    assert saved["session"]["id"] == recorder.session_id == session.saved_to.parent.name
    assert session.run_state.transcripts  # there were words, and they were not kept

def test_over_the_lan_the_store_s_error_names_no_path(brief_conversation: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """--lan is plain HTTP on a shared network: the status says the store failed, in words,
    without the path of the user's files."""
    store = tmp_path / "sessions.sqlite"
    store.mkdir()
    recorder = SessionRecorder(store, NewSession(
        kind="live", source="test", mode="channels", speakers=("therapist", "client"),
        config=config_dict(PipelineConfig())))
    running = start(brief_conversation["stereo"], tmp_path / "out", speed=8.0, lan=True,
                    recorder=recorder)
    messages = asyncio.run(collect(running.ws))
    running.wait()
    errors = {m["store"]["error"] for m in messages if m["type"] == "status"} - {None}
    assert errors == {LAN_STORE_ERROR}
    assert str(tmp_path) not in json.dumps(messages)
