"""SessionRecorder: the live session's journal, written on its own thread."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from live_attune.core import Segment
from live_attune.session.config import PipelineConfig
from live_attune.session.output import config_dict
from live_attune.store import NewSession, SessionRecorder, Store
from live_attune.store.recorder import repair_wav


def new(**kw: object) -> NewSession:
    base: dict[str, object] = {"kind": "live", "source": "test", "mode": "channels",
                               "speakers": ("therapist", "client"),
                               "config": config_dict(PipelineConfig())}
    return NewSession(**(base | kw))  # type: ignore[arg-type]


def test_checkpoints_commit_the_journal(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    rec = SessionRecorder(path, new())
    rec.segment(Segment("therapist", 0.0, 1.0))
    rec.progress(0.4, {})  # not yet due: no checkpoint
    rec.progress(1.2, {"client": 1.1})
    rec.close(None)
    with Store(path) as store:
        journal = store.journal(rec.session_id)
    assert journal.segments == [("therapist", 0.0, 1.0)]
    assert journal.checkpoint_s == 1.2 and journal.open_s == {"client": 1.1}
    assert rec.commits >= 2 and rec.error is None


def test_an_unwritable_store_is_reported_retried_and_nothing_is_lost(tmp_path: Path) -> None:
    """The store's path is a directory (as unwritable as it gets, even for root); once it is
    a usable path again, the records held in memory are written at the next checkpoint."""
    path = tmp_path / "s.sqlite"
    path.mkdir()
    rec = SessionRecorder(path, new())
    try:
        rec.segment(Segment("therapist", 0.0, 1.0))
        rec.progress(1.0, {})
        _wait(lambda: rec.error is not None)
        assert "not writable" in (rec.error or "")
        path.rmdir()
        rec.segment(Segment("client", 1.5, 2.5))
        rec.progress(2.5, {})
        _wait(lambda: rec.error is None)
    finally:
        rec.close({"duration_s": 3.0})
    with Store(path) as store:
        assert store.journal(rec.session_id).segments == [("therapist", 0.0, 1.0),
                                                           ("client", 1.5, 2.5)]
        assert store.get(rec.session_id).state == "complete"


def test_close_with_an_unusable_store_does_not_raise(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.mkdir()
    rec = SessionRecorder(path, new())
    rec.segment(Segment("therapist", 0.0, 1.0))
    rec.close({"duration_s": 1.0})  # returns; nothing raised into the session
    assert "not writable" in (rec.error or "")


def test_kept_audio_is_a_wav_and_a_cut_one_is_repaired(tmp_path: Path) -> None:
    wav_path = tmp_path / "a.wav"
    rec = SessionRecorder(tmp_path / "s.sqlite", new(audio_path=str(wav_path)), channels=2)
    block = np.stack([np.full(1600, 0.5, np.float32), np.full(1600, -0.25, np.float32)])
    rec.audio(block)
    rec.audio(block)
    rec.close(None)
    with wave.open(str(wav_path)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getnframes()) == (2, 16_000, 3200)
        data = np.frombuffer(w.readframes(3200), "<i2").reshape(-1, 2)
    assert data[0].tolist() == [16383, -8191]
    # a writer killed before closing leaves zero sizes in the header
    raw = bytearray(wav_path.read_bytes())
    raw[40:44] = b"\0\0\0\0"
    wav_path.write_bytes(bytes(raw))
    repair_wav(wav_path)
    with wave.open(str(wav_path)) as w:
        assert w.getnframes() == 3200


def _wait(cond: object, timeout_s: float = 10.0) -> None:
    import time

    end = time.monotonic() + timeout_s
    while not cond():  # type: ignore[operator]
        assert time.monotonic() < end, "condition not met in time"
        time.sleep(0.02)
