"""The store's commands: sessions list|show|delete|export|recover, report, trends.

Commands that only read open the store read-only (``READING``): they write nothing to it.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path
from typing import Any

from live_attune.atomic import atomic_write, out_folder
from live_attune.core.quality import MEASURED
from live_attune.core.roles import THERAPIST
from live_attune.errors import AudioInputError, OutputError, StoreError, UsageError
from live_attune.paths import data_dir, safe_file_name
from live_attune.store import Store, complete_older

READING = ("list", "show", "export")


def sessions_command(args: argparse.Namespace) -> int:
    if args.action == "serve":
        return _serve(args)
    with Store(read_only=args.action in READING) as store:
        match args.action:
            case "list":
                return _list(store, args.client)
            case "show":
                return _show(checked_result(store, store.get(args.session).id))
            case "export":
                return _export(store, args)
            case "delete":
                return _delete(store, args)
            case "recover":
                return _recover(store, args.session)
            case "swap-roles":
                return _swap(store, args.session)
    raise UsageError(f"unknown action {args.action!r}")


def _serve(args: argparse.Namespace) -> int:
    import asyncio

    from live_attune.server.app import ServeOptions, serve_reports
    from live_attune.store import default_store_path

    Store(read_only=True).close()  # a store that cannot be opened fails here, in one line
    print("Serving the report view of past sessions; Ctrl-C stops.")
    asyncio.run(serve_reports(ServeOptions(port=args.port, open_browser=not args.no_browser,
                                           store=default_store_path())))
    return 0


def _list(store: Store, label: str | None) -> int:
    rows = store.list(label)
    if not rows:
        print(f"no sessions stored in {store.path}")
        return 0
    print(f"{'id':22s} {'started':17s} {'client':10s} {'kind':8s} {'state':12s} length")
    for r in rows:
        length = "–" if r.duration_s is None else f"{r.duration_s / 60:.1f} min"
        print(f"{r.id:22s} {r.started_at[:16].replace('T', ' '):17s} {(r.label or '–'):10s} "
              f"{r.kind:8s} {r.state:12s} {length}")
    if any(r.state == "interrupted" for r in rows):
        print("\nInterrupted sessions can be recovered: live-attune sessions recover ID")
    return 0


def _show(session: dict[str, Any]) -> int:
    from live_attune.report.trends import trend_table

    print(trend_table([session]))
    for flag in session.get("quality", []):
        print(f"quality: {flag['message']}")
    for note in session.get("notes", []):
        print(f"note: {note}")
    for kind, word in (session.get("reliability") or {}).items():
        if word != MEASURED:  # e.g. one microphone: "not reliable", "not counted: ..."
            print(f"{kind.replace('_', ' ')}: {word}")
    return 0


def _export(store: Store, args: argparse.Namespace) -> int:
    session = store.result(store.get(args.session).id)
    out: Path = args.out or Path(f"{safe_file_name(session['session']['id'])}.json")
    try:
        atomic_write(out, json.dumps(session, indent=1) + "\n")  # private, even over an old file
    except OSError as exc:
        raise OutputError(f"cannot write {out}: {exc.strerror or exc}") from exc
    print(f"wrote {out}")
    return 0


def _delete(store: Store, args: argparse.Namespace) -> int:
    row = store.get(args.session)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("deleting needs --yes when not run from a terminal")
        answer = input(f"Delete session {row.id} ({row.started_at}) and every trace of it? "
                       "[y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("kept")
            return 0
    files = _remove_files_of(row.id)  # first: the row is how a failed delete is retried
    store.delete(row.id)
    print(f"deleted {row.id}: rows, journal{', audio' if row.audio_path else ''}"
          f"{''.join(f', {f}' for f in files)}; {store.path} compacted")
    return 0


def _remove_files_of(session_id: str) -> list[Path]:
    """The reports ``report`` wrote into the data directory and the ``unsaved/ID`` copy of
    a session the store could not keep: they hold its transcript too. Reports written
    elsewhere with ``--out`` are the user's to remove."""
    import shutil

    from live_attune.report import report_paths

    folder = data_dir() / "unsaved" / safe_file_name(session_id)
    removed = [p for p in report_paths(data_dir() / "reports", session_id) if p.exists()]
    try:
        for path in removed:
            path.unlink()
        if folder.is_dir():
            shutil.rmtree(folder)
            removed.append(folder)
    except OSError as exc:
        raise OutputError(f"cannot remove {exc.filename}: {exc.strerror or exc}; the session "
                          "is still stored") from exc
    return removed


def _swap(store: Store, ref: str) -> int:
    from live_attune.session.rescore import swap_refused, swap_roles

    row = store.get(ref)
    data = checked_result(store, row.id)
    if (why := swap_refused(data)) is not None:
        raise UsageError(f"session {row.id}: {why}")
    data = swap_roles(data)
    store.save_result(row.id, data, state=row.state)
    share = data["metrics"]["talk_share"].get(THERAPIST)
    print(f"{row.id}: therapist and client swapped; therapist talk share now "
          f"{'–' if share is None else f'{100 * share:.0f} %'}")
    return 0


