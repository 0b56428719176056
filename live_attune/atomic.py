"""Writing the user's files: whole or not at all, private (0600) even over an older file,
and into a folder that is one (live_attune/paths.py: the CLI's umask)."""

from __future__ import annotations

from pathlib import Path

from live_attune.errors import OutputError

__all__ = ["atomic_write", "is_stream", "out_folder"]


def out_folder(path: Path) -> None:
    """Make the output folder ``path`` (and its parents), or say in one line why not."""
    if path.exists() and not path.is_dir():
        raise OutputError(f"cannot write to {path}: it is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write to {path}: {exc.strerror or exc}") from exc


FD_ALIASES = ("/dev/stdout", "/dev/stderr")  # and /dev/fd/N, /proc/PID/fd/N


def is_stream(path: Path) -> bool:
    """Whether ``path`` is not a plain file of its own that atomic_write may replace: one
    of the process's own streams (/dev/stdout, /dev/fd/1: whatever it stands for, a pipe or
    a file the shell opened), a pipe, a device, a folder. A plain file anywhere else, under
    /dev/shm too, is a file."""
    import os
    import re
    import stat

    name = os.path.abspath(path)
    if name in FD_ALIASES or re.match(r"/dev/fd/\d+$|/proc/(self|\d+)/fd/\d+$", name):
        return True
    try:
        kind = os.stat(path).st_mode  # through links, as the shell would write
    except FileNotFoundError:
        return False
    return not stat.S_ISREG(kind)


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write ``text`` (or bytes) to a new private file beside ``path``, then rename it
    there: the file is whole or not there. A link to a file is followed (its target is
    written, the link kept). What is not a plain file — /dev/null, a pipe, /dev/stdout
    (whatever it stands for: a pipe, or a file the shell appends to) — is written to as it
    is, appended, never truncated nor replaced."""
    import os
    import tempfile

    if is_stream(path):
        if path.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(path))
        if isinstance(text, bytes):
            with path.open("ab") as fb:
                fb.write(text)
        else:
            with path.open("a", encoding="utf-8", newline="") as f:
                f.write(text)
        return
    try:
        path = path.resolve() if path.is_symlink() else path
    except RuntimeError as exc:  # a loop of links
        raise OSError(40, f"too many levels of links ({exc})", str(path)) from exc
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)  # 0600, a name of its own: another file called OUT.tmp is left alone
    try:
        if isinstance(text, bytes):
            with os.fdopen(fd, "wb") as fb:
                fb.write(text)
                os.fsync(fb.fileno())  # on the disk before its name: whole after a power cut
        else:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
