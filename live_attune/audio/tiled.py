"""A block source that repeats a recording for hours, as fast as possible (long-session
benchmarks and tests), measuring itself as it goes.

Each ``blocks()`` step records how long the consumer took since the previous block
(the pipeline's cost per block) and, every ``mark_s`` of audio, the process's resident
memory — so a 3-hour session can be checked for flat memory and flat per-block cost.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE


@dataclass(frozen=True, slots=True)
class Mark:
    audio_s: float
    rss_mb: float
    block_ms_median: float  # the session's time per 100 ms block since the previous mark
    block_ms_p95: float


@dataclass
class TiledSource:
    audio: np.ndarray  # (channels, n) float32 at 16 kHz, repeated
    seconds: float
    mark_s: float = 600.0
    block_s: float = 0.1
    overflows: int = 0
    driver_overflows: int = 0
    marks: list[Mark] = field(default_factory=list)

    @property
    def channels(self) -> int:
        return int(self.audio.shape[0])

    @property
    def description(self) -> str:
        return f"{self.seconds / 3600:.1f} h of repeated audio"

    def blocks(self) -> Iterator[tuple[float, np.ndarray]]:
        n, size, total = self.audio.shape[1], int(self.block_s * SAMPLE_RATE), 0
        end = int(self.seconds * SAMPLE_RATE)
        costs: list[float] = []
        next_mark = int(self.mark_s * SAMPLE_RATE)
        pos = 0
        while total < end:
            if pos + size > n:
                pos = 0
            block = self.audio[:, pos:pos + size]
            pos += size
            handed = time.perf_counter()
            yield time.monotonic(), block
            costs.append(time.perf_counter() - handed)  # until the session wants the next
            total += size
            if total >= next_mark:
                self.marks.append(Mark(total / SAMPLE_RATE, rss_mb(),
                                       1000 * statistics.median(costs),
                                       1000 * statistics.quantiles(costs, n=20)[-1]))
                costs, next_mark = [], next_mark + int(self.mark_s * SAMPLE_RATE)


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
