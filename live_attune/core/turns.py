"""Who holds the floor: turns, pauses, switch gaps, interruptions and backchannels.

Theory of operation (definitions: shared/METRICS.md § Turns and § Overlaps; Ferguson 1977,
Schegloff 2000). The tracker is fed speech onsets and offsets in time order, and timers it
asks for itself; times are sample indices. A timer due at the sample of a boundary fires
after that boundary, so each threshold's edge is one explicit comparison below, never the
order of a tie.

* The first speaker to start holds the floor. The holder keeps it through their own pauses
  and through other people's short bouts; a turn ends only when someone else takes it.
* A non-holder's speech is grouped into *bouts*: from an onset, across the speaker's own
  silences shorter than ``bridge``; a bout's length is its summed speech, not its span. A
  bout is noted with the floor context at its onset: was the holder speaking, had the holder
  already spoken ``floor_min`` of this turn? The holder's first offset after the onset
  decides ``terminal`` (the onset fell in the holder's last ``terminal`` seconds). A bout
  turns *long* when its summed speech reaches ``backchannel_max`` (at an offset, or at a
  timer while a segment is open); it *ends* when the speaker's silence reaches ``bridge``
  (at their next onset, or at a timer).

  ===============  =====================================  ================================
  bout ends ...    holder speaking at its last offset     holder silent then
  ===============  =====================================  ================================
  short            backchannel (holder keeps the floor)   pending: a backchannel if the
                                                          holder speaks next, else the start
                                                          of this speaker's turn
  long             interruption → unsuccessful,           (already took the floor)
                   otherwise plain overlap
  ===============  =====================================  ================================

* A bout that starts while the holder is silent *contests* the floor: until it ends or turns
  long, the holder's own speech is held back. If the holder's held speech reaches
  ``backchannel_max`` first, the holder keeps the floor and the bout goes on as an ordinary
  one. If the bout turns long first, it takes the floor from its onset, and the held speech
  becomes the old holder's bouts in the new turn (a quick "mm" is a backchannel); if it ends
  short, the held speech is replayed as the holder resuming. Any change of the floor ends
  a contest the same way.
* When a bout turns long it is an interruption if the holder was speaking at its onset, had
  spoken ``floor_min``, and the onset was not terminal. A long bout takes the floor as soon
  as the holder is silent (when it turns long, or at the holder's next offset, even in the
  bout's own short silence); a contesting one takes it when it turns long. The new turn
  starts at the earliest pending short bout of the same speaker, or at the long one's onset;
  the switch gap is that start minus the end of the holder's last speech, negative when they
  overlapped. An interruption whose target stopped within ``yield_within`` of its onset is
  successful; one whose target stopped later still takes the floor but is not successful.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
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

OPEN = -1  # the end of a piece of speech that has not stopped yet


@dataclass(slots=True, eq=False)
class _Bout:
    """A speaker's open bout and the floor context at its onset (mutable state)."""

    speaker: str
    onset: int  # the bout's first onset: the time of an interruption
    holder_speaking: bool  # was the holder speaking at the onset?
    floor_ok: bool  # had the holder spoken floor_min of the current turn at the onset?
    pieces: list[list[int]]  # [onset, end] of each segment; end OPEN while it lasts
    speech: int = 0  # summed samples of its closed segments
    holder_stop: int | None = None  # the holder's first offset after the onset
    terminal: bool = False  # that offset came within terminal of the onset
    long: bool = False  # its summed speech reached backchannel_max
    interruption: bool = False
    holder_at_end: bool = False  # was the holder speaking when its last segment ended?
    timer: int = OPEN  # sequence number of its one live timer

    @property
    def last_end(self) -> int:
        return self.pieces[-1][1]

    @property
    def speaking(self) -> bool:
        return self.pieces[-1][1] == OPEN


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
    """The config's thresholds in samples."""

    backchannel_max: int
    floor_min: int
    terminal: int
    yield_within: int
    bridge: int


