"""The conversation engine: per-frame speaker activity in, events and metrics out.

Driven like a sans-I/O protocol: ``feed(frames)``, then ``events_received()``, any time
``snapshot()``, and at the end ``finish()``. Time is the frame's sample index.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from live_attune.core.activity import Boundary, Edge, SegmentTracker
from live_attune.core.config import MetricsConfig
from live_attune.core.events import (
    Backchannel,
    Event,
    FloorChange,
    Interruption,
    LongSilence,
    Pause,
    Segment,
    Turn,
)
from live_attune.core.metrics import (
    ActivityLedger,
    SessionMetrics,
    balance_label,
    count_by,
    latency_stats,
    per_hour,
    response_gap_s,
    shares,
)
from live_attune.core.roles import THERAPIST
from live_attune.core.turns import FloorTracker

RECENT = 5  # response latencies listed for the live view


@dataclass(frozen=True, slots=True)
class ActivityFrame:
    """Which speakers are active in the samples [start, end)."""

    start: int  # sample index of the frame's first sample
    end: int  # one past its last sample
    active: tuple[bool, ...]  # one flag per speaker, in the engine's speaker order


@dataclass(slots=True)
class SessionHistory:
    """Every event of the session, by kind (what the final output lists)."""

    segments: list[Segment] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    floor_changes: list[FloorChange] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    interruptions: list[Interruption] = field(default_factory=list)
    backchannels: list[Backchannel] = field(default_factory=list)
    long_silences: list[LongSilence] = field(default_factory=list)

    def add(self, event: Event) -> None:
        match event:
            case Segment():
                self.segments.append(event)
            case Turn():
                self.turns.append(event)
            case FloorChange():
                self.floor_changes.append(event)
            case Pause():
                self.pauses.append(event)
            case Interruption():
                self.interruptions.append(event)
            case Backchannel():
                self.backchannels.append(event)
            case LongSilence():
                self.long_silences.append(event)


class ConversationEngine:
    """Segments, turns and METRICS.md measures for a fixed set of speakers (roles)."""

    def __init__(self, speakers: Sequence[str], *, sample_rate: int,
                 config: MetricsConfig | None = None) -> None:
        if not speakers or len(set(speakers)) != len(speakers):
            raise ValueError(f"speakers must be distinct and non-empty, got {list(speakers)!r}")
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        self.speakers = tuple(speakers)
        self.sample_rate = sample_rate
        self.config = config or MetricsConfig()
        self._trackers = [
            SegmentTracker(s, min_pause=round(self.config.min_pause_s * sample_rate),
                           min_speech=round(self.config.min_speech_s * sample_rate))
            for s in self.speakers
        ]
        self._floor = FloorTracker(self.config, sample_rate)
        self._ledger = ActivityLedger(self.speakers, sample_rate=sample_rate, config=self.config)
        self._pending: list[Boundary] = []
        self._events: list[Event] = []
        self.history = SessionHistory()
        self._response_gaps: list[float] = []
        self._longest_turn_s = {s: 0.0 for s in self.speakers}  # kept as turns close
        self._now = 0  # end of the last frame fed
        self._done = 0  # everything before this sample has been processed
        self._finished = False

    def feed(self, frames: Iterable[ActivityFrame]) -> None:
        """Take frames in order; they must be contiguous and carry one flag per speaker."""
        if self._finished:
            raise RuntimeError("feed() after finish()")
        for frame in frames:
            self._check(frame)
            for tracker, active in zip(self._trackers, frame.active, strict=True):
                self._pending.extend(tracker.feed(frame.start, frame.end, active))
            self._now = frame.end
        self._process(min(t.watermark() for t in self._trackers))

    def events_received(self) -> list[Event]:
        """Events made final since the last call, in time order of discovery."""
        out, self._events = self._events, []
        return out

    def snapshot(self) -> SessionMetrics:
        """The measures as of everything processed so far (live view)."""
        return self._summary(self._done)

    def finish(self) -> SessionMetrics:
        """Close open segments and the open turn; return the whole-session measures."""
        if not self._finished:
            for tracker in self._trackers:
                self._pending.extend(tracker.finish())
            self._process(None)
            self._floor.finish()
            self._collect()
            self._done = self._now
            self._finished = True
        return self._summary(self._now)

    @property
    def processed_s(self) -> float:
        return self._done / self.sample_rate

    def open_segments_s(self) -> dict[str, float]:
        """Onset (s) of each speaker's segment that is open at ``processed_s``."""
        return {s: at / self.sample_rate for s, at in self._ledger.active.items()}

    def _check(self, frame: ActivityFrame) -> None:
        if frame.start != self._now or frame.end <= frame.start:
            raise ValueError(f"frames must be contiguous: expected start {self._now}, "
                             f"got [{frame.start}, {frame.end})")
        if len(frame.active) != len(self.speakers):
            raise ValueError(
                f"frame has {len(frame.active)} flags for {len(self.speakers)} speakers")

    def _process(self, watermark: int | None) -> None:
        """Feed boundaries and timers before ``watermark`` (None: all) in time order."""
        self._pending.sort(key=lambda b: (b.at, b.edge))
        ready = [b for b in self._pending if watermark is None or b.at < watermark]
        self._pending = self._pending[len(ready):]
        for boundary in ready:
            self._fire_timers(boundary.at)
            self._apply(boundary)
        self._fire_timers(watermark)
        self._collect()
        if watermark is not None:
            self._done = max(self._done, watermark)

    def _fire_timers(self, before: int | None) -> None:
        """Fire timers due before ``before`` (None: all).

        A timer due at a boundary's sample fires after that boundary: the floor tracker
        decides each threshold's edge at the boundary with an explicit comparison. A boundary
        may still come at the watermark itself, so timers due there wait for the next feed.
        """
        while (due := self._floor.next_timer()) is not None and (before is None or due < before):
            self._floor.fire()

    def _apply(self, boundary: Boundary) -> None:
        if boundary.edge is Edge.ONSET:
            silence = self._ledger.onset(boundary.speaker, boundary.at)
            if silence is not None:
                self._events.append(silence)
                self.history.add(silence)
            self._floor.onset(boundary.speaker, boundary.at)
        else:
            self._ledger.offset(boundary.speaker, boundary.at)
            self._floor.offset(boundary.speaker, boundary.at)

    def _collect(self) -> None:
        for event in self._floor.drain():
            if isinstance(event, FloorChange) and (gap := response_gap_s(event)) is not None:
                self._response_gaps.append(gap)
            if isinstance(event, Turn):
                longest = self._longest_turn_s
                longest[event.speaker] = max(longest[event.speaker], event.duration_s)
            self._events.append(event)
            self.history.add(event)

    def _summary(self, now: int) -> SessionMetrics:
        rate, cfg, h = self.sample_rate, self.config, self.history
        talk = {s: v / rate for s, v in self._ledger.talk_at(now).items()}
        rolling = {s: v / rate for s, v in self._ledger.rolling_talk_at(now).items()}
        elapsed_s, total_talk = now / rate, sum(talk.values())
        overlap_s = self._ledger.overlap_at(now) / rate
        holder, start = self._floor.holder, self._floor.turn_start()
        current_s = (now - start) / rate if start is not None and now > start else 0.0
        longest = dict(self._longest_turn_s)
        if holder is not None:
            longest[holder] = max(longest[holder], current_s)
        by = count_by(self.speakers, (i.by for i in h.interruptions))
        return SessionMetrics(
            at_s=elapsed_s,
            speakers=self.speakers,
            floor_holder=holder,
            current_turn_s=current_s,
            talk_time_s=talk,
            talk_share=(share := shares(talk, total_talk)),
            talk_share_of_elapsed=shares(talk, elapsed_s),
            rolling_talk_share=(rolling_share := shares(rolling, sum(rolling.values()))),
            balance=balance_label(share),
            rolling_balance=balance_label(rolling_share),
            overlap_s=overlap_s,
            overlap_share=overlap_s / total_talk if total_talk > 0 else None,
            response_latency=latency_stats(self._response_gaps, cfg.patient_wait_s),
            recent_response_latencies_s=tuple(self._response_gaps[-RECENT:]),
            longest_monologue_s=longest,
            interruptions_by=by,
            successful_interruptions_by=count_by(
                self.speakers, (i.by for i in h.interruptions if i.successful)),
            unsuccessful_interruptions_by=count_by(
                self.speakers, (i.by for i in h.interruptions if not i.successful)),
            interruptions_per_hour_by=per_hour(by, elapsed_s),
            backchannels_by=count_by(self.speakers, (b.by for b in h.backchannels)),
            long_silences=len(h.long_silences),
            turns=len(h.turns) + (1 if holder is not None else 0),
            monologue_cue=holder == THERAPIST and current_s >= cfg.monologue_cue_s,
        )


