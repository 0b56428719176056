"""SQLite session store in the user's data directory (never anywhere else).

Theory of operation: a finished session is one ``sessions`` row whose ``result`` column holds
its session.json. While a live session runs, its row is in state ``recording`` and a journal
grows beside it — closed speech segments, transcripts and a checkpoint (how far the engine
got, and which segments were open there) committed twice a second; on one microphone also
the newest recount (every half minute, the voices so far decided again: its segments). A
process that dies leaves the row in ``recording``; ``recover`` rebuilds the session from
the journal by replaying the segments (on one microphone the recount's up to its time)
through the conversation engine (``core.replay_segments``), so the recovered measures come
from the same code as live ones.

Schema changes bump ``SCHEMA_VERSION`` (SQLite's ``user_version``); a newer store than this
program knows is refused rather than guessed at.

The boundary: every opening runs SQLite's ``quick_check``, and every ``Store`` method turns
SQLite's errors into one ``StoreError`` line (``_guarded``) — a damaged file says so and
what to do, whichever command meets it. Reading commands open the store read-only
(``read_only=True``): they write nothing, so a store on a read-only disk can still be read.
"""

from __future__ import annotations

import builtins
import functools
import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Concatenate, NotRequired, ParamSpec, TypedDict, TypeVar

from live_attune.errors import StoreError
from live_attune.paths import data_dir, keep_private