@dataclass(slots=True)
class FloorTracker:
    """Sans-I/O floor state machine: ``onset``/``offset``/``fire`` in, events out."""

    config: MetricsConfig
    sample_rate: int
    _th: _Thresholds = field(init=False)
    _turn: _Turn | None = None
    _active: dict[str, int] = field(default_factory=dict)  # speaker -> onset of open segment
    _bouts: dict[str, _Bout] = field(default_factory=dict)  # non-holders' open bouts
    _pending: dict[str, list[_Bout]] = field(default_factory=dict)  # short, holder silent
    _timers: list[tuple[int, int, _Bout]] = field(default_factory=list)  # (due, seq, bout)
    _seq: itertools.count[int] = field(default_factory=itertools.count)
    _contest: _Bout | None = None  # a bout that began in the holder's silence
    _held: _Bout | None = None  # the holder's speech held back during a contest
    _out: list[Event] = field(default_factory=list)

    def __post_init__(self) -> None:
        c, r = self.config, self.sample_rate
        self._th = _Thresholds(
            backchannel_max=round(c.backchannel_max_s * r),
            floor_min=round(c.floor_min_s * r),
            terminal=round(c.terminal_s * r),
            yield_within=round(c.yield_within_s * r),
            bridge=round(c.bridge_s * r),
        )

    # -- inputs ---------------------------------------------------------------------------

    def onset(self, speaker: str, at: int) -> None:
        self._active[speaker] = at
        bout = self._bouts.get(speaker)
        if bout is not None and self._bridged(at - bout.last_end):
            bout.pieces.append([at, OPEN])
            self._arm_long(bout)
            return
        if bout is not None:
            self._end_bout(bout)  # the silence reached bridge: decided at this onset
        turn = self._turn
        if turn is None:
            self._start_turn(speaker, at, previous=None)
        elif speaker != turn.speaker:
            self._open_bout(turn, speaker, at)
        elif self._contest is not None:
            self._hold(speaker, at)
        else:
            self._holder_resumes(turn, at)

    def offset(self, speaker: str, at: int) -> None:
        onset = self._active.pop(speaker)
        self._out.append(Segment(speaker, self._s(onset), self._s(at)))
        turn = self._turn
        if speaker in self._bouts:
            self._bout_pauses(self._bouts[speaker], at)
        elif self._held is not None and speaker == self._held.speaker:
            self._held_pauses(self._held, at)
        elif turn is not None and speaker == turn.speaker:
            self._holder_stops(turn, onset, at)

    def next_timer(self) -> int | None:
        return self._timers[0][0] if self._timers else None

    def fire(self) -> None:
        """Fire the earliest timer (the caller has fed every boundary up to its sample)."""
        due, seq, bout = heapq.heappop(self._timers)
        if bout.timer != seq:
            return  # cancelled: the bout changed or ended since
        bout.timer = OPEN
        if bout is self._held:
            self._holder_keeps_floor()
        elif bout.speaking:
            self._becomes_long(bout, due)
        else:
            self._end_bout(bout)

    def finish(self) -> None:
        """Close the open turn; short bouts still pending were backchannels."""
        while self._timers:
            self.fire()
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

    # -- the rules' edges (METRICS.md § Overlaps) -----------------------------------------

    def _bridged(self, silence: int) -> bool:
        """A speaker's own silence shorter than ``bridge`` keeps their bout going."""
        return silence < self._th.bridge

    def _long_enough(self, speech: int) -> bool:
        """A bout of at least ``backchannel_max`` summed speech is no backchannel."""
        return speech >= self._th.backchannel_max

    # -- bouts ----------------------------------------------------------------------------

    def _arm(self, bout: _Bout, due: int) -> None:
        bout.timer = next(self._seq)
        heapq.heappush(self._timers, (due, bout.timer, bout))

    def _arm_long(self, bout: _Bout) -> None:
        """A timer at the sample where the open segment brings the bout to backchannel_max."""
        if not bout.long:
            self._arm(bout, bout.pieces[-1][0] + self._th.backchannel_max - bout.speech)
        else:
            bout.timer = OPEN  # nothing to wait for while it speaks

    def _close_piece(self, bout: _Bout, at: int) -> None:
        bout.speech += at - bout.pieces[-1][0]
        bout.pieces[-1][1] = at
        bout.timer = OPEN

    def _open_bout(self, turn: _Turn, speaker: str, at: int) -> None:
        holder_onset = self._active.get(turn.speaker)
        held = turn.speech + (at - holder_onset if holder_onset is not None else 0)
        bout = self._bouts[speaker] = _Bout(
            speaker=speaker,
            onset=at,
            holder_speaking=holder_onset is not None,
            floor_ok=held >= self._th.floor_min,
            pieces=[[at, OPEN]],
        )
        if holder_onset is None and self._contest is None:
            self._contest = bout
        self._arm_long(bout)

    def _bout_pauses(self, bout: _Bout, at: int) -> None:
        """The bout's segment ended: long now, or wait ``bridge`` for more of it."""
        self._close_piece(bout, at)
        bout.holder_at_end = self.holder in self._active
        if not bout.long and self._long_enough(bout.speech):
            self._becomes_long(bout, at)
        if self._bouts.get(bout.speaker) is bout:  # it did not take the floor
            self._arm(bout, at + self._th.bridge)

    def _becomes_long(self, bout: _Bout, at: int) -> None:
        bout.long = True
        bout.interruption = bout.holder_speaking and bout.floor_ok and not bout.terminal
        holder = self.holder
        if bout is self._contest or (holder is not None and holder not in self._active):
            self._take_floor(bout, at)

    def _end_bout(self, bout: _Bout) -> None:
        del self._bouts[bout.speaker]
        bout.timer = OPEN
        if bout is self._contest:
            self._lose_contest(bout)
        else:
            self._place(bout)

    def _place(self, bout: _Bout) -> None:
        """An ended bout that did not take the floor: what it was (table above)."""
        holder = self.holder
        if holder is None:
            return
        if bout.interruption:  # B stopped first: the holder kept the floor
            self._out.append(Interruption(self._s(bout.onset), bout.speaker, holder, False))
        elif not bout.long and (bout.holder_at_end or self._holder_spoke_since(bout.last_end)):
            self._backchannel(bout, holder)
        elif not bout.long:
            self._pending.setdefault(bout.speaker, []).append(bout)

    def _holder_spoke_since(self, at: int) -> bool:
        """Did the holder speak again after ``at`` (a bout's last offset), before the bout's
        silence reached ``bridge``? Then the holder spoke next: the bout was a backchannel."""
        turn = self._turn
        if turn is None:
            return False
        return turn.speaker in self._active or (turn.last_end is not None and turn.last_end > at)

    # -- the holder -----------------------------------------------------------------------

    def _holder_resumes(self, turn: _Turn, at: int) -> None:
        self._resolve_pending_as_backchannels(turn.speaker)
        if turn.last_end is not None:
            self._out.append(Pause(turn.speaker, self._s(turn.last_end), self._s(at)))

    def _holder_stops(self, turn: _Turn, onset: int, at: int) -> None:
        turn.speech += at - onset
        turn.last_end = at
        for bout in self._bouts.values():
            if bout.holder_speaking and bout.holder_stop is None:
                bout.holder_stop = at
                bout.terminal = at - bout.onset <= self._th.terminal
        waiting = [b for b in self._bouts.values() if b.long]
        if waiting:
            self._take_floor(min(waiting, key=lambda b: b.onset), at)

    # -- contests -------------------------------------------------------------------------

    def _hold(self, speaker: str, at: int) -> None:
        """The holder speaks during a contest: held back, timed like a bout."""
        if self._held is None:
            self._held = _Bout(speaker=speaker, onset=at, holder_speaking=False,
                               floor_ok=False, pieces=[[at, OPEN]])
        else:
            self._held.pieces.append([at, OPEN])
        self._arm_long(self._held)

    def _held_pauses(self, held: _Bout, at: int) -> None:
        self._close_piece(held, at)
        if self._long_enough(held.speech):
            self._holder_keeps_floor()

    def _release(self) -> list[list[int]]:
        """End the contest; the holder's held-back pieces."""
        held, self._held, self._contest = self._held, None, None
        if held is None:
            return []
        held.timer = OPEN
        return held.pieces

    def _holder_keeps_floor(self) -> None:
        """The holder's held speech reached backchannel_max first: the contest is over."""
        self._replay(self._release())

    def _lose_contest(self, bout: _Bout) -> None:
        """The contesting bout ended short: replay the holder's pieces around its end."""
        pieces = self._release()
        self._replay([p for p in pieces if p[0] < bout.last_end])
        self._place(bout)
        self._replay([p for p in pieces if p[0] >= bout.last_end])

    def _replay(self, pieces: list[list[int]]) -> None:
        """The held pieces, in order, as the holder resuming (while they still hold it)."""
        speaker = self.holder
        for onset, end in pieces:
            turn = self._turn
            if turn is None or turn.speaker != speaker:
                return  # another bout took the floor at one of these offsets
            self._holder_resumes(turn, onset)
            if end != OPEN:
                self._holder_stops(turn, onset, end)

    def _old_holder_bouts(self, old: str, pieces: list[list[int]], at: int, new: _Bout) -> None:
        """The old holder's speech held back in a contest, as their bouts in the new turn."""
        if not pieces:
            return
        groups = [[pieces[0]]]
        for piece in pieces[1:]:
            if self._bridged(piece[0] - groups[-1][-1][1]):
                groups[-1].append(piece)
            else:
                groups.append([piece])
        for group in groups:
            self._old_holder_bout(old, group, at, new)

    def _old_holder_bout(self, old: str, group: list[list[int]], at: int, new: _Bout) -> None:
        """One bout of the old holder's held speech, against the turn that began before it."""
        closed = [p for p in group if p[1] != OPEN]
        mine = _Bout(speaker=old, onset=group[0][0], holder_speaking=True, floor_ok=False,
                     pieces=group, speech=sum(e - s for s, e in closed))
        live = mine.speaking or self._bridged(at - mine.last_end)
        if live and mine.speaking:
            self._bouts[old] = mine
            self._arm_long(mine)
        elif live:
            self._bouts[old] = mine
            mine.holder_at_end = _speaking_at(new.pieces, mine.last_end)
            self._arm(mine, mine.last_end + self._th.bridge)
        elif not self._long_enough(mine.speech):  # held speech stayed below it
            self._backchannel(mine, new.speaker)

    # -- floor changes --------------------------------------------------------------------

    def _take_floor(self, bout: _Bout, at: int) -> None:
        """``bout`` takes the floor; a contest, whoever's, ends with the old turn."""
        turn = self._turn
        assert turn is not None  # only called while somebody holds the floor
        held = self._release()
        if bout.interruption:
            stop = bout.holder_stop if bout.holder_stop is not None else at
            ok = stop - bout.onset <= self._th.yield_within
            self._out.append(Interruption(self._s(bout.onset), bout.speaker, turn.speaker, ok))
        del self._bouts[bout.speaker]
        bout.timer = OPEN
        chain = [p for b in self._pending.pop(bout.speaker, []) for p in b.pieces]
        for pending in list(self._pending):
            self._resolve_pending_as_backchannels(turn.speaker, only=pending)
        self._close_turn(turn)
        chain += bout.pieces
        self._start_turn(bout.speaker, chain[0][0], previous=turn, chain=chain)
        for other in self._bouts.values():  # others already speaking cannot interrupt a
            other.holder_speaking = False  # turn that began after their onset
            other.floor_ok = False
        self._old_holder_bouts(turn.speaker, held, at, bout)

    def _start_turn(self, speaker: str, start: int, *, previous: _Turn | None,
                    chain: list[list[int]] | None = None) -> None:
        gap = None
        if previous is not None and previous.last_end is not None:
            gap = start - previous.last_end
        turn = _Turn(speaker=speaker, start=start, gap=gap)
        for onset, end in chain or []:  # the bouts' closed pieces, then the open one
            if turn.last_end is not None:
                self._out.append(Pause(speaker, self._s(turn.last_end), self._s(onset)))
            if end != OPEN:
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
            for bout in self._pending.pop(speaker, []):
                self._backchannel(bout, holder)

    def _backchannel(self, bout: _Bout, holder: str) -> None:
        """A short bout; its duration is its summed speech (METRICS.md § Overlaps)."""
        self._out.append(Backchannel(self._s(bout.onset), bout.speaker, holder,
                                     self._s(bout.speech)))

    def _s(self, samples: int) -> float:
        return samples / self.sample_rate


def _speaking_at(pieces: list[list[int]], at: int) -> bool:
    """Was one of ``pieces`` going on at sample ``at``?"""
    return any(s <= at and (e == OPEN or e > at) for s, e in pieces)


def bout_speech_s(segments: Sequence[Segment], speaker: str, onset_s: float,
                  bridge_s: float) -> float:
    """The bout of ``speaker`` from its onset at ``onset_s``, as the tracker above groups it
    (a finished session's segments, in seconds): their speech from there on, across their
    own silences shorter than ``bridge_s`` (``_bridged``), summed — not its span."""
    return bout_end_and_speech_s(segments, speaker, onset_s, bridge_s)[1]


def bout_end_and_speech_s(segments: Sequence[Segment], speaker: str, onset_s: float,
                          bridge_s: float) -> tuple[float, float]:
    """That bout's end (s; ``onset_s`` where it holds no speech) and its summed speech."""
    own = sorted((s for s in segments if s.speaker == speaker and s.end_s > onset_s),
                 key=lambda s: s.start_s)
    total, end = 0.0, onset_s
    for seg in own:
        if not seg.start_s - end < bridge_s:
            break
        total += seg.end_s - max(seg.start_s, onset_s)
        end = seg.end_s
    return end, total
