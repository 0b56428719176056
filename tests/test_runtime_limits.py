"""What importing live_attune sets for the process (live_attune/_runtime.py): numpy's BLAS
on one thread (its default thread per core spins between the speaker encoder's small
products and took the core Whisper's thread needs) and one glibc allocator arena (memory a
thread frees is reused by the others)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

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
