"""`live-attune sessions|report|trends` end to end (real subprocesses, real store file)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from live_attune.store import default_store_path
from tests.cli.test_analyze import cli, one_error_line


def analyse(audio: Path, *extra: str) -> str:
    proc = cli("analyze", audio, "--no-transcribe", *extra)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("stored as session "))
    return line.split()[3]


def test_analyze_stores_then_list_show_export_report_delete(
        short_conversation: dict[str, Path], tmp_path: Path, private_data_dir: Path) -> None:
    sid = analyse(short_conversation["stereo"], "--client", "C-5")
    listed = cli("sessions", "list").stdout
    assert sid in listed and "C-5" in listed and "complete" in listed
    shown = cli("sessions", "show", sid[:15]).stdout
    assert "client share" in shown and "C-5" in shown
    out = tmp_path / "export.json"
    assert cli("sessions", "export", sid, "--out", out).returncode == 0
    exported = json.loads(out.read_text())
    assert exported["session"]["id"] == sid and exported["session"]["label"] == "C-5"
    proc = cli("report", sid, "--format", "html,json,csv", "--out", tmp_path / "r")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        f"{sid}.csv", f"{sid}.html", f"{sid}.json"]
    # a session.json file works as well as a stored id
    proc = cli("report", out, "--format", "html", "--out", tmp_path / "r2")
    assert proc.returncode == 0 and (tmp_path / "r2" / f"{sid}.html").exists()
    assert one_error_line(cli("sessions", "delete", sid)).endswith("needs --yes when not run "
                                                                   "from a terminal")
    assert cli("sessions", "delete", sid, "--yes").returncode == 0
    assert sid not in cli("sessions", "list").stdout
    rows = sqlite3.connect(default_store_path()).execute("SELECT count(*) FROM sessions")
    assert rows.fetchone()[0] == 0


def test_no_store_and_no_transcript(short_conversation: dict[str, Path],
                                    tmp_path: Path) -> None:
    proc = cli("analyze", short_conversation["stereo"], "--no-transcribe", "--no-store",
               "--out", tmp_path)
    assert proc.returncode == 0 and "stored as" not in proc.stdout
    assert "no sessions stored" in cli("sessions", "list").stdout


def test_trends_across_sessions(short_conversation: dict[str, Path],
                                conversation: dict[str, Path], tmp_path: Path) -> None:
    a = analyse(short_conversation["stereo"], "--client", "C-8")
    b = analyse(conversation["stereo"], "--client", "C-8")
    analyse(conversation["stereo"], "--client", "other")
    proc = cli("trends", "--client", "C-8", "--out", tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = [line for line in proc.stdout.splitlines() if not line.startswith("wrote")]
    assert table[0].startswith("date") and "client share" in table[0]
    assert len([line for line in table if "C-8" in line]) == 2
    assert not any("other" in line for line in table)
    page = (tmp_path / "trends-C-8.html").read_text()
    assert page.count("<svg") == 4 and "http" not in page
    exported = []
    for sid in (a, b):
        assert cli("sessions", "export", sid, "--out", tmp_path / f"{sid}.json").returncode == 0
        exported.append(json.loads((tmp_path / f"{sid}.json").read_text()))
    for row, data in zip([x for x in table if "C-8" in x], exported, strict=True):
        share = data["metrics"]["client_share"]
        assert f"{100 * share:.0f} %" in row


def test_clear_errors(tmp_path: Path) -> None:
    assert "no session matching 'nope'" in one_error_line(cli("report", "nope"))
    assert cli("report", "nope").returncode == 7
    bad = cli("report", "last", "--format", "docx")
    assert bad.returncode == 2 and "unknown report format 'docx'" in one_error_line(bad)
    junk = tmp_path / "x.json"
    junk.write_text("{not json")
    assert cli("report", junk).returncode == 3
    assert "not a readable session.json" in one_error_line(cli("report", junk))
    assert cli("sessions", "recover", "nope").returncode == 7


def test_a_broken_store_file_is_one_line(private_data_dir: Path,
                                         short_conversation: dict[str, Path]) -> None:
    default_store_path().parent.mkdir(parents=True, exist_ok=True)
    default_store_path().write_bytes(b"garbage" * 1000)
    proc = cli("sessions", "list")
    assert proc.returncode == 7 and "cannot open the session store" in one_error_line(proc)


def test_swap_roles_of_a_stored_single_mic_session(conversation: dict[str, Path],
                                                   tmp_path: Path) -> None:
    sid = analyse(conversation["mono"])
    assert cli("sessions", "export", sid, "--out", tmp_path / "a.json").returncode == 0
    before = json.loads((tmp_path / "a.json").read_text())
    assert before["mode"] == "single-mic"
    proc = cli("sessions", "swap-roles", sid)
    assert proc.returncode == 0, proc.stderr
    assert cli("sessions", "export", sid, "--out", tmp_path / "b.json").returncode == 0
    after = json.loads((tmp_path / "b.json").read_text())
    m0, m1 = before["metrics"], after["metrics"]
    assert m1["talk_share"]["therapist"] == pytest.approx(m0["talk_share"]["client"])
    assert m1["interruptions_by"]["client"] == m0["interruptions_by"]["therapist"]
    # response latency is about the therapist answering the client: it changes meaning
    assert m1["response_latency_s"]["count"] == len(
        [t for a, t in zip(before["turns"], before["turns"][1:], strict=False)
         if a["speaker"] == "therapist" and t["speaker"] == "client"])
    assert any("swapped" in n for n in after["notes"])
    # swapping twice is the original again
    cli("sessions", "swap-roles", sid)
    cli("sessions", "export", sid, "--out", tmp_path / "c.json")
    again = json.loads((tmp_path / "c.json").read_text())
    assert again["metrics"] == m0
