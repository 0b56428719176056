"""Replay a file as if it were a microphone: 100 ms blocks, paced to real time × speed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from live_attune.audio.decode import iter_blocks, probe
from live_attune.core.audio_facts import SAMPLE_RATE


class FileReplaySource:
    """A block source with the capture source's shape: ``blocks()`` yields (arrival, block)."""

    def __init__(self, path: Path, *, speed: float | None = 1.0, block_s: float = 0.1) -> None:
        self.path = path
        self.speed = speed  # None: as fast as possible
        self.block_s = block_s
        self.channels = probe(path).channels
        self.overflows = 0
        self.driver_overflows = 0

    @property
    def description(self) -> str:
        return f"replay of {self.path.name}"

    def __enter__(self) -> FileReplaySource:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def blocks(self) -> Iterator[tuple[float, np.ndarray]]:
        start, done = time.monotonic(), 0.0
        for block in iter_blocks(self.path, block_s=self.block_s):
            done += block.shape[1] / SAMPLE_RATE
            if self.speed is not None:
                wait = start + done / self.speed - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            yield time.monotonic(), block
