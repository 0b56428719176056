"""`live --call` cost through the real capture path: CPU share with two streams.

    python bench/bench_call.py [--seconds 60]

Plays a generator conversation in real time into two ALSA capture devices (the file plugin
reading FIFOs this process fills, each on its own clock: the call's 100 ppm fast, its audio
resampled to match), runs `live-attune live --call` on them (two sounddevice streams →
pairing and drift correction → pipeline → websocket server, no ASR, one dashboard), and for
comparison `live` on one stereo device fed the same audio. Prints, per mode, the live
process's CPU as a share of one core (utime+stime over wall time after a 5 s warm-up), the
block arrival → websocket message p95 and the dropped blocks.
"""

from __future__ import annotations

import argparse
import asyncio
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
import scipy.signal

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.server.app import ws_url
from live_attune.synth import MixConfig, make_conversation, render

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.alsa_rig import feed  # the FIFO-fed capture devices (shared with the tests)
from bench.bench_live import cpu_s, dashboards  # the sibling bench's helpers

PPM = 100.0
DEVICE = ('pcm.{name} {{ type file; slave.pcm "null"; file "/dev/null"; infile "{fifo}"; '
          'format "raw" }}\n')


def run(streams: list[tuple[str, np.ndarray, float]], args: list[str], seconds: float
        ) -> dict[str, float]:
    """``streams``: (ALSA device name, frames, clock rate); ``args`` for ``live``."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        stop, epoch = threading.Event(), time.monotonic() + 1.0
        rc = ""
        for name, pcm, rate in streams:
            fifo = home / f"{name}.fifo"
            os.mkfifo(fifo)
            rc += DEVICE.format(name=name, fifo=fifo)
            threading.Thread(target=feed, args=(fifo, pcm, rate, epoch, stop),
                             daemon=True).start()
        (home / ".asoundrc").write_text(rc)
        env = {**os.environ, "HOME": tmp, "LIVE_ATTUNE_HOME": tmp}
        proc = subprocess.Popen([sys.executable, "-m", "live_attune.cli", "live", "--no-browser",
                                 "--port", "0", "--no-transcribe", "--no-store", *args],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        assert proc.stdout is not None
        url = next(line.split(" ", 1)[1].strip() for line in proc.stdout
                   if line.startswith("Dashboard: "))
        time.sleep(5.0)  # warm-up
        c0, t0 = cpu_s(proc.pid), time.monotonic()
        asyncio.run(dashboards(ws_url(url), 1, seconds))
        c1, t1 = cpu_s(proc.pid), time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        stop.set()
        p95 = re.search(r"p95 (\d+) ms", out)
        dropped = re.search(r"dropped audio blocks: (\d+) .*, (\d+) ", out)
        if proc.returncode != 0:
            raise SystemExit(err)
        return {"cpu": (c1 - c0) / (t1 - t0), "p95_ms": float(p95.group(1)) if p95 else -1.0,
                "dropped": sum(map(int, dropped.groups())) if dropped else -1}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    stereo, _ = render(make_conversation(3), MixConfig(seed=3))
    need = int((args.seconds + 15) * SAMPLE_RATE)
    audio = np.tile(stereo, (1, need // stereo.shape[1] + 1))[:, :need].astype(np.float32)
    call = scipy.signal.resample_poly(audio[1], int(1e6 + PPM), int(1e6)).astype(np.float32)
    rows = {
        "one stereo device (live)": run([("stereo", audio.T, SAMPLE_RATE)],
                                        ["--device", "stereo"], args.seconds),
        "two devices (live --call)": run(
            [("mic", audio[0][:, None], SAMPLE_RATE),
             ("call_monitor", call[:, None], SAMPLE_RATE * (1 + PPM * 1e-6))],
            ["--call", "--device", "mic", "--call-device", "call_monitor"], args.seconds),
    }
    print(f"\nlive capture → pipeline → websocket, no ASR, one dashboard, "
          f"{args.seconds:.0f} s measured each\n")
    print(f"{'':>28}{'CPU % core':>12}{'p95 block→msg':>15}{'dropped blocks':>16}")
    for name, r in rows.items():
        p95 = "n/a" if r["p95_ms"] < 0 else f"{r['p95_ms']:.0f} ms"
        print(f"{name:>28}{100 * r['cpu']:>12.1f}{p95:>15}{r['dropped']:>16.0f}")


if __name__ == "__main__":
    main()
