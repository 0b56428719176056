"""Write a session's report in the formats asked for: html, pdf, json, csv."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from live_attune.atomic import atomic_write, out_folder
from live_attune.core.quality import counted, word_of
from live_attune.csv_cells import safe_row
from live_attune.errors import OutputError
from live_attune.paths import safe_file_name
from live_attune.report.html import build_html

FORMATS = ("html", "pdf", "json", "csv")
PDF_TIMEOUT_S = 120
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def report_paths(out_dir: Path, session_id: str) -> list[Path]:
    """Where ``write_report`` puts each format of session ``session_id``'s report."""
    return [out_dir / f"{safe_file_name(session_id)}.{fmt}" for fmt in FORMATS]


def write_report(session: Mapping[str, Any], out_dir: Path, formats: Sequence[str]) -> list[Path]:
    """Write ``<id>.<format>`` files into ``out_dir``; return their paths. The id comes from
    the session (a session.json given to ``report`` may say anything): only a safe name."""
    name = safe_file_name(str(session.get("session", {}).get("id") or "session"))
    out_folder(out_dir)
    written: list[Path] = []
    page = build_html(session) if {"html", "pdf"} & set(formats) else ""
    for fmt in formats:
        path = out_dir / f"{name}.{fmt}"
        try:
            if fmt == "html":  # each file a new private one, even over an older report
                atomic_write(path, page)
            elif fmt == "pdf":
                html_to_pdf(page, path)
            elif fmt == "json":
                atomic_write(path, json.dumps(session, indent=1) + "\n")
            elif fmt == "csv":
                write_csv(session, path)
            else:
                raise OutputError(f"unknown report format {fmt!r} (choose from "
                                  f"{', '.join(FORMATS)})")
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        written.append(path)
    return written


def html_to_pdf(page: str, pdf: Path) -> None:
    """Print the HTML to PDF with the local headless Chromium (no network: it reads a file
    that holds no URL, with networking switched off)."""
    browser = next((b for b in map(shutil.which, BROWSERS) if b), None)
    if browser is None:
        raise OutputError("a PDF report needs Chromium (Debian: apt install chromium); "
                          "--format html works without it")
    with tempfile.TemporaryDirectory(prefix="live-attune-pdf-") as tmp:
        source = Path(tmp) / "report.html"
        source.write_text(page, encoding="utf-8")
        cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--no-default-browser-check", "--no-pdf-header-footer",
               "--disable-breakpad", "--disable-crash-reporter", "--disable-extensions",
               "--disable-default-apps", "--disable-sync", "--dns-prefetch-disable",
               # Seen under strace: even with networking "disabled", Chromium looked up
               # clients2.google.com while printing. Its own resolver answers nothing now.
               "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
               f"--user-data-dir={tmp}/profile", f"--print-to-pdf={tmp}/report.pdf",
               source.as_uri()]
        # Chromium keeps "Crash Reports" under $HOME/.config whatever --user-data-dir says:
        # give it the temporary folder as its home, so it writes nothing of its own elsewhere.
        env = {**os.environ, "HOME": tmp, "XDG_CONFIG_HOME": f"{tmp}/config",
               "XDG_CACHE_HOME": f"{tmp}/cache"}
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=PDF_TIMEOUT_S, check=False,
                                  env=env)
        except subprocess.TimeoutExpired:
            raise OutputError(f"Chromium did not print the PDF within {PDF_TIMEOUT_S} s") \
                from None
        printed = Path(tmp) / "report.pdf"
        if done.returncode != 0 or not printed.exists() or printed.stat().st_size == 0:
            tail = (done.stderr.decode(errors="replace").strip().splitlines()[-1:]
                    or ["no output"])
            raise OutputError(f"Chromium could not print {pdf}: {tail[0]}")
        atomic_write(pdf, printed.read_bytes())  # private, whole, even over an older one


def write_csv(session: Mapping[str, Any], path: Path) -> None:
    """One row per measure and speaker (section, measure, speaker, value)."""
    m = session["metrics"]
    words = session.get("reliability") or {}
    rows: list[tuple[str, str, str, Any]] = [("session", "duration_s", "", session["duration_s"])]
    for measure, kind in (("talk_time_s", ""), ("talk_share", "talk_share"),
                          ("talk_share_of_elapsed", "talk_share"), ("longest_monologue_s", ""),
                          ("interruptions_by", "interruptions"),
                          ("successful_interruptions_by", "interruptions"),
                          ("unsuccessful_interruptions_by", "interruptions"),
                          ("interruptions_per_hour_by", "interruptions"),
                          ("backchannels_by", "backchannels")):
        shown = counted(word_of(session, kind))  # not counted: empty, never nought
        rows += [("metrics", measure, s, v if shown else "") for s, v in m[measure].items()]
    for key in ("median", "mean", "share_patient", "count"):
        rows.append(("metrics", f"response_latency_{key}", "", m["response_latency_s"][key]))
    both = counted(word_of(session, "interruptions"))  # both at once: as interruptions
    rows += [("metrics", "overlap_s", "", m["overlap_s"] if both else ""),
             ("metrics", "turn_count", "", m["turn_count"]),
             ("metrics", "long_silence_count", "", m["long_silence_count"])]
    lang = m.get("language")
    if lang:
        rows += [("language", "pace_wpm", s, v) for s, v in lang["pace_wpm"].items()]
        rows += [("language", k, "", v) for k, v in lang["miti"].items()]
    rows += [("quality", f["gate"], f.get("speaker") or "", f["value"])
             for f in session.get("quality", [])]
    rows += [("reliability", kind, "", word) for kind, word in words.items()]
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["section", "measure", "speaker", "value"])
    writer.writerows(safe_row((a, b, c, "" if v is None else v)) for a, b, c, v in rows)
    atomic_write(path, buf.getvalue())
