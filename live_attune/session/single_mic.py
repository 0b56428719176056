"""One shared microphone, its speakers told apart by voice: the live pipeline (decisions
within 2 s from speakers/single_live.OnlineAttributor, revised when the session ends) and
the offline re-scoring of a whole file (speakers/single.attribute). Both take the one
``SingleMicOptions`` record.
"""

from __future__ import annotations

import numpy as np

from live_attune.audio.vad import WINDOW, SileroVad, power_db, window_power
from live_attune.core import ActivityFrame, ConversationEngine, SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import replay_segments
from live_attune.core.events import Event
from live_attune.session.config import Layout, PipelineConfig, SingleMicOptions
from live_attune.session.engine_views import EngineViews
from live_attune.speakers.single import FRAME_S, AttributedSpan, attributed_spans, role_segments
from live_attune.speakers.single_live import OnlineAttributor
from live_attune.speakers.voiceprint import VoicePrint
from live_attune.speakers.voiceprint import load as load_voice_print


def voice_print_of(options: SingleMicOptions | None) -> VoicePrint | None:
    """The enrolled voice print the options name, read once; None without one."""
    if options is None or options.voice_print is None:
        return None
    return load_voice_print(options.voice_print)


class SingleMicPipeline(EngineViews):
    """The live pipeline for one shared microphone (implements session.pipeline.Pipeline).

    The layout fixes the speakers; ``options.voice_print`` picks the therapist. Swapping
    roles is for afterwards (``sessions swap-roles``): ``options.swap_roles`` is offline's.
    """

    def __init__(self, layout: Layout, config: PipelineConfig | None = None, *,
                 options: SingleMicOptions | None = None,
                 attributor: OnlineAttributor | None = None) -> None:
        self.layout = layout
        self.config = config or PipelineConfig()
        roles = layout.speakers
        if attributor is None:
            vp = voice_print_of(options)
            attributor = OnlineAttributor(roles, voice_mean=None if vp is None else vp.mean,
                                          voice_cov=None if vp is None else vp.cov)
        self._attributor = attributor
        self._engine = ConversationEngine(roles, sample_rate=SAMPLE_RATE,
                                          config=self.config.metrics)
        self._vad = SileroVad(self.config.vad)
        self._flags = np.zeros(4096, bool)  # the VAD's flags so far: _flags[:_n]
        self._n = 0
        self._emitted = 0  # frames handed to the engine
        self._rest = np.zeros(0, np.float32)
        self.frames = 0
        self.last_levels_db = np.full(len(roles), -120.0, np.float32)  # one mic, per role
        self.attribution: tuple[AttributedSpan, ...] = ()  # the revised decisions, at the end

    def process(self, block: np.ndarray) -> list[Event]:
        audio = block[0]
        self._add_flags(self._vad.flags(audio))
        joined = np.concatenate([self._rest, audio])
        k = len(joined) // WINDOW
        if k:
            level = power_db(window_power(joined[None, : k * WINDOW])[:, -1])
            self.last_levels_db = np.repeat(level, len(self._engine.speakers))
        self._rest = joined[k * WINDOW:]
        speech = self._flags[: self._n]  # a view: nothing copied per block
        self._attributor.feed(audio, speech)
        self._emit(min(len(speech), int(self._attributor.decided_until_s() / FRAME_S)))
        return self._engine.events_received()

    def finish(self) -> tuple[SessionMetrics, list[Event]]:
        """Close the live engine, then replace it by the revised decisions' replay."""
        self._add_flags(self._vad.flush())
        self._emit(self._n)
        self._engine.finish()
        live_events = self._engine.events_received()
        speech = self._flags[: self._n].copy()
        labels, second, confidence = self._attributor.revised(speech)
        roles = self._engine.speakers
        self.attribution = tuple(attributed_spans(labels, confidence, roles))
        self._engine = replay_segments(roles, role_segments(labels, second, roles),
                                       end_s=len(speech) * FRAME_S, sample_rate=SAMPLE_RATE,
                                       config=self.config.metrics)
        return self._engine.finish(), live_events

    def _add_flags(self, flags: np.ndarray) -> None:
        """Append VAD flags, growing the buffer by doubling (no per-block copy of all)."""
        need = self._n + len(flags)
        if need > len(self._flags):
            self._flags = np.concatenate([self._flags, np.zeros(max(need, 2 * len(self._flags))
                                                               - len(self._flags), bool)])
        self._flags[self._n:need] = np.asarray(flags, bool)
        self._n = need

    def _emit(self, upto: int) -> None:
        frames = []
        n = len(self._engine.speakers)
        for i in range(self._emitted, upto):
            flags = [False] * n
            if self._flags[i]:
                flags[self._attributor.label_at((i + 0.5) * FRAME_S)] = True
            frames.append(ActivityFrame(i * WINDOW, (i + 1) * WINDOW, tuple(flags)))
        self._emitted = max(self._emitted, upto)
        self.frames += len(frames)
        if frames:
            self._engine.feed(frames)

