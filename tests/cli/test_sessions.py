"""`live-attune sessions|report|trends` end to end (real subprocesses, real store file)."""

from __future__ import annotations

import ctypes
import html
import json
import os
import resource
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from live_attune.store import default_store_path
from tests.cli.test_analyze import cli, one_error_line


def analyse(audio: Path, *extra: str) -> str:
    proc = cli("analyze", audio, "--no-transcribe", *extra)
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("stored as session "))
    return line.split()[3]


@pytest.mark.slow
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
    record = json.loads((tmp_path / "session.json").read_text())["session"]
    assert "id" not in record and record["kind"] == "analyze"  # no id that no store holds
    stored = cli("analyze", short_conversation["stereo"], "--no-transcribe", "--quiet",
                 "--out", tmp_path / "kept")  # stored: the --out copy names its id
    assert stored.returncode == 0, stored.stderr
    sid = json.loads((tmp_path / "kept" / "session.json").read_text())["session"]["id"]
    assert sid in cli("sessions", "list").stdout
    assert cli("report", tmp_path / "session.json", "--out", tmp_path / "r").returncode == 0
    page = next((tmp_path / "r").glob("*.html")).read_text()
    assert "swap-roles" not in page and "session " not in page.split("</header>")[0]


@pytest.mark.slow
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
    assert proc.returncode == 7 and "is damaged (file is not a database)" in one_error_line(proc)


@pytest.mark.slow
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


@pytest.mark.slow
def test_a_partly_damaged_store_is_one_line_for_every_command(
        short_conversation: dict[str, Path], tmp_path: Path) -> None:
    """The probe: 20 kB of garbage at offset 8192 of a store holding real sessions. `list`
    said nothing and `show`, `report`, `trends` ended in a traceback; now every command
    says the store is damaged and what to do, exit 7."""
    from tests.store.test_db import damage

    sid = analyse(short_conversation["stereo"], "--client", "C-1")
    analyse(short_conversation["stereo"], "--client", "C-1")
    damage(default_store_path())
    for command in (("sessions", "list"), ("sessions", "show", sid),
                    ("sessions", "export", sid, "--out", tmp_path / "e.json"),
                    ("report", sid, "--format", "json"), ("trends", "--out", tmp_path),
                    ("sessions", "delete", sid, "--yes"), ("sessions", "recover", "all")):
        proc = cli(*command)
        line = one_error_line(proc)
        assert proc.returncode == 7, command
        assert f"the session store {default_store_path()} is damaged (" in line, command
        assert line.endswith("then move it aside to start an empty one (README: \"A damaged "
                             "session store\")")
    assert not (tmp_path / "e.json").exists()


@pytest.mark.slow
def test_delete_removes_the_reports_it_wrote(short_conversation: dict[str, Path],
                                             private_data_dir: Path) -> None:
    """`delete` promises every trace: the reports in the data directory hold the
    transcript too, and so does an unsaved/ID copy of the same session."""
    sid, other = (analyse(short_conversation["stereo"]) for _ in range(2))
    for ref in (sid, other):
        assert cli("report", ref, "--format", "html,json,csv").returncode == 0
    unsaved = private_data_dir / "unsaved" / sid
    unsaved.mkdir(parents=True)
    (unsaved / "session.json").write_text("{}")
    reports = private_data_dir / "reports"
    assert {p.name for p in reports.iterdir()} == {
        f"{r}.{f}" for r in (sid, other) for f in ("html", "json", "csv")}
    proc = cli("sessions", "delete", sid, "--yes")
    assert proc.returncode == 0, proc.stderr
    assert f"{reports / sid}.html" in proc.stdout and str(unsaved) in proc.stdout
    assert {p.name for p in reports.iterdir()} == {f"{other}.{f}" for f in ("html", "json",
                                                                             "csv")}
    assert not unsaved.exists()


@pytest.mark.slow
def test_labels_make_safe_trends_file_names(short_conversation: dict[str, Path],
                                            tmp_path: Path) -> None:
    """`--client 'x/../../proof'` wrote outside --out; `C/12` failed with exit 6. The file
    name keeps [A-Za-z0-9._-]; the label stays as written in the store and the page."""
    out = tmp_path / "deep" / "out"
    for label, name in (("x/../../proof", "trends-x_.._.._proof.html"),
                        ("C/12", "trends-C_12.html"), ("<b>&", "trends-_b__.html")):
        analyse(short_conversation["stereo"], "--client", label)
        proc = cli("trends", "--client", label, "--out", out)
        assert proc.returncode == 0, proc.stderr
        assert f"wrote {out / name}" in proc.stdout
        page = (out / name).read_text()
        assert f"client {html.escape(label)}" in page
    written = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    assert [n for n in written if n.startswith("trends-")] == [
        "trends-C_12.html", "trends-_b__.html", "trends-x_.._.._proof.html"]
    # besides them only each session's report, which the trends pages link to (issue 20)
    reports = [n for n in written if not n.startswith("trends-")]
    assert len(reports) == 3 and all(p.parent == out for p in tmp_path.rglob("*.html"))
    assert all(f'href="{n}"' in (out / "trends-C_12.html").read_text() or
               f'href="{n}"' in (out / "trends-_b__.html").read_text() or
               f'href="{n}"' in (out / "trends-x_.._.._proof.html").read_text()
               for n in reports)
    assert "x/../../proof" in cli("sessions", "list").stdout


