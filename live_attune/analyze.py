"""Offline analysis: a file through the same pipeline the live session uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from live_attune.audio.decode import SAMPLE_RATE, AudioInfo, iter_blocks, probe, read_all
from live_attune.core import SessionMetrics
from live_attune.core.conversation import ConversationEngine, SessionHistory
from live_attune.core.events import MissingAudio, Segment, Transcript, Turn
from live_attune.errors import AudioInputError
from live_attune.pipeline import (
    MODE_ACTIVITY,
    MODE_SINGLE,
    Layout,
    Pipeline,
    PipelineConfig,
    layout_for,
)
from live_attune.prosody import ProsodyResult, ProsodyTracker
from live_attune.speakers.channels import SHARED, ChannelMap
from live_attune.speakers.single import (
    FRAME_S,
    AttributedSpan,
    attributed_spans,
    role_segments,
)

Progress = Callable[[float, SessionMetrics], None]  # seconds of audio done, live measures


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything one analysis produced."""

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


def analyze_file(path: str | Path, *, channel_map: ChannelMap | None = None,
                 config: PipelineConfig | None = None, progress: Progress | None = None,
                 prosody: bool = True, single_mic: SingleMicOptions | None = None
                 ) -> AnalysisResult:
    """Run ``path`` through the pipeline as fast as possible (live replay: audio/replay.py).

    With ``prosody`` the per-turn prosody tracker runs on the same blocks. A mono file with
    ``single_mic`` options is then attributed to speakers by voice (speakers/single.py).
    """
    if channel_map is not None and channel_map.roles == (SHARED,):
        channel_map = None  # a profile's one shared microphone: the same as no map
    by_voice = single_mic is not None and channel_map is None and probe(path).channels == 1
    kept: list[np.ndarray] | None = [] if by_voice else None  # decoded once, used twice
    result = _analyze(path, channel_map=channel_map, config=config, progress=progress,
                      prosody=prosody and not by_voice,  # by voice: measured after attribution
                      keep=kept)
    if single_mic is None or result.layout.mode != MODE_ACTIVITY:
        return result
    audio = np.concatenate(kept, axis=1)[0] if kept else None
    return attribute_by_voice(result, single_mic, prosody=prosody, audio=audio)


def _analyze(path: str | Path, *, channel_map: ChannelMap | None,
             config: PipelineConfig | None, progress: Progress | None,
             prosody: bool, keep: list[np.ndarray] | None = None) -> AnalysisResult:
    """The pipeline over the file's blocks; ``keep`` collects the decoded blocks."""
    info = probe(path)
    layout = layout_for(info.channels, channel_map, str(path))
    pipeline = Pipeline(layout, config, sample_rate=SAMPLE_RATE)
    tracker = ProsodyTracker(layout.speakers) if prosody else None
    notes = _mode_notes(layout)
    samples = 0
    # the decoder adds its notes (a cut file, NaN/Inf set to silence) when the file is done
    for block in iter_blocks(path, notes=notes):
        if keep is not None:
            keep.append(block)
        events = pipeline.process(block)
        if tracker is not None:
            tracker.feed(block[list(layout.channel_indices)])
            tracker.events(events)
        samples += block.shape[1]
        if progress is not None:
            progress(samples / SAMPLE_RATE, pipeline.snapshot())
    if samples == 0:
        raise AudioInputError(f"{path}: contains no audio samples")
    metrics, events = pipeline.finish()
    if tracker is not None:
        tracker.events(events)
    if not pipeline.engine.history.segments:
        notes.append("no speech detected")
    return AnalysisResult(info, layout, pipeline.config, metrics, pipeline.engine.history,
                          samples / SAMPLE_RATE, tuple(notes),
                          prosody=None if tracker is None else tracker.finish())


