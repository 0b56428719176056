"""Who holds the floor: turns, pauses, switch gaps, interruptions and backchannels.

Theory of operation (definitions: shared/METRICS.md § Turns and § Overlaps; Ferguson 1977,
Schegloff 2000). The tracker is fed speech onsets and offsets in time order, and timers it
asks for itself; times are sample indices.

* The first speaker to start holds the floor. The holder keeps it through their own pauses
  and through other people's short vocalisations; a turn ends only when someone else takes
  the floor.
* Any onset by a non-holder opens a *vocalisation*, noted with the context at its onset: was
  the holder speaking, and had the holder already spoken ``floor_min`` in this turn? The
  holder's first offset after it decides ``terminal`` (the onset fell in the holder's last
  ``terminal`` seconds). A timer fires ``backchannel_max`` after the onset.

  =====================  =====================================  =============================
  vocalisation ends ...  holder speaking at that moment          holder silent at that moment
  =====================  =====================================  =============================
  before its timer       backchannel (holder keeps the floor)   pending: a backchannel if the
                                                                holder speaks next, else the
                                                                start of this speaker's turn
  after its timer        interruption → unsuccessful,           (already took the floor)
                         otherwise plain overlap
  =====================  =====================================  =============================

* A vocalisation that starts while the holder is silent *contests* the floor: until it ends
  or turns long, the holder's own speech is held back as pieces. If it turns long it takes
  the floor from its onset, and the held pieces become the old holder's vocalisations in the
  new turn (a quick "mm" is a backchannel); if it ends short, the pieces are replayed as the
  holder resuming.
* When the timer fires the vocalisation is long. It is an interruption if the holder was
  speaking at its onset, had spoken ``floor_min``, and the onset was not terminal. A long
  vocalisation takes the floor as soon as the holder is silent (at the timer, or at the
  holder's next offset); a contesting one takes it at its timer. The new turn starts at the
  earliest pending short vocalisation of the same speaker, or at the long one's onset; the
  switch gap is that start minus the end of the holder's last speech, negative when they
  overlapped. An interruption whose target stopped within ``yield_within`` of its onset is
  successful; one whose target stopped later still takes the floor but is recorded as not
  successful.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from live_attune.core.config import MetricsConfig
from live_attune.core.events import (
    Backchannel,
    Event,
    FloorChange,
    Interruption,
    Pause,
    Segment,
    Turn,
)


@dataclass(slots=True)
class _Vocal:
    """A non-holder's open vocalisation and the floor context at its onset (mutable state)."""

    speaker: str
    onset: int
    holder_speaking: bool  # was the holder speaking at the onset?
    floor_ok: bool  # had the holder spoken floor_min of the current turn at the onset?
    holder_stop: int | None = None  # the holder's first offset after the onset
    terminal: bool = False  # that offset came within terminal of the onset
    long: bool = False  # lasted at least backchannel_max
    interruption: bool = False


@dataclass(slots=True)
class _Turn:
    """The open turn (mutable state)."""

    speaker: str
    start: int
    speech: int = 0  # samples of the holder's closed speech in this turn
    last_end: int | None = None  # end of the holder's last closed segment in this turn
    gap: int | None = None  # switch gap before it, samples


@dataclass(slots=True)
class _Thresholds:
    backchannel_max: int
    floor_min: int
    terminal: int
    yield_within: int


