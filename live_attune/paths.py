"""Where live-attune keeps things on this machine (never anywhere else), and how privately.

Everything it writes is clinical: the CLI creates files 0600 and folders 0700 (its umask,
``cli.main``), and a data directory or store an older version left readable by others is
made private again when the store is opened (``keep_private``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

PRIVATE_UMASK = 0o077  # files 0600, folders 0700
FILE_NAME_MAX = 64  # characters of a name built from a label (ext4 allows 255 bytes)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def data_dir() -> Path:
    """``$LIVE_ATTUNE_HOME``, else ``$XDG_DATA_HOME/live-attune``, else ~/.local/share/..."""
    if home := os.environ.get("LIVE_ATTUNE_HOME"):
        return Path(home)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "live-attune"


def dashboard_dir() -> Path:
    """The repository's ``dashboard/`` folder (the package is installed editable)."""
    return Path(__file__).resolve().parent.parent / "dashboard"


def keep_private(path: Path) -> None:
    """Take group and other permissions off ``path`` (never adds any: a read-only store stays
    read-only). Only what this user owns, and never a shared sticky folder such as /tmp;
    a file system that refuses (read-only mount) is left as it is."""
    try:
        st = path.stat()
        if st.st_uid == os.geteuid() and not st.st_mode & stat.S_ISVTX and st.st_mode & 0o077:
            path.chmod(stat.S_IMODE(st.st_mode) & 0o700)
    except OSError:
        pass


def safe_file_name(label: str) -> str:
    """A file name built from a client label or session id: only ``[A-Za-z0-9._-]`` (the
    rest becomes ``_``, so no ``/`` or ``..`` path can be formed), no leading dot (no hidden
    file), at most FILE_NAME_MAX characters. The label itself is kept as written elsewhere."""
    name = _UNSAFE.sub("_", label)[:FILE_NAME_MAX]
    return re.sub(r"^\.", "_", name) or "_"
