"""One pipeline for live and offline: audio blocks → VAD → attribution → conversation engine.

Only the source differs between ``live`` and ``analyze``; both push ``(channels, n)`` float32
blocks at 16 kHz into ``Pipeline.process``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from live_attune.audio.vad import WINDOW, SileroVad, VadConfig, power_db, window_power
from live_attune.core import ActivityFrame, ConversationEngine, MetricsConfig, SessionMetrics
from live_attune.core.events import Event
from live_attune.speakers.channels import ChannelMap, CrosstalkConfig, CrosstalkGate

MODE_CHANNELS = "channels"  # one microphone per person
MODE_ACTIVITY = "activity-only"  # one microphone, no attribution: speech activity only
MODE_SINGLE = "single-mic"  # one microphone, speakers told apart by voice (offline)
ACTIVITY_SPEAKER = "speech"


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """Everything the pipeline needs besides the audio."""

    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    crosstalk: CrosstalkConfig = field(default_factory=CrosstalkConfig)


@dataclass(frozen=True, slots=True)
class Layout:
    """How input channels become speakers."""

    mode: str
    speakers: tuple[str, ...]
    channel_indices: tuple[int, ...]  # input channel of each speaker
    input_channels: int


def layout_for(channels: int, channel_map: ChannelMap | None, source: str) -> Layout:
    """Choose the analysis mode for ``channels`` inputs and an optional role map."""
    from live_attune.speakers.channels import SHARED, default_map

    if channels == 1 and (channel_map is None or channel_map.roles == (SHARED,)):
        return Layout(MODE_ACTIVITY, (ACTIVITY_SPEAKER,), (0,), 1)
    cmap = channel_map or default_map(channels, source)
    cmap.check(channels, source)
    return Layout(MODE_CHANNELS, cmap.speakers, cmap.channel_indices, channels)


class Pipeline:
    """Stateful per-session pipeline; feed blocks in order, then ``finish``."""

    def __init__(self, layout: Layout, config: PipelineConfig | None = None,
                 *, sample_rate: int = 16_000) -> None:
        self.layout = layout
        self.config = config or PipelineConfig()
        self.sample_rate = sample_rate
        self.engine = ConversationEngine(layout.speakers, sample_rate=sample_rate,
                                         config=self.config.metrics)
        self._vads = [SileroVad(self.config.vad) for _ in layout.channel_indices]
        self._gate = CrosstalkGate(len(layout.channel_indices), self.config.crosstalk)
        self._power = np.zeros((len(layout.channel_indices), 0))  # windows awaiting flags
        self._rest = np.zeros((len(layout.channel_indices), 0), np.float32)
        self._next = 0  # sample index of the next frame
        self.frames = 0
        self.last_levels_db = np.full(len(layout.channel_indices), -120.0, np.float32)

    def process(self, block: np.ndarray) -> list[Event]:
        """Take a ``(input_channels, n)`` block; return the events it made final."""
        if block.ndim != 2 or block.shape[0] != self.layout.input_channels:
            raise ValueError(f"expected ({self.layout.input_channels}, n) audio, got {block.shape}")
        audio = block[list(self.layout.channel_indices)]
        flags = np.stack([vad.flags(ch) for vad, ch in zip(self._vads, audio, strict=True)])
        joined = np.concatenate([self._rest, audio], axis=1)
        k = joined.shape[1] // WINDOW
        power = window_power(joined[:, : k * WINDOW])
        self._rest = joined[:, k * WINDOW:]
        if k:
            self.last_levels_db = power_db(power[:, -1])
        self.engine.feed(self._frames(self._gated(flags, power)))
        return self.engine.events_received()

    def snapshot(self) -> SessionMetrics:
        return self.engine.snapshot()

    def finish(self) -> tuple[SessionMetrics, list[Event]]:
        """Close the session; the trailing partial window (< 32 ms) is not scored."""
        owed = np.stack([vad.flush() for vad in self._vads])
        self._gated(owed, np.zeros((len(self._vads), 0)))
        self.engine.feed(self._frames(self._gate.flush()))
        metrics = self.engine.finish()
        return metrics, self.engine.events_received()

    def _gated(self, flags: np.ndarray, power: np.ndarray) -> np.ndarray:
        """Pair VAD flags (which lag by the VAD's shift) with their windows' power."""
        self._power = np.concatenate([self._power, power], axis=1)
        k = flags.shape[1]
        paired, self._power = self._power[:, :k], self._power[:, k:]
        return self._gate.push(flags, paired)

    def _frames(self, active: np.ndarray) -> list[ActivityFrame]:
        out = []
        for column in active.T.tolist():
            out.append(ActivityFrame(self._next, self._next + WINDOW, tuple(column)))
            self._next += WINDOW
        self.frames += len(out)
        return out


def single_mic_layout(speakers: int = 2) -> Layout:
    """One shared microphone, its speakers told apart by voice (live: speakers/single_live)."""
    roles = ("therapist", "client", *(f"client_{k}" for k in range(2, speakers)))
    return Layout(MODE_SINGLE, roles[:speakers], (0,) * speakers, 1)


def make_pipeline(layout: Layout, config: PipelineConfig | None = None,
                  **single: object) -> Pipeline:
    """The pipeline for ``layout``: per-channel, or voice attribution on one microphone."""
    if layout.mode == MODE_SINGLE:
        from live_attune.speakers.single_live import OnlineAttributor, SingleMicPipeline

        attributor = OnlineAttributor(layout.speakers, **single)  # type: ignore[arg-type]
        return SingleMicPipeline(layout, config, attributor=attributor)  # type: ignore[return-value]
    return Pipeline(layout, config)
