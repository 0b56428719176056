"""Offline analysis: a file through the same pipeline the live session uses, and the
steps after it (one microphone by voice, transcription)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from live_attune.audio.decode import iter_blocks, probe, read_all
from live_attune.core import SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import ConversationEngine, replay_segments
from live_attune.core.events import Segment, Turn
from live_attune.errors import AudioInputError
from live_attune.prosody import ProsodyResult, ProsodyTracker
from live_attune.session.config import (
    MODE_ACTIVITY,
    MODE_SINGLE,
    Layout,
    PipelineConfig,
    SingleMicOptions,
    layout_for,
    swap_role,
)
from live_attune.session.pipeline import make_pipeline
from live_attune.session.result import SessionResult, session_result
from live_attune.session.single_mic import voice_print_of
from live_attune.speakers.channels import SHARED, ChannelMap
from live_attune.speakers.single import (
    FRAME_S,
    SingleMicConfig,
    attribute,
    attributed_spans,
    role_segments,
)

Progress = Callable[[float, SessionMetrics], None]  # seconds of audio done, live measures


def analyze_file(path: str | Path, *, channel_map: ChannelMap | None = None,
                 config: PipelineConfig | None = None, progress: Progress | None = None,
                 prosody: bool = True, single_mic: SingleMicOptions | None = None
                 ) -> SessionResult:
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
             prosody: bool, keep: list[np.ndarray] | None = None) -> SessionResult:
    """The pipeline over the file's blocks; ``keep`` collects the decoded blocks."""
    info = probe(path)
    layout = layout_for(info.channels, channel_map, str(path))
    pipeline = make_pipeline(layout, config, sample_rate=SAMPLE_RATE)
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
    if not pipeline.history.segments:
        notes.append("no speech detected")
    return session_result(info=info, layout=layout, config=pipeline.config, metrics=metrics,
                          history=pipeline.history, duration_s=samples / SAMPLE_RATE,
                          notes=notes, prosody=None if tracker is None else tracker.finish())


def attribute_by_voice(result: SessionResult, options: SingleMicOptions, *,
                       prosody: bool = True, audio: np.ndarray | None = None
                       ) -> SessionResult:
    """Re-score a mono (activity-only) analysis with speakers told apart by voice;
    ``audio``: the file's samples when the caller has them already (else decoded again)."""
    if audio is None:
        audio = read_all(result.info.path)[0]
    frames = int(result.metrics.at_s / FRAME_S)
    speech = _speech_mask(result.history.segments, frames)
    vp = voice_print_of(options)
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
    return session_result(info=result.info, layout=layout, config=result.config,
                          metrics=metrics, history=engine.history, duration_s=result.duration_s,
                          notes=notes, transcript=result.transcript, prosody=pros,
                          missing_audio=result.missing_audio, attribution=spans,
                          single_mic=options)


def _speech_mask(segments: list[Segment], frames: int) -> np.ndarray:
    mask = np.zeros(frames, bool)
    for seg in segments:
        mask[round(seg.start_s / FRAME_S):round(seg.end_s / FRAME_S)] = True
    return mask


def _swapped(roles: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(swap_role(r) for r in roles)


def _prosody_of(audio: np.ndarray, roles: tuple[str, ...], engine: ConversationEngine
                ) -> ProsodyResult:
    """Per-turn prosody on the one channel, each speaker's frames gated by their segments."""
    tracker = ProsodyTracker(roles)
    both: list[Segment | Turn] = [*engine.history.segments, *engine.history.turns]
    events = sorted(both, key=lambda e: (e.end_s, isinstance(e, Turn)))
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
    if layout.mode == MODE_ACTIVITY:
        return ["mono input: speech activity only, not attributed to therapist or client "
                "(single-microphone attribution is not used)"]
    return []


def with_transcript(result: SessionResult, model: Path | None) -> SessionResult:
    """The result with its utterances transcribed (the bundled model unless ``model``)."""
    from live_attune.asr.whisper import transcribe_spans
    from live_attune.core.utterances import utterances
    from live_attune.language.labeller import label_transcripts

    channel_of = dict(zip(result.layout.speakers, result.layout.channel_indices, strict=True))
    spans = utterances(result.history.segments)
    lines = label_transcripts(transcribe_spans(result.info.path, spans, channel_of, model))
    return session_result(info=result.info, layout=result.layout, config=result.config,
                          metrics=result.metrics, history=result.history,
                          duration_s=result.duration_s, notes=result.notes, transcript=lines,
                          prosody=result.prosody, missing_audio=result.missing_audio,
                          attribution=result.attribution, single_mic=result.single_mic)
