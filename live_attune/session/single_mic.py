"""One shared microphone, its speakers told apart by voice: one pipeline, live and offline.

The order of steps is the same for both (issue 16): VAD flags per 32 ms, then attribution as
the audio comes (speakers/single_live: the encoder's windows embedded as they complete, each
given to a voice cluster within ~1 s), the engine fed those live decisions; when the input
ends, every frame is decided again from all windows (the offline decision) and the engine is
replaced by a replay of the revised segments. Live, the same decision is also made every
``RECOUNT_EVERY_S`` on the frames so far (``interim``, on a thread of its own, with copies
of the windows: ~7 MB at an hour), and the interruptions and backchannels the dashboard
shows are those of its replay: the live decisions give each moment one voice, so they find
no interruption by construction (hard seeds 41-52: 0 of 100).
Offline (session/offline.py) feeds the same pipeline the file's blocks as fast as it can —
the embedding batches grow with the block — and estimates the number of speakers in the
revision when ``options.speakers`` is None (``offline``); live keeps the layout's. Both
take the one ``SingleMicOptions``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import numpy as np

from live_attune.audio.vad import WINDOW, Hysteresis, SileroVad, power_db, window_power
from live_attune.core import ActivityFrame, ConversationEngine, SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.config import MetricsConfig
from live_attune.core.conversation import SessionHistory, replay_segments
from live_attune.core.events import Event
from live_attune.session.config import (
    MODE_SINGLE,
    Layout,
    PipelineConfig,
    SingleMicOptions,
    swap_role,
)
from live_attune.session.engine_views import EngineViews, Recount
from live_attune.speakers.overlap import rate_interruptions
from live_attune.speakers.single import (
    FRAME_S,
    AttributedSpan,
    Attribution,
    SingleMicConfig,
    attributed_spans,
    role_segments,
)
from live_attune.speakers.single_live import OnlineAttributor, make_attributor
from live_attune.speakers.voiceprint import VoicePrint
from live_attune.speakers.voiceprint import load as load_voice_print

log = logging.getLogger("live_attune.session")

RECOUNT_EVERY_S = 30.0  # live: the interruptions and backchannels decided again this often


def voice_print_of(options: SingleMicOptions | None) -> VoicePrint | None:
    """The enrolled voice print the options name, read once; None without one."""
    if options is None or options.voice_print is None:
        return None
    return load_voice_print(options.voice_print)


def rate_interruptions_of(history: SessionHistory, config: MetricsConfig,
                          attribution: Sequence[AttributedSpan] | None = None) -> None:
    """A one-microphone session's interruptions given their confidence (how likely each is
    a true one: its bout, the overlap after its onset and, with the revised
    ``attribution``, the second voice heard there), in place: the history's list is what
    session.json reads. The same wherever such a history is made: the revision, ``sessions
    swap-roles`` (from the stored attribution), a recovered live session (no attribution
    kept: the bout and the overlap, which is none, live decisions giving each frame one
    voice)."""
    history.interruptions[:] = rate_interruptions(history.interruptions, history.segments,
                                                  config, attribution)


class SingleMicPipeline(EngineViews):
    """The live pipeline for one shared microphone (implements session.pipeline.Pipeline).

    The layout fixes the live speakers; ``options.voice_print`` picks the therapist.
    ``offline`` (a whole file as fast as it decodes): the encoder's windows are embedded in
    batches, and with ``options.speakers`` None the revision estimates how many speakers
    there are and ``layout`` follows it. ``options.swap_roles`` turns the revised roles
    round (offline's ``--swap-roles``; after a live session: ``sessions swap-roles``).
    """

    def __init__(self, layout: Layout, config: PipelineConfig | None = None, *,
                 options: SingleMicOptions | None = None,
                 attributor: OnlineAttributor | None = None,
                 offline: bool = False) -> None:
        self.layout = layout
        self.config = config or PipelineConfig()
        self.options = options or SingleMicOptions()
        roles = layout.speakers
        self._estimate = offline and self.options.speakers is None
        if attributor is None:
            revise = None if self._estimate else (self.options.speakers or len(roles))
            attributor = make_attributor(roles, SingleMicConfig(
                voices=self.options.voices, speakers=revise), voice=voice_print_of(options),
                offline=offline)
        self._attributor = attributor
        self.method = ""  # how the revised attribution told the voices apart
        self._engine = ConversationEngine(roles, sample_rate=SAMPLE_RATE,
                                          config=self.config.metrics)
        # Two readings of the one Silero VAD's probabilities (one model run per block): the
        # voice windows' (PipelineConfig.vad: only clear speech describes a voice) and the
        # speech counted (options.speech_on/off: a far microphone's quiet speech and short
        # pauses inside a turn; every such frame is given to a voice by the windows around it)
        self._vad = SileroVad(self.config.vad)
        self._voiced_reader = Hysteresis(self.config.vad)
        heard = self.options.speech_vad(self.config.vad)
        self._heard_reader = None if heard == self.config.vad else Hysteresis(heard)
        self._voiced = _Flags()  # the windows' flags so far
        self._heard = _Flags()  # the counted speech's flags so far (the same when one VAD)
        self._emitted = 0  # frames handed to the engine
        self._rest = np.zeros(0, np.float32)
        self.frames = 0
        self.last_levels_db = np.full(len(roles), -120.0, np.float32)  # one mic, per role
        self.attribution: tuple[AttributedSpan, ...] = ()  # the revised decisions, at the end
        # live: the counts of the voices decided again on the frames so far (_start_recount)
        self._recount_every_s = None if offline else RECOUNT_EVERY_S
        self._recounted_at_s = 0.0
        self._recounter: ThreadPoolExecutor | None = None  # made at the first recount
        self._recount_job: Future[Recount] | None = None
        self.recount: Recount | None = None
        self.recount_failures = 0  # recounts that raised (the last counts stay shown)
        self._revised = False

    @property
    def decided_s(self) -> float:
        """Speech up to here has its live decision (handed to the engine)."""
        return self._emitted * FRAME_S

    @property
    def heard(self) -> np.ndarray:
        """The speech counted so far, one flag per 32 ms frame, whoever spoke (a view:
        valid until the next block)."""
        return self._heard.view()

    def process(self, block: np.ndarray) -> list[Event]:
        audio = block[0]
        probs = self._vad.probabilities(audio)
        voiced = self._voiced_reader.push(probs)
        self._voiced.add(voiced)
        self._heard.add(voiced if self._heard_reader is None else self._heard_reader.push(probs))
        joined = np.concatenate([self._rest, audio])
        k = len(joined) // WINDOW
        if k:
            level = power_db(window_power(joined[None, : k * WINDOW])[:, -1])
            self.last_levels_db = np.repeat(level, len(self._engine.speakers))
        self._rest = joined[k * WINDOW:]
        self._attributor.feed(audio, self._voiced.view())
        self._emit(min(self._heard.n, int(self._attributor.decided_until_s() / FRAME_S)))
        if self._recount_every_s is not None:
            self._take_recount()
            if (self._recount_job is None
                    and self.decided_s - self._recounted_at_s >= self._recount_every_s):
                self._start_recount()
        return self._engine.events_received()

    def snapshot(self) -> SessionMetrics:
        """The live measures; while a live session runs, its interruptions and backchannels
        are those of the newest recount (none before the first: ``counted_to_s`` 0.0)."""
        metrics = self._engine.snapshot()
        if self._recount_every_s is None or self._revised:
            return metrics
        if self.recount is None:
            return with_counts(metrics, None, 0.0)
        return with_counts(metrics, self.recount.metrics, self.recount.to_s)

    def finish(self) -> tuple[SessionMetrics, list[Event]]:
        """Close the live engine, then replace it by the revised decisions' replay."""
        voiced = self._voiced_reader.flush()
        self._voiced.add(voiced)
        self._heard.add(voiced if self._heard_reader is None else self._heard_reader.flush())
        self._emit(self._heard.n)
        if self._recounter is not None:  # a recount under way is not wanted any more
            self._recounter.shutdown(wait=True, cancel_futures=True)
        self._engine.finish()
        live_events = self._engine.events_received()
        speech = self._heard.view().copy()
        att = self._canonical(self._attributor.revised(self._voiced.view().copy(),
                                                       heard=speech))
        roles = self._revised_roles(att)
        self._revised = True
        self.method = att.method
        self.layout = Layout(MODE_SINGLE, roles, (0,) * len(roles), 1)
        self.attribution = tuple(attributed_spans(att.labels, att.confidence, roles,
                                                  att.second, att.second_confidence))
        self._engine = replay_segments(roles, role_segments(att.labels, att.second, roles),
                                       end_s=len(speech) * FRAME_S, sample_rate=SAMPLE_RATE,
                                       config=self.config.metrics)
        metrics = self._engine.finish()
        rate_interruptions_of(self._engine.history, self.config.metrics, self.attribution)
        return metrics, live_events

    def _start_recount(self) -> None:
        """Decide the frames so far again, as the revision will, on the recount thread (the
        pipeline goes on meanwhile, sharing the interpreter's lock in its Python parts;
        measured on one core: 0.03 s at 4 minutes, 0.1 s at 20, 0.4-0.5 s at 60: every
        window is clustered again). Nothing yet to tell voices apart: asked again at the
        next block."""
        upto = self._emitted
        decide = self._attributor.interim(self._heard.view()[:upto])
        if decide is None:
            return
        self._recounted_at_s = upto * FRAME_S
        if self._recounter is None:
            self._recounter = ThreadPoolExecutor(1, thread_name_prefix="recount")
        self._recount_job = self._recounter.submit(self._recounted, decide, upto * FRAME_S)

    def _recounted(self, decide: Callable[[], Attribution], to_s: float) -> Recount:
        """The recount (on its thread): the decision's segments replayed up to ``to_s`` with
        the speech there going on, so that only events already final there are counted (an
        onset whose bout is still open waits for the next recount)."""
        att = self._canonical(decide())
        roles = self._revised_roles(att)
        segments = role_segments(att.labels, att.second, roles)
        engine = replay_segments(roles, segments, end_s=to_s, sample_rate=SAMPLE_RATE,
                                 config=self.config.metrics, finished=False)
        return Recount(to_s, tuple(segments), engine.snapshot(), engine.history)

    def _take_recount(self) -> None:
        """The finished recount, if one is: its counts are shown from now on. One that
        failed leaves the last counts shown and is logged."""
        job = self._recount_job
        if job is None or not job.done():
            return
        self._recount_job = None
        try:
            self.recount = job.result()
        except Exception as exc:  # numpy/BLAS errors vary; the session must go on
            self.recount_failures += 1
            log.warning("a live recount of the voices failed: %s", exc, exc_info=True)

    def _revised_roles(self, att: Attribution) -> tuple[str, ...]:
        """The revised attribution's roles, turned round with ``options.swap_roles``."""
        if self.options.swap_roles:
            return tuple(swap_role(r) for r in att.roles)
        return att.roles

    def _canonical(self, att: Attribution) -> Attribution:
        """The same attribution with its roles in the layout's order (therapist first), all of
        them unless the number of speakers was estimated: a session's speakers read as it
        began, even when someone never spoke."""
        order = [r for r in self.layout.speakers if r in att.roles or not self._estimate]
        order += [r for r in att.roles if r not in order]
        index = np.array([order.index(r) for r in att.roles] + [-1])  # -1 stays -1
        return Attribution(index[att.labels], index[att.second], tuple(order), att.confidence,
                           att.method, att.second_confidence)

    def _emit(self, upto: int) -> None:
        frames = []
        n = len(self._engine.speakers)
        heard = self._heard.view()
        for i in range(self._emitted, upto):
            flags = [False] * n
            if heard[i]:
                flags[self._attributor.label_at((i + 0.5) * FRAME_S)] = True
            frames.append(ActivityFrame(i * WINDOW, (i + 1) * WINDOW, tuple(flags)))
        self._emitted = max(self._emitted, upto)
        self.frames += len(frames)
        if frames:
            self._engine.feed(frames)



def with_counts(live: SessionMetrics, counts: SessionMetrics | None, to_s: float
                ) -> SessionMetrics:
    """The live measures with the interruptions and backchannels of a recount up to
    ``to_s`` (``counts`` None: none yet, each count 0), per live speaker."""
    def by(field: str) -> dict[str, Any]:
        got = {} if counts is None else getattr(counts, field)
        return {s: got.get(s, None if field.endswith("hour_by") else 0) for s in live.speakers}

    return replace(live, interruptions_by=by("interruptions_by"),
                   successful_interruptions_by=by("successful_interruptions_by"),
                   unsuccessful_interruptions_by=by("unsuccessful_interruptions_by"),
                   interruptions_per_hour_by=by("interruptions_per_hour_by"),
                   backchannels_by=by("backchannels_by"),
                   counted_to_s=to_s)


class _Flags:
    """VAD flags so far, appended block by block into a buffer that grows by doubling (no
    per-block copy of the whole session)."""

    def __init__(self) -> None:
        self._flags = np.zeros(4096, bool)
        self.n = 0

    def add(self, flags: np.ndarray) -> None:
        need = self.n + len(flags)
        if need > len(self._flags):
            self._flags = np.concatenate([self._flags, np.zeros(max(need, 2 * len(self._flags))
                                                               - len(self._flags), bool)])
        self._flags[self.n:need] = np.asarray(flags, bool)
        self.n = need

    def view(self) -> np.ndarray:
        """The flags so far (a view: valid until the next ``add``)."""
        return self._flags[: self.n]
