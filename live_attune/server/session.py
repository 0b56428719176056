"""A live session: a block source → the pipeline → the hub, owned by one asyncio task.

The source is read on its own thread and handed to the event loop through a bounded queue
(overflows counted). The pipeline runs on a single-thread executor, so exactly one thread
ever touches its state, and the loop stays free to serve dashboards.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from calibration.check import ProfileCheck
from live_attune.analyze import AnalysisResult
from live_attune.audio.capture import DeviceBack, DeviceLost
from live_attune.audio.decode import AudioInfo
from live_attune.core import SessionMetrics
from live_attune.core.events import Event, MissingAudio, Segment, Transcript
from live_attune.core.language import LanguageSummary, summarize
from live_attune.core.prosody import ProsodyCue, TurnProsody
from live_attune.core.quality import reliability
from live_attune.core.utterances import UtteranceBuilder
from live_attune.errors import LiveAttuneError
from live_attune.output import session_dict, write_outputs
from live_attune.pipeline import MODE_SINGLE, Layout, PipelineConfig, make_pipeline
from live_attune.prosody import ProsodyResult, with_transcript
from live_attune.prosody.worker import ProsodyWorker
from live_attune.server.hub import Hub
from live_attune.server.messages import (
    Message,
    encode,
    envelope,
    event_message,
    metrics_message,
    prosody_message,
    status_message,
    transcript_message,
)
from live_attune.store.recorder import SessionRecorder

METRICS_PERIOD_S = 0.25  # at most 4 Hz
STATUS_PERIOD_S = 1.0
CLIP_LEVEL = 0.999  # a sample this close to full scale counts as clipping
RECENT_EVENTS = 50
RING_S = 40.0  # audio kept for utterances still waiting to be transcribed (max 15 s + lag)
AsrWorkerFactory = Callable[[Callable[[Transcript], None]], "AsrLike"]


class AsrLike(Protocol):
    def warm_up(self) -> None: ...

    def submit(self, span: Any, audio: np.ndarray, ended_at: float) -> None: ...

    def status(self) -> dict[str, Any]: ...

    def close(self, timeout_s: float = ...) -> None: ...


class BlockSource(Protocol):
    overflows: int
    driver_overflows: int

    @property
    def description(self) -> str: ...

    def blocks(self) -> Iterator[tuple[float, np.ndarray | DeviceLost | DeviceBack]]: ...


@dataclass(frozen=True, slots=True)
class _Step:
    events: list[Event]
    metrics: SessionMetrics | None
    levels_db: np.ndarray
    peaks: np.ndarray


def save_elsewhere(result: AnalysisResult, session_id: str) -> Path | None:
    """The store could not keep the session and no --out was given: its session.json and
    turns.csv go to the data directory's ``unsaved/ID``, or failing that (the same full
    disk) to a new private temporary directory. None when nothing could be written."""
    import tempfile

    from live_attune.paths import data_dir

    places: list[Callable[[], Path]] = [
        lambda: data_dir() / "unsaved" / session_id,
        lambda: Path(tempfile.mkdtemp(prefix=f"live-attune-{session_id}-"))]  # mode 0700
    for place in places:
        try:
            return write_outputs(result, place())[0]
        except (LiveAttuneError, OSError):
            continue
    return None


class LiveSession:
    def __init__(self, source: BlockSource, layout: Layout, hub: Hub, *,
                 config: PipelineConfig | None = None, out_dir: Path | None = None,
                 asr: AsrWorkerFactory | None = None,
                 recorder: SessionRecorder | None = None, prosody: bool = False,
                 check: ProfileCheck | None = None,
                 single_mic: dict[str, Any] | None = None) -> None:
        self.source = source
        self.layout = layout
        self.hub = hub
        self.pipeline = make_pipeline(layout, config, **(single_mic or {}))
        self.out_dir = out_dir
        self.recorder = recorder  # the store's journal of this session, if stored
        self.prosody_result: ProsodyResult | None = None
        self.check = check  # the profile against this input (warnings on the status line)
        self.missing: list[MissingAudio] = []  # audio that never arrived
        self.saved_to: Path | None = None
        self.error: str | None = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="pipeline")  # owns the pipeline
        self._reader = ThreadPoolExecutor(1, thread_name_prefix="source")
        self._recent: deque[Message] = deque(maxlen=RECENT_EVENTS)
        self._metrics: Message | None = None
        self._status: Message | None = None
        self._state = "running"
        self._peak = np.zeros(len(layout.speakers), np.float32)
        self._samples = 0
        self._ring = AudioRing(len(layout.speakers), RING_S)
        self._utterances = UtteranceBuilder()
        self._transcripts: list[Transcript] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._asr = asr(self._on_transcript_thread) if asr is not None else None
        self._prosody = ProsodyWorker(layout.speakers, self._on_prosody_thread) \
            if prosody else None

    # -- what a new dashboard gets --------------------------------------------------------

    def snapshot(self) -> str:
        session = {"speakers": list(self.layout.speakers), "mode": self.layout.mode,
                   "source": self.source.description,
                   "reliability": asdict(reliability(
                       voices_from_one_microphone=self.layout.mode == MODE_SINGLE))}
        return encode(envelope("snapshot", session=session, metrics=self._metrics,
                               recent={"events": list(self._recent)}, status=self._status))

    # -- the run --------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Pull blocks until the source ends or ``stop`` is set, then finish and save.

        The source is read on its own single-thread executor: a microphone source buffers
        (and drops, counting) in its own bounded queue filled by the audio callback; a file
        source simply waits for the pipeline.
        """
        loop = self._loop = asyncio.get_running_loop()
        if self._asr is not None:
            await loop.run_in_executor(self._executor, self._asr.warm_up)
        if self._prosody is not None:
            await loop.run_in_executor(self._executor, self._prosody.warm_up)
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
                    self._device_change(block)
                    self._publish_status(None, arrival)
                    last_status = time.monotonic()
                    continue
                due = time.monotonic() - last_metrics >= METRICS_PERIOD_S
                step = await loop.run_in_executor(self._executor, self._process, block, arrival,
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
            if self._asr is not None:  # don't leave the model running past the loop
                self._asr.close(timeout_s=5.0)
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
            self._state = "lost"
            return None

    def _device_change(self, change: DeviceLost | DeviceBack) -> None:
        """The microphone went away (status "lost") or came back (the gap is recorded as
        missing audio: the pipeline never sees it, it is not silence)."""
        if isinstance(change, DeviceLost):
            self._state = "lost"
            return
        self._state = "running"
        self.missing.append(MissingAudio(self._samples / 16_000, change.missing_s, "audio",
                                         "microphone lost"))

    def _process(self, block: np.ndarray, arrival: float, want_metrics: bool) -> _Step:
        events = self.pipeline.process(block)
        if self.check is not None:
            self.check.feed(block)
        self._samples += block.shape[1]
        audio = block[list(self.layout.channel_indices)]
        self._ring.append(audio)
        if self.recorder is not None:
            self._journal(events, audio)
        if self._prosody is not None:
            self._prosody.submit(audio, events)
        if self._asr is not None:
            self._queue_utterances(events, arrival)
        peaks = np.max(np.abs(audio), axis=1) if audio.shape[1] else np.zeros(len(audio))
        metrics = self.pipeline.snapshot() if want_metrics else None  # ≤ 4 Hz is enough
        return _Step(events, metrics, self.pipeline.last_levels_db.copy(),
                     peaks.astype(np.float32))

    def _journal(self, events: list[Event], audio: np.ndarray) -> None:
        assert self.recorder is not None
        for event in events:
            if isinstance(event, Segment):
                self.recorder.segment(event)
        self.recorder.audio(audio)
        engine = self.pipeline.engine
        self.recorder.progress(engine.processed_s, engine.open_segments_s())

    def _queue_utterances(self, events: list[Event], arrival: float, final: bool = False
                          ) -> None:
        """Hand each finished utterance (audio still in the ring) to the ASR worker."""
        assert self._asr is not None
        now_s = self.pipeline.engine.processed_s
        spans = [s for e in events if isinstance(e, Segment) for s in self._utterances.add(e)]
        spans += self._utterances.finish() if final else self._utterances.advance(now_s)
        for span in spans:
            audio = self._ring.slice(self.layout.speakers.index(span.speaker),
                                     span.start_s, span.end_s)
            if audio is not None:
                # When its last sample arrived: now, less the audio processed since then.
                self._asr.submit(span, audio, arrival - max(0.0, now_s - span.end_s))

    def _on_transcript_thread(self, transcript: Transcript) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._on_transcript, transcript)

    def _on_transcript(self, transcript: Transcript) -> None:
        self._transcripts.append(transcript)
        if self.recorder is not None:
            self.recorder.transcript(transcript)
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

    def _language(self, metrics: SessionMetrics) -> LanguageSummary | None:
        if self._asr is None or not self._transcripts:
            return None
        return summarize(self._transcripts, metrics.talk_time_s)

    async def _finish(self, loop: asyncio.AbstractEventLoop) -> None:
        metrics, events = await loop.run_in_executor(self._executor, self.pipeline.finish)
        if self._asr is not None:
            await loop.run_in_executor(self._executor, self._queue_utterances, events,
                                       time.monotonic(), True)
            await loop.run_in_executor(None, self._asr.close)
            await asyncio.sleep(0)  # deliver the last transcripts
        if self._prosody is not None:
            self.prosody_result = await loop.run_in_executor(None, self._prosody.close, events)
            await asyncio.sleep(0)  # deliver the last turn's prosody
        if self.recorder is not None:
            await loop.run_in_executor(self._executor, self._journal, events,
                                       np.zeros((len(self.layout.speakers), 0), np.float32))
        born = time.monotonic()
        self._publish_events(events, born)
        self._publish_metrics(metrics, born)
        if self._state != "lost":
            self._state = "ended"
        await loop.run_in_executor(None, self._save, metrics)
        self._publish_status(None, born)
        self.hub.publish("end", encode(envelope(
            "end", saved_to=None if self.saved_to is None else str(self.saved_to))), born)
        self._executor.shutdown(wait=False)
        self._reader.shutdown(wait=False)

    def _save(self, metrics: SessionMetrics) -> None:
        """Into the store (the journal's final result) and, if asked, session.json files."""
        result = self._result(metrics)
        if self.recorder is not None:
            self.recorder.close(session_dict(result))
        if self.out_dir is not None:
            self.saved_to, _ = write_outputs(result, self.out_dir)
        elif self.recorder is not None and self.recorder.error:
            self.saved_to = save_elsewhere(result, self.recorder.session_id)

    def _result(self, metrics: SessionMetrics) -> AnalysisResult:
        info = AudioInfo(self.source.description, self.layout.input_channels, 16_000,
                         self._samples / 16_000, "live")
        return AnalysisResult(info, self.layout, self.pipeline.config, metrics,
                                self.pipeline.engine.history, self._samples / 16_000,
                                (f"live session from {self.source.description}",),
                                tuple(sorted(self._transcripts, key=lambda t: t.start_s)),
                                None if self.prosody_result is None else
                                with_transcript(self.prosody_result, self._transcripts),
                                tuple(self._all_missing()),
                                tuple(getattr(self.pipeline, "attribution", ())))

    def _all_missing(self) -> list[MissingAudio]:
        """Audio the session never had (microphone), or a worker lost (ASR, prosody)."""
        out = list(self.missing)
        if self._asr is not None:
            out += getattr(self._asr, "missing", [])
        if self.prosody_result is not None:
            out += [MissingAudio(a, b - a, "prosody", "the prosody worker fell behind or "
                                 "failed") for a, b in self.prosody_result.gaps_s]
        return sorted(out, key=lambda m: m.at_s)

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
        self._metrics = metrics_message(metrics, self._language(metrics))
        self.hub.publish("metrics", encode(self._metrics), born)

    def _publish_status(self, step: _Step | None, born: float) -> None:
        speakers = self.layout.speakers
        levels = step.levels_db if step is not None else self.pipeline.last_levels_db
        self._status = status_message(
            at_s=self._samples / 16_000, state=self._state,
            levels_db={s: float(v) for s, v in zip(speakers, levels, strict=True)},
            clipping={s: bool(p >= CLIP_LEVEL) for s, p in zip(speakers, self._peak,
                                                                 strict=True)},
            overflows=self.source.overflows,
            driver_overflows=self.source.driver_overflows, device=self.source.description,
            asr=self._asr_status(), store=self._store_status(),
            prosody=self.prosody_status(),
            warnings=[] if self.check is None else list(self.check.warnings))
        self._peak[:] = 0.0
        self.hub.publish("status", encode(self._status), born)

    def _store_status(self) -> dict[str, Any]:
        if self.recorder is None:
            return {"session_id": None, "error": None}
        return {"session_id": self.recorder.session_id, "error": self.recorder.error}

    def asr_status(self) -> dict[str, Any]:
        return self._asr_status()

    def _asr_status(self) -> dict[str, Any]:
        return {"enabled": False} if self._asr is None else self._asr.status()

    def prosody_status(self) -> dict[str, Any]:
        return {"enabled": False} if self._prosody is None else self._prosody.status()


class AudioRing:
    """The last ``seconds`` of each speaker's channel, for cutting out utterances.

    A circular buffer: appending a block writes it in place (no copy of the whole buffer).
    """

    def __init__(self, channels: int, seconds: float) -> None:
        self._size = int(seconds * 16_000)
        self._buf = np.zeros((channels, self._size), np.float32)
        self._end = 0  # samples written so far (session time of the newest sample + 1)

    def append(self, audio: np.ndarray) -> None:
        total = audio.shape[1]
        kept = audio[:, -self._size:]  # only the newest samples can still be read
        n = kept.shape[1]
        at = (self._end + total - n) % self._size
        first = min(n, self._size - at)
        self._buf[:, at:at + first] = kept[:, :first]
        self._buf[:, :n - first] = kept[:, first:]
        self._end += total

    def slice(self, channel: int, start_s: float, end_s: float) -> np.ndarray | None:
        """Samples [start_s, end_s) of ``channel``, or None if no longer (or not) held."""
        lo, hi = int(start_s * 16_000), min(int(end_s * 16_000), self._end)
        if lo < self._end - self._size or hi <= lo:
            return None
        return np.take(self._buf[channel], np.arange(lo, hi) % self._size)
