"""ProsodyTracker: audio blocks and engine events in, one TurnProsody per turn out.

Driven like the engine: ``feed(block)`` with each (speakers, n) block, ``events(...)`` with
the engine's events for that block, ``finish()`` at the end. Frames are measured as audio
arrives (core.prosody.frame_track); a turn is summarised when the engine closes it, from
the frames inside the speaker's own speech segments. Frames older than a minute before the
last closed turn are dropped, so memory stays flat however long the session (one
microphone's ``analyze`` feeds its events only after the revision: until then every frame
is kept, 12 bytes per 10 ms, ~4 MB an hour).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from live_attune.core.audio_facts import HOP, SAMPLE_RATE
from live_attune.core.events import Event, Segment, Transcript, Turn
from live_attune.core.prosody import (
    FRAME,
    Baseline,
    FeatureEntrainment,
    FrameTrack,
    ProsodyConfig,
    TurnProsody,
    baseline,
    entrainment,
    frame_track,
    speaker_summary,
    summarize_turn,
    with_arousal,
)

KEEP_S = 60.0  # frames kept before the last closed turn (a turn can start that early)
BASELINE_SPEECH_S = 60.0  # the first minute of a speaker's speech in the session


@dataclass(frozen=True, slots=True)
class ProsodyResult:
    """The session's prosody: per turn, per speaker, entrainment (exploratory)."""

    turns: tuple[TurnProsody, ...]
    speakers: dict[str, dict[str, float | None]]
    entrainment: dict[str, dict[str, FeatureEntrainment]]  # "therapist_after_client" ...
    baseline: dict[str, Baseline]
    gaps_s: tuple[tuple[float, float], ...]  # audio the tracker never saw (worker behind)


@dataclass(slots=True)
class _Channel:
    pending: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    next_frame: int = 0  # number of the next frame to measure
    tracks: list[FrameTrack] = field(default_factory=list)


class ProsodyTracker:
    """Per-turn prosody for a fixed set of speakers: one audio channel each, or with
    ``shared`` one channel for all (one microphone, voices told apart): its frames are
    measured once and each speaker's turns read them inside their own segments."""

    def __init__(self, speakers: Sequence[str], config: ProsodyConfig | None = None, *,
                 shared: bool = False) -> None:
        self.speakers = tuple(speakers)
        self.config = config or ProsodyConfig()
        self.shared = shared
        self._channels = [_Channel() for _ in ((None,) if shared else self.speakers)]
        self._segments: dict[str, list[Segment]] = {s: [] for s in self.speakers}
        self._turns: list[TurnProsody] = []
        self._gaps: list[tuple[float, float]] = []
        self._samples = 0
        self.busy_s = 0.0  # CPU time spent measuring (for the live status)

    def name_speakers(self, speakers: Sequence[str]) -> None:
        """A shared tracker's speakers, once known: one microphone's revision may find more
        or fewer voices than were laid out when its frames began. Before any event."""
        if not self.shared or self._turns or any(self._segments.values()):
            raise ValueError("only a shared tracker's speakers are named, before any event")
        self.speakers = tuple(speakers)
        self._segments = {s: [] for s in self.speakers}

    # -- input ------------------------------------------------------------------------------

    def feed(self, block: np.ndarray) -> None:
        """Take a ``(speakers, n)`` float32 block at 16 kHz (``(1, n)`` if ``shared``)."""
        t0 = time.process_time()
        for channel, audio in zip(self._channels, block, strict=True):
            self._measure(channel, audio)
        self._samples += block.shape[1]
        self.busy_s += time.process_time() - t0

    def skip(self, samples: int) -> None:
        """Audio that never arrived (a dropped block): recorded as a gap, not as silence."""
        start = self._samples / SAMPLE_RATE
        self._samples += samples
        frame = self._samples // HOP  # resume measuring at the first frame after the gap
        for channel in self._channels:
            channel.next_frame = frame
            channel.pending = np.zeros(self._samples - frame * HOP, np.float32)
        self._gaps.append((start, self._samples / SAMPLE_RATE))

    def events(self, events: Sequence[Event]) -> list[TurnProsody]:
        """The engine's events for the audio fed so far; returns the turns it closed."""
        out = []
        for event in events:
            if isinstance(event, Segment) and event.speaker in self._segments:
                self._segments[event.speaker].append(event)
            elif isinstance(event, Turn) and event.speaker in self._segments:
                out.append(self._summarize(event))
        if out:
            self._prune(out[-1].end_s - KEEP_S)
        return out

    # -- output -----------------------------------------------------------------------------

    def baseline(self, speaker: str) -> Baseline | None:
        return baseline(self._turns, speaker, min_speech_s=BASELINE_SPEECH_S)

    def finish(self, transcript: Sequence[Transcript] = ()) -> ProsodyResult:
        """The whole session's prosody (with words per minute if there is a transcript)."""
        turns = with_arousal([_with_wpm(t, transcript) for t in self._turns])
        bases = {s: b for s in self.speakers if (b := self.baseline(s)) is not None}
        return ProsodyResult(tuple(turns), speaker_summary(turns), self._entrainment(turns),
                             bases, tuple(self._gaps))

    def _entrainment(self, turns: Sequence[TurnProsody]
                     ) -> dict[str, dict[str, FeatureEntrainment]]:
        """Exploratory: each ordered pair of roles (who follows whom)."""
        return {f"{b}_after_{a}": entrainment(turns, lead=a, follow=b)
                for a in self.speakers for b in self.speakers if a != b}

    # -- internals --------------------------------------------------------------------------

    def _measure(self, channel: _Channel, audio: np.ndarray) -> None:
        joined = np.concatenate([channel.pending, audio.astype(np.float32, copy=False)])
        track = frame_track(joined, first=channel.next_frame, config=self.config)
        n = len(track.f0_hz)
        if n:
            channel.tracks.append(track)
            channel.next_frame += n
        channel.pending = joined[n * HOP:]

    def _summarize(self, turn: Turn) -> TurnProsody:
        index = 0 if self.shared else self.speakers.index(turn.speaker)
        track = _slice(self._channels[index].tracks, turn.start_s, turn.end_s)
        speech = [(max(s.start_s, turn.start_s), min(s.end_s, turn.end_s))
                  for s in self._segments[turn.speaker]
                  if s.end_s > turn.start_s and s.start_s < turn.end_s]
        in_speech = _in_spans(track.times_s(), speech)
        reference = float(np.percentile(track.level_db[in_speech], 95)) if in_speech.any() \
            else 0.0
        result = summarize_turn(turn.speaker, turn.start_s, turn.end_s, track, speech,
                                reference_db=reference, config=self.config)
        self._turns.append(result)
        return result

    def _prune(self, before_s: float) -> None:
        first_keep = int(before_s * SAMPLE_RATE / HOP)
        for channel in self._channels:
            channel.tracks = [t for t in channel.tracks if t.first + len(t.f0_hz) > first_keep]
        for speaker, segs in self._segments.items():
            self._segments[speaker] = [s for s in segs if s.end_s > before_s]


