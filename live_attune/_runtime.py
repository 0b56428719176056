"""What third-party runtimes may do on this machine: nothing that leaves it.

onnxruntime (behind the Silero VAD) ships Microsoft's 1DS telemetry on Linux: unless
``ORT_DISABLE_TELEMETRY=1`` is set *before ONNX Runtime initialises*, it creates a persistent
device id and an event queue under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` and
looks up ``mobile.events.data.microsoft.com`` about 9.5 s after a model loads (measured here
with strace; the wheel's own ``onnxruntime/Privacy.md``, "Disabling Telemetry"). The
variable is forced, not defaulted: a user's ``ORT_DISABLE_TELEMETRY=0`` must not switch it
back on for clinical audio. ``disable_telemetry_events()`` alone comes too late (a first
event may already be queued), so it is only a second line (``audio/vad.py``).

matplotlib (report charts) and numba (librosa's pitch and onset code) write caches into the
home directory; they go to the data directory's ``cache/`` instead, so that nothing is
written outside the data directory, ``--out`` and the temporary directory. Where that folder
cannot be made or written (a read-only data directory), one temporary folder of ours takes
them for the run and is removed at exit: matplotlib would make its own there anyway, with a
two-line warning on every command.

numpy's BLAS (OpenBLAS) runs on one thread. By default it starts a thread per core that
spins while it waits for the next matrix product; the one-microphone speaker encoder's LSTM
does thousands of small ones, so the spinning took the other core from Whisper's thread
beside the analysis, and under any other load it was ruinous: a 10-minute one-microphone
`analyze --no-transcribe` took 69 CPU s and 101 s with the machine's default, 15.7 CPU s and
24 s with one BLAS thread, same load (bench/bench_memory.py, 2 cores shared with three other
jobs). Every budget here is per core (onnxruntime runs one thread too). A user's own
``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS`` (which OpenBLAS also reads) is kept; a numpy
imported before this package is limited through threadpoolctl, its BLAS having already
started.

glibc's allocator keeps one arena for every thread that allocates at once; what Whisper's
thread frees stays in its arena while the analysis grows in another. With one arena a
10-minute one-microphone `analyze` with transcript beside the analysis peaked at 368 MB
instead of 398 (``MALLOC_ARENA_MAX=1`` in the environment: 375; same measure). It is set
when the package is imported, before any thread of ours allocates: arenas already made are
kept (in a process that started threads before importing the package it limits only new
ones; a user's own ``MALLOC_ARENA_MAX`` is kept).
"""

from __future__ import annotations

import atexit
import ctypes
import functools
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from live_attune.errors import ModelError

ORT_TELEMETRY_DIR = Path(".cache") / "Microsoft" / "DeveloperTools" / ".onnxruntime"
FORCED = {"ORT_DISABLE_TELEMETRY": "1"}
BLAS_THREADS = 1
M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)


def quiet_third_party_runtimes() -> None:
    """Switch off onnxruntime's telemetry and keep runtime caches in the data directory."""
    os.environ.update(FORCED)
    cache = _cache_dir()
    if not _can_write(cache) and not {"MPLCONFIGDIR", "NUMBA_CACHE_DIR"} <= os.environ.keys():
        cache = _cache_for_this_run() or cache
    os.environ.setdefault("MPLCONFIGDIR", str(cache / "matplotlib"))
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache / "numba"))
    one_blas_thread()
    one_malloc_arena()


def one_blas_thread() -> None:
    """numpy's matrix products on one thread (above), unless the user set a number."""
    if "OPENBLAS_NUM_THREADS" in os.environ or "OMP_NUM_THREADS" in os.environ:
        return
    os.environ["OPENBLAS_NUM_THREADS"] = str(BLAS_THREADS)
    if "numpy" in sys.modules:  # its BLAS read the environment when it loaded
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        threadpool_limits(limits=BLAS_THREADS, user_api="blas")


def one_malloc_arena() -> bool:
    """One glibc allocator arena for every thread (above); False where there is no
    ``mallopt`` (macOS, Windows, musl) or the user chose their own."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    mallopt = _libc_function("mallopt")
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, 1))


def _cache_dir() -> Path:
    from live_attune.paths import data_dir

    return data_dir() / "cache"


def _can_write(folder: Path) -> bool:
    """Whether ``folder`` is, or could be made as, a folder this user writes into."""
    try:
        nearest = folder
        while not nearest.exists():
            nearest = nearest.parent
        return nearest.is_dir() and os.access(nearest, os.W_OK | os.X_OK)
    except OSError:
        return False


def _cache_for_this_run() -> Path | None:
    """A private temporary folder for the runtimes' caches, removed when the process ends;
    None where none can be made either (then matplotlib warns, as before)."""
    try:
        folder = Path(tempfile.mkdtemp(prefix="live-attune-cache-"))
    except OSError:
        return None
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def remove_old_onnxruntime_telemetry(home: Path | None = None) -> Path | None:
    """Delete the device id and queued events an earlier run left (before telemetry was
    switched off); only that one folder. Returns the folder if it removed it."""
    try:  # a home this user cannot read (sudo keeping HOME): nothing to remove there
        folder = (home or Path.home()) / ORT_TELEMETRY_DIR
        if not folder.is_dir() or folder.is_symlink():
            return None
        shutil.rmtree(folder, ignore_errors=True)
        return None if folder.exists() else folder
    except (OSError, RuntimeError):  # RuntimeError: Path.home() without a home
        return None


def onnx_session(model: str | bytes, what: str) -> Any:  # onnxruntime.InferenceSession
    """One model on onnxruntime, one thread, quiet; ``model``: its file, or its bytes (a
    model rewritten in memory: no file written); ``what`` names it in the error.

    The package forced ORT_DISABLE_TELEMETRY=1 before any import of onnxruntime (above);
    ``disable_telemetry_events()`` only matters if someone imported it before live_attune."""
    import onnxruntime

    onnxruntime.disable_telemetry_events()
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1  # one core: live budgets are per core
    opts.log_severity_level = 4
    try:
        return onnxruntime.InferenceSession(model, providers=["CPUExecutionProvider"],
                                            sess_options=opts)
    except Exception as exc:  # onnxruntime raises its own untyped errors
        where = "" if isinstance(model, bytes) else f" {model}"
        raise ModelError(f"cannot load {what}{where}: {exc}") from exc


def release_freed_heap() -> bool:
    """Hand memory that is freed but still held by the C allocator back to the system.

    glibc keeps what CTranslate2's threads free in their own arenas: after a few 28 s
    windows the process held ~85 MB more than it used (tiny.en, 2 threads; measured with
    /proc/self/status), on top of which the next step (the sentence encoder) then built.
    ``malloc_trim`` returns it (well under a millisecond). False where the C library has no
    such call (macOS, Windows, musl): nothing to do there."""
    trim = _libc_function("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


@functools.cache
def _libc_function(name: str) -> Any:
    try:
        return getattr(ctypes.CDLL(None), name, None)
    except (OSError, TypeError):  # no C library to open by None (Windows)
        return None
