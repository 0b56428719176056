"""kill -9 during a live session loses at most the last 2 s (issue 7), and the next start
offers recovery (issue 9). A real ``live-attune demo`` process in real time (transcribing
with the real model), a real websockets client watching its progress, a real SQLite file
afterwards; and the recovery of a journal written by hand, transcripts included."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from live_attune.commands import demo_path
from live_attune.core import Segment
from live_attune.core.events import Transcript, Word
from live_attune.server.app import ws_url
from live_attune.session.config import PipelineConfig
from live_attune.session.offline import analyze_file
from live_attune.session.output import config_dict
from live_attune.session.recover import recover
from live_attune.store import Store
from live_attune.store.db import NewSession

RUN_S = 9.0  # of real time at least before the kill


def start_demo(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = os.environ | {"LIVE_ATTUNE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "live_attune.cli", "demo", "--speed", "1", "--no-browser",
         "--port", "0", "--exit-at-end", "--client", "C-9"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("Dashboard: "):
            return proc, line.split(" ", 1)[1].strip()
    proc.kill()
    raise AssertionError("the demo did not start")


async def watch_then_kill(url: str, proc: subprocess.Popen[str]) -> float:
    """Follow status messages; SIGKILL right after one arrives, RUN_S after the start and
    1.5 s of session time after the first transcript (a few checkpoints: it is committed);
    return its at_s."""
    seen, heard = 0.0, None
    async with connect(ws_url(url)) as ws:
        start = time.monotonic()
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "transcript" and heard is None:
                heard = seen
            status = msg.get("status") if msg["type"] == "snapshot" else (
                msg if msg["type"] == "status" else None)
            if status:
                seen = status["at_s"]
                waited = time.monotonic() - start
                if (waited >= RUN_S and heard is not None and seen >= heard + 1.5) or (
                        waited >= 4 * RUN_S):
                    os.kill(proc.pid, signal.SIGKILL)
                    break
    proc.wait(10)
    return seen


@pytest.mark.slow
def test_kill_9_loses_at_most_two_seconds(private_data_dir: Path) -> None:
    proc, url = start_demo(private_data_dir)
    try:
        processed_s = asyncio.run(watch_then_kill(url, proc))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL and processed_s > 5.0
    env = os.environ | {"LIVE_ATTUNE_HOME": str(private_data_dir)}
    listed = subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "list"],
                            capture_output=True, text=True, env=env, check=True).stdout
    assert "interrupted" in listed and "sessions recover" in listed
    # the next start offers recovery
    again = subprocess.run([sys.executable, "-m", "live_attune.cli", "demo", "--speed", "0",
                            "--exit-at-end", "--no-browser", "--no-transcribe", "--no-prosody",
                            "--port", "0"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert "stopped unexpectedly; recover it with: live-attune sessions recover" in again.stdout
    done = subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "recover",
                           "all"], capture_output=True, text=True, env=env, check=True)
    assert "recovered" in done.stdout
    with Store(private_data_dir / "sessions.sqlite") as store:
        interrupted = [r for r in store.list() if r.state == "recovered"]
        assert len(interrupted) == 1
        data = store.result(interrupted[0].id)
        journal = store.journal(interrupted[0].id)
    # The transcripts committed before the kill are in the recovered session: those that
    # began before the last checkpoint, word for word; none that began after it.
    print(f"{len(journal.transcripts)} transcripts committed, checkpoint "
          f"{journal.checkpoint_s:.2f} s")
    assert journal.transcripts, "nothing was transcribed before the kill"
    kept = [t for t in journal.transcripts if t["start_s"] < journal.checkpoint_s]
    assert kept and data["duration_s"] == journal.checkpoint_s
    assert [(t["speaker"], t["start_s"], t["text"]) for t in data["transcript"]] == [
        (t["speaker"], t["start_s"], t["text"]) for t in kept]
    assert all(t["text"].strip() and t["words"] for t in data["transcript"])
    recovered_s = data["duration_s"]
    print(f"processed {processed_s:.2f} s before the kill; recovered {recovered_s:.2f} s")
    # What the process had already processed, less at most 2 s, is in the store.
    assert recovered_s >= processed_s - 2.0, (recovered_s, processed_s)
    # And it is right: every segment the offline analysis closes well before that point.
    offline = analyze_file(demo_path()).history.segments
    stored = {(s["speaker"], s["start_s"], s["end_s"]) for s in data["segments"]}
    expected = {(s.speaker, s.start_s, s.end_s) for s in offline if s.end_s < recovered_s - 0.5}
    assert expected and expected <= stored
    assert data["session"]["label"] == "C-9" and data["session"]["state"] == "recovered"
    report = subprocess.run([sys.executable, "-m", "live_attune.cli", "report", "last",
                             "--format", "html", "--out", str(private_data_dir / "r")],
                            capture_output=True, text=True, env=env, check=True)
    assert "wrote" in report.stdout


def test_recovery_keeps_what_was_committed_up_to_the_checkpoint(private_data_dir: Path
                                                                ) -> None:
    """A journal as a live session leaves it: the checkpoint at 12.0 s, the client still
    speaking since 10.5 s. Transcripts that began before the checkpoint are kept whole (words
    and behaviour too); one that began after it, and its speech, are not."""
    words = (Word("How", 1.0, 1.2), Word("are", 1.2, 1.4), Word("you?", 1.4, 1.8))
    lines = [Transcript("therapist", 1.0, 1.8, "How are you?", words, "open_question"),
             Transcript("client", 3.0, 9.0, "Tired, mostly."),
             Transcript("client", 10.5, 13.0, "And the nights are long."),  # crosses 12.0
             Transcript("therapist", 12.5, 14.0, "Say more about the nights.")]  # after it
    with Store() as store:
        sid = store.create(NewSession(kind="live", source="test", mode="channels",
                                      speakers=("therapist", "client"),
                                      config=config_dict(PipelineConfig()), label="C-3"))
        store.append_journal(sid, [("segment", Segment("therapist", 1.0, 1.8)),
                                   ("segment", Segment("client", 3.0, 9.0)),
                                   *[("transcript", t) for t in lines[:3]],
                                   ("checkpoint", (12.0, {"client": 10.5}))])
        # committed after the checkpoint: a later batch the process did not finish measuring
        store.append_journal(sid, [("segment", Segment("therapist", 12.5, 14.0)),
                                   ("transcript", lines[3])])
        data = recover(store, sid)
    assert data["duration_s"] == 12.0 and data["session"]["state"] == "recovered"
    assert [(s["speaker"], s["start_s"], s["end_s"]) for s in data["segments"]] == [
        ("therapist", 1.0, 1.8), ("client", 3.0, 9.0), ("client", 10.5, 12.0)]
    assert [(t["speaker"], t["start_s"], t["end_s"], t["text"]) for t in data["transcript"]] == [
        ("therapist", 1.0, 1.8, "How are you?"), ("client", 3.0, 9.0, "Tired, mostly."),
        ("client", 10.5, 13.0, "And the nights are long.")]
    first = data["transcript"][0]
    assert first["behaviour"] == "open_question"
    assert [(w["text"], w["start_s"], w["end_s"]) for w in first["words"]] == [
        ("How", 1.0, 1.2), ("are", 1.2, 1.4), ("you?", 1.4, 1.8)]
    m = data["metrics"]
    assert m["talk_time_s"] == {"therapist": 0.8, "client": 7.5}
    assert m["turn_count"] == 2 and m["long_silence_count"] == 0


def one_microphone_journal(store: Store, records: list[tuple[str, Any]]) -> str:
    """A new one-microphone live session in ``store`` with ``records`` journaled: its id."""
    sid = store.create(NewSession(kind="live", source="test", mode="single-mic",
                                  speakers=("therapist", "client"),
                                  config=config_dict(PipelineConfig())))
    store.append_journal(sid, records)
    return sid


def recovered_one_microphone_session(more: tuple[tuple[str, Any], ...] = ()
                                     ) -> tuple[str, dict[str, Any]]:
    """A one-microphone live session's journal as its live decisions leave it (one voice a
    moment: the client's short bout starts where the therapist's speech ends), with
    ``more`` records, recovered in the store: its id and session.json."""
    with Store() as store:
        sid = one_microphone_journal(store, [("segment", Segment("therapist", 1.0, 9.0)),
                                             ("segment", Segment("client", 9.0, 9.4)),
                                             ("segment", Segment("therapist", 9.4, 20.0)),
                                             *more, ("checkpoint", (21.0, {}))])
        return sid, recover(store, sid)


def test_a_recovered_one_microphone_session_says_its_counts_were_not_counted(
        private_data_dir: Path) -> None:
    """One microphone: the journal holds the live decisions, one voice a moment, which find
    no interruption (hard seeds 41-52: 0 of 100) — the revision that finds them never ran.
    session.json, the report and the trends say the counts were not counted instead of
    showing nought; swapping the roles keeps it so."""
    from live_attune.core.quality import NOT_COUNTED_STOPPED
    from live_attune.core.quality import NOT_RELIABLE_ONE_MIC as NOT_RELIABLE
    from live_attune.report import build_html
    from live_attune.report.build import write_csv
    from live_attune.report.trends import MEASURES, measure_value
    from live_attune.session.rescore import swap_roles

    sid, data = recovered_one_microphone_session()
    assert data["mode"] == "single-mic" and data["attribution"] == []
    assert data["reliability"] == {"talk_share": "estimated",
                                   "interruptions": NOT_COUNTED_STOPPED,
                                   "backchannels": NOT_COUNTED_STOPPED}
    assert data["metrics"]["backchannels_by"]["client"] == 1  # the live decisions' guess
    assert swap_roles(data)["reliability"] == data["reliability"]
    with Store() as store:  # as an older version recovered it: "not reliable", noughts shown
        older = {**data, "reliability": {**data["reliability"], "interruptions": NOT_RELIABLE,
                                         "backchannels": NOT_RELIABLE}}
        store.save_result(sid, older, state="recovered")
        assert store.result(sid)["reliability"] == data["reliability"]
    page = build_html(data)
    row = page[page.index("<th>Listening sounds (mm-hm)"):]
    row = row[:row.index("</tr>")]
    assert row.count("<td>–</td>") == 2 and NOT_COUNTED_STOPPED in row
    assert f"Both speaking at once: {NOT_COUNTED_STOPPED};" in page
    write_csv(data, private_data_dir / "r.csv")
    cells = [line.split(",") for line in (private_data_dir / "r.csv").read_text().splitlines()]
    counts = [c for c in cells if c[0] == "metrics" and c[1].startswith(
        ("interruptions", "successful", "unsuccessful", "backchannels", "overlap"))]
    assert len(counts) == 11 and all(c[3] == "" for c in counts), counts
    assert ["reliability", "backchannels", "", NOT_COUNTED_STOPPED] in cells
    mm_hm = next(m for m in MEASURES if m.key == "metrics.backchannels_by.therapist")
    assert measure_value(data, mm_hm) is None
    assert measure_value({**data, "reliability": {}}, mm_hm) == 0


def test_recovering_a_session_again_keeps_the_roles_the_user_swapped(
        private_data_dir: Path) -> None:
    """A probe (session 19): `sessions recover` on a recovered session the user had turned
    round with `sessions swap-roles` silently turned it back."""
    from live_attune.session.rescore import is_swapped, recover_again, swap_roles

    sid, data = recovered_one_microphone_session()
    with Store() as store:
        store.save_result(sid, swap_roles(data), state="recovered")
        again = recover_again(store, sid)
    assert is_swapped(again)
    assert again["metrics"]["talk_share"] == {
        "therapist": data["metrics"]["talk_share"]["client"],
        "client": data["metrics"]["talk_share"]["therapist"]}


def test_a_recovered_one_microphone_session_counts_up_to_its_last_recount(
        private_data_dir: Path) -> None:
    """The journal keeps the newest live recount (every half minute the voices so far are
    decided again). Recovered, the session's speech before it is the recount's and its
    interruptions and backchannels are counted up to it: the client's interruption the
    live decisions cut into a backchannel is found; after it, only the live decisions.
    session.json, the report and swapping the roles say so."""
    from live_attune.core.quality import RECOUNTED_STOPPED
    from live_attune.report import build_html
    from live_attune.session.rescore import swap_roles

    recount = (15.0, [("therapist", 1.0, 10.0), ("client", 8.8, 12.0)])
    sid, data = recovered_one_microphone_session((
        ("recount", recount), ("segment", Segment("client", 17.0, 17.4))))  # an mm-hm after it
    with Store(read_only=True) as store:
        assert store.journal(sid).recount == recount
    assert data["reliability"] == {"talk_share": "estimated",
                                   "interruptions": RECOUNTED_STOPPED,
                                   "backchannels": RECOUNTED_STOPPED}
    m = data["metrics"]
    assert m["counted_to_s"] == pytest.approx(15.0, abs=0.04)
    assert m["interruptions_by"] == {"therapist": 0, "client": 1}
    assert m["backchannels_by"] == {"therapist": 0, "client": 0}
    assert [(i["by"], i["at_s"]) for i in m["interruptions"]] == [("client", 8.8)]
    assert sorted((s["speaker"], s["start_s"], s["end_s"]) for s in data["segments"]) == [
        ("client", 8.8, 12.0), ("client", 17.0, 17.4),  # the mm-hm after it: speech only
        ("therapist", 1.0, 10.0), ("therapist", 15.0, 20.0)]
    assert m["backchannels"] == []
    assert "voices decided again up to 15.0 s" in data["notes"][-1]
    swapped = swap_roles(data)
    assert swapped["reliability"] == data["reliability"]
    assert swapped["metrics"]["interruptions_by"] == {"client": 0, "therapist": 1}
    assert swapped["metrics"]["counted_to_s"] == m["counted_to_s"]
    assert swapped["metrics"]["backchannels_by"] == {"client": 0, "therapist": 0}
    page = build_html(data)
    assert RECOUNTED_STOPPED in page


def test_an_older_store_reads_as_it_is_and_is_upgraded_when_written(
        private_data_dir: Path) -> None:
    """Store version 1 had no recounts table: read-only it lists its sessions (not an empty
    store); opened to write, the table is added."""
    import sqlite3

    from live_attune.store.db import SCHEMA_VERSION

    with Store() as store:
        sid = one_microphone_journal(store, [])
        path = store.path
    conn = sqlite3.connect(path)
    conn.executescript("DROP TABLE recounts; PRAGMA user_version=1;")
    conn.close()
    with Store(read_only=True) as store:
        assert [r.id for r in store.list()] == [sid]
        assert store.journal(sid).recount is None
    with Store() as store:
        store.append_journal(sid, [("recount", (30.0, [("therapist", 0.0, 2.0)]))])
        assert store.journal(sid).recount == (30.0, [("therapist", 0.0, 2.0)])
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2
    conn.close()