@dataclass(slots=True)
class FloorTracker:
    """Sans-I/O floor state machine: ``onset``/``offset``/``fire`` in, events out."""

    config: MetricsConfig
    sample_rate: int
    _th: _Thresholds = field(init=False)
    _turn: _Turn | None = None
    _active: dict[str, int] = field(default_factory=dict)  # speaker -> onset of open segment
    _vocals: dict[str, _Vocal] = field(default_factory=dict)
    _pending: dict[str, list[tuple[int, int]]] = field(default_factory=dict)  # short vocals
    _timers: list[tuple[int, str, int]] = field(default_factory=list)  # (due, speaker, onset)
    _contest: _Vocal | None = None  # a vocalisation that began in the holder's silence
    _pieces: list[list[int]] = field(default_factory=list)  # holder's [onset, end] held back
    _out: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        c, r = self.config, self.sample_rate
        self._th = _Thresholds(
            backchannel_max=round(c.backchannel_max_s * r),
            floor_min=round(c.floor_min_s * r),
            terminal=round(c.terminal_s * r),
            yield_within=round(c.yield_within_s * r),
        )

    # -- inputs ---------------------------------------------------------------------------

    def onset(self, speaker: str, at: int) -> None:
        self._active[speaker] = at
        turn = self._turn
        if turn is None:
            self._start_turn(speaker, at, previous=None)
        elif speaker == turn.speaker and self._contest is not None:
            self._pieces.append([at, -1])
        elif speaker == turn.speaker:
            self._holder_resumes(turn, at)
        else:
            self._open_vocal(turn, speaker, at)

    def offset(self, speaker: str, at: int) -> None:
        onset = self._active.pop(speaker)
        self._out.append(Segment(speaker, self._s(onset), self._s(at)))
        turn = self._turn
        if turn is not None and speaker == turn.speaker and self._contest is not None:
            self._pieces[-1][1] = at
        elif turn is not None and speaker == turn.speaker:
            self._holder_stops(turn, onset, at)
        elif speaker in self._vocals:
            self._vocal_ends(self._vocals.pop(speaker), at)

    def next_timer(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    def fire(self) -> None:
        """Fire the earliest timer (the caller has fed every boundary before it)."""
        due, speaker, onset = heapq.heappop(self._timers)
        vocal = self._vocals.get(speaker)
        if vocal is None or vocal.onset != onset:
            return  # that vocalisation already ended
        vocal.long = True
        vocal.interruption = vocal.holder_speaking and vocal.floor_ok and not vocal.terminal
        if vocal is self._contest:
            self._win_contest(vocal, due)
        elif self._turn is not None and self._turn.speaker not in self._active:
            self._take_floor(vocal, due)

    def finish(self) -> None:
        """Close the open turn; short vocalisations still pending were backchannels."""
        if self._turn is None:
            return
        self._resolve_pending_as_backchannels(self._turn.speaker)
        self._close_turn(self._turn)
        self._turn = None

    def drain(self) -> list[Event]:
        out, self._out = self._out, []
        return out

    # -- live state -----------------------------------------------------------------------

    @property
    def holder(self) -> str | None:
        return None if self._turn is None else self._turn.speaker

    def turn_start(self) -> int | None:
        return None if self._turn is None else self._turn.start

    # -- transitions ----------------------------------------------------------------------

    def _holder_resumes(self, turn: _Turn, at: int) -> None:
        self._resolve_pending_as_backchannels(turn.speaker)
        if turn.last_end is not None:
            self._out.append(Pause(turn.speaker, self._s(turn.last_end), self._s(at)))

    def _open_vocal(self, turn: _Turn, speaker: str, at: int) -> None:
        holder_onset = self._active.get(turn.speaker)
        held = turn.speech + (at - holder_onset if holder_onset is not None else 0)
        vocal = self._vocals[speaker] = _Vocal(
            speaker=speaker,
            onset=at,
            holder_speaking=holder_onset is not None,
            floor_ok=held >= self._th.floor_min,
        )
        if holder_onset is None and self._contest is None:
            self._contest = vocal
        heapq.heappush(self._timers, (at + self._th.backchannel_max, speaker, at))

    def _holder_stops(self, turn: _Turn, onset: int, at: int) -> None:
        turn.speech += at - onset
        turn.last_end = at
        for vocal in self._vocals.values():
            if vocal.holder_speaking and vocal.holder_stop is None:
                vocal.holder_stop = at
                vocal.terminal = at - vocal.onset <= self._th.terminal
        waiting = [v for v in self._vocals.values() if v.long]
        if waiting:
            self._take_floor(min(waiting, key=lambda v: v.onset), at)

    def _win_contest(self, vocal: _Vocal, at: int) -> None:
        """The contesting vocalisation took the floor; the held pieces join the new turn."""
        old = self._turn.speaker if self._turn is not None else None
        pieces, self._pieces, self._contest = self._pieces, [], None
        self._take_floor(vocal, at)
        if old is None:
            return
        for onset, end in pieces:
            if end >= 0:
                self._backchannel(old, vocal.speaker, onset, end)
            else:  # still speaking: a vocalisation against the new turn
                self._vocals[old] = _Vocal(speaker=old, onset=onset, holder_speaking=True,
                                           floor_ok=False)
                heapq.heappush(self._timers, (onset + self._th.backchannel_max, old, onset))

    def _lose_contest(self) -> None:
        """The contesting vocalisation ended short: replay the holder's held pieces."""
        pieces, self._pieces, self._contest = self._pieces, [], None
        turn = self._turn
        assert turn is not None  # a contest needs a holder
        for onset, end in pieces:
            self._holder_resumes(turn, onset)
            if end >= 0:
                self._holder_stops(turn, onset, end)

    def _vocal_ends(self, vocal: _Vocal, at: int) -> None:
        if vocal is self._contest:
            self._lose_contest()
        holder = self._turn.speaker if self._turn is not None else None
        holder_speaking = holder in self._active
        if vocal.interruption and holder is not None:
            # Still speaking when the interrupter stopped: the holder kept the floor.
            self._out.append(Interruption(self._s(vocal.onset), vocal.speaker, holder, False))
        elif not vocal.long and holder is not None:
            if holder_speaking:
                self._backchannel(vocal.speaker, holder, vocal.onset, at)
            else:
                self._pending.setdefault(vocal.speaker, []).append((vocal.onset, at))

    def _take_floor(self, vocal: _Vocal, at: int) -> None:
        turn = self._turn
        assert turn is not None  # only called while somebody holds the floor
        if vocal is self._contest:
            self._contest = None
        if vocal.interruption:
            stop = vocal.holder_stop if vocal.holder_stop is not None else at
            ok = stop - vocal.onset <= self._th.yield_within
            self._out.append(Interruption(self._s(vocal.onset), vocal.speaker, turn.speaker, ok))
        del self._vocals[vocal.speaker]
        chain = self._pending.pop(vocal.speaker, [])
        for other in list(self._pending):
            self._resolve_pending_as_backchannels(turn.speaker, only=other)
        self._close_turn(turn)
        self._start_turn(vocal.speaker, chain[0][0] if chain else vocal.onset,
                         previous=turn, chain=[*chain, (vocal.onset, -1)])
        for other in self._vocals.values():  # others already speaking cannot interrupt a
            other.holder_speaking = False  # turn that began after their onset
            other.floor_ok = False

    def _start_turn(self, speaker: str, start: int, *, previous: _Turn | None,
                    chain: list[tuple[int, int]] | None = None) -> None:
        gap = None
        if previous is not None and previous.last_end is not None:
            gap = start - previous.last_end
        turn = _Turn(speaker=speaker, start=start, gap=gap)
        for onset, end in chain or []:  # closed short pieces, then the open vocalisation
            if turn.last_end is not None:
                self._out.append(Pause(speaker, self._s(turn.last_end), self._s(onset)))
            if end >= 0:
                turn.speech += end - onset
                turn.last_end = end
        self._turn = turn
        prev_speaker = previous.speaker if previous is not None else None
        gap_s = None if gap is None else self._s(gap)
        self._out.append(FloorChange(speaker, self._s(start), prev_speaker, gap_s))

    def _close_turn(self, turn: _Turn) -> None:
        end = turn.last_end if turn.last_end is not None else turn.start
        gap_s = None if turn.gap is None else self._s(turn.gap)
        self._out.append(
            Turn(turn.speaker, self._s(turn.start), self._s(end), self._s(turn.speech), gap_s)
        )

    def _resolve_pending_as_backchannels(self, holder: str, *, only: str | None = None) -> None:
        for speaker in [only] if only is not None else list(self._pending):
            for onset, end in self._pending.pop(speaker, []):
                self._backchannel(speaker, holder, onset, end)

    def _backchannel(self, speaker: str, holder: str, onset: int, end: int) -> None:
        self._out.append(Backchannel(self._s(onset), speaker, holder, self._s(end - onset)))

    def _s(self, samples: int) -> float:
        return samples / self.sample_rate
