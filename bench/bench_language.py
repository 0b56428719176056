"""Behaviour labelling: milliseconds per utterance on one core, and the memory it adds.

    python bench/bench_language.py [--transcripts 5] [--repeat 3] [--routes int8,float]

Every utterance (therapist and client: each is embedded once, as the context of the next
therapist utterance) of the first ``--transcripts`` AnnoMI transcripts is fed in order to
the same ``DialogueLabeller`` the pipeline and ``label-utterances`` use; each ``feed`` is
timed in CPU seconds of this process (one onnxruntime thread, OpenBLAS on one thread: the
time one core spends; on a shared machine the wall clock also counts other programs' turns)
and in wall-clock seconds. Reported: median, p95 and max per utterance (best of
``--repeat`` passes per utterance), the CPU time of the costliest feed there can be (a turn
past MAX_TOKENS closing with a question sentence past QUESTION_TOKENS, or a long client piece
closing a therapist turn of several pieces not yet embedded whole: two passes at their
limits), the share of therapist utterances needing a second pass for their question
sentence, and the resident memory the encoder adds (VmRSS after loading, after labelling,
and after handing the C heap's free pages back, less before; onnxruntime, the tokenizer and
the heads are loaded before "before", as in a session, where the voice-activity model has
loaded onnxruntime).

Each route runs in a fresh process, one after the other, in the same run:
  int8   the shipped encoder: the graph rewritten to keep its weights 8-bit (MatMulInteger)
  float  the export as it is: onnxruntime turns the int8 weights into float32 when it loads
Both label with the shipped heads and the shipped token limits; ``max |Δ embedding|`` is
the largest difference of one embedding number from the first route's, over every
utterance embedded (the utterances and question sentences).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one core, as the live command runs

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from live_attune.core.language import question_sentence
from live_attune.core.roles import THERAPIST

ANNOMI = Path(__file__).resolve().parents[2] / "shared" / "data" / "annomi" / "annomi_dev.csv"
ROUTES = ("int8", "float")


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


def percentiles(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {"median": round(statistics.median(ordered), 1),
            "p95": round(ordered[int(0.95 * len(ordered))], 1), "max": round(ordered[-1], 1)}


def child(route: str, transcripts: int, repeat: int, vectors: Path) -> dict[str, object]:
    """One route in this (fresh) process: memory, times, and every embedding it made."""
    import onnxruntime  # noqa: F401  (loaded before "before", as the VAD has in a session)

    from live_attune._runtime import release_freed_heap
    from live_attune.core.language import default_model
    from live_attune.language.encoder import SentenceEncoder, _tokenizer
    from live_attune.language.labeller import DialogueLabeller

    talks = dialogues(transcripts)
    default_model(), _tokenizer()
    before = rss_mb()
    start = time.perf_counter()
    encoder = SentenceEncoder(int8=route == "int8")
    made: list[np.ndarray] = []

    def embed(text: str, max_tokens: int) -> np.ndarray:
        v = encoder.embed(text, max_tokens)
        made.append(v)
        return v

    DialogueLabeller(embed=embed).feed(THERAPIST, "How are you today?")  # load and warm up
    load_s, loaded = time.perf_counter() - start, rss_mb()
    cpu_ms: list[float] = []
    wall_ms: list[float] = []
    for talk in talks:
        best_cpu, best_wall = [float("inf")] * len(talk), [float("inf")] * len(talk)
        for k in range(repeat):
            labeller = DialogueLabeller(embed=embed if k == 0 else encoder.embed)
            for i, (speaker, text) in enumerate(talk):
                cpu, wall = time.process_time(), time.perf_counter()
                labeller.feed(speaker, text)
                best_cpu[i] = min(best_cpu[i], (time.process_time() - cpu) * 1000)
                best_wall[i] = min(best_wall[i], (time.perf_counter() - wall) * 1000)
        cpu_ms += best_cpu
        wall_ms += best_wall
    worst = worst_case_ms(encoder.embed, repeat)
    np.save(vectors, np.stack(made))
    after = rss_mb()
    release_freed_heap()  # what glibc kept of freed activations, handed back
    therapist = [text for talk in talks for s, text in talk if s == THERAPIST]
    return {"route": route, "utterances": len(cpu_ms), "load_s": round(load_s, 2),
            "rss_load_mb": round(loaded - before, 1), "rss_after_mb": round(after - before, 1),
            "rss_trimmed_mb": round(rss_mb() - before, 1),
            "cpu_ms": percentiles(cpu_ms), "wall_ms": percentiles(wall_ms),
            "worst_case_cpu_ms": round(worst, 1),
            "second_pass": round(sum(question_sentence(t) != t.strip() for t in therapist)
                                 / len(therapist), 3)}


LONGEST = ("I hear that you have tried to cut down many times before, and that every time the "
           "weekend came the drinking came back. " * 8
           + "So what would have to be different this time, with your job and your kids and "
           "everything you told me about your health, for you to feel that you could really "
           "do it and keep it up over the next few months, even when it gets hard, even when "
           "your friends call on a Friday night and ask you to come out with them like before?")


def worst_case_ms(embed: Callable[[str, int], np.ndarray], repeat: int) -> float:
    """CPU ms of the costliest feed, the slower of: a therapist turn past MAX_TOKENS that
    closes with a question sentence past QUESTION_TOKENS (two passes, both at their limits),
    and a client's piece past MAX_TOKENS that closes a therapist turn of two pieces, a short
    one and a long one (two passes at MAX_TOKENS: the client's turn so far, the therapist's
    turn whole; a turn whose first piece is past MAX_TOKENS needs no second pass)."""
    from live_attune.language.labeller import DialogueLabeller

    def timed(before: list[tuple[str, str]], last: tuple[str, str]) -> float:
        labeller = DialogueLabeller(embed=embed)
        for speaker, text in before:
            labeller.feed(speaker, text)
        cpu = time.process_time()
        labeller.feed(*last)
        return (time.process_time() - cpu) * 1000

    therapist = min(timed([], (THERAPIST, LONGEST)) for _ in range(max(repeat, 3)))
    client = min(timed([(THERAPIST, "Okay."), (THERAPIST, LONGEST)], ("client", LONGEST))
                 for _ in range(max(repeat, 3)))
    return max(therapist, client)


def run_route(route: str, args: argparse.Namespace, folder: Path) -> dict[str, object]:
    """``child`` in a fresh interpreter (memory is measured from a clean start)."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", route, "--transcripts", str(args.transcripts),
         "--repeat", str(args.repeat), "--vectors", str(folder / f"{route}.npy")],
        check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--transcripts", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--routes", default=",".join(ROUTES))
    ap.add_argument("--child", choices=ROUTES, help=argparse.SUPPRESS)
    ap.add_argument("--vectors", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.transcripts, args.repeat, args.vectors)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results = [run_route(r, args, folder) for r in args.routes.split(",")]
        first = np.load(folder / f"{results[0]['route']}.npy")
        for r in results:
            other = np.load(folder / f"{r['route']}.npy")
            r["max_abs_delta"] = round(float(np.abs(other - first).max()), 4)
            r["min_cosine"] = round(float((other * first).sum(1).min()), 4)
    print(f"{results[0]['utterances']} utterances of {args.transcripts} AnnoMI transcripts, "
          f"one core, per utterance (best of {args.repeat}); Δ against {results[0]['route']}:")
    print("route  RSS MB load/after/trimmed  CPU ms median/p95/max  wall ms median/p95/max  "
          "max|Δ emb|  min cos  load s")
    for r in results:
        c, w = r["cpu_ms"], r["wall_ms"]
        assert isinstance(c, dict) and isinstance(w, dict)
        print(f"{r['route']:6s} {r['rss_load_mb']:>6} / {r['rss_after_mb']:>6} / "
              f"{r['rss_trimmed_mb']:<6}  "
              f"{c['median']:>6} / {c['p95']:>5} / {c['max']:<6}  "
              f"{w['median']:>6} / {w['p95']:>5} / {w['max']:<6}    "
              f"{r['max_abs_delta']:<9}  {r['min_cosine']:<7}  {r['load_s']}")
    print("the costliest feed (a turn past both token limits), CPU ms: "
          + ", ".join(f"{r['route']} {r['worst_case_cpu_ms']}" for r in results))
    print(f"therapist utterances with a second pass (question sentence): "
          f"{results[0]['second_pass']:.0%}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
