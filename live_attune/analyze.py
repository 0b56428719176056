"""Offline analysis: a file through the same pipeline the live session uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from live_attune.audio.decode import SAMPLE_RATE, AudioInfo, iter_blocks, probe
from live_attune.core import SessionMetrics
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import MissingAudio, Transcript
from live_attune.errors import AudioInputError
from live_attune.pipeline import Layout, Pipeline, PipelineConfig, layout_for
from live_attune.prosody import ProsodyResult, ProsodyTracker
from live_attune.speakers.channels import ChannelMap

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


def analyze_file(path: str | Path, *, channel_map: ChannelMap | None = None,
                 config: PipelineConfig | None = None, progress: Progress | None = None,
                 prosody: bool = True) -> AnalysisResult:
    """Run ``path`` through the pipeline as fast as possible (live replay: audio/replay.py).

    With ``prosody`` the per-turn prosody tracker runs on the same blocks.
    """
    info = probe(path)
    layout = layout_for(info.channels, channel_map, str(path))
    pipeline = Pipeline(layout, config, sample_rate=SAMPLE_RATE)
    tracker = ProsodyTracker(layout.speakers) if prosody else None
    notes = _mode_notes(layout)
    samples, error = 0, None
    try:
        for block in iter_blocks(path):
            events = pipeline.process(block)
            if tracker is not None:
                tracker.feed(block[list(layout.channel_indices)])
                tracker.events(events)
            samples += block.shape[1]
            if progress is not None:
                progress(samples / SAMPLE_RATE, pipeline.snapshot())
    except AudioInputError as exc:
        if samples == 0:
            raise
        error = exc
    if samples == 0:
        raise AudioInputError(f"{path}: contains no audio samples")
    if error is not None:
        notes.append(f"decoding stopped early ({error}); analysed the first "
                     f"{samples / SAMPLE_RATE:.1f} s")
    metrics, events = pipeline.finish()
    if tracker is not None:
        tracker.events(events)
    if not pipeline.engine.history.segments:
        notes.append("no speech detected")
    return AnalysisResult(info, layout, pipeline.config, metrics, pipeline.engine.history,
                          samples / SAMPLE_RATE, tuple(notes),
                          prosody=None if tracker is None else tracker.finish())


def _mode_notes(layout: Layout) -> list[str]:
    if layout.mode == "activity-only":
        return ["mono input: speech activity only, not attributed to therapist or client "
                "(single-microphone attribution is not used)"]
    return []
