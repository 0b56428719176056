"""One microphone, live: the interruption and backchannel counts the dashboard shows while
the session runs, against the truth (issue 18).

    python -m bench.bench_live_counts [--hard-seeds 41-52] [--voices encoder]

The live decisions give each moment one voice and find no interruption by construction, so
every ``RECOUNT_EVERY_S`` the live pipeline decides the frames so far again as the
end-of-session revision will (session/single_mic.py: ``_start_recount``) and the dashboard shows
that recount's counts, up to the time it reached. Each hard generator seed goes through the
live pipeline in 100 ms blocks with one BLAS thread. At each recount, its events are scored
against the truth's events before the time it reached (METRICS.md's rules on the clean
tracks; matched one to one within 0.5 s, same speaker: bench_accuracy_hard.matched_pairs).
Pooled over every recount of every seed (each recount counts everything so far, as the
dashboard shows it), beside the end-of-session revision of the same sessions; and what the
recounts cost: their CPU share of one core over the session, and the longest one (they run on
their own thread; the pipeline goes on meanwhile).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.bench_accuracy_hard import matched_pairs, seed_list
from bench.bench_single_mic import generated
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Backchannel, Interruption
from live_attune.session.config import SingleMicOptions, single_mic_layout
from live_attune.session.engine_views import Recount
from live_attune.session.single_mic import SingleMicPipeline
from live_attune.speakers.single import Attribution

BLOCK = 1600  # 100 ms


class TimedRecounts(SingleMicPipeline):
    """The live pipeline, each recount's CPU time kept (on the recount thread)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recount_cpu_s: list[float] = []

    def _recounted(self, decide: Callable[[], Attribution], to_s: float) -> Recount:
        t = time.thread_time()
        try:
            return super()._recounted(decide, to_s)
        finally:
            self.recount_cpu_s.append(time.thread_time() - t)


@dataclass
class Tally:
    """True, found and right events: interruptions then backchannels."""

    counts: list[int] = field(default_factory=lambda: [0] * 6)

    def add(self, truth: dict[str, Any], history: SessionHistory,
            before_s: float) -> None:
        kinds: tuple[tuple[str, Sequence[Interruption | Backchannel]], ...] = (
            ("interruptions", history.interruptions), ("backchannels", history.backchannels))
        for k, (kind, found) in enumerate(kinds):
            true = [t for t in truth[kind] if t["at_s"] < before_s]
            seen = [f for f in found if f.at_s < before_s]
            self.counts[3 * k] += len(true)
            self.counts[3 * k + 1] += len(seen)
            self.counts[3 * k + 2] += len(matched_pairs(true, seen))

    def merge(self, other: Tally) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]

    def pr(self, k: int) -> tuple[float, float]:
        true, found, right = self.counts[3 * k:3 * k + 3]
        return right / found if found else float("nan"), right / true if true else float("nan")


@dataclass
class SeedRow:
    seed: int
    duration_s: float
    recounts: int
    live: Tally
    revision: Tally
    recount_cpu_s: list[float]


def run_seed(seed: int, voices: str) -> SeedRow:
    """One hard seed through the live pipeline, each recount scored as it is made."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    audio, _, truth = generated(seed, hard=True)
    live, n = Tally(), 0
    with threadpool_limits(limits=1, user_api="blas"):
        pipe = TimedRecounts(single_mic_layout(), options=SingleMicOptions(voices=voices))
        newest: SessionHistory | None = None
        for i in range(0, len(audio), BLOCK):
            pipe.process(audio[None, i:i + BLOCK])
            if pipe.recount is not None and pipe.recount.history is not newest:
                newest, n = pipe.recount.history, n + 1
                live.add(truth, newest, pipe.recount.to_s)
        pipe.finish()
    revision = Tally()
    revision.add(truth, pipe.history, float("inf"))
    return SeedRow(seed, len(audio) / SAMPLE_RATE, n, live, revision, pipe.recount_cpu_s)


def _pr(t: Tally, k: int) -> str:
    p, r = t.pr(k)
    return f"{p:5.2f} {r:5.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hard-seeds", default="41-52")
    ap.add_argument("--voices", default="encoder", choices=["encoder", "spectral"])
    args = ap.parse_args()
    print("seed   dur_s recounts | recounts: int P    R   (true found right) | bc P    R"
          "   | revision: int P    R   | recount CPU %  longest_s")
    live_all, rev_all, cpu, dur, longest = Tally(), Tally(), 0.0, 0.0, 0.0
    for seed in seed_list(args.hard_seeds):
        row = run_seed(seed, args.voices)
        live_all.merge(row.live)
        rev_all.merge(row.revision)
        cpu, dur = cpu + sum(row.recount_cpu_s), dur + row.duration_s
        longest = max([longest, *row.recount_cpu_s])
        c = row.live.counts
        print(f"{seed:4d} {row.duration_s:7.0f} {row.recounts:8d} | {_pr(row.live, 0)} "
              f"({c[0]:3d} {c[1]:3d} {c[2]:3d}) | {_pr(row.live, 1)} | {_pr(row.revision, 0)}"
              f" | {100 * sum(row.recount_cpu_s) / row.duration_s:6.2f} "
              f"{max(row.recount_cpu_s, default=0.0):7.3f}", flush=True)
    c = live_all.counts
    print(f"all  {dur:7.0f}          | {_pr(live_all, 0)} ({c[0]:3d} {c[1]:3d} {c[2]:3d}) | "
          f"{_pr(live_all, 1)} | {_pr(rev_all, 0)} | {100 * cpu / dur:6.2f} {longest:7.3f}")


if __name__ == "__main__":
    main()
