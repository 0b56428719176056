"""What a session produced, live or offline, and the one place it is assembled."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from live_attune.audio.decode import AudioInfo
from live_attune.core import SessionMetrics
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import MissingAudio, Transcript
from live_attune.prosody import ProsodyResult, with_transcript
from live_attune.session.config import Layout, PipelineConfig, SingleMicOptions
from live_attune.speakers.single import AttributedSpan


@dataclass(frozen=True, kw_only=True)
class SessionResult:
    """Everything one session (live, analysed, recovered or re-scored) produced."""

    info: AudioInfo
    layout: Layout
    config: PipelineConfig
    metrics: SessionMetrics
    history: SessionHistory
    duration_s: float
    notes: tuple[str, ...] = field(default=())
    transcript: tuple[Transcript, ...] = field(default=())
    prosody: ProsodyResult | None = None
    missing_audio: tuple[MissingAudio, ...] = field(default=())
    attribution: tuple[AttributedSpan, ...] = field(default=())  # one microphone: by voice
    single_mic: SingleMicOptions | None = None  # the options it was made with, if by voice
    # one microphone, recovered: only the live decisions (one voice a moment), no revision
    live_decisions_only: bool = False


def session_result(*, info: AudioInfo, layout: Layout, config: PipelineConfig,
                   metrics: SessionMetrics, history: SessionHistory, duration_s: float,
                   notes: Iterable[str] = (), transcript: Iterable[Transcript] = (),
                   prosody: ProsodyResult | None = None,
                   missing_audio: Iterable[MissingAudio] = (),
                   attribution: Iterable[AttributedSpan] = (),
                   single_mic: SingleMicOptions | None = None,
                   live_decisions_only: bool = False) -> SessionResult:
    """The result, in order: transcripts by start, missing audio by time, each prosody
    turn's words per minute from the transcript."""
    lines = tuple(sorted(transcript, key=lambda t: t.start_s))
    return SessionResult(
        info=info, layout=layout, config=config, metrics=metrics, history=history,
        duration_s=duration_s, notes=tuple(notes), transcript=lines,
        prosody=None if prosody is None else with_transcript(prosody, lines),
        missing_audio=tuple(sorted(missing_audio, key=lambda m: m.at_s)),
        attribution=tuple(attribution), single_mic=single_mic,
        live_decisions_only=live_decisions_only)