def frames_from_segments(speakers: Sequence[str], segments: Iterable[Segment], *,
                         end_s: float, sample_rate: int) -> list[ActivityFrame]:
    """Activity frames that reproduce ``segments`` exactly (one frame per change of activity).

    Segments that came out of an engine are already bridged and long enough, so feeding
    these frames to an engine with the same config gives the same segments back. Used to
    rebuild a session from its stored segments (crash recovery).
    """
    end = round(end_s * sample_rate)
    index = {s: i for i, s in enumerate(speakers)}
    delta: dict[int, list[int]] = {0: [0] * len(speakers), end: [0] * len(speakers)}
    for seg in segments:  # +1 where a speaker starts, -1 where they stop
        lo, hi = round(seg.start_s * sample_rate), min(round(seg.end_s * sample_rate), end)
        if hi > lo:
            delta.setdefault(lo, [0] * len(speakers))[index[seg.speaker]] += 1
            delta.setdefault(hi, [0] * len(speakers))[index[seg.speaker]] -= 1
    edges = sorted(c for c in delta if 0 <= c <= end)
    level, frames = [0] * len(speakers), []
    for a, b in pairwise(edges):
        level = [v + d for v, d in zip(level, delta[a], strict=True)]
        frames.append(ActivityFrame(a, b, tuple(v > 0 for v in level)))
    return frames


def replay_segments(speakers: Sequence[str], segments: Iterable[Segment], *, end_s: float,
                    sample_rate: int, config: MetricsConfig | None = None,
                    finished: bool = True) -> ConversationEngine:
    """A finished engine that saw ``segments`` up to ``end_s`` (recovery, re-scoring);
    ``finished`` False: the speech at ``end_s`` goes on, so the engine holds only the
    events already final there (an onset whose bout is still open is not yet decided)."""
    engine = ConversationEngine(speakers, sample_rate=sample_rate, config=config)
    engine.feed(frames_from_segments(speakers, segments, end_s=end_s, sample_rate=sample_rate))
    if finished:
        engine.finish()
    return engine
