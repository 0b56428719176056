"""A live session's work besides transport: blocks through the pipeline, the journal,
utterances cut from the audio ring for the ASR worker, the prosody worker, device changes,
the result and where it is saved. The server (server/session.py) drives it from one
executor thread and publishes what it returns; nothing here knows about dashboards.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from live_attune.audio.capture import DROPPED, DeviceBack, DeviceLost
from live_attune.audio.decode import AudioInfo
from live_attune.core import SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import Event, MissingAudio, Segment, Transcript
from live_attune.core.language import LanguageSummary, summarize
from live_attune.core.prosody import ProsodyCue, TurnProsody
from live_attune.core.utterances import UtteranceBuilder
from live_attune.prosody import ProsodyResult
from live_attune.prosody.worker import ProsodyWorker
from live_attune.session.config import Layout, PipelineConfig, SingleMicOptions
from live_attune.session.engine_views import Recount
from live_attune.session.output import save_elsewhere, session_dict, write_outputs
from live_attune.session.pipeline import Pipeline, make_pipeline
from live_attune.session.result import SessionResult, session_result
from live_attune.store.db import SessionRecord, session_record
from live_attune.store.recorder import SessionRecorder

RING_S = 40.0  # audio kept for utterances still waiting to be transcribed (max 15 s + lag)
# dropped blocks (the computer behind) within this much session audio of the last ones add to
# that entry: a computer that stays behind drops every other block, not one gap a second
DROPS_JOINED_S = 5.0
AsrWorkerFactory = Callable[[Callable[[Transcript], None]], "AsrLike"]


class AsrLike(Protocol):
    missing: list[MissingAudio]  # utterances a failure lost

    def warm_up(self) -> None: ...

    def submit(self, span: Any, audio: np.ndarray, ended_at: float) -> None: ...

    def status(self) -> dict[str, Any]: ...

    def close(self, timeout_s: float = ...) -> None: ...


class BlockSource(Protocol):
    """Where a live session's blocks come from: the microphone, or a file replayed."""

    @property
    def overflows(self) -> int:
        """Blocks dropped because the pipeline fell behind."""

    @property
    def driver_overflows(self) -> int:
        """Blocks the audio driver reported lost."""

    @property
    def description(self) -> str: ...

    def blocks(self) -> Iterator[tuple[float, np.ndarray | DeviceLost | DeviceBack]]: ...


class InputCheck(Protocol):
    """Checks the input while the session runs (calibration.check.ProfileCheck,
    audio.same.SameChannelsCheck): its warnings go on the status line, its notes into
    session.json; it never stops the session."""

    @property
    def warnings(self) -> list[str]: ...

    @property
    def notes(self) -> list[str]:
        """What session.json must say of the input (past tense, no device names)."""

    def feed(self, block: np.ndarray) -> None: ...


class InputChecks:
    """Several checks of the input as one (InputCheck): each fed every block, their
    warnings in order."""

    def __init__(self, *checks: InputCheck) -> None:
        self._checks = checks

    @property
    def warnings(self) -> list[str]:
        return [w for check in self._checks for w in check.warnings]

    @property
    def notes(self) -> list[str]:
        return [n for check in self._checks for n in check.notes]

    def feed(self, block: np.ndarray) -> None:
        for check in self._checks:
            check.feed(block)


@dataclass(frozen=True, slots=True)
class Step:
    """What one block did: the events it made final, measures when asked, levels."""

    events: list[Event]
    metrics: SessionMetrics | None
    levels_db: np.ndarray
    peaks: np.ndarray


@dataclass(frozen=True, kw_only=True)
class LiveSetup:
    """What one live session is made of, as the commands assemble it (transport aside)."""

    layout: Layout
    source: BlockSource
    config: PipelineConfig | None = None
    single_mic: SingleMicOptions | None = None  # how voices are told apart on one microphone
    asr: AsrWorkerFactory | None = None  # None: no transcript
    prosody: bool = False
    recorder: SessionRecorder | None = None  # the store's journal of this session, if stored
    check: InputCheck | None = None  # the profile against this input (status-line warnings)
    out_dir: Path | None = None  # --out: session.json and turns.csv also go here
    keep_transcript: bool = True  # False (--no-transcript): no words in any saved file