SCHEMA_VERSION = 2  # 2: recounts (a one-microphone live session's newest recount)
STATES = ("recording", "complete", "interrupted", "recovered")
# SQLite's result codes for a file that is not (or no longer) a whole database; extended
# codes such as SQLITE_CORRUPT_INDEX share the prefix.
DAMAGE_CODES = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
# A read-only open that cannot create the -shm beside the file (a read-only folder) is
# retried as immutable: without a -shm no other connection is writing (in WAL mode every
# connection keeps one), so the file cannot change under the reader.
NO_SHM_CODES = ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN", "SQLITE_READONLY_CANTINIT")
P = ParamSpec("P")
R = TypeVar("R")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    started_at TEXT NOT NULL,          -- local time, ISO 8601
    label TEXT,                        -- the client's code or pseudonym (for trends)
    kind TEXT NOT NULL,                -- live | analyze
    source TEXT NOT NULL,
    mode TEXT NOT NULL,
    speakers TEXT NOT NULL,            -- JSON list of roles
    config TEXT NOT NULL,              -- JSON: the pipeline config (for recovery)
    state TEXT NOT NULL,
    pid INTEGER,                       -- the recording process, while recording
    duration_s REAL,
    audio_path TEXT,                   -- only with --keep-audio
    keep_transcript INTEGER NOT NULL DEFAULT 1,
    result TEXT                        -- session.json, once complete or recovered
);
CREATE TABLE IF NOT EXISTS segments (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    speaker TEXT NOT NULL, start_s REAL NOT NULL, end_s REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS segments_by_session ON segments(session_id);
CREATE TABLE IF NOT EXISTS transcripts (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    start_s REAL NOT NULL, data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS transcripts_by_session ON transcripts(session_id);
CREATE TABLE IF NOT EXISTS recounts (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    to_s REAL NOT NULL,                -- one microphone: the newest recount reached this
    segments TEXT NOT NULL             -- JSON [[speaker, start_s, end_s], ...] it decided
);
CREATE TABLE IF NOT EXISTS checkpoints (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    at_s REAL NOT NULL,                -- the engine had processed everything before this
    open TEXT NOT NULL                 -- JSON {speaker: onset_s} of segments open there
);
"""


def default_store_path() -> Path:
    return data_dir() / "sessions.sqlite"


@dataclass(frozen=True, kw_only=True)
class NewSession:
    """What is known of a session when it starts."""

    kind: str  # live | analyze
    source: str
    mode: str
    speakers: tuple[str, ...]
    config: dict[str, Any]  # output.config_dict of the pipeline config
    label: str | None = None
    keep_transcript: bool = True
    audio_path: str | None = None
    id: str = field(default_factory=lambda: new_session_id())
    started_at: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))


class SessionRecord(TypedDict):
    """session.json's ``session`` as this package writes it: no ``id`` in a copy no store
    holds, no ``label`` for a live session without a store."""

    id: NotRequired[str]
    label: NotRequired[str | None]
    started_at: str
    kind: str
    state: str


def session_record(new: NewSession, state: str) -> SessionRecord:
    """session.json's ``session``: what the store records of it (as ``Store.result`` adds it),
    also written into ``--out`` and ``unsaved/`` copies so that their report has its date."""
    return {"id": new.id, "label": new.label, "started_at": new.started_at, "kind": new.kind,
            "state": state}


def unstored(record: SessionRecord) -> SessionRecord:
    """The record without its id, for a copy no store holds (its report would offer
    "sessions swap-roles ID", which would fail)."""
    out = record.copy()
    out.pop("id", None)
    return out


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One session as listed (the result JSON is fetched separately)."""

    id: str
    started_at: str
    label: str | None
    kind: str
    source: str
    mode: str
    speakers: tuple[str, ...]
    state: str
    duration_s: float | None
    audio_path: str | None


@dataclass(frozen=True, slots=True)
class Journal:
    """What a live session had committed when it stopped (see ``Store.journal``)."""

    row: SessionRow
    config: dict[str, Any]
    segments: list[tuple[str, float, float]]
    transcripts: list[dict[str, Any]]
    checkpoint_s: float
    open_s: dict[str, float]
    # one microphone: the newest recount's time and segments (None: none was made)
    recount: tuple[float, list[tuple[str, float, float]]] | None = None


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Open the store at ``path``, checked: writable (created if needed; WAL, foreign keys),
    or with ``read_only`` so that nothing is written (a store not yet made reads as empty).
    The file and its -wal/-shm are kept private (``keep_private``), and so is the folder
    when it is the data directory (never some other folder a store was put in)."""
    if path.parent == data_dir():
        keep_private(path.parent)
    if path.is_dir():  # SQLite would say "disk I/O error" or "unable to open database file"
        raise StoreError(f"cannot open the session store {path}: it is a folder, not a file")
    try:
        conn = _open_read_only(path) if read_only else _open_writable(path)
        for part in (path, _beside(path, "-wal"), _beside(path, "-shm")):
            keep_private(part)
        return _checked(conn, path, read_only=read_only)
    except sqlite3.Error as exc:
        raise store_error(path, exc, doing="cannot open the session store") from exc
    except OSError as exc:
        raise StoreError(f"cannot open the session store {path}: {exc.strerror or exc}") from exc


def _open_writable(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    return sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)


def _open_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        return _empty()
    uri = path.absolute().as_uri()
    try:
        return _probed(uri + "?mode=ro")
    except sqlite3.Error as exc:
        if not str(getattr(exc, "sqlite_errorname", "")).startswith(NO_SHM_CODES):
            raise
        return _probed(uri + "?mode=ro&immutable=1")  # see NO_SHM_CODES


def _probed(uri: str) -> sqlite3.Connection:
    conn = sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None,
                           check_same_thread=False)
    try:
        conn.execute("PRAGMA user_version").fetchone()  # SQLite opens lazily: read now
    except sqlite3.Error:
        conn.close()
        raise
    return conn


def _empty() -> sqlite3.Connection:
    """An in-memory store with the schema: what reading a store not yet made sees."""
    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    conn.executescript(_SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION};")
    return conn


def _checked(conn: sqlite3.Connection, path: Path, *, read_only: bool) -> sqlite3.Connection:
    """``conn`` after the version and integrity checks (closed if one fails), set up."""
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{path} was written by a newer live-attune (store version "
                             f"{version}, this one reads {SCHEMA_VERSION})")
        # quick_check walks every page (≈0.05 s for a 250 MB store, measured): a damaged
        # file is refused before anything reads half of it or writes into it.
        problems = [r[0] for r in conn.execute("PRAGMA quick_check(1)")]
        if problems != ["ok"]:
            raise damaged(path, problems[0])
        if read_only:
            # an older store reads as it is (its tables are a subset); an empty file as empty
            return conn if version else _replace_with_empty(conn)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL: a crashed process loses nothing
        conn.execute("PRAGMA foreign_keys=ON")
        if version < SCHEMA_VERSION:
            conn.executescript(_SCHEMA + f"PRAGMA user_version={SCHEMA_VERSION};")
        return conn
    except BaseException:
        conn.close()
        raise


def _replace_with_empty(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.close()  # a file with no schema yet (an empty file): no sessions to read
    return _empty()


def _beside(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def damaged(path: Path, detail: str) -> StoreError:
    """One line: SQLite's integrity report spans lines and names the schema ("main")."""
    detail = " ".join(detail.replace("*** in database main ***", "").split())
    return StoreError(f"the session store {path} is damaged ({detail}): keep a copy of it, "
                      "then move it aside to start an empty one (README: \"A damaged "
                      "session store\")")


class DamagedRecord(ValueError):
    """One session's stored JSON is damaged (it does not decode, or is not the object that
    was stored); the rest of the store is readable."""


def store_error(path: Path, exc: Exception, *, doing: str = "session store") -> StoreError:
    """One line for an SQLite (or stored-JSON) error; a damaged file says what to do."""
    name = str(getattr(exc, "sqlite_errorname", ""))
    if isinstance(exc, DamagedRecord):  # one session's record, not the file
        return StoreError(f"{doing} {path}: {exc}")
    if name.startswith(DAMAGE_CODES) or isinstance(exc, ValueError):  # JSON that no longer
        return damaged(path, str(exc))                                   # decodes: damage too
    return StoreError(f"{doing} {path}: {exc}")


def _guarded(method: Callable[Concatenate[Store, P], R]) -> Callable[Concatenate[Store, P], R]:
    """The store's boundary: an SQLite error inside ``method`` leaves it as a StoreError."""
    @functools.wraps(method)
    def guarded(self: Store, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.Error, json.JSONDecodeError, UnicodeDecodeError, DamagedRecord) as exc:
            raise store_error(self.path, exc) from exc
    return guarded


def new_session_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]


class Store:
    """The session store; every method is one short transaction, guarded (``_guarded``)."""

    def __init__(self, path: Path | None = None, *, read_only: bool = False) -> None:
        self.path = path or default_store_path()
        self.read_only = read_only
        self._conn = connect(self.path, read_only=read_only)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -- writing ----------------------------------------------------------------------------

    @_guarded
    def create(self, new: NewSession, *, state: str = "recording") -> str:
        """Add the session's row (idempotent for one ``new.id``); return its id."""
        with self._tx() as c:
            _insert(c, new, state)
        return new.id

    @_guarded
    def add(self, new: NewSession, result: dict[str, Any], *, state: str = "complete") -> str:
        """A finished session (``analyze``): its row and its result in one transaction, so
        a store that fails half-way keeps neither."""
        if not new.keep_transcript:
            result = result | {"transcript": []}
        with self._tx() as c:
            _insert(c, new, state)
            _set_result(c, new.id, result, state)
        return new.id

    @_guarded
    def save_result(self, session_id: str, result: dict[str, Any], *, state: str) -> None:
        """Store the session.json of a finished (or recovered) session."""
        if not self._keeps_transcript(session_id):
            result = result | {"transcript": []}
        with self._tx() as c:
            _set_result(c, session_id, result, state)

    @_guarded
    def append_journal(self, session_id: str, records: list[tuple[str, Any]]) -> None:
        """Add ``("segment", Segment)``, ``("transcript", Transcript)``,
        ``("recount", (to_s, [(speaker, start_s, end_s), ...]))`` and
        ``("checkpoint", (at_s, {speaker: onset_s}))`` records in one transaction."""
        with self._tx() as c:
            for kind, item in records:
                if kind == "segment":
                    c.execute("INSERT INTO segments VALUES (?,?,?,?)",
                              (session_id, item.speaker, item.start_s, item.end_s))
                elif kind == "transcript":
                    c.execute("INSERT INTO transcripts VALUES (?,?,?)",
                              (session_id, item.start_s, json.dumps(asdict(item))))
                elif kind == "recount":
                    c.execute("INSERT INTO recounts VALUES (?,?,?) ON CONFLICT(session_id) "
                              "DO UPDATE SET to_s=excluded.to_s, segments=excluded.segments",
                              (session_id, item[0], json.dumps(item[1])))
                elif kind == "checkpoint":
                    c.execute("INSERT INTO checkpoints VALUES (?,?,?) ON CONFLICT(session_id) "
                              "DO UPDATE SET at_s=excluded.at_s, open=excluded.open",
                              (session_id, item[0], json.dumps(item[1])))

    def _keeps_transcript(self, session_id: str) -> bool:
        row = self._conn.execute("SELECT keep_transcript FROM sessions WHERE id=?",
                                 (session_id,)).fetchone()
        return bool(row[0]) if row else True

    # -- reading ----------------------------------------------------------------------------

    @_guarded
    def list(self, label: str | None = None) -> list[SessionRow]:
        """Every session, oldest first (``label``: only that client's). A session still
        ``recording`` whose process is gone is listed as ``interrupted`` (and marked so,
        unless the store was opened read-only)."""
        sql = ("SELECT id, started_at, label, kind, source, mode, speakers, state, duration_s, "
               "audio_path, pid FROM sessions")
        found = (self._conn.execute(sql + " WHERE label=? ORDER BY started_at, id", (label,))
                 if label is not None else self._conn.execute(sql + " ORDER BY started_at, id"))
        rows = [(_row(r), r[10]) for r in found]
        stale = {r.id for r, pid in rows if r.state == "recording" and not _alive(pid)}
        if stale and not self.read_only:
            with self._tx() as c:
                c.executemany("UPDATE sessions SET state='interrupted' WHERE id=?",
                              [(s,) for s in stale])
        return [replace(r, state="interrupted") if r.id in stale else r for r, _ in rows]

    @_guarded
    def get(self, ref: str) -> SessionRow:
        """A session by id, unique id prefix, or ``last``."""
        rows = self.list()
        if ref == "last" and rows:
            return rows[-1]
        found = [r for r in rows if r.id == ref] or [r for r in rows if r.id.startswith(ref)]
        if len(found) != 1:
            what = "no session" if not found else f"{len(found)} sessions"
            raise StoreError(f"{what} matching {ref!r} in {self.path} "
                             "(see `live-attune sessions list`)")
        return found[0]

    @_guarded
    def result(self, session_id: str) -> dict[str, Any]:
        """The session.json of a complete or recovered session, with its store record."""
        row = self.get(session_id)
        text = self._conn.execute("SELECT result FROM sessions WHERE id=?",
                                  (row.id,)).fetchone()[0]
        if text is None:
            hint = (f"; recover it with `live-attune sessions recover {row.id}`"
                    if row.state == "interrupted" else "")
            raise StoreError(f"session {row.id} has no result yet (state {row.state}){hint}")
        try:
            stored = json.loads(text)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError: this row's damage
            raise DamagedRecord(f"session {row.id}'s stored result is damaged ({exc}): "
                                f"`live-attune sessions delete {row.id}` removes it") from exc
        if not isinstance(stored, dict):
            raise DamagedRecord(f"session {row.id}'s stored result is damaged (not a "
                                "session.json object): `live-attune sessions delete "
                                f"{row.id}` removes it")
        result: dict[str, Any] = complete_older(stored)
        if row.state == "recovered":
            not_counted_when_recovered(result)
        record: SessionRecord = {"id": row.id, "label": row.label,
                                 "started_at": row.started_at, "kind": row.kind,
                                 "state": row.state}
        result["session"] = record
        return result

    def interrupted(self) -> builtins.list[SessionRow]:
        return [r for r in self.list() if r.state == "interrupted"]

    @_guarded
    def journal(self, session_id: str) -> Journal:
        row = self.get(session_id)
        c = self._conn
        config = json.loads(c.execute("SELECT config FROM sessions WHERE id=?",
                                      (row.id,)).fetchone()[0])
        segments = [(s, a, b) for s, a, b in c.execute(
            "SELECT speaker, start_s, end_s FROM segments WHERE session_id=? ORDER BY start_s",
            (row.id,))]
        transcripts = [json.loads(d) for (d,) in c.execute(
            "SELECT data FROM transcripts WHERE session_id=? ORDER BY start_s", (row.id,))]
        cp = c.execute("SELECT at_s, open FROM checkpoints WHERE session_id=?",
                       (row.id,)).fetchone()
        at_s, open_s = (cp[0], json.loads(cp[1])) if cp else (0.0, {})
        has_recounts = c.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND "
                                 "name='recounts'").fetchone()  # none in a version-1 store
        rc = c.execute("SELECT to_s, segments FROM recounts WHERE session_id=?",
                       (row.id,)).fetchone() if has_recounts else None
        recount = (rc[0], [(s, a, b) for s, a, b in json.loads(rc[1])]) if rc else None
        return Journal(row, config, segments, transcripts, at_s, open_s, recount)

    # -- deleting ---------------------------------------------------------------------------

    @_guarded
    def delete(self, session_id: str) -> SessionRow:
        """Remove every trace: rows, journal, kept audio; then VACUUM the file."""
        row = self.get(session_id)
        with self._tx() as c:
            c.execute("DELETE FROM sessions WHERE id=?", (row.id,))  # cascades to the journal
        if row.audio_path:
            Path(row.audio_path).unlink(missing_ok=True)
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.execute("VACUUM")
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            raise StoreError(f"deleted {row.id} but could not compact {self.path}: {exc}") \
                from exc
        return row


