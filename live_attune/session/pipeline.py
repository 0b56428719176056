"""One pipeline interface for live and offline: audio blocks → VAD → attribution → engine.

Only the source differs between ``live`` and ``analyze``; both push ``(channels, n)`` float32
blocks at 16 kHz into ``Pipeline.process``. Two implementations sit behind the one protocol,
built by one factory (``make_pipeline``): ``ChannelPipeline`` (one microphone per person, or
one microphone scored for speech activity only) and ``single_mic.SingleMicPipeline`` (one
shared microphone, its speakers told apart by voice).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from live_attune.audio.vad import WINDOW, SileroVad, power_db, window_power
from live_attune.core import ActivityFrame, ConversationEngine, SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Event
from live_attune.session.config import MODE_SINGLE, Layout, PipelineConfig, SingleMicOptions
from live_attune.session.engine_views import EngineViews, Recount
from live_attune.session.single_mic import SingleMicPipeline
from live_attune.speakers.channels import CrosstalkGate, make_edges
from live_attune.speakers.crosstalk import BANDS, band_power
from live_attune.speakers.single import AttributedSpan


class Pipeline(Protocol):
    """What every caller may use of a session's pipeline (style item 13)."""

    @property
    def layout(self) -> Layout: ...

    @property
    def config(self) -> PipelineConfig: ...

    @property
    def frames(self) -> int:
        """32 ms frames given to the engine so far."""

    @property
    def last_levels_db(self) -> np.ndarray:
        """(speakers,) level of each speaker's channel over the newest 32 ms window."""

    @property
    def history(self) -> SessionHistory:
        """The session's events so far (after ``finish``: the final ones)."""

    @property
    def processed_s(self) -> float:
        """Audio the engine has measured (seconds)."""

    @property
    def attribution(self) -> tuple[AttributedSpan, ...]:
        """One microphone: who spoke when, by voice, with confidence (after ``finish``)."""

    @property
    def recount(self) -> Recount | None:
        """One microphone, live: the newest recount of the voices so far (else None)."""

    def open_segments_s(self) -> dict[str, float]:
        """The onset of each speaker's speech still going on."""

    def process(self, block: np.ndarray) -> list[Event]:
        """Take a ``(input_channels, n)`` block; return the events it made final."""

    def snapshot(self) -> SessionMetrics: ...

    def finish(self) -> tuple[SessionMetrics, list[Event]]:
        """Close the session: the final measures, and the events its end made final."""


def make_pipeline(layout: Layout, config: PipelineConfig | None = None, *,
                  single_mic: SingleMicOptions | None = None,
                  sample_rate: int = SAMPLE_RATE) -> Pipeline:
    """The pipeline for ``layout``: per-channel, or voice attribution on one microphone."""
    if layout.mode == MODE_SINGLE:
        return SingleMicPipeline(layout, config, options=single_mic)
    return ChannelPipeline(layout, config, sample_rate=sample_rate)


class ChannelPipeline(EngineViews):
    """Per-channel VAD, crosstalk rejection, engine; feed blocks in order, then ``finish``."""

    def __init__(self, layout: Layout, config: PipelineConfig | None = None,
                 *, sample_rate: int = SAMPLE_RATE) -> None:
        self.layout = layout
        self.config = config or PipelineConfig()
        self.sample_rate = sample_rate
        self._engine = ConversationEngine(layout.speakers, sample_rate=sample_rate,
                                          config=self.config.metrics)
        self._vads = [SileroVad(self.config.vad) for _ in layout.channel_indices]
        self._gate = CrosstalkGate(len(layout.channel_indices), self.config.crosstalk)
        self._edges = make_edges(len(layout.channel_indices), self.config.crosstalk)
        self._bands = np.zeros((len(layout.channel_indices), 0, BANDS))  # awaiting flags
        self._rest = np.zeros((len(layout.channel_indices), 0), np.float32)
        self.frames = 0
        self.last_levels_db = np.full(len(layout.channel_indices), -120.0, np.float32)
        self.attribution: tuple[AttributedSpan, ...] = ()  # channels say who speaks

    def process(self, block: np.ndarray) -> list[Event]:
        """Take a ``(input_channels, n)`` block; return the events it made final."""
        if block.ndim != 2 or block.shape[0] != self.layout.input_channels:
            raise ValueError(f"expected ({self.layout.input_channels}, n) audio, got {block.shape}")
        audio = block[list(self.layout.channel_indices)]
        flags = np.stack([vad.flags(ch) for vad, ch in zip(self._vads, audio, strict=True)])
        joined = np.concatenate([self._rest, audio], axis=1)
        k = joined.shape[1] // WINDOW
        power = window_power(joined[:, : k * WINDOW])
        bands = band_power(joined[:, : k * WINDOW])
        self._rest = joined[:, k * WINDOW:]
        self._edges.hear(audio, self._gate.delay)
        if k:
            self.last_levels_db = power_db(power[:, -1])
        self._engine.feed(self._frames(self._gated(flags, bands)))
        return self._engine.events_received()

    def finish(self) -> tuple[SessionMetrics, list[Event]]:
        """Close the session; the trailing partial window (< 32 ms) is not scored."""
        owed = np.stack([vad.flush() for vad in self._vads])
        decided = self._gated(owed, np.zeros((len(self._vads), 0, BANDS)))
        rest = np.concatenate([decided, self._gate.flush()], axis=1)
        self._engine.feed(self._frames(rest, last=True))
        metrics = self._engine.finish()
        return metrics, self._engine.events_received()

    def _gated(self, flags: np.ndarray, bands: np.ndarray) -> np.ndarray:
        """Pair VAD flags (which lag by the VAD's shift) with their windows' band power."""
        self._bands = np.concatenate([self._bands, bands], axis=1)
        k = flags.shape[1]
        paired, self._bands = self._bands[:, :k], self._bands[:, k:]
        return self._gate.push(flags, paired)

    def _frames(self, active: np.ndarray, *, last: bool = False) -> list[ActivityFrame]:
        out = self._edges.push(active) + (self._edges.flush() if last else [])
        self.frames = self._edges.next_sample // WINDOW
        return out
