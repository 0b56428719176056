"""Behaviour labelling: milliseconds per utterance on one core, and the memory it adds.

    python bench/bench_language.py [--transcripts 5] [--repeat 3]

Every utterance (therapist and client: each is embedded once, as the context of the next
therapist utterance) of the first ``--transcripts`` AnnoMI transcripts is fed in order to
the same ``DialogueLabeller`` the pipeline and ``label-utterances`` use; each ``feed`` is
timed in CPU seconds of this process (one onnxruntime thread, OpenBLAS on one thread: the
time one core spends; on a shared machine the wall clock also counts other programs' turns)
and in wall-clock seconds. Reported: median, p95 and max per utterance (best of
``--repeat`` passes per utterance), the share of therapist
utterances needing a second pass for their question sentence, and the resident memory the
encoder and the heads add (VmRSS after loading and labelling, less before).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the live command runs

import argparse
import csv
import statistics
import time
from pathlib import Path

from live_attune.core.language import question_sentence
from live_attune.core.roles import THERAPIST
from live_attune.language.labeller import DialogueLabeller

ANNOMI = Path(__file__).resolve().parents[2] / "shared" / "data" / "annomi" / "annomi_dev.csv"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dialogues(n: int) -> list[list[tuple[str, str]]]:
    """(speaker, text) in order for the first n transcripts (one row per utterance)."""
    seen: dict[int, dict[int, tuple[str, str]]] = {}
    with ANNOMI.open(newline="") as f:
        for row in csv.DictReader(f):
            t = int(row["transcript_id"])
            if t not in seen and len(seen) == n:
                continue
            speaker = THERAPIST if row["interlocutor"] == "therapist" else "client"
            seen.setdefault(t, {})[int(row["utterance_id"])] = (speaker, row["utterance_text"])
    return [[d[k] for k in sorted(d)] for d in seen.values()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transcripts", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    talks = dialogues(args.transcripts)
    before = rss_mb()
    load_start = time.perf_counter()
    DialogueLabeller().feed(THERAPIST, "How are you today?")  # load and warm up
    load_s = time.perf_counter() - load_start
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    for talk in talks:
        best_cpu, best_wall = [float("inf")] * len(talk), [float("inf")] * len(talk)
        for _ in range(args.repeat):
            labeller = DialogueLabeller()
            for i, (speaker, text) in enumerate(talk):
                cpu, wall = time.process_time(), time.perf_counter()
                labeller.feed(speaker, text)
                best_cpu[i] = min(best_cpu[i], (time.process_time() - cpu) * 1000)
                best_wall[i] = min(best_wall[i], (time.perf_counter() - wall) * 1000)
        cpu_ms += best_cpu
        wall_ms += best_wall
    added = rss_mb() - before
    therapist = [text for talk in talks for s, text in talk if s == THERAPIST]
    second = sum(question_sentence(t) != t.strip() for t in therapist) / len(therapist)
    print(f"{len(cpu_ms)} utterances of {len(talks)} AnnoMI transcripts, one core, per "
          f"utterance (best of {args.repeat}):")
    for name, times in (("CPU time", cpu_ms), ("wall clock", wall_ms)):
        times.sort()
        print(f"  {name:10s} median {statistics.median(times):.1f} ms, "
              f"p95 {times[int(0.95 * len(times))]:.1f} ms, max {times[-1]:.1f} ms")
    print(f"therapist utterances with a second pass (question sentence): {second:.0%}")
    print(f"load + first label {load_s:.2f} s; memory added {added:.0f} MB "
          f"(VmRSS {before:.0f} → {before + added:.0f} MB)")


if __name__ == "__main__":
    main()
