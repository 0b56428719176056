"""The session's date (issue 20): from --date, else the recording's metadata, never an ISO
time on the page. Real files written by PyAV, the real command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import av
import numpy as np
import pytest

from live_attune.cli import session_date
from live_attune.commands import recording_date
from live_attune.report.words import session_date as in_words
from tests.cli.test_analyze import cli

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"


def tagged_file(path: Path, tags: dict[str, str]) -> Path:
    """Half a second of quiet audio in ``path``'s format, with these container tags."""
    with av.open(str(path), "w") as out:
        out.metadata.update(tags)
        stream = out.add_stream("pcm_s16le" if path.suffix == ".wav" else "flac", rate=16000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 8000), np.int16), format="s16",
                                           layout="mono")
        frame.sample_rate = 16000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            out.mux(packet)
    return path


def test_date_option_takes_a_date_with_or_without_a_time() -> None:
    assert session_date("2026-01-12") == "2026-01-12"
    assert session_date("2026-01-12T09:30") == "2026-01-12T09:30:00"
    assert session_date("2026-01-12 09:30") == "2026-01-12T09:30:00"
    for bad in ("12/01/2026", "yesterday", "2026-13-01"):
        with pytest.raises(argparse.ArgumentTypeError, match="YYYY-MM-DD"):
            session_date(bad)


def test_the_report_says_the_date_in_words() -> None:
    assert in_words("2026-01-12T09:30:00") == "Monday 12 January 2026, 09:30"
    assert in_words("2026-01-12") == "Monday 12 January 2026"
    assert in_words(None) == ""


def test_the_recording_date_comes_from_the_files_metadata(tmp_path: Path) -> None:
    flac = tagged_file(tmp_path / "a.flac", {"DATE": "2025-10-03T14:05:00"})
    assert recording_date(flac) == "2025-10-03T14:05:00"
    wav = tagged_file(tmp_path / "b.wav", {"date": "2025-09-30"})  # RIFF INFO ICRD
    assert recording_date(wav) == "2025-09-30"
    assert recording_date(tagged_file(tmp_path / "c.wav", {})) is None
    assert recording_date(tagged_file(tmp_path / "d.flac", {"DATE": "soon"})) is None
    (tmp_path / "e.wav").write_bytes(b"not audio")
    assert recording_date(tmp_path / "e.wav") is None


def test_report_date_sets_the_date_of_a_session_json(tmp_path: Path,
                                                     private_data_dir: Path) -> None:
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))
    del data["session"]  # as a session.json from elsewhere may be: no record, no date
    source = tmp_path / "session.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    proc = cli("report", source, "--format", "html", "--out", tmp_path / "r",
               "--date", "2026-02-03T16:15")
    assert proc.returncode == 0, proc.stderr
    page = (tmp_path / "r" / "session.html").read_text(encoding="utf-8")
    assert "Tuesday 3 February 2026, 16:15" in page and "2026-02-03" not in page
    bad = cli("report", source, "--date", "3/2/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


@pytest.mark.slow
def test_analyze_date_dates_the_stored_session(short_conversation: dict[str, Path],
                                               tmp_path: Path, private_data_dir: Path) -> None:
    proc = cli("analyze", short_conversation["stereo"], "--no-transcribe", "--no-prosody",
               "--date", "2025-11-20T10:00", "--quiet")
    assert proc.returncode == 0, proc.stderr
    listed = cli("sessions", "list").stdout
    assert "2025-11-20 10:00" in listed, listed
    shown = cli("report", "last", "--format", "html", "--out", tmp_path)
    assert shown.returncode == 0, shown.stderr
    [page] = tmp_path.glob("*.html")
    assert "Thursday 20 November 2025, 10:00" in page.read_text(encoding="utf-8")


@pytest.mark.slow
def test_analyze_out_writes_the_sessions_date_and_record(short_conversation: dict[str, Path],
                                                         tmp_path: Path,
                                                         private_data_dir: Path) -> None:
    """The --out session.json carries the store's record (id, label, date), so that its
    report is dated as the stored one is."""
    proc = cli("analyze", short_conversation["stereo"], "--no-transcribe", "--no-prosody",
               "--date", "2025-11-20T10:00", "--client", "C-7", "--quiet",
               "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "out" / "session.json").read_text())["session"]
    stored = cli("sessions", "list").stdout
    assert record["id"] in stored and record["label"] == "C-7"
    assert (record["started_at"], record["kind"]) == ("2025-11-20T10:00:00", "analyze")
    shown = cli("report", tmp_path / "out" / "session.json", "--format", "html",
                "--out", tmp_path / "r")
    assert shown.returncode == 0, shown.stderr
    [page] = (tmp_path / "r").glob("*.html")
    assert page.name == f"{record['id']}.html"  # named as the stored session's report is
    assert "Thursday 20 November 2025, 10:00" in page.read_text(encoding="utf-8")
