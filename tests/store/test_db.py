"""The SQLite session store: a real file, WAL, versions, deletion without a trace."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from live_attune.core import Segment
from live_attune.errors import StoreError
from live_attune.session.config import PipelineConfig
from live_attune.session.offline import analyze_file
from live_attune.session.output import config_dict, session_dict
from live_attune.session.recover import recover
from live_attune.store import NewSession, Store, default_store_path

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
    with pytest.raises(StoreError, match=r"is damaged \(file is not a database\): keep a copy"):
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


def test_add_keeps_the_row_and_the_result_together() -> None:
    """A finished session goes in whole or not at all (analyze on a store that fails)."""
    with Store() as store:
        with pytest.raises(KeyError):
            store.add(new(kind="analyze"), {"no": "duration"})  # fails inside the transaction
        assert store.list() == []
        sid = store.add(new(kind="analyze", keep_transcript=False),
                        {"duration_s": 1.0, "transcript": [{"text": "private"}]})
        assert store.get(sid).state == "complete" and store.result(sid)["transcript"] == []


# -- damage: one line at the store's boundary (issue 14, item 6) ----------------------------

def damage(path: Path, offset: int = 8192, size: int = 20_000) -> None:
    """What the probe did: garbage over part of the file, as a failing disk would leave."""
    import random

    noise = random.Random(14).randbytes(size)
    with path.open("r+b") as f:
        f.seek(offset)
        f.write(noise)


def filled_store(path: Path, sessions: int = 3) -> list[str]:
    big = {"duration_s": 60.0, "transcript": [{"text": f"words {i}" * 20} for i in range(200)]}
    with Store(path) as store:
        return [store.add(new(id=f"20260101-00000{i}-aaaa"), big) for i in range(sessions)]


@pytest.mark.parametrize("read_only", [False, True])
def test_a_damaged_store_is_refused_on_opening(tmp_path: Path, read_only: bool) -> None:
    path = tmp_path / "s.sqlite"
    filled_store(path)
    damage(path)
    with pytest.raises(StoreError) as caught:
        Store(path, read_only=read_only)
    message = str(caught.value)
    assert message.startswith(f"the session store {path} is damaged (")
    assert "keep a copy of it, then move it aside" in message and "\n" not in message


def test_damage_met_after_opening_is_the_same_one_line(tmp_path: Path) -> None:
    """Bytes that still pass SQLite's page checks but are no longer the JSON written."""
    path = tmp_path / "s.sqlite"
    sid = filled_store(path, 1)[0]
    raw = sqlite3.connect(path)
    raw.execute("UPDATE sessions SET result='{\"duration_s\": 60.0, \"tr' WHERE id=?", (sid,))
    raw.commit()
    raw.close()
    with Store(path, read_only=True) as store, pytest.raises(StoreError, match="is damaged"):
        store.result(sid)


def test_every_sqlite_error_leaves_the_store_as_a_store_error(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        store._conn.execute("DROP TABLE checkpoints")
        with pytest.raises(StoreError, match="no such table: checkpoints"):
            store.append_journal("x", [("checkpoint", (1.0, {}))])


# -- read-only opening (issue 14, item 11) -----------------------------------------------

def test_reading_a_store_not_yet_made_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "home" / "s.sqlite"
    with Store(path, read_only=True) as store:
        assert store.list() == []
        with pytest.raises(StoreError, match="no session matching 'last'"):
            store.get("last")
    assert not path.parent.exists()


def test_reading_writes_nothing_and_still_shows_an_interrupted_session(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with Store(path) as store:
        sid = store.create(new())
        store._conn.execute("UPDATE sessions SET pid=? WHERE id=?", (2**22 + 12345, sid))
    with Store(path, read_only=True) as store:
        assert [r.state for r in store.list()] == ["interrupted"]
        with pytest.raises(StoreError, match="readonly"):
            store.create(new())
    state = sqlite3.connect(path).execute("SELECT state FROM sessions").fetchone()[0]
    assert state == "recording"  # a writing command marks it; a reading one only shows it


def test_an_existing_store_and_data_directory_are_made_private(private_data_dir: Path,
                                                               tmp_path: Path) -> None:
    """An older version (or umask 022) left them readable by everyone. A store kept in
    some other folder is made private, that folder is not (it may be anything)."""
    elsewhere = tmp_path / "elsewhere"
    for path in (default_store_path(), elsewhere / "s.sqlite"):
        filled_store(path, 1)
        path.parent.chmod(0o755)
        path.chmod(0o644)
        Store(path, read_only=True).close()
        assert path.stat().st_mode & 0o777 == 0o600
    assert private_data_dir.stat().st_mode & 0o777 == 0o700
    assert elsewhere.stat().st_mode & 0o777 == 0o755



def test_a_session_stored_before_the_went_on_count_reads_with_it() -> None:
    """Sessions saved before ``unsuccessful_interruptions_by`` existed are read with it,
    from core's two stored counts; newer ones as they are."""
    old = {"interruptions_by": {"therapist": 3, "client": 1},
           "successful_interruptions_by": {"therapist": 1, "client": 1}}
    with Store() as store:
        sid = store.add(new(kind="analyze"), {"duration_s": 1.0, "metrics": old})
        assert store.result(sid)["metrics"]["unsuccessful_interruptions_by"] == {
            "therapist": 2, "client": 0}
        newer = old | {"unsuccessful_interruptions_by": {"therapist": 9, "client": 9}}
        sid = store.add(new(kind="analyze"), {"duration_s": 1.0, "metrics": newer})
        assert store.result(sid)["metrics"] == newer
