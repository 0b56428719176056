"""Live pipeline cost through the real capture path: CPU share and block→message latency.

    python bench/bench_live.py [--seconds 60]

Plays a generator conversation in real time into ALSA's file plugin (a FIFO fed by this
process), runs `live-attune live` on it (sounddevice → pipeline → websocket server, no ASR),
and measures, for 0 and for 20 connected dashboards on 127.0.0.1:
  * CPU of the live process as a share of one core (utime+stime over wall time, after a
    5 s warm-up that includes loading the VAD),
  * audio block arrival (sounddevice callback) → websocket message sent, p95 (the live
    command prints it when it ends),
  * dropped audio blocks.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.server.app import ws_url
from live_attune.synth import MixConfig, make_conversation, render

ASOUNDRC = ('pcm.!default {{ type asym; playback.pcm "null"; capture.pcm {{ type file; '
            'slave.pcm "null"; file "/dev/null"; infile "{infile}"; format "raw" }} }}\n')
TICK = os.sysconf("SC_CLK_TCK")


def feed(fifo: Path, pcm: np.ndarray, stop: threading.Event) -> None:
    i = 0
    while i < len(pcm) and not stop.is_set():
        try:
            with fifo.open("wb", buffering=0) as f:
                start, sent = time.monotonic(), 0
                while i < len(pcm) and not stop.is_set():
                    f.write(pcm[i:i + 1600].tobytes())
                    i, sent = i + 1600, sent + 1600
                    time.sleep(max(0.0, start + sent / SAMPLE_RATE - time.monotonic()))
        except BrokenPipeError:
            continue


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def dashboards(url: str, n: int, seconds: float) -> int:
    async def one() -> int:
        got = 0
        async with connect(url) as ws:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    await asyncio.wait_for(ws.recv(), timeout=max(0.1, end - time.monotonic()))
                    got += 1
                except TimeoutError:
                    break
        return got

    if n == 0:
        await asyncio.sleep(seconds)
        return 0
    return sum(await asyncio.gather(*(one() for _ in range(n))))


def run_once(pcm: np.ndarray, seconds: float, clients: int, asr: bool,
             prosody: bool = True, env_extra: dict[str, str] | None = None
             ) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        fifo = home / "capture.fifo"
        os.mkfifo(fifo)
        (home / ".asoundrc").write_text(ASOUNDRC.format(infile=fifo))
        stop = threading.Event()
        threading.Thread(target=feed, args=(fifo, pcm, stop), daemon=True).start()
        env = {**os.environ, "HOME": tmp, "LIVE_ATTUNE_HOME": tmp, **(env_extra or {})}
        extra = ([] if asr else ["--no-transcribe"]) + ([] if prosody else ["--no-prosody"])
        proc = subprocess.Popen([sys.executable, "-m", "live_attune.cli", "live", "--no-browser",
                                 "--port", "0", "--out", f"{tmp}/out", *extra], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        url = next(line.split(" ", 1)[1].strip() for line in proc.stdout
                   if line.startswith("Dashboard: "))
        time.sleep(5.0)  # warm-up
        c0, t0 = cpu_s(proc.pid), time.monotonic()
        received = asyncio.run(dashboards(ws_url(url), clients, seconds))
        c1, t1 = cpu_s(proc.pid), time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        stop.set()
        p95 = re.search(r"p95 (\d+) ms", out)
        dropped = re.search(r"dropped audio blocks: (\d+) .*, (\d+) ", out)
        asr_line = re.search(r"transcribed (\d+) utterances, (\d+) dropped.*p95 ([\d.]+) s", out)
        saved = json.loads((home / "out" / "session.json").read_text())
        return {"cpu": (c1 - c0) / (t1 - t0), "p95_ms": float(p95.group(1)) if p95 else -1.0,
                "received": received, "audio_s": saved["duration_s"],
                "dropped": sum(map(int, dropped.groups())) if dropped else -1,
                "asr_done": int(asr_line.group(1)) if asr_line else 0,
                "asr_dropped": int(asr_line.group(2)) if asr_line else 0,
                "asr_p95_s": float(asr_line.group(3)) if asr_line else -1.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--clients", default="0,20", help="dashboard counts to compare")
    ap.add_argument("--asr", action="store_true", help="with live transcription")
    ap.add_argument("--prosody-cost", action="store_true",
                    help="instead: the same run without and with the prosody worker")
    ap.add_argument("--blas-compare", action="store_true",
                    help="instead: the same run with OpenBLAS on every core and on one (default)")
    args = ap.parse_args()
    stereo, _ = render(make_conversation(3), MixConfig(seed=3))
    need = int((args.seconds + 15) * SAMPLE_RATE)
    pcm = np.ascontiguousarray(np.tile(stereo, (1, need // stereo.shape[1] + 1))[:, :need].T,
                               np.float32)
    if args.prosody_cost:
        prosody_cost(pcm, args.seconds, args.asr)
        return
    if args.blas_compare:
        blas_compare(pcm, args.seconds, args.asr)
        return
    counts = [int(c) for c in args.clients.split(",")]
    rows = [(n, run_once(pcm, args.seconds, n, args.asr)) for n in counts]
    base = rows[0][1]["cpu"]
    asr = "with ASR" if args.asr else "no ASR"
    print(f"\nlive capture → pipeline → websocket, {asr}, {args.seconds:.0f} s measured each\n")
    print(f"{'dashboards':>10}{'CPU % core':>12}{'vs first':>10}{'p95 block→msg':>15}"
          f"{'msgs recv':>11}{'dropped blocks':>16}{'ASR done/dropped':>18}{'ASR p95':>9}")
    for n, r in rows:
        p95 = "n/a (none sent)" if r["p95_ms"] < 0 else f"{r['p95_ms']:.0f} ms"
        asr_p95 = "-" if r["asr_p95_s"] < 0 else f"{r['asr_p95_s']:.2f} s"
        print(f"{n:>10}{100 * r['cpu']:>12.1f}{100 * (r['cpu'] - base):>+10.1f}"
              f"{p95:>15}{r['received']:>11.0f}{r['dropped']:>16.0f}"
              f"{r['asr_done']:>9.0f}/{r['asr_dropped']:<8.0f}{asr_p95:>9}")


def prosody_cost(pcm: np.ndarray, seconds: float, asr: bool, repeat: int = 3) -> None:
    """Alternate runs without and with prosody; medians of the CPU share."""
    import statistics

    off, on = [], []
    for _ in range(repeat):
        off.append(run_once(pcm, seconds, 1, asr, prosody=False)["cpu"])
        on.append(run_once(pcm, seconds, 1, asr, prosody=True)["cpu"])
    a, b = statistics.median(off), statistics.median(on)
    print(f"\nlive capture, one dashboard, {seconds:.0f} s each, {repeat} runs each (medians)")
    print(f"{'':>14}{'CPU % core':>12}")
    print(f"{'no prosody':>14}{100 * a:>12.1f}")
    print(f"{'prosody':>14}{100 * b:>12.1f}")
    print(f"{'prosody adds':>14}{100 * (b - a):>+12.1f}   (target ≤ 5 % of one core)")


def blas_compare(pcm: np.ndarray, seconds: float, asr: bool, repeat: int = 3) -> None:
    """Alternate runs with OpenBLAS on every core (numpy's default) and on one thread (the
    live-attune command's default); medians of the CPU share."""
    import statistics

    cores = str(os.cpu_count() or 1)
    every, one = [], []
    for _ in range(repeat):
        every.append(run_once(pcm, seconds, 1, asr, env_extra={"OPENBLAS_NUM_THREADS": cores})
                     ["cpu"])
        one.append(run_once(pcm, seconds, 1, asr)["cpu"])
    a, b = statistics.median(every), statistics.median(one)
    print(f"\nlive capture, one dashboard, {seconds:.0f} s each, {repeat} runs each (medians)")
    print(f"{'OpenBLAS threads':>18}{'CPU % core':>12}")
    print(f"{cores:>18}{100 * a:>12.1f}")
    print(f"{'1 (default)':>18}{100 * b:>12.1f}   ratio {b / a:.2f}")


if __name__ == "__main__":
    main()
