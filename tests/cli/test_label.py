"""`live-attune label-utterances IN.csv OUT.csv` as a user runs it (a real subprocess)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from live_attune.language.labeller import label_dialogue
from tests.cli.test_analyze import cli, one_error_line


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_rows_come_back_in_order_with_the_pipelines_labels(tmp_path: Path) -> None:
    rows = [["1", "therapist", "What brings you here today?"],
            ["2", "client", "My drinking, I guess, has been getting out of hand."],
            ["3", "therapist", "Did you drink last night?"],
            ["4", "client", "Yes."],
            ["5", "therapist", "It sounds like you feel stuck between wanting to change and "
                               "being afraid of it."],
            ["6", "therapist", "Okay."]]
    src = write_rows(tmp_path / "in.csv", ["id", "speaker", "text"], rows)
    proc = cli("label-utterances", src, tmp_path / "out.csv")
    assert proc.returncode == 0, proc.stderr
    assert "labelled 4 therapist utterances of 6 rows" in proc.stdout
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        out = list(csv.DictReader(f))
    assert [r["id"] for r in out] == [r[0] for r in rows]
    assert [r["text"] for r in out] == [r[2] for r in rows]
    # the pipeline's labeller, fed the same rows in the same order (each with its context)
    labels = label_dialogue((r[1], r[2]) for r in rows)
    for row, label in zip(out, labels, strict=True):
        assert row["behaviour"] == (label.behaviour if label else "")
        assert row["p_question"] == (f"{label.p_question:.3f}" if label else "")
        assert row["p_complex"] == (f"{label.p_complex:.3f}" if label else "")
    assert [r["behaviour"] for r in out][:5] == ["open_question", "", "closed_question", "",
                                                 "reflection"]
    assert out[4]["reflection"] in ("simple", "complex")
    assert float(out[2]["p_question"]) > 0.5 > float(out[2]["p_open"])  # closed
    assert float(out[4]["p_reflection"]) > 0.5
    assert out[2]["question"] == "closed" and out[0]["question"] == "open"
    assert out[1]["p_question"] == out[1]["reflection"] == ""  # the client's row


@pytest.mark.parametrize(("name", "content", "code", "words"), [
    ("no-text.csv", "speaker,words\ntherapist,hello\n", 3, "speaker and text"),
    ("empty.csv", "", 3, "speaker and text"),
    ("latin1.csv", "speaker,text\ntherapist,caf\xe9?\n".encode("latin-1"), 3, "not UTF-8"),
    ("ragged.csv", "speaker,text\ntherapist,How are you?,extra,fields\n", 3, "row 2"),
    # the probe's: each was read, and a cell lost or folded into another, exit 0
    ("short-row.csv", "speaker,text\ntherapist\n", 3, "row 2 has fewer fields"),
    ("twice.csv", "speaker,text,text\ntherapist,a,b\n", 3, "the header names text twice"),
    ("open-quote.csv", 'speaker,text\ntherapist,"How are\nclient,fine\n', 3,
     "cannot read it as CSV (unexpected end of data)"),
])
def test_bad_csv_is_one_line_and_an_exit_code(tmp_path: Path, name: str,
                                              content: str | bytes, code: int,
                                              words: str) -> None:
    src = tmp_path / name
    if isinstance(content, bytes):
        src.write_bytes(content)
    else:
        src.write_text(content, encoding="utf-8")
    proc = cli("label-utterances", src, tmp_path / "out.csv")
    assert proc.returncode == code
    assert words in one_error_line(proc)
    assert not (tmp_path / "out.csv").exists()


def test_missing_input_and_unwritable_output(tmp_path: Path) -> None:
    proc = cli("label-utterances", tmp_path / "nope.csv", tmp_path / "out.csv")
    assert proc.returncode == 3
    assert "nope.csv" in one_error_line(proc)
    src = write_rows(tmp_path / "in.csv", ["speaker", "text"], [["therapist", "How so?"]])
    proc = cli("label-utterances", src, tmp_path / "no-such-dir" / "out.csv")
    assert proc.returncode == 6
    assert "cannot write" in one_error_line(proc)


def test_cells_that_a_spreadsheet_would_run_get_a_quote(tmp_path: Path) -> None:
    """CSV injection (issue 14, item 13): a transcript line such as `=HYPERLINK(...)` was
    written back verbatim and ran as a formula when the CSV was opened. Text cells that
    start with = + - @ tab or CR now begin with a single quote; numbers stay numbers."""
    rows = [["=1+1", "therapist", '=HYPERLINK("http://x","click")'],
            ["-3", "client", "@SUM(A1:A9)"],
            ["+cmd", "therapist", "\tWhat brings you here?"],
            ["4", "client", "\r- a dash first"],
            ["5", "therapist", "- so you feel stuck?"]]
    src = write_rows(tmp_path / "in.csv", ["id", "speaker", "text"], rows)
    proc = cli("label-utterances", src, tmp_path / "out.csv")
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        out = list(csv.DictReader(f))
    assert [r["id"] for r in out] == ["'=1+1", "-3", "'+cmd", "4", "5"]
    assert [r["text"] for r in out] == ["'" + r[2] for r in rows]
    assert all(r["behaviour"] in ("", "open_question", "closed_question", "reflection",
                                  "other") for r in out)


def test_a_spreadsheets_utf8_csv_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    src = tmp_path / "excel.csv"
    src.write_bytes(b"\xef\xbb\xbfspeaker,text\r\ntherapist,What brings you here?\r\n")
    proc = cli("label-utterances", src, tmp_path / "out.csv")
    assert proc.returncode == 0, proc.stderr
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        assert next(csv.DictReader(f))["behaviour"] == "open_question"


def test_the_output_is_written_where_it_points_never_replaced_by_another_kind(
        tmp_path: Path) -> None:
    """The probe: the output was written beside OUT as OUT.tmp and renamed over it, so a
    link was replaced by a file (its target untouched), another file named OUT.tmp was
    overwritten, and as root /dev/null became a plain file."""
    import os
    import stat
    import threading

    src = write_rows(tmp_path / "in.csv", ["speaker", "text"], [["therapist", "How so?"]])
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    (tmp_path / "link.csv").symlink_to(target)
    (tmp_path / "link.csv.tmp").write_text("someone else's\n")
    assert cli("label-utterances", src, tmp_path / "link.csv").returncode == 0
    assert (tmp_path / "link.csv").is_symlink()
    assert target.read_text().startswith("speaker,text,behaviour")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert (tmp_path / "link.csv.tmp").read_text() == "someone else's\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.csv", "link.csv", "link.csv.tmp", "target.csv"]
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(pipe.read_bytes()), daemon=True)
    reader.start()
    proc = cli("label-utterances", src, pipe)
    reader.join(timeout=60)
    if reader.is_alive():  # the command never opened the pipe: let the reader go
        os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still the pipe, not a file put there
    assert got and got[0].startswith(b"speaker,text,behaviour")


def test_the_output_can_be_the_standard_output_a_pipe_or_a_file_appended_to(
        tmp_path: Path) -> None:
    """The review: /dev/stdout resolved to its target and renamed over: a pipe's target does
    not exist (exit 6) and a file the shell appends to lost what it held. A probe (session
    19): with the standard output the CSV, the summary line went there too — into a pipe's
    CSV, and over the header of a file the shell had truncated (``> out.csv``). It goes to
    the standard error when the output is such a stream."""
    import subprocess
    import sys

    src = write_rows(tmp_path / "in.csv", ["speaker", "text"], [["therapist", "How so?"]])
    command = [sys.executable, "-m", "live_attune", "label-utterances", str(src), "/dev/stdout"]
    piped = subprocess.run(command, capture_output=True, text=True, check=False)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("speaker,text,behaviour")
    assert piped.stdout.count("\n") == 2  # the header and the one row: no summary
    assert "labelled 1 therapist utterances" in piped.stderr
    truncated = tmp_path / "out.csv"
    truncated.write_text("an older file\n")
    with truncated.open("w") as out:  # the shell's "> out.csv"
        written = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True,
                                 check=False)
    assert written.returncode == 0, written.stderr
    assert truncated.read_text() == piped.stdout
    log = tmp_path / "log.txt"
    log.write_text("earlier line\n")
    with log.open("a") as out:
        appended = subprocess.run(command, stdout=out, stderr=subprocess.PIPE, text=True,
                                  check=False)
    assert appended.returncode == 0, appended.stderr
    text = log.read_text()
    assert text == "earlier line\n" + piped.stdout
    assert "labelled 1 therapist utterances" in appended.stderr


def test_its_own_output_can_be_labelled_again_and_roles_are_read_in_any_case(
        tmp_path: Path) -> None:
    """A probe (session 19): an input that already had label columns came out with each
    named twice (which it then refused to read), "THERAPIST" rows were left unlabelled, an
    empty therapist line was labelled "other", and a file without speaker/text columns was
    a usage error (exit 2) rather than an unreadable input (exit 3)."""
    rows = [["Client", "I have been drinking more."], ["THERAPIST ", "What worries you most?"],
            ["therapist", "  "], ["therapist", "You are worried about your health."]]
    src = write_rows(tmp_path / "in.csv", ["speaker", "text"], rows)
    first, again = tmp_path / "first.csv", tmp_path / "again.csv"
    proc = cli("label-utterances", src, first)
    assert proc.returncode == 0, proc.stderr
    assert "labelled 2 therapist utterances of 4 rows" in proc.stdout  # not the empty one
    proc = cli("label-utterances", first, again)
    assert proc.returncode == 0, proc.stderr
    assert again.read_text() == first.read_text()
    with first.open(newline="", encoding="utf-8") as f:
        out = list(csv.DictReader(f))
    assert [r["speaker"] for r in out] == [r[0] for r in rows]  # as written
    assert out[1]["behaviour"] in ("open_question", "closed_question")
    assert out[0]["behaviour"] == out[2]["behaviour"] == out[2]["p_question"] == ""
    assert out[3]["behaviour"] != ""
    bad = write_rows(tmp_path / "bad.csv", ["who", "said"], [["therapist", "Hello."]])
    proc = cli("label-utterances", bad, tmp_path / "x.csv")
    assert proc.returncode == 3 and "speaker and text" in one_error_line(proc)
