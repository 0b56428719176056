"""The local session store (SQLite, WAL): sessions, their crash journal, and recovery."""

from live_attune.store.db import (
    NewSession,
    SessionRow,
    Store,
    complete_older,
    default_store_path,
    session_record,
)
from live_attune.store.recorder import SessionRecorder

__all__ = ["NewSession", "SessionRecorder", "SessionRow", "Store", "complete_older",
           "default_store_path", "session_record"]