class LiveRun:
    """One live session's state; every method but the worker callbacks runs on the one
    thread that owns the pipeline."""

    def __init__(self, setup: LiveSetup, *,
                 on_transcript: Callable[[Transcript], None] | None = None,
                 on_prosody: Callable[[TurnProsody, ProsodyCue], None] | None = None) -> None:
        """``on_transcript`` and ``on_prosody`` are called on the workers' threads; without
        a listener that worker does not run."""
        layout = self.layout = setup.layout
        self.source = setup.source  # read by the transport; here only its description
        self.pipeline: Pipeline = make_pipeline(layout, setup.config,
                                                single_mic=setup.single_mic)
        self.single_mic = setup.single_mic
        self.recorder = setup.recorder
        self._journaled_recount: Recount | None = None
        self.check = setup.check
        self.out_dir = setup.out_dir
        self.keep_transcript = setup.keep_transcript and (
            setup.recorder is None or setup.recorder.keep_transcript)
        self.state = "running"  # "lost" while the microphone is gone, "ended"
        self.missing: list[MissingAudio] = []  # audio that never arrived
        self._last_drop_s: float | None = None  # session time of the newest dropped blocks
        self.samples = 0
        self.prosody_result: ProsodyResult | None = None
        self.saved_to: Path | None = None
        self.started_at = time.strftime("%Y-%m-%dT%H:%M:%S")  # local time, as the store's
        self.transcripts: list[Transcript] = []
        self._ring = AudioRing(len(layout.speakers), RING_S)
        self._utterances = UtteranceBuilder()
        self.asr = (None if setup.asr is None or on_transcript is None
                    else setup.asr(_labelling(on_transcript)))
        self.prosody = (ProsodyWorker(layout.speakers, on_prosody)
                        if setup.prosody and on_prosody is not None else None)

    def warm_up(self) -> None:
        if self.asr is not None:
            self.asr.warm_up()
        if self.prosody is not None:
            self.prosody.warm_up()

    def process(self, block: np.ndarray, arrival: float, want_metrics: bool) -> Step:
        events = self.pipeline.process(block)
        if self.check is not None:
            self.check.feed(block)
        self.samples += block.shape[1]
        audio = block[list(self.layout.channel_indices)]
        self._ring.append(audio)
        if self.recorder is not None:
            self.journal(events, audio)
        if self.prosody is not None:
            self.prosody.submit(audio, events)
        if self.asr is not None:
            self.queue_utterances(events, arrival)
        peaks = np.max(np.abs(audio), axis=1) if audio.shape[1] else np.zeros(len(audio))
        metrics = self.pipeline.snapshot() if want_metrics else None  # ≤ 4 Hz is enough
        return Step(events, metrics, self.pipeline.last_levels_db.copy(),
                    peaks.astype(np.float32))

    def device_change(self, change: DeviceLost | DeviceBack) -> None:
        """The input went away (state "lost") or came back (the gap is recorded as missing
        audio, with the source's reason: the pipeline never sees it, it is not silence)."""
        if isinstance(change, DeviceLost):
            self.state = "lost"
            return
        self.state = "running"
        at_s, last = self.samples / SAMPLE_RATE, self.missing[-1] if self.missing else None
        joined = (change.reason == DROPPED and last is not None and last.reason == DROPPED
                  and self._last_drop_s is not None
                  and at_s - self._last_drop_s <= DROPS_JOINED_S)  # behind for a while
        self._last_drop_s = at_s if change.reason == DROPPED else None
        if joined and last is not None:
            self.missing[-1] = replace(last, missing_s=last.missing_s + change.missing_s)
            return
        self.missing.append(MissingAudio(at_s, change.missing_s, "audio", change.reason))

    def journal(self, events: list[Event], audio: np.ndarray | None = None) -> None:
        """Segments, audio and progress into the store's journal (none: the final call)."""
        assert self.recorder is not None
        for event in events:
            if isinstance(event, Segment):
                self.recorder.segment(event)
        self.recorder.audio(np.zeros((len(self.layout.speakers), 0), np.float32)
                            if audio is None else audio)
        recount = self.pipeline.recount
        if recount is not None and recount is not self._journaled_recount:
            self._journaled_recount = recount
            self.recorder.recount(recount.to_s, list(recount.segments))
        self.recorder.progress(self.pipeline.processed_s, self.pipeline.open_segments_s())

    def queue_utterances(self, events: list[Event], arrival: float, final: bool = False
                         ) -> None:
        """Hand each finished utterance (audio still in the ring) to the ASR worker."""
        assert self.asr is not None
        now_s = self.pipeline.processed_s
        spans = [s for e in events if isinstance(e, Segment) for s in self._utterances.add(e)]
        spans += self._utterances.finish() if final else self._utterances.advance(now_s)
        for span in spans:
            audio = self._ring.slice(self.layout.speakers.index(span.speaker),
                                     span.start_s, span.end_s)
            if audio is not None:
                # When its last sample arrived: now, less the audio processed since then.
                self.asr.submit(span, audio, arrival - max(0.0, now_s - span.end_s))

    def add_transcript(self, transcript: Transcript) -> None:
        self.transcripts.append(transcript)
        if self.recorder is not None:
            self.recorder.transcript(transcript)

    def language(self, metrics: SessionMetrics) -> LanguageSummary | None:
        if self.asr is None or not self.transcripts:
            return None
        return summarize(self.transcripts, metrics.talk_time_s)

    def close_prosody(self, events: list[Event]) -> None:
        assert self.prosody is not None
        self.prosody_result = self.prosody.close(events)

    def save(self, metrics: SessionMetrics) -> None:
        """Into the store (the journal's final result) and, if asked, session.json files."""
        if self.state != "lost":
            self.state = "ended"
        result = self.result(metrics)
        record = self.record()
        if self.recorder is not None:
            self.recorder.close(session_dict(result))
        if self.out_dir is not None:
            self.saved_to, _ = write_outputs(result, self.out_dir, record=record,
                                             keep_transcript=self.keep_transcript)
        elif self.recorder is not None and self.recorder.error:
            self.saved_to = save_elsewhere(result, record,
                                           keep_transcript=self.keep_transcript)

    def record(self) -> SessionRecord:
        """session.json's ``session``: the store's record, or without a store when the
        session started (so that a report of its --out file has its date)."""
        if self.recorder is not None:
            return session_record(self.recorder.new, "complete")
        return {"kind": "live", "started_at": self.started_at, "state": "complete"}

    def result(self, metrics: SessionMetrics) -> SessionResult:
        duration_s = self.samples / SAMPLE_RATE
        description = self.source.description
        info = AudioInfo(description, self.layout.input_channels, SAMPLE_RATE, duration_s,
                         "live")
        return session_result(
            info=info, layout=self.layout, config=self.pipeline.config, metrics=metrics,
            history=self.pipeline.history, duration_s=duration_s,
            notes=(f"live session from {description}",
                   *([] if self.check is None else self.check.notes)),
            transcript=self.transcripts,
            prosody=self.prosody_result, missing_audio=self._all_missing(),
            attribution=self.pipeline.attribution, single_mic=self.single_mic)

    def _all_missing(self) -> list[MissingAudio]:
        """Audio the session never had (microphone), or a worker lost (ASR, prosody)."""
        out = list(self.missing)
        if self.asr is not None:
            out += self.asr.missing
        if self.prosody_result is not None:
            out += [MissingAudio(a, b - a, "prosody", "the prosody worker fell behind or "
                                 "failed") for a, b in self.prosody_result.gaps_s]
        return out

    def store_status(self) -> dict[str, Any]:
        if self.recorder is None:
            return {"session_id": None, "error": None}
        return {"session_id": self.recorder.session_id, "error": self.recorder.error}

    def asr_status(self) -> dict[str, Any]:
        return {"enabled": False} if self.asr is None else self.asr.status()

    def prosody_status(self) -> dict[str, Any]:
        return {"enabled": False} if self.prosody is None else self.prosody.status()


class AudioRing:
    """The last ``seconds`` of each speaker's channel, for cutting out utterances.

    A circular buffer: appending a block writes it in place (no copy of the whole buffer).
    """

    def __init__(self, channels: int, seconds: float) -> None:
        self._size = int(seconds * SAMPLE_RATE)
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
        lo, hi = int(start_s * SAMPLE_RATE), min(int(end_s * SAMPLE_RATE), self._end)
        if lo < self._end - self._size or hi <= lo:
            return None
        return np.take(self._buf[channel], np.arange(lo, hi) % self._size)


def _labelling(on_transcript: Callable[[Transcript], None]) -> Callable[[Transcript], None]:
    """``on_transcript`` with the therapist's behaviour labelled first, on the ASR worker's
    thread (one utterance at a time, in the order they ended: the labeller's context)."""
    from live_attune.language.labeller import DialogueLabeller, labelled

    labeller = DialogueLabeller()
    return lambda t: on_transcript(labelled(t, labeller))
