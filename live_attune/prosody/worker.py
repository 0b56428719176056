"""The live prosody worker: a ProsodyTracker on its own thread (STYLE.md rule 6).

``submit`` never blocks the pipeline: when the bounded queue is full the block's audio is
dropped and counted, its length still reaches the tracker as a gap (missing audio, not
silence), and the block's events are never dropped — turns must still close. Each closed
turn comes back through ``on_turn`` (on the worker thread) with its cue against the
speaker's baseline.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from live_attune.core.events import Event
from live_attune.core.prosody import ProsodyCue, TurnProsody, cue
from live_attune.prosody.tracker import ProsodyResult, ProsodyTracker, warm_up

OnTurn = Callable[[TurnProsody, ProsodyCue], None]
log = logging.getLogger("live_attune.prosody")


class ProsodyWorker:
    def __init__(self, speakers: Sequence[str], on_turn: OnTurn, *,
                 queue_blocks: int = 300) -> None:
        self.tracker = ProsodyTracker(speakers)
        self._on_turn = on_turn
        self._queue: queue.Queue[tuple[np.ndarray | None, int, list[Event]] | None] = \
            queue.Queue(maxsize=queue_blocks)
        self._lost_samples = 0  # audio dropped since the last block that got through
        self._held: list[Event] = []  # events of dropped blocks, sent with the next one
        self.dropped_blocks = 0
        self.restarts = 0
        self._thread = self._start()

    def _start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="prosody", daemon=True)
        thread.start()
        return thread

    def warm_up(self) -> None:
        """Compile YIN now (at session start), not during the session."""
        warm_up(self.tracker.config)

    def submit(self, block: np.ndarray, events: Sequence[Event]) -> None:
        """A ``(speakers, n)`` block and the engine's events for it; never blocks."""
        if not self._thread.is_alive():  # died despite the guard in _run: start another
            self.restarts += 1
            self._thread = self._start()
        item = (block, self._lost_samples, [*self._held, *events])
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped_blocks += 1
            self._lost_samples += block.shape[1]
            self._held = item[2]
            return
        self._lost_samples, self._held = 0, []

    def status(self) -> dict[str, Any]:
        return {"enabled": True, "queue": self._queue.qsize(),
                "dropped_blocks": self.dropped_blocks, "restarts": self.restarts,
                "cpu_s": round(self.tracker.busy_s, 3)}

    def close(self, final_events: Sequence[Event] = (), timeout_s: float = 30.0
              ) -> ProsodyResult:
        """Measure what is queued and the session's last events; return the result."""
        self._queue.put((None, self._lost_samples, [*self._held, *final_events]))
        self._queue.put(None)
        self._thread.join(timeout_s)
        return self.tracker.finish()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._handle(*item)
            except Exception as exc:  # a crash must not end prosody: record it, go on
                log.warning("prosody worker failed (%s); restarting", exc)
                self.restarts += 1
                if item[0] is not None:  # that block's audio is a gap now
                    self.tracker.skip(item[0].shape[1])
                with contextlib.suppress(Exception):
                    self._turns(item[2])  # its events still count (turns must close)

    def _handle(self, block: np.ndarray | None, lost: int, events: list[Event]) -> None:
        if lost:
            self.tracker.skip(lost)
        if block is not None:
            self.tracker.feed(block)
        self._turns(events)

    def _turns(self, events: list[Event]) -> None:
        for turn in self.tracker.events(events):
            self._on_turn(turn, cue(turn, self.tracker.baseline(turn.speaker)))