def _insert(c: sqlite3.Connection, new: NewSession, state: str) -> None:
    c.execute("INSERT OR IGNORE INTO sessions (id, started_at, label, kind, source, mode, "
              "speakers, config, state, pid, keep_transcript, audio_path) "
              "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
              (new.id, new.started_at, new.label, new.kind, new.source, new.mode,
               json.dumps(list(new.speakers)), json.dumps(new.config), state, os.getpid(),
               int(new.keep_transcript), new.audio_path))


def _set_result(c: sqlite3.Connection, session_id: str, result: dict[str, Any],
                state: str) -> None:
    c.execute("UPDATE sessions SET result=?, state=?, duration_s=?, pid=NULL WHERE id=?",
              (json.dumps(result), state, result["duration_s"], session_id))


def _row(r: tuple[Any, ...]) -> SessionRow:
    return SessionRow(r[0], r[1], r[2], r[3], r[4], r[5], _speakers(r[6]), r[7], r[8], r[9])


def _speakers(text: Any) -> tuple[str, ...]:
    """A row's speakers; none where the column is damaged (the row is still listed, so that
    it can be shown, exported or deleted: reading its result says what is wrong with it)."""
    try:
        names = json.loads(text)
    except (TypeError, ValueError):
        return ()
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return ()
    return tuple(names)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def complete_older(result: dict[str, Any]) -> dict[str, Any]:
    """A session.json written by an older version, given the fields added since
    (``metrics.unsuccessful_interruptions_by``: from core's two stored counts)."""
    from live_attune.core.metrics import unsuccessful_by

    m = result.get("metrics")
    if isinstance(m, dict) and "unsuccessful_interruptions_by" not in m \
            and isinstance(m.get("interruptions_by"), dict) \
            and isinstance(m.get("successful_interruptions_by"), dict):
        m["unsuccessful_interruptions_by"] = unsuccessful_by(
            m["interruptions_by"], m["successful_interruptions_by"])
    return result


def not_counted_when_recovered(result: dict[str, Any]) -> None:
    """A one-microphone session recovered by an older version says its interruptions and
    backchannels were not counted, as one recovered now does (its live decisions give each
    moment one voice, so they find none; it was marked "not reliable" and showed noughts)."""
    from live_attune.core.quality import NOT_COUNTED_STOPPED, NOT_RELIABLE_ONE_MIC

    words = result.get("reliability")
    if result.get("mode") == "single-mic" and isinstance(words, dict):
        for kind in ("interruptions", "backchannels"):
            if words.get(kind) == NOT_RELIABLE_ONE_MIC:
                words[kind] = NOT_COUNTED_STOPPED
