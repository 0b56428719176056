"""Writes a live session into the store as it happens, on its own thread.

The pipeline thread only puts small records on a queue (never waits on the disk). The
writer thread commits everything it has at each checkpoint — twice a second of session time —
so a crash or ``kill -9`` loses at most the last ~1 s. If the store cannot be written (read-
only directory, disk full) the records stay queued in memory and are retried at the next
checkpoint; ``error`` says what is wrong, for the dashboard's status line.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import wave
from pathlib import Path
from typing import Any

import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import Segment, Transcript
from live_attune.errors import StoreError
from live_attune.store.db import NewSession, Store

CHECKPOINT_EVERY_S = 0.5  # of session time
MAX_PENDING = 200_000  # records held in memory while the store is unwritable


class SessionRecorder:
    """Journal of one live session: segments, transcripts, checkpoints, optional audio."""

    def __init__(self, store_path: Path, new: NewSession, *, channels: int = 1,
                 sample_rate: int = SAMPLE_RATE) -> None:
        self.store_path = store_path
        self.session_id = new.id
        self.keep_transcript = new.keep_transcript  # False: the store keeps no words
        self.new = new
        audio_path = Path(new.audio_path) if new.audio_path else None
        self.error: str | None = None
        self.commits = 0
        self._queue: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._pending: list[tuple[str, Any]] = []
        self._next_checkpoint_s = CHECKPOINT_EVERY_S
        self._wav = _open_wav(audio_path, channels, sample_rate) if audio_path else None
        self._thread = threading.Thread(target=self._run, name="store", daemon=True)
        self._thread.start()

    # -- called from the session's threads (cheap, never blocks) ---------------------------

    def segment(self, segment: Segment) -> None:
        self._queue.put(("segment", segment))

    def transcript(self, transcript: Transcript) -> None:
        self._queue.put(("transcript", transcript))

    def recount(self, to_s: float, segments: list[Segment]) -> None:
        """One microphone: the newest recount of the voices so far (replaces the last)."""
        self._queue.put(("recount", (to_s, [(s.speaker, s.start_s, s.end_s)
                                            for s in segments])))

    def audio(self, block: np.ndarray) -> None:
        """``(channels, n)`` float32 at 16 kHz; written only when audio is kept."""
        if self._wav is not None:
            self._queue.put(("audio", block))

    def progress(self, processed_s: float, open_s: dict[str, float]) -> None:
        """The engine's watermark; a checkpoint is queued every CHECKPOINT_EVERY_S."""
        if processed_s >= self._next_checkpoint_s:
            self._next_checkpoint_s = processed_s + CHECKPOINT_EVERY_S
            self._queue.put(("checkpoint", (processed_s, dict(open_s))))

    def close(self, result: dict[str, Any] | None, *, state: str = "complete") -> None:
        """Write what is queued, then the final result; waits for the writer thread."""
        self._queue.put(("close", (result, state)))
        self._thread.join()

    # -- the writer thread -----------------------------------------------------------------

    def _run(self) -> None:
        store: Store | None = None
        while True:
            kind, item = self._queue.get()
            if kind == "audio":
                self._write_audio(item)
                continue
            if kind == "close":
                store = self._commit(store)
                self._finish(store, *item)
                return
            if len(self._pending) < MAX_PENDING:
                self._pending.append((kind, item))
            if kind == "checkpoint":
                store = self._commit(store)

    def _commit(self, store: Store | None) -> Store | None:
        try:
            if store is None:
                store = Store(self.store_path)
                store.create(self.new)
            store.append_journal(self.session_id, self._pending)
            self._pending.clear()
            self.commits += 1
            self.error = None
        except (StoreError, sqlite3.Error, OSError) as exc:
            self.error = f"session store not writable: {exc}"
        return store

    def _finish(self, store: Store | None, result: dict[str, Any] | None, state: str) -> None:
        if self._wav is not None:
            self._wav.close()
        if store is None:
            return
        if result is not None and self.error is None:
            try:
                store.save_result(self.session_id, result, state=state)
            except StoreError as exc:
                self.error = str(exc)
        store.close()

    def _write_audio(self, block: np.ndarray) -> None:
        assert self._wav is not None
        pcm = (np.clip(block, -1.0, 1.0) * 32767).astype("<i2").T.tobytes()
        try:
            self._wav.writeframesraw(pcm)
        except OSError as exc:
            self.error = f"audio file not writable: {exc.strerror or exc}"


def _open_wav(path: Path, channels: int, sample_rate: int) -> wave.Wave_write:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed by SessionRecorder
    except OSError as exc:
        raise StoreError(f"cannot write the session audio {path}: {exc.strerror or exc}") \
            from exc
    wav.setnchannels(channels)
    wav.setsampwidth(2)
    wav.setframerate(sample_rate)
    return wav


def repair_wav(path: Path) -> None:
    """Fix the sizes in the header of a WAV whose writer died (``kill -9``) before closing."""
    size = path.stat().st_size
    if size < 44:
        return
    with path.open("r+b") as f:
        f.seek(4)
        f.write((size - 8).to_bytes(4, "little"))
        f.seek(40)
        f.write((size - 44).to_bytes(4, "little"))
