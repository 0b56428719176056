"""A long live session replayed as fast as possible: memory and per-block cost over time.

    python bench/bench_long.py [--hours 3] [--mark-min 10]

Runs the live session path — pipeline, conversation engine, store journal (SQLite),
prosody worker, websocket server with no dashboard — on generator conversations repeated
for the given length (no ASR: it would take 0.1 × real time on its own), and prints, every
``--mark-min`` minutes of audio, the process's resident memory and the median / p95 time
the session took per 100 ms block. Issue 9's bar: memory flat within 50 MB after the
first 10 minutes; the per-block cost does not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.server.app import ServeOptions, run_live
from live_attune.session.config import PipelineConfig, layout_for
from live_attune.session.output import config_dict
from live_attune.store import NewSession, SessionRecorder, default_store_path
from live_attune.synth import MixConfig, make_conversation, render

# A block source that repeats a recording for hours, as fast as possible, measuring itself:
# each step records how long the session took since the previous block and, every
# ``mark_s`` of audio, the process's resident memory.


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


def conversation_audio(minutes: float = 10.0) -> np.ndarray:
    parts, total, seed = [], 0, 0
    while total < minutes * 60 * SAMPLE_RATE:
        seed += 1
        stereo, _ = render(make_conversation(seed), MixConfig(seed=seed))
        parts.append(stereo)
        total += stereo.shape[1]
    return np.concatenate(parts, axis=1)


def run(hours: float, mark_min: float, audio: np.ndarray) -> tuple[list[Mark], float]:
    source = TiledSource(audio, hours * 3600, mark_s=mark_min * 60)
    layout = layout_for(2, None, "bench")
    recorder = SessionRecorder(default_store_path(), NewSession(
        kind="live", source=source.description, mode=layout.mode, speakers=layout.speakers,
        config=config_dict(PipelineConfig())), channels=2)
    t0 = time.perf_counter()
    asyncio.run(run_live(source, layout, ServeOptions(port=0, open_browser=False),
                         recorder=recorder, prosody=True))
    return source.marks, time.perf_counter() - t0


def verdict(marks: list[Mark]) -> tuple[float, float]:
    """(memory growth after the first mark in MB, last/first median block cost)."""
    base = marks[0]
    growth = max(m.rss_mb for m in marks[1:]) - base.rss_mb if len(marks) > 1 else 0.0
    early = statistics.median(m.block_ms_median for m in marks[:3])
    late = statistics.median(m.block_ms_median for m in marks[-3:])
    return growth, late / early


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--mark-min", type=float, default=10.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["LIVE_ATTUNE_HOME"] = tmp
        marks, wall = run(args.hours, args.mark_min, conversation_audio())
        db_mb = Path(default_store_path()).stat().st_size / 1e6
    print(f"\n{args.hours:g} h of audio in {wall:.0f} s ({wall / (args.hours * 3600):.4f} × "
          f"real time); store file {db_mb:.1f} MB")
    print(f"{'audio min':>10}{'RSS MB':>10}{'Δ MB':>8}{'block ms (median)':>20}{'p95':>8}")
    for m in marks:
        print(f"{m.audio_s / 60:>10.0f}{m.rss_mb:>10.1f}{m.rss_mb - marks[0].rss_mb:>+8.1f}"
              f"{m.block_ms_median:>20.3f}{m.block_ms_p95:>8.3f}")
    growth, ratio = verdict(marks)
    print(f"\nmemory growth after the first {args.mark_min:g} min: {growth:+.1f} MB "
          f"(bar: ≤ 50 MB); per-block cost, last three marks / first three: {ratio:.2f}")
    sys.exit(0 if growth <= 50 and ratio <= 1.25 else 1)


if __name__ == "__main__":
    main()
