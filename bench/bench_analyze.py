"""Analyze speed and memory, no ASR: prints a table of medians.

    python bench/bench_analyze.py [--minutes 60] [--repeat 3]

Builds a stereo session of the given length from generator conversations (crosstalk
-14 dB, SNR 20 dB) and measures, in one run on the same file:
  * decode alone (PyAV → 16 kHz float32),
  * decode + Silero VAD on both channels,
  * the whole pipeline (decode, VAD, attribution, engine) as `live-attune analyze
    --no-transcribe` runs it, in a fresh process, with its peak RSS and RSS over time,
  * the conversation engine alone, per 32 ms frame.
Ratios are against real time (audio seconds) and against the decode+VAD floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from live_attune.audio.decode import iter_blocks
from live_attune.audio.vad import SileroVad
from live_attune.core import ActivityFrame, ConversationEngine
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.synth import MixConfig, make_conversation, render
from live_attune.synth.truth import write_wav

CHILD = r"""
import json, sys, time
from live_attune.session.offline import analyze_file
def status_mb(key):  # VmHWM, unlike ru_maxrss, is not inherited across fork+exec
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024
rss = []
def sample(done_s, _m):
    rss.append((done_s, status_mb('VmRSS')))
t = time.perf_counter()
r = analyze_file(sys.argv[1], progress=sample)
wall = time.perf_counter() - t
peak = status_mb('VmHWM')
print(json.dumps({"wall_s": wall, "peak_mb": peak, "rss": rss, "turns": len(r.history.turns)}))
"""


def make_session(minutes: float, out: Path) -> float:
    pieces, total, seed = [], 0.0, 0
    while total < minutes * 60:
        seed += 1
        stereo, _ = render(make_conversation(seed), MixConfig(seed=seed))
        pieces.append(stereo)
        total += stereo.shape[1] / SAMPLE_RATE
    audio = np.concatenate(pieces, axis=1)[:, : int(minutes * 60 * SAMPLE_RATE)]
    write_wav(out, audio)
    return float(audio.shape[1] / SAMPLE_RATE)


def time_decode(path: Path) -> float:
    t = time.perf_counter()
    for _ in iter_blocks(path):
        pass
    return time.perf_counter() - t


def time_vad(path: Path) -> float:
    t = time.perf_counter()
    vads = [SileroVad(), SileroVad()]
    for block in iter_blocks(path):
        for vad, ch in zip(vads, block, strict=True):
            vad.flags(ch)
    return time.perf_counter() - t


def run_pipeline(path: Path) -> dict:  # type: ignore[type-arg]
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def engine_us_per_frame(frames: int = 200_000) -> float:
    rng = np.random.default_rng(0)
    # Alternating speakers with backchannels and overlaps: ~3 s turns.
    t_on = np.repeat(rng.random(frames // 90) < 0.5, 90)
    c_on = ~t_on | (rng.random(len(t_on)) < 0.02)
    fs = [ActivityFrame(i * 512, (i + 1) * 512, (bool(a), bool(b)))
          for i, (a, b) in enumerate(zip(t_on, c_on, strict=True))]
    engine = ConversationEngine((THERAPIST, CLIENT), sample_rate=SAMPLE_RATE)
    t = time.perf_counter()
    for i in range(0, len(fs), 16):
        engine.feed(fs[i:i + 16])
        engine.events_received()
    engine.finish()
    return (time.perf_counter() - t) / len(fs) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "session.wav"
        audio_s = make_session(args.minutes, path)
        dec = [time_decode(path) for _ in range(args.repeat)]
        vad = [time_vad(path) for _ in range(args.repeat)]
        runs = [run_pipeline(path) for _ in range(args.repeat)]
    pipe = [r["wall_s"] for r in runs]
    floor = statistics.median(vad)
    rows = [("decode only", statistics.median(dec)), ("decode + VAD x2", floor),
            ("analyze (no ASR)", statistics.median(pipe))]
    print(f"\nstereo session {audio_s / 60:.1f} min, {args.repeat} runs, medians\n")
    print(f"{'stage':<20}{'wall s':>9}{'x real time':>13}{'vs decode+VAD':>15}")
    for name, wall in rows:
        print(f"{name:<20}{wall:>9.2f}{wall / audio_s:>13.4f}{wall / floor:>15.2f}")
    rss = runs[0]["rss"]
    after10 = [mb for done, mb in rss if done >= 600] or [mb for _, mb in rss]
    print(f"\npeak RSS (analyze, median) {statistics.median(r['peak_mb'] for r in runs):.0f} MB;"
          f" RSS after 10 min of audio: min {min(after10):.0f} MB, max {max(after10):.0f} MB")
    print(f"engine alone: {engine_us_per_frame():.1f} µs per 32 ms frame (2 speakers)")


if __name__ == "__main__":
    main()
