"""A live session's transport: a block source → the session layer's ``LiveRun`` → the hub,
owned by one asyncio task.

The source is read on its own thread and handed to the event loop through a bounded queue
(overflows counted). The run (pipeline, journal, workers) lives on a single-thread
executor, so exactly one thread ever touches its state, and the loop stays free to serve
dashboards. Everything measured comes from session/live.py; this module only publishes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from live_attune.audio.capture import DeviceBack, DeviceLost
from live_attune.core import SessionMetrics
from live_attune.core.audio_facts import CLIP_LEVEL, SAMPLE_RATE
from live_attune.core.context import display_thresholds
from live_attune.core.events import Event, Transcript
from live_attune.core.prosody import ProsodyCue, TurnProsody
from live_attune.core.quality import reliability
from live_attune.errors import LiveAttuneError
from live_attune.server.hub import Hub
from live_attune.server.messages import (
    SAVED_WHERE_LAN,
    Message,
    encode,
    envelope,
    event_message,
    metrics_message,
    prosody_message,
    status_message,
    transcript_message,
)
from live_attune.session.config import MODE_SINGLE
from live_attune.session.live import (
    LiveRun,
    LiveSetup,
    Step,
)
from live_attune.session.pipeline import Pipeline
from live_attune.store.recorder import SessionRecorder

METRICS_PERIOD_S = 0.25  # at most 4 Hz
STATUS_PERIOD_S = 1.0
RECENT_EVENTS = 50


LAN_STORE_ERROR = "the session store on the therapist's computer cannot be written"


class LiveSession:
    def __init__(self, setup: LiveSetup, hub: Hub) -> None:
        self.source = setup.source
        self.layout = layout = setup.layout
        self.hub = hub
        self.out_dir = setup.out_dir
        self.error: str | None = None
        self.run_state = LiveRun(setup, on_transcript=self._on_transcript_thread,
                                 on_prosody=self._on_prosody_thread)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pipeline")  # owns the run
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="source")
        self._recent: deque[Message] = deque(maxlen=RECENT_EVENTS)
        self._metrics: Message | None = None
        self._status: Message | None = None
        self._ended: dict[str, Any] | None = None  # once saved: at_s, saved_to, session_id
        self._peak = np.zeros(len(layout.speakers), np.float32)
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pipeline(self) -> Pipeline:
        return self.run_state.pipeline

    @property
    def recorder(self) -> SessionRecorder | None:
        return self.run_state.recorder

    @property
    def saved_to(self) -> Path | None:
        return self.run_state.saved_to

    # -- what a new dashboard gets --------------------------------------------------------

    def snapshot(self) -> str:
        session = {"speakers": list(self.layout.speakers), "mode": self.layout.mode,
                   "source": self.source.description,
                   "reliability": self._reliability(),
                   "thresholds": asdict(display_thresholds(self.pipeline.config.metrics)),
                   "ended": self._ended}
        return encode(envelope("snapshot", session=session, metrics=self._metrics,
                               recent={"events": list(self._recent)}, status=self._status))

    def _reliability(self) -> dict[str, str]:
        """How far the measures shown can be trusted: while a one-microphone session runs
        its interruptions and backchannels are recounted every half minute (core/quality.py)."""
        return asdict(reliability(voices_from_one_microphone=self.layout.mode == MODE_SINGLE,
                                  live=self._ended is None))

    # -- the run --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Pull blocks until the source ends or ``stop`` is set, then finish and save.

        The source is read on its own single-thread executor: a microphone source buffers
        (and drops, counting) in its own bounded queue filled by the audio callback; a file
        source simply waits for the pipeline.
        """
        loop = self._loop = asyncio.get_running_loop()
        run = self.run_state
        await loop.run_in_executor(self._executor, run.warm_up)
        blocks = iter(self.source.blocks())
        last_metrics = last_status = 0.0
        stopper = asyncio.create_task(stop.wait())
        try:
            while True:
                item = await self._next_block(loop, blocks, stopper)
                if item is None:
                    break
                arrival, block = item
                if not isinstance(block, np.ndarray):
                    run.device_change(block)
                    self._publish_status(None, arrival)
                    last_status = time.monotonic()
                    continue
                due = time.monotonic() - last_metrics >= METRICS_PERIOD_S
                step = await loop.run_in_executor(self._executor, run.process, block, arrival,
                                                  due)
                self._publish_events(step.events, arrival)
                now = time.monotonic()
                if step.metrics is not None:
                    last_metrics = now
                    self._publish_metrics(step.metrics, arrival)
                self._peak = np.maximum(self._peak, step.peaks)
                if now - last_status >= STATUS_PERIOD_S:
                    last_status = now
                    self._publish_status(step, arrival)
        except asyncio.CancelledError:
            if run.asr is not None:  # don't leave the model running past the loop
                run.asr.close(timeout_s=5.0)
            raise
        finally:
            stopper.cancel()
        await self._finish(loop)

    async def _next_block(self, loop: asyncio.AbstractEventLoop,
                          blocks: Iterator[tuple[float, np.ndarray | DeviceLost | DeviceBack]],
                          stopper: asyncio.Task[Any]
                          ) -> tuple[float, np.ndarray | DeviceLost | DeviceBack] | None:
        """The next block, or None when the source ends, fails or the session stops."""
        getter = loop.run_in_executor(self._reader, next, blocks, None)
        await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            return None  # stopping; the reader thread finishes its current wait on its own
        try:
            return getter.result()
        except LiveAttuneError as exc:
            self.error = str(exc)
            self.run_state.state = "lost"
            return None

    async def _finish(self, loop: asyncio.AbstractEventLoop) -> None:
        run = self.run_state
        metrics, events = await loop.run_in_executor(self._executor, run.pipeline.finish)
        if run.asr is not None:
            await loop.run_in_executor(self._executor, run.queue_utterances, events,
                                       time.monotonic(), True)
            await loop.run_in_executor(None, run.asr.close)
            await asyncio.sleep(0)  # deliver the last transcripts
        if run.prosody is not None:
            await loop.run_in_executor(None, run.close_prosody, events)
            await asyncio.sleep(0)  # deliver the last turn's prosody
        if run.recorder is not None:
            await loop.run_in_executor(self._executor, run.journal, events)
        born = time.monotonic()
        self._publish_events(events, born)
        self._publish_metrics(metrics, born)
        await loop.run_in_executor(None, run.save, metrics)
        self._publish_status(None, born)
        saved_to = None if run.saved_to is None else str(run.saved_to)
        store = run.store_status()  # kept in the session store unless it failed there
        self._ended = {"at_s": metrics.at_s, "saved_to": saved_to,  # for a page opened later
                       "session_id": None if store["error"] else store["session_id"]}
        # --lan (a hub without words): where in words, never a path over the network
        where = {"saved_to": saved_to} if self.hub.words else \
            {"saved_to": None, "saved_where": SAVED_WHERE_LAN}
        end = envelope("end", **where, reliability=self._reliability())
        self.hub.publish("end", encode(end), born)
        self._executor.shutdown(wait=False)
        self._reader.shutdown(wait=False)

    # -- results from the workers' threads, published on the loop -------------------------

    def _on_transcript_thread(self, transcript: Transcript) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_transcript, transcript)

    def _on_transcript(self, transcript: Transcript) -> None:
        self.run_state.add_transcript(transcript)
        message = transcript_message(transcript)
        self._recent.append(message)
        self.hub.publish("transcript", encode(message))

    def _on_prosody_thread(self, turn: TurnProsody, cue: ProsodyCue) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_prosody, turn, cue)

    def _on_prosody(self, turn: TurnProsody, cue: ProsodyCue) -> None:
        message = prosody_message(turn, cue)
        self._recent.append(message)
        self.hub.publish("prosody", encode(message))

    # -- publishing -----------------------------------------------------------------------

    def _publish_events(self, events: list[Event], born: float) -> None:
        for event in events:
            message = event_message(event)
            if message is None:
                continue
            if message["type"] != "turn":
                self._recent.append(message)
            self.hub.publish(message["type"], encode(message), born)

    def _publish_metrics(self, metrics: SessionMetrics, born: float) -> None:
        self._metrics = metrics_message(metrics, self.run_state.language(metrics))
        self.hub.publish("metrics", encode(self._metrics), born)

    def _publish_status(self, step: Step | None, born: float) -> None:
        run, speakers = self.run_state, self.layout.speakers
        levels = step.levels_db if step is not None else run.pipeline.last_levels_db
        self._status = status_message(
            at_s=run.samples / SAMPLE_RATE, state=run.state,
            levels_db={s: float(v) for s, v in zip(speakers, levels, strict=True)},
            clipping={s: bool(p >= CLIP_LEVEL) for s, p in zip(speakers, self._peak,
                                                                 strict=True)},
            overflows=self.source.overflows,
            driver_overflows=self.source.driver_overflows, device=self.source.description,
            asr=run.asr_status(), store=self._store_status(), prosody=run.prosody_status(),
            warnings=[] if run.check is None else list(run.check.warnings))
        self._peak[:] = 0.0
        self.hub.publish("status", encode(self._status), born)

    def _store_status(self) -> dict[str, Any]:
        """The store's state; over --lan its error in words without the file's path (the
        user's folders are nobody's business on a shared network)."""
        store = self.run_state.store_status()
        if store["error"] and not self.hub.words:
            return {**store, "error": LAN_STORE_ERROR}
        return store

    def asr_status(self) -> dict[str, Any]:
        return self.run_state.asr_status()

    def prosody_status(self) -> dict[str, Any]:
        return self.run_state.prosody_status()
