"""What importing live_attune sets for the process (live_attune/_runtime.py): numpy's BLAS
on one thread (its default thread per core spins between the speaker encoder's small
products and took the core Whisper's thread needs), one glibc allocator arena (memory a
thread frees is reused by the others), and where the runtimes' caches go."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BLAS_THREADS = """
import json, sys
{first}
import numpy, threadpoolctl
print(json.dumps([p["num_threads"] for p in threadpoolctl.threadpool_info()
                  if p["user_api"] == "blas"]))
"""


def blas_threads(first: str, **env: str) -> list[int]:
    environ = {k: v for k, v in os.environ.items()
               if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    proc = subprocess.run([sys.executable, "-c", BLAS_THREADS.format(first=first)],
                          capture_output=True, text=True, check=True, env={**environ, **env})
    threads: list[int] = json.loads(proc.stdout)
    assert threads, "numpy's BLAS was not found"
    return threads


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: BLAS has one thread anyway")
def test_numpy_alone_starts_more_than_one_blas_thread() -> None:
    """The default this package changes (so the next tests can fail)."""
    assert max(blas_threads("")) > 1


def test_live_attune_first_gives_numpy_one_blas_thread() -> None:
    assert blas_threads("import live_attune") == [1]


def test_numpy_first_is_limited_too() -> None:
    assert blas_threads("import numpy; import live_attune") == [1]


def test_a_users_own_setting_is_kept() -> None:
    assert blas_threads("import live_attune", OPENBLAS_NUM_THREADS="2") == [2]
    assert blas_threads("import live_attune", OMP_NUM_THREADS="2") == [2]


ARENAS = """
import ctypes, sys, threading
{first}
def churn():  # threads allocating at the same time: glibc gives each its own arena
    for _ in range(2000):
        blocks = [bytearray(200_000) for _ in range(4)]
        del blocks
threads = [threading.Thread(target=churn) for _ in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
ctypes.CDLL(None).malloc_stats()  # "Arena N:" per arena, on stderr
"""


def arenas(first: str, **env: str) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    proc = subprocess.run([sys.executable, "-c", ARENAS.format(first=first)],
                          capture_output=True, text=True, check=True, env={**environ, **env})
    return proc.stderr.count("Arena ")


glibc = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")


@glibc
def test_threads_alone_get_arenas_of_their_own() -> None:
    """The default this package changes (so the next tests can fail)."""
    assert arenas("") > 1


@glibc
def test_live_attune_gives_every_thread_one_arena() -> None:
    assert arenas("import live_attune") == 1


@glibc
def test_a_users_own_arena_limit_is_kept() -> None:
    assert arenas("import live_attune", MALLOC_ARENA_MAX="3") > 1


CACHES = """
import os, live_attune, matplotlib
print(os.environ["MPLCONFIGDIR"]); print(os.environ["NUMBA_CACHE_DIR"])
print(matplotlib.get_cachedir())
"""


def caches(data: Path, tmp: Path) -> tuple[list[Path], str]:
    environ = {k: v for k, v in os.environ.items() if k not in ("MPLCONFIGDIR", "NUMBA_CACHE_DIR")}
    proc = subprocess.run([sys.executable, "-c", CACHES], capture_output=True, text=True,
                          check=True, env={**environ, "LIVE_ATTUNE_HOME": str(data),
                                           "TMPDIR": str(tmp)})
    return [Path(line) for line in proc.stdout.splitlines()], proc.stderr


def test_runtime_caches_go_to_the_data_directory(tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    folders, warnings = caches(tmp_path / "data", tmp_path / "tmp")
    assert folders == [tmp_path / "data" / "cache" / "matplotlib",
                       tmp_path / "data" / "cache" / "numba",
                       tmp_path / "data" / "cache" / "matplotlib"]
    assert warnings == ""


def test_a_data_directory_that_cannot_be_written_gets_one_temporary_cache_removed_at_exit(
        tmp_path: Path) -> None:
    (tmp_path / "tmp").mkdir()
    (tmp_path / "a-file").write_text("not a folder")  # unwritable even for root
    folders, warnings = caches(tmp_path / "a-file" / "data", tmp_path / "tmp")
    run = folders[0].parent
    assert run.parent == tmp_path / "tmp" and run.name.startswith("live-attune-cache-")
    assert folders == [run / "matplotlib", run / "numba", run / "matplotlib"]
    assert "Matplotlib created a temporary" not in warnings and warnings == ""
    assert list((tmp_path / "tmp").iterdir()) == []  # removed when the process ended
