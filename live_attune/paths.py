"""Where live-attune keeps things on this machine (never anywhere else)."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """``$LIVE_ATTUNE_HOME``, else ``$XDG_DATA_HOME/live-attune``, else ~/.local/share/..."""
    if home := os.environ.get("LIVE_ATTUNE_HOME"):
        return Path(home)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "live-attune"


def dashboard_dir() -> Path:
    """The repository's ``dashboard/`` folder (the package is installed editable)."""
    return Path(__file__).resolve().parent.parent / "dashboard"
