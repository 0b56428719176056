"""Files the user keeps are written whole and private, into a folder that is one (a probe,
session 19: a report, trends page, turns.csv or export written over an older 0644 file kept
it 0644; an --out that is a file said "File exists"; a store that is a folder "disk I/O
error"; --channels ",client" lost a channel)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from live_attune.atomic import atomic_write, out_folder
from live_attune.errors import ChannelMapError, OutputError, StoreError
from live_attune.report import write_report
from live_attune.speakers.channels import ChannelMap
from live_attune.store import Store

GOLDEN = Path(__file__).resolve().parent / "fixtures" / "report" / "session.json"


def test_a_report_over_older_files_is_private(tmp_path: Path) -> None:
    session = json.loads(GOLDEN.read_text(encoding="utf-8"))
    first = write_report(session, tmp_path, ["html", "json", "csv"])
    for path in first:
        path.write_text("an older report, readable by everyone\n")
        path.chmod(0o644)
    again = write_report(session, tmp_path, ["html", "json", "csv"])
    assert again == first
    for path in again:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert "an older report" not in path.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in first)


def test_bytes_are_written_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "r.pdf"
    path.write_bytes(b"old")
    path.chmod(0o644)
    atomic_write(path, b"%PDF-1.7 new")
    assert path.read_bytes() == b"%PDF-1.7 new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_output_folder_that_is_a_file_is_named_so(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="it is a file, not a folder"):
        out_folder(tmp_path / "afile")
    out_folder(tmp_path / "new" / "deeper")
    assert (tmp_path / "new" / "deeper").is_dir()


def test_a_store_that_is_a_folder_is_named_so(tmp_path: Path) -> None:
    (tmp_path / "sessions.sqlite").mkdir()
    for read_only in (True, False):
        with pytest.raises(StoreError, match="it is a folder, not a file"):
            Store(tmp_path / "sessions.sqlite", read_only=read_only)


@pytest.mark.parametrize("text", [",client", "therapist,,client", "therapist,", ""])
def test_a_channel_left_without_a_role_is_refused(text: str) -> None:
    with pytest.raises(ChannelMapError, match="without a role"):
        ChannelMap.parse(text)


def test_a_plain_file_under_dev_is_replaced_and_a_stream_appended_to(tmp_path: Path) -> None:
    """The review (session 19): every path under /dev was appended to, so a report written
    twice into /dev/shm (a RAM disk, where one may keep clinical output off the disk) held
    two documents."""
    import tempfile

    with tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
        path = Path(shm) / "report.html"
        atomic_write(path, "first\n")
        atomic_write(path, "second\n")
        assert path.read_text() == "second\n"
    log = tmp_path / "log.txt"
    log.write_text("earlier\n")
    with log.open("a") as out:  # the shell's ">> log.txt", reached through the fd alias
        atomic_write(Path(f"/proc/self/fd/{out.fileno()}"), "more\n")
        atomic_write(Path(f"/dev/fd/{out.fileno()}"), "again\n")
    assert log.read_text() == "earlier\nmore\nagain\n"