def with_transcript(result: ProsodyResult, transcript: Sequence[Transcript]
                    ) -> ProsodyResult:
    """The same result with each turn's words per minute from ``transcript``."""
    from dataclasses import replace

    return replace(result, turns=tuple(_with_wpm(t, transcript) for t in result.turns))


def _slice(tracks: Sequence[FrameTrack], start_s: float, end_s: float) -> FrameTrack:
    """The frames whose centre lies in [start_s, end_s), joined into one track."""
    lo = max(0, int(np.ceil((start_s * SAMPLE_RATE - FRAME / 2) / HOP)))
    hi = max(lo, int(np.ceil((end_s * SAMPLE_RATE - FRAME / 2) / HOP)))
    parts = [t for t in tracks if t.first < hi and t.first + len(t.f0_hz) > lo]
    if not parts:
        empty = np.zeros(0, np.float32)
        return FrameTrack(lo, empty, empty, empty)
    first = max(lo, parts[0].first)

    def cat(name: str) -> np.ndarray:
        return np.concatenate([getattr(t, name) for t in parts])[first - parts[0].first:
                                                                 hi - parts[0].first]

    return FrameTrack(first, cat("f0_hz"), cat("periodicity"), cat("level_db"))


def _in_spans(times: np.ndarray, spans: Sequence[tuple[float, float]]) -> np.ndarray:
    mask = np.zeros(len(times), bool)
    for a, b in spans:
        mask |= (times >= a) & (times < b)
    return mask


def _with_wpm(turn: TurnProsody, transcript: Sequence[Transcript]) -> TurnProsody:
    """Words per minute of the turn's speech, counting the speaker's words inside it."""
    from dataclasses import replace

    if not transcript or turn.speech_s <= 0:
        return turn
    words = sum(1 for t in transcript if t.speaker == turn.speaker
                for w in (t.words or ()) if turn.start_s <= w.start_s < turn.end_s)
    return replace(turn, wpm=words * 60.0 / turn.speech_s)


def warm_up(config: ProsodyConfig | None = None) -> None:
    """Run the pitch tracker once before the session (its first call imports scipy.fft)."""
    frame_track(np.zeros(FRAME + 4 * HOP, np.float32), config=config)
