"""ALSA capture devices fed from FIFOs, each on its own clock (for `live --call` benches
and tests): ALSA's ``file`` plugin reads a FIFO this process fills in real time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

BLOCK_FRAMES = 1600  # 100 ms at 16 kHz


def feed(fifo: Path, pcm: np.ndarray, rate_hz: float, epoch: float, stop: threading.Event
         ) -> None:
    """Write ``pcm`` (frames, channels) into ``fifo`` as a device clocked at ``rate_hz``
    captures it: a block is there once its last sample is (sample i at ``epoch + i /
    rate_hz``). What played while nobody read is lost (PortAudio opens each device once to
    probe it, so the FIFO is reopened); once read, nothing is skipped, even when this thread
    runs late (a device delivers late, it does not lose samples). The FIFO stays open after
    the end: closing it would end the file, and ALSA's file plugin then floods zeros."""
    while not stop.is_set():
        try:
            with fifo.open("wb", buffering=0) as f:
                i = max(0, int((time.monotonic() - epoch) * rate_hz))
                i -= i % BLOCK_FRAMES
                while i < len(pcm) and not stop.is_set():
                    time.sleep(max(0.0, epoch + (i + BLOCK_FRAMES) / rate_hz
                                   - time.monotonic()))
                    f.write(np.ascontiguousarray(pcm[i:i + BLOCK_FRAMES]).tobytes())
                    i += BLOCK_FRAMES
                stop.wait()
                return
        except BrokenPipeError:
            continue
