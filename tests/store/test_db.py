"""The SQLite session store: a real file, WAL, versions, deletion without a trace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from live_attune.analyze import analyze_file
from live_attune.core import Segment
from live_attune.errors import StoreError
from live_attune.output import config_dict, session_dict
from live_attune.pipeline import PipelineConfig
from live_attune.store import NewSession, Store
from live_attune.store.recover import recover

SPEAKERS = ("therapist", "client")


def new(**kw: object) -> NewSession:
    base: dict[str, object] = {"kind": "live", "source": "test", "mode": "channels",
                               "speakers": SPEAKERS, "config": config_dict(PipelineConfig())}
    return NewSession(**(base | kw))  # type: ignore[arg-type]


def test_the_store_lives_in_the_data_directory_in_wal_mode(private_data_dir: Path) -> None:
    with Store() as store:
        assert store.path.parent == private_data_dir
        mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_a_session_round_trips(short_conversation: dict) -> None:
    result = analyze_file(short_conversation["stereo"])
    data = session_dict(result)
    with Store() as store:
        sid = store.create(new(label="C-7", kind="analyze"), state="complete")
        store.save_result(sid, data, state="complete")
        back = store.result(sid)
        assert back["metrics"] == data["metrics"]
        assert back["session"]["label"] == "C-7" and back["session"]["id"] == sid
        assert store.get(sid[:12]).id == sid and store.get("last").id == sid
        assert [r.id for r in store.list("C-7")] == [sid] and store.list("other") == []


def test_unknown_and_ambiguous_references_are_clear_errors() -> None:
    with Store() as store:
        store.create(new(id="20260101-000000-aaaa"))
        store.create(new(id="20260101-000000-aaab"))
        with pytest.raises(StoreError, match="no session matching 'zzz'"):
            store.get("zzz")
        with pytest.raises(StoreError, match="2 sessions matching"):
            store.get("20260101-000000-aa")


def test_a_newer_store_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    sqlite3.connect(path).execute("PRAGMA user_version=99").connection.commit()
    with pytest.raises(StoreError, match="newer live-attune"):
        Store(path)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open the session store"):
        Store(path)


def test_a_dead_recording_process_marks_the_session_interrupted() -> None:
    with Store() as store:
        sid = store.create(new())
        store._conn.execute("UPDATE sessions SET pid=? WHERE id=?", (2**22 + 12345, sid))
        assert [r.id for r in store.interrupted()] == [sid]
        with pytest.raises(StoreError, match="sessions recover"):
            store.result(sid)


def test_recover_measures_up_to_the_checkpoint_and_closes_open_speech() -> None:
    with Store() as store:
        sid = store.create(new())
        store.append_journal(sid, [
            ("segment", Segment("therapist", 0.5, 3.0)),
            ("segment", Segment("client", 3.5, 8.0)),
            ("checkpoint", (10.0, {"therapist": 9.0})),
            ("segment", Segment("client", 20.0, 25.0)),  # after the checkpoint: not committed
        ])
        store._conn.execute("UPDATE sessions SET state='interrupted' WHERE id=?", (sid,))
        data = recover(store, sid)
    assert data["session"]["state"] == "recovered"
    assert data["duration_s"] == 10.0
    assert [(s["speaker"], s["start_s"], s["end_s"]) for s in data["segments"]] == [
        ("therapist", 0.5, 3.0), ("client", 3.5, 8.0), ("therapist", 9.0, 10.0)]
    assert data["metrics"]["talk_time_s"] == pytest.approx({"therapist": 3.5, "client": 4.5})
    assert any("recovered" in n for n in data["notes"])


def test_delete_leaves_no_trace_in_the_file(private_data_dir: Path) -> None:
    secret = "ZEBRA-MARKER-1234 my deepest worry"
    with Store() as store:
        sid = store.create(new(label="C-secret"))
        from live_attune.core.events import Transcript

        store.append_journal(sid, [("transcript", Transcript("client", 1.0, 2.0, secret))])
        store.save_result(sid, {"duration_s": 2.0, "transcript": [{"text": secret}]},
                          state="complete")
        audio = private_data_dir / "audio" / f"{sid}.wav"
        audio.parent.mkdir()
        audio.write_bytes(b"RIFF....")
        store._conn.execute("UPDATE sessions SET audio_path=? WHERE id=?", (str(audio), sid))
        store.delete(sid)
        assert store.list() == []
    assert not audio.exists()
    for f in private_data_dir.rglob("*"):
        if f.is_file():
            raw = f.read_bytes()
            assert secret.encode() not in raw and b"C-secret" not in raw, f


def test_no_transcript_keeps_the_measures_but_not_the_text() -> None:
    with Store() as store:
        sid = store.create(new(keep_transcript=False), state="complete")
        store.save_result(sid, {"duration_s": 1.0, "metrics": {"x": 1},
                                "transcript": [{"text": "private"}]}, state="complete")
        assert store.result(sid)["transcript"] == []
        assert store.result(sid)["metrics"] == {"x": 1}