@dataclass(frozen=True, kw_only=True)
class SingleMicOptions:
    """How to tell voices apart on one microphone (issue 3)."""

    speakers: int | None = None  # None: estimated (2..3)
    voice_print: Path | None = None  # the therapist's enrolment (calibrate --enrol)
    swap_roles: bool = False  # the heuristic picked the wrong person as the therapist


def attribute_by_voice(result: AnalysisResult, options: SingleMicOptions, *,
                       prosody: bool = True, audio: np.ndarray | None = None
                       ) -> AnalysisResult:
    """Re-score a mono (activity-only) analysis with speakers told apart by voice;
    ``audio``: the file's samples when the caller has them already (else decoded again)."""
    from calibration.voice import load as load_voice
    from live_attune.core.conversation import replay_segments
    from live_attune.speakers.single import SingleMicConfig, attribute

    if audio is None:
        audio = read_all(result.info.path)[0]
    frames = int(result.metrics.at_s / FRAME_S)
    speech = _speech_mask(result.history.segments, frames)
    vp = load_voice(options.voice_print) if options.voice_print else None
    att = attribute(audio, speech, voice_mean=None if vp is None else vp.mean,
                    voice_cov=None if vp is None else vp.cov,
                    config=SingleMicConfig(speakers=options.speakers))
    roles = _swapped(att.roles) if options.swap_roles else att.roles
    segments = role_segments(att.labels, att.second, roles)
    engine = replay_segments(roles, segments, end_s=result.metrics.at_s,
                             sample_rate=SAMPLE_RATE, config=result.config.metrics)
    layout = Layout(MODE_SINGLE, roles, (0,) * len(roles), 1)
    heuristic = ("the therapist is the speaker nearest to the enrolled voice print"
                 if vp is not None else "the first person to speak is taken as the therapist")
    notes = [n for n in result.notes if not n.startswith("mono input")] + [
        f"single microphone: {len(roles)} speakers told apart by voice ({att.method}); "
        f"{heuristic}{'; roles swapped on request' if options.swap_roles else ''} "
        "(--swap-roles turns them round)"]
    metrics = engine.finish()
    pros = _prosody_of(audio, roles, engine) if prosody else None
    spans = tuple(attributed_spans(att.labels, att.confidence, att.roles))
    if options.swap_roles:
        spans = tuple(replace(sp, speaker=swap_role(sp.speaker)) for sp in spans)
    return replace(result, layout=layout, metrics=metrics, history=engine.history,
                   notes=tuple(notes), prosody=pros, attribution=spans)


def _speech_mask(segments: list[Segment], frames: int) -> np.ndarray:
    mask = np.zeros(frames, bool)
    for seg in segments:
        mask[round(seg.start_s / FRAME_S):round(seg.end_s / FRAME_S)] = True
    return mask


def swap_role(role: str) -> str:
    """Therapist ↔ client (the two most likely to be confused); other roles stay."""
    return {"therapist": "client", "client": "therapist"}.get(role, role)


def _swapped(roles: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(swap_role(r) for r in roles)


def _prosody_of(audio: np.ndarray, roles: tuple[str, ...], engine: ConversationEngine
                ) -> ProsodyResult:
    """Per-turn prosody on the one channel, each speaker's frames gated by their segments."""
    tracker = ProsodyTracker(roles)
    events = sorted([*engine.history.segments, *engine.history.turns],
                    key=lambda e: (e.end_s, isinstance(e, Turn)))
    step, i = SAMPLE_RATE * 10, 0
    for start in range(0, len(audio), step):
        tracker.feed(np.repeat(audio[None, start:start + step], len(roles), axis=0))
        done = (start + step) / SAMPLE_RATE
        ready = []
        while i < len(events) and events[i].end_s <= done - 1.0:
            ready.append(events[i])
            i += 1
        tracker.events(ready)
    tracker.events(events[i:])
    return tracker.finish()


def _mode_notes(layout: Layout) -> list[str]:
    if layout.mode == "activity-only":
        return ["mono input: speech activity only, not attributed to therapist or client "
                "(single-microphone attribution is not used)"]
    return []
