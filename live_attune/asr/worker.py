"""The live ASR worker: one thread, a bounded queue, results handed back as events.

The metrics path never waits for it: ``submit`` never blocks; when the queue is full the
oldest waiting utterance is dropped and counted. Its lag (utterance end → text ready) is
measured and reported in the dashboard's status line.
"""

from __future__ import annotations

import logging
import queue
import statistics
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from live_attune.asr.whisper import (
    default_model_path,
    load_model,
    reload_model,
    transcribe_short,
    transcript_event,
)
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import MissingAudio, Transcript
from live_attune.core.utterances import Span

log = logging.getLogger("live_attune.asr")


@dataclass(frozen=True, slots=True)
class _Job:
    span: Span
    audio: np.ndarray
    ended_at: float  # time.monotonic() when the utterance was known to have ended


class AsrWorker:
    """Transcribes utterances on its own thread; ``on_result`` runs on that thread."""

    def __init__(self, on_result: Callable[[Transcript], None], *,
                 model_path: Path | None = None, queue_size: int = 8, threads: int = 0) -> None:
        self._model_path = model_path or default_model_path()
        self._threads = threads
        self._model: Any = load_model(self._model_path, threads)
        self._on_result = on_result
        self._jobs: queue.Queue[_Job | None] = queue.Queue(maxsize=queue_size)
        self.dropped = 0
        self.done = 0
        self.latencies_s: deque[float] = deque(maxlen=1000)  # utterance end → text
        self.restarts = 0
        self.missing: list[MissingAudio] = []  # utterances a failure lost
        self._thread = self._start()

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="asr", daemon=True)
        thread.start()
        return thread

    def warm_up(self) -> None:
        """Run the model once on silence so the first real utterance is not slow."""
        transcribe_short(self._model, np.zeros(SAMPLE_RATE, np.float32))

    def submit(self, span: Span, audio: np.ndarray, ended_at: float) -> None:
        if not self._thread.is_alive():  # died despite the guard in _run: start another
            self.restarts += 1
            self._thread = self._start()
        job = _Job(span, audio, ended_at)
        while True:
            try:
                self._jobs.put_nowait(job)
                return
            except queue.Full:
                try:
                    self._jobs.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def status(self) -> dict[str, Any]:
        lat = list(self.latencies_s)
        return {"enabled": True, "queue": self._jobs.qsize(), "dropped": self.dropped,
                "done": self.done, "restarts": self.restarts, "lag_s": lat[-1] if lat else None,
                "p95_s": statistics.quantiles(lat, n=20)[-1] if len(lat) >= 20 else None}

    def close(self, timeout_s: float = 30.0) -> None:
        """Finish what is queued (up to ``timeout_s``), then stop."""
        self._jobs.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                text, words = transcribe_short(self._model, job.audio, job.span.start_s)
            except Exception as exc:  # a crash must not end transcription: restart
                self._restart(job, exc)
                continue
            self.latencies_s.append(time.monotonic() - job.ended_at)
            self.done += 1
            if text:
                self._on_result(transcript_event(job.span, text, words))

    def _restart(self, job: _Job, exc: Exception) -> None:
        """Record the lost utterance and load the model afresh (its state may be broken)."""
        # the message, not the exception: its traceback holds the broken model, and a log
        # handler that keeps records would keep that model alive next to the new one
        log.warning("ASR worker failed on %.1f-%.1f s (%s); restarting", job.span.start_s,
                    job.span.end_s, str(exc))
        self.restarts += 1
        self.missing.append(MissingAudio(job.span.start_s, job.span.end_s - job.span.start_s,
                                         "asr", f"transcription failed ({exc}); restarted"))
        try:  # not load_model: that would hand back the same, possibly broken, object
            self._model = reload_model(self._model_path, self._threads)
        except Exception as again:  # keep the old model; the next failure reloads again
            log.warning("ASR model reload failed: %s", again)
