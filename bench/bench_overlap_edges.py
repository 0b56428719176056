"""One microphone: the overlaps the product hears against the true ones, edge by edge
(issue 18).

    python -m bench.bench_overlap_edges [--hard-seeds 41-45]

Whether an interruption is one (METRICS.md: the newcomer's onset at least ``terminal`` 0.25 s
before the holder's speech ends; the newcomer's bout at least 1 s) turns on where an overlap
starts and ends, so this bench measures the overlap detector (speakers/overlap.py) on its
own terms, in seconds, quickly (about 10 s a seed against bench_single_mic's full tally).
Each hard generator seed goes through the offline session path (``analyze_file``, one
microphone, learned voices); the overlaps found are the attribution's second-voice runs
(``session.json → attribution``, ``second_voice``), joined over both speakers; the true ones
are where the truth's two speakers' segments (METRICS.md's activity rules on each clean
track) intersect, at least MIN_OVERLAP_S long. A true overlap is found when a found one lies
within SLACK_S of it; its start error is the first such found start minus the true start,
its end error the last such found end minus the true end (negative: early). A found overlap
with no true one within SLACK_S is false (one found near two true ones gives each its edge).
Frame precision and recall are read on a 10 ms
grid. Per seed, then pooled: the edge errors' p10 / p25 / median / p75 / p90.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.bench_accuracy_hard import seed_list
from bench.bench_single_mic import GRID_S, generated, on_grid
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.frames import true_runs
from live_attune.session.config import SingleMicOptions
from live_attune.session.offline import analyze_file
from live_attune.synth.truth import write_wav

Interval = tuple[float, float]  # (start_s, end_s)
MIN_OVERLAP_S = 0.1  # METRICS.md's shortest segment: shorter true overlaps are not counted
SLACK_S = 0.2  # a found overlap this near a true one is that one's


@dataclass(frozen=True, slots=True)
class EdgeTally:
    """One seed's (or the pooled) overlaps: counts, frame P/R and each found one's edges."""

    true_n: int
    found_n: int
    hit_n: int  # true overlaps found
    false_n: int  # found overlaps with no true one near
    frame_true_s: float
    frame_found_s: float
    frame_both_s: float
    start_errors_s: tuple[float, ...]
    end_errors_s: tuple[float, ...]

    def __add__(self, other: EdgeTally) -> EdgeTally:
        return EdgeTally(self.true_n + other.true_n, self.found_n + other.found_n,
                         self.hit_n + other.hit_n, self.false_n + other.false_n,
                         self.frame_true_s + other.frame_true_s,
                         self.frame_found_s + other.frame_found_s,
                         self.frame_both_s + other.frame_both_s,
                         self.start_errors_s + other.start_errors_s,
                         self.end_errors_s + other.end_errors_s)


def runs_of(mask: np.ndarray, min_s: float = 0.0) -> list[Interval]:
    """The runs of ``mask`` (GRID_S frames) at least ``min_s`` long, in seconds."""
    return [(round(a * GRID_S, 3), round(b * GRID_S, 3)) for a, b in true_runs(mask)
            if (b - a) * GRID_S >= min_s - 1e-9]


def true_overlaps(segments: Sequence[dict[str, Any]], n: int) -> list[Interval]:
    """Where two or more of the truth's speakers speak at once, at least MIN_OVERLAP_S."""
    speakers = sorted({s["speaker"] for s in segments})
    count = sum(on_grid([(s["start_s"], s["end_s"]) for s in segments if s["speaker"] == who],
                        n).astype(int) for who in speakers)
    return runs_of(np.asarray(count) >= 2, MIN_OVERLAP_S)


def found_overlaps(spans: Sequence[Any], n: int) -> list[Interval]:
    """The attribution's second-voice runs (AttributedSpan), joined over the speakers."""
    return runs_of(on_grid([(s.start_s, s.end_s) for s in spans if s.second_voice], n))


def tally(true: Sequence[Interval], found: Sequence[Interval], n: int) -> EdgeTally:
    """Each true overlap against the found ones within SLACK_S (see the module's text)."""
    starts, ends, used = [], [], set()
    for a, b in true:
        near = [i for i, (c, d) in enumerate(found) if c < b + SLACK_S and d > a - SLACK_S]
        if near:
            used.update(near)
            starts.append(round(found[near[0]][0] - a, 3))
            ends.append(round(found[near[-1]][1] - b, 3))
    t, f = on_grid(true, n), on_grid(found, n)
    return EdgeTally(len(true), len(found), len(starts), len(found) - len(used),
                     float(t.sum()) * GRID_S, float(f.sum()) * GRID_S,
                     float((t & f).sum()) * GRID_S, tuple(starts), tuple(ends))


def measure(seed: int, tmp: Path) -> EdgeTally:
    """One hard generator seed through the offline path, one microphone."""
    audio, _, truth = generated(seed, hard=True)
    wav = tmp / "mono.wav"
    write_wav(wav, audio[None])
    result = analyze_file(wav, single_mic=SingleMicOptions(), prosody=False)
    segments: list[dict[str, Any]] = truth["segments"]
    n = round(max([s["end_s"] for s in segments] + [len(audio) / SAMPLE_RATE]) / GRID_S) + 2
    return tally(true_overlaps(segments, n), found_overlaps(result.attribution, n), n)


def spread(errors: Sequence[float]) -> str:
    if not errors:
        return "  n/a"
    q = np.percentile(errors, [10, 25, 50, 75, 90])
    return " ".join(f"{x:+.3f}" for x in q)


def row(name: str, t: EdgeTally) -> str:
    p = t.frame_both_s / t.frame_found_s if t.frame_found_s else float("nan")
    r = t.frame_both_s / t.frame_true_s if t.frame_true_s else float("nan")
    return (f"{name:10s} {t.true_n:5d} {t.found_n:6d} {t.hit_n:4d} {t.false_n:6d} "
            f"{p:8.2f} {r:8.2f}   {spread(t.start_errors_s):34s}   {spread(t.end_errors_s)}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hard-seeds", default="41-45", help="hard generator seeds, e.g. 41-45")
    args = ap.parse_args(argv)
    try:
        seeds = seed_list(args.hard_seeds)
    except ValueError as exc:
        ap.error(str(exc))
    print(f"{'seed':10s} {'true':>5s} {'found':>6s} {'hit':>4s} {'false':>6s} "
          f"{'frame P':>8s} {'frame R':>8s}   {'start error s p10 p25 p50 p75 p90':34s}   "
          f"end error s p10 p25 p50 p75 p90")
    pooled = EdgeTally(0, 0, 0, 0, 0.0, 0.0, 0.0, (), ())
    with tempfile.TemporaryDirectory() as tmp:
        for seed in seeds:
            t = measure(seed, Path(tmp))
            pooled = pooled + t
            print(row(f"seed {seed}", t), flush=True)
    print(row("pooled", pooled))
    return 0


if __name__ == "__main__":
    sys.exit(main())
