"""release_freed_heap: memory freed by a worker thread goes back to the system (glibc)."""

from __future__ import annotations

import sys
import threading

import pytest

from live_attune._runtime import release_freed_heap


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_memory_a_thread_freed_is_handed_back() -> None:
    """A thread (as CTranslate2's) allocates 120 MB in 8 KB pieces and frees every other
    one: the allocator keeps the holes; after the call their whole pages are gone from RSS."""
    kept: list[bytes] = []

    def work() -> None:
        pieces = [bytes(8192) for _ in range(15_000)]
        kept.extend(pieces[::2])  # the neighbours stay: no free space at the heap's top
        del pieces

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    held = rss_mb()
    assert release_freed_heap()
    released = held - rss_mb()
    print(f"held {held:.0f} MB, released {released:.0f} MB")
    assert released > 20  # 60 MB of holes, each with one or two whole pages
    assert len(kept) == 7_500