def test_a_crafted_session_json_cannot_name_a_report_outside_out(tmp_path: Path) -> None:
    from tests.report.test_report_golden import GOLDEN

    source = tmp_path / "crafted.json"
    data = json.loads(GOLDEN.read_text(encoding="utf-8"))  # of session.json's shape (checked)
    data["session"] = {"id": "../../escaped"}
    source.write_text(json.dumps(data))
    out = tmp_path / "a" / "b"
    proc = cli("report", source, "--format", "json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in out.iterdir()] == ["_._.._escaped.json"]
    assert not (tmp_path / "escaped.json").exists()


# -- a store this user cannot write (issue 14, item 11) -----------------------------------

CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3  # linux/capability.h
PR_CAPBSET_DROP = 24


def _without_root_overrides() -> None:
    """Root ignores file modes; without these capabilities it obeys them like anyone."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def reader_cli(home: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user who may read the store but not write it (in a home of its own)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "live_attune.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env,
                          preexec_fn=_without_root_overrides if os.geteuid() == 0 else None)


@pytest.mark.slow
def test_a_read_only_store_can_be_listed_shown_exported_and_reported(
        short_conversation: dict[str, Path], private_data_dir: Path, tmp_path: Path) -> None:
    """Before: even `sessions list` failed ("attempt to write a readonly database").
    Reading commands open the store read-only and leave the file as it was."""
    sid = analyse(short_conversation["stereo"], "--client", "C-3")
    cli("report", sid, "--format", "json")  # fills the data directory's caches
    store, out = default_store_path(), tmp_path / "out"
    out.mkdir()
    store.chmod(0o444)
    private_data_dir.chmod(0o500)
    try:
        before, files = store.read_bytes(), sorted(private_data_dir.rglob("*"))
        for command in (("sessions", "list"), ("sessions", "show", "last"),
                        ("sessions", "export", sid, "--out", out / "e.json"),
                        ("report", sid, "--format", "html,json,csv", "--out", out / "r"),
                        ("trends", "--client", "C-3", "--out", out / "t")):
            proc = reader_cli(tmp_path, *command)
            assert proc.returncode == 0 and proc.stderr == "", (command, proc.stderr)
            assert "C-3" in proc.stdout or "wrote" in proc.stdout
        assert json.loads((out / "e.json").read_text())["session"]["id"] == sid
        assert len(list((out / "r").iterdir())) == 3
        assert (out / "t" / "trends-C-3.html").exists()
        assert store.read_bytes() == before
        assert sorted(private_data_dir.rglob("*")) == files
        # a writing command still says, in one line, that it cannot write
        proc = reader_cli(tmp_path, "sessions", "delete", sid, "--yes")
        assert proc.returncode == 7 and "readonly database" in one_error_line(proc)
    finally:
        private_data_dir.chmod(0o700)


def test_analyze_on_an_unusable_store_saves_where_live_does(
        short_conversation: dict[str, Path], private_data_dir: Path) -> None:
    """Before: analyze without --out measured everything and then discarded it (exit 7).
    Now the result goes to the data directory's unsaved/ID, as a live session's would."""
    default_store_path().mkdir(parents=True)  # a folder where the store file should be
    proc = cli("analyze", short_conversation["stereo"], "--no-transcribe", "--quiet")
    assert proc.returncode == 0, proc.stderr
    [line] = [x for x in proc.stderr.splitlines() if "warning" in x]
    saved = Path(line.split("; saved ")[1].split(" instead")[0])
    assert saved.parent.parent == private_data_dir / "unsaved"
    assert line.startswith("live-attune: warning: cannot open the session store ")
    assert line.endswith(f"(live-attune report {saved})")
    assert json.loads(saved.read_text())["duration_s"] > 50
    assert "id" not in json.loads(saved.read_text())["session"]  # no store holds one
    assert (saved.parent / "turns.csv").exists()
    report = cli("report", saved, "--format", "json", "--out", private_data_dir / "r")
    assert report.returncode == 0, report.stderr


def test_analyze_with_nowhere_to_save_is_one_line(short_conversation: dict[str, Path],
                                                 tmp_path: Path) -> None:
    """A full disk (RLIMIT_FSIZE: every write past 4 kB fails, as in test_store_faults):
    no store, no unsaved/ID, no temporary folder — one line and exit 7."""
    def full_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))

    (tmp_path / "tmp").mkdir()
    proc = subprocess.run([sys.executable, "-m", "live_attune.cli", "analyze",
                           str(short_conversation["stereo"]), "--no-transcribe", "--quiet",
                           "--no-prosody"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
                          preexec_fn=full_disk)
    assert proc.returncode == 7
    assert one_error_line(proc).endswith("nor could the result be saved elsewhere")
