"""The hostile-input probe of session 15, as a user meets it (real subprocesses): each odd
input is one line on stderr and its exit code, no traceback, nothing stored lost."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from live_attune.store import default_store_path
from live_attune.synth.truth import write_wav
from tests.cli.test_analyze import cli, one_error_line
from tests.cli.test_sessions import analyse
from tests.report.test_report_golden import GOLDEN


@pytest.mark.parametrize("args", [
    ("demo", "--port", "70000", "--no-browser"),
    ("sessions", "serve", "--port", "-5", "--no-browser"),
    ("calibrate", "--port", "65536"),
])
def test_a_port_outside_0_to_65535_is_a_usage_error(args: tuple[str, ...]) -> None:
    proc = cli(*args)
    assert proc.returncode == 2
    assert "is not a port: use 0 to 65535" in one_error_line(proc)


def test_usage_errors_are_one_line_that_points_at_help() -> None:
    proc = cli("analyze", "--speakers", "0", "x.wav")
    assert proc.returncode == 2
    line = one_error_line(proc)
    assert "--speakers" in line and line.endswith("(see live-attune analyze --help)")


def test_the_package_runs_as_a_module() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "live_attune", "--version"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stdout.startswith("live-attune ")


def test_calibrating_from_a_file_under_32_ms_is_unreadable_input(tmp_path: Path) -> None:
    write_wav(tmp_path / "blip.wav", np.zeros((2, 100), np.float32))
    proc = cli("calibrate", "--from-file", tmp_path / "blip.wav", "--out", tmp_path / "p.toml")
    assert proc.returncode == 3
    assert "too short to calibrate from" in one_error_line(proc)
    assert not (tmp_path / "p.toml").exists()


@pytest.mark.parametrize(("change", "words"), [
    (lambda d: d.update(turns="oops"), "turns: 'oops' is not of type 'array'"),
    (lambda d: d.update(segments=None), "segments: None is not of type 'array'"),
    (lambda d: d.update(duration_s=-5), "duration_s: -5 is less than the minimum of 0"),
    # what the schema lets through and no session holds (a probe, session 19: "500 %")
    (lambda d: d["metrics"]["talk_share"].update(therapist=5.0),
     "talk_share/therapist: 5.0 is not a share between 0 and 1"),
    (lambda d: d["segments"][0].update(end_s=d["segments"][0]["start_s"] - 1),
     "segments/0: it ends before it starts"),
    (lambda d: d["segments"][0].update(start_s=-1.0), "segments/0: it starts before the"),
    (lambda d: d["segments"][0].update(speaker="alien"),
     "segments/0: 'alien' is not one of the session's speakers"),
])
def test_a_session_json_that_departs_from_its_schema_is_unreadable_input(
        tmp_path: Path, change: Callable[[dict[str, Any]], None], words: str) -> None:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    change(data)
    (tmp_path / "s.json").write_text(json.dumps(data))
    proc = cli("report", tmp_path / "s.json", "--format", "json", "--out", tmp_path / "r")
    assert proc.returncode == 3
    assert words in one_error_line(proc)
    assert not (tmp_path / "r").exists()


def test_a_session_json_with_nan_is_unreadable_input(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text('{"metrics": {}, "speakers": [], "duration_s": NaN}')
    proc = cli("report", tmp_path / "s.json", "--format", "json", "--out", tmp_path / "r")
    assert proc.returncode == 3
    assert "NaN is not a number" in one_error_line(proc)


@pytest.mark.slow
def test_one_damaged_session_in_the_store_leaves_the_others_usable(
        brief_conversation: dict[str, Path], tmp_path: Path) -> None:
    """The probe: a row whose speakers read `null` made list, show, export, delete, report
    and trends a traceback (so it could not even be deleted); a result of `[]` or of the
    wrong inner shape did the same for show, report and trends."""
    good = analyse(brief_conversation["stereo"], "--client", "C-1")
    with sqlite3.connect(default_store_path()) as c:
        columns = [r[1] for r in c.execute("PRAGMA table_info(sessions)")]
        for sid, column, value in (("bad-speakers", "speakers", "null"),
                                   ("bad-result", "result", "[]"),
                                   ("bad-json", "result", "{bad"),
                                   ("bad-turns", "result", None)):
            picked = ", ".join("?" if x == "id" else x for x in columns)
            c.execute(f"INSERT INTO sessions ({', '.join(columns)}) "
                      f"SELECT {picked} FROM sessions WHERE id=?", (sid, good))
            if value is not None:
                c.execute(f"UPDATE sessions SET {column}=? WHERE id=?", (value, sid))
        c.execute("UPDATE sessions SET result=json_set(result, '$.turns', 'oops') "
                  "WHERE id='bad-turns'")
    listed = cli("sessions", "list")
    assert listed.returncode == 0, listed.stderr
    assert all(sid in listed.stdout for sid in (good, "bad-speakers", "bad-result"))
    for sid, words in (("bad-result", "stored result is damaged (not a session.json object)"),
                       ("bad-json", "stored result is damaged (Expecting property name"),
                       ("bad-turns", "stored result is damaged (turns: 'oops' is not of")):
        for command in (("report", sid, "--format", "json", "--out", tmp_path),
                        ("sessions", "show", sid)):
            proc = cli(*command)
            assert proc.returncode == 7, command
            line = one_error_line(proc)
            assert words in line, command
            assert line.endswith(f"`live-attune sessions delete {sid}` removes it"), command
    trends = cli("trends", "--client", "C-1")
    assert trends.returncode == 0, trends.stderr
    left_out = [x for x in trends.stderr.splitlines() if x.startswith("live-attune: left out")]
    assert len(left_out) == 3 and "Traceback" not in trends.stderr
    assert all(any(sid in x for x in left_out) for sid in ("bad-result", "bad-json", "bad-turns"))
    assert cli("report", good, "--format", "json", "--out", tmp_path).returncode == 0
    for sid in ("bad-speakers", "bad-result", "bad-json", "bad-turns"):
        gone = cli("sessions", "delete", sid, "--yes")
        assert gone.returncode == 0, gone.stderr
    assert cli("sessions", "show", good).returncode == 0


def test_a_wav_header_of_too_few_samples_a_second_is_unreadable_input(tmp_path: Path) -> None:
    """The probe: a header claiming 1 Hz made a 0.4 MB file 53 hours of audio to analyse."""
    write_wav(tmp_path / "odd.wav", np.zeros((1, 2000), np.float32), rate=100)
    proc = cli("analyze", tmp_path / "odd.wav", "--no-transcribe", "--no-store")
    assert proc.returncode == 3
    assert "100 samples a second, too few for speech" in one_error_line(proc)


@pytest.mark.parametrize("label", ["C-1\n2026", "C-1\x1b[2J", ""])
def test_a_client_label_is_printable_text(label: str) -> None:
    proc = cli("sessions", "list", "--client", label)
    assert proc.returncode == 2
    assert "a client label is printable text" in one_error_line(proc)


def test_a_report_of_no_format_is_a_usage_error() -> None:
    proc = cli("report", "last", "--format", ",")
    assert proc.returncode == 2
    assert "--format names no format" in one_error_line(proc)


def test_an_empty_out_is_not_the_current_folder(tmp_path: Path) -> None:
    write_wav(tmp_path / "a.wav", np.zeros((1, 16000), np.float32))
    proc = cli("analyze", tmp_path / "a.wav", "--out", "", "--no-transcribe", "--no-store")
    assert proc.returncode == 2
    assert "--out: needs a path, not an empty string" in one_error_line(proc)


def test_a_voice_print_that_is_not_there_stops_before_the_analysis(tmp_path: Path) -> None:
    """Even for a two-channel file (where no voice print is used): the wrong path was
    ignored and the analysis ran (session 16)."""
    write_wav(tmp_path / "two.wav", np.zeros((2, 16_000), np.float32))
    proc = cli("analyze", tmp_path / "two.wav", "--voice", tmp_path / "none.npz",
               "--no-transcribe", "--no-store", "--out", tmp_path / "out")
    assert proc.returncode == 2
    assert "no such voice print" in one_error_line(proc)
    assert not (tmp_path / "out").exists()


def test_live_with_a_voice_print_that_is_not_there_stops_at_once(tmp_path: Path) -> None:
    proc = cli("live", "--voice", tmp_path / "none.npz", "--no-browser", "--port", "0")
    assert proc.returncode == 2
    assert "no such voice print" in one_error_line(proc)