def _recover(store: Store, ref: str) -> int:
    from live_attune.session.rescore import recover_again as recover

    rows = store.interrupted() if ref == "all" else [store.get(ref)]
    if not rows:
        print("no interrupted sessions")
    for row in rows:
        if row.state not in ("interrupted", "recovered"):
            raise StoreError(f"session {row.id} is {row.state}, not interrupted")
        session = recover(store, row.id)
        print(f"recovered {row.id}: {session['duration_s']:.1f} s measured "
              f"(live-attune report {row.id})")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from live_attune.report import FORMATS, write_report

    formats = list(dict.fromkeys(f.strip() for f in args.format.split(",") if f.strip()))
    if bad := [f for f in formats if f not in FORMATS]:
        raise UsageError(f"unknown report format {bad[0]!r}; choose from {', '.join(FORMATS)}")
    if not formats:
        raise UsageError(f"--format names no format; choose from {', '.join(FORMATS)}")
    session = _load_session(args.session)
    if args.date:
        session["session"] = {**(session.get("session") or {}), "started_at": args.date}
    out = args.out or data_dir() / "reports"
    for path in write_report(session, out, formats):
        print(f"wrote {path}")
    return 0


def _load_session(ref: str) -> dict[str, Any]:
    """A stored session (id, prefix, ``last``) or a session.json file."""
    path = Path(ref)
    if path.suffix == ".json" or path.is_file():
        return _session_file(path)
    with Store(read_only=True) as store:
        return checked_result(store, store.get(ref).id)


def checked_result(store: Store, session_id: str) -> dict[str, Any]:
    """A stored session.json, checked against its schema: one damaged session (its stored
    result of another shape) is named, with how to remove it, instead of breaking the
    report, `show` or trends half-way (`export` hands the stored text out as it is)."""
    data = store.result(session_id)
    if problem := schema_problem(data):
        raise StoreError(f"session store {store.path}: session {session_id}'s stored result "
                         f"is damaged ({problem}): `live-attune sessions delete {session_id}` "
                         "removes it")
    return data


def _session_file(path: Path) -> dict[str, Any]:
    """A session.json file, brought to this version (complete_older) and checked against
    its schema: whatever else is in it would break the report half-way."""
    def no_constant(name: str) -> float:
        raise ValueError(f"{name} is not a number")

    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"), parse_constant=no_constant)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is one
        raise AudioInputError(f"{path}: not a readable session.json ({exc})") from exc
    if not isinstance(data, dict) or "metrics" not in data or "speakers" not in data:
        raise AudioInputError(f"{path}: not a live-attune session.json")
    data = complete_older(data)
    if problem := schema_problem(data):
        raise AudioInputError(f"{path}: not a live-attune session.json ({problem})")
    return dict(data)


def schema_problem(data: dict[str, Any]) -> str | None:
    """Where ``data`` first departs from session.json's schema, in a few words (None: it
    does not)."""
    import jsonschema

    problem = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if problem is None:
        return _impossible(data)
    where = "/".join(str(p) for p in problem.absolute_path) or "the top level"
    return f"{where}: {problem.message[:120]}"


SHARES = ("talk_share", "talk_share_of_elapsed", "rolling_talk_share")


def _impossible(data: dict[str, Any]) -> str | None:
    """What the schema lets through and no session can hold: a share outside 0..1 (a
    report would print "500 %"), a segment that ends before it starts, a speaker the
    session does not have."""
    metrics = data["metrics"]
    for name in SHARES:
        for who, share in (metrics.get(name) or {}).items():
            if share is not None and not -1e-9 <= share <= 1 + 1e-9:
                return f"metrics/{name}/{who}: {share} is not a share between 0 and 1"
    speakers = set(data["speakers"])
    for i, seg in enumerate(data.get("segments", ())):
        if seg["speaker"] not in speakers:
            return f"segments/{i}: {seg['speaker']!r} is not one of the session's speakers"
        if seg["start_s"] < 0:
            return f"segments/{i}: it starts before the session ({seg['start_s']} s)"
        if seg["start_s"] > seg["end_s"]:
            return f"segments/{i}: it ends before it starts ({seg['start_s']}, {seg['end_s']})"
    return None


@functools.cache
def _validator() -> Any:  # jsonschema.Draft202012Validator: built once, used per session
    import jsonschema

    from live_attune.session.output import schema

    return jsonschema.Draft202012Validator(schema())


def trends_command(args: argparse.Namespace) -> int:
    from live_attune.report import write_report
    from live_attune.report.trends import report_name, trend_table, trends_html

    with Store(read_only=True) as store:
        rows = [r for r in store.list(args.client) if r.state in ("complete", "recovered")]
        sessions = []
        for r in rows:
            try:
                sessions.append(checked_result(store, r.id))
            except StoreError as exc:  # one damaged session: the others still make trends
                print(f"live-attune: left out: {exc}", file=sys.stderr)
    if not sessions:
        who = f" for client {args.client}" if args.client else ""
        print(f"no finished sessions{who} in the store")
        return 0
    print(trend_table(sessions))
    if args.out:
        title = f"Trends — client {args.client}" if args.client else "Trends — all sessions"
        path = args.out / f"trends-{safe_file_name(args.client or 'all')}.html"
        out_folder(args.out)
        try:
            atomic_write(path, trends_html(sessions, title))
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc
        # each point and date of the page opens its session's report: written beside it
        missing = [s for s in sessions if not (args.out / report_name(s)).exists()]
        for session in missing:
            write_report(session, args.out, ["html"])
        print(f"\nwrote {path}" + (f" and {len(missing)} session reports beside it"
                                   if missing else ""))
    return 0
