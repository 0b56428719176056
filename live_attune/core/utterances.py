"""Speech segments → utterances to transcribe (issue 4: VAD-gated utterances).

An utterance is one speaker's run of segments. It ends when the speaker has been silent
``end_gap_s`` (0.5 s), when someone else starts speaking after it, or before it would grow
past ``max_s`` (15 s) — then it is cut at the pause between two segments. A single segment
longer than ``max_s`` (no pause to cut at) stays whole; Whisper reads it in 30 s windows.
"""

from __future__ import annotations

from dataclasses import dataclass

from live_attune.core.events import Segment


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of one speaker's audio to transcribe."""

    speaker: str
    start_s: float
    end_s: float

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class UtteranceBuilder:
    """Sans-I/O: ``add`` closed segments (in the order they close), ``advance`` the clock."""

    def __init__(self, *, end_gap_s: float = 0.5, max_s: float = 15.0) -> None:
        if end_gap_s <= 0 or max_s <= 0:
            raise ValueError("end_gap_s and max_s must be positive")
        self.end_gap_s = end_gap_s
        self.max_s = max_s
        self._open: dict[str, Span] = {}

    def add(self, segment: Segment) -> list[Span]:
        done = [self._open.pop(s) for s, span in list(self._open.items())
                if s != segment.speaker and segment.start_s >= span.end_s]
        current = self._open.get(segment.speaker)
        if current is not None and (segment.start_s - current.end_s >= self.end_gap_s
                                    or segment.end_s - current.start_s > self.max_s):
            done.append(current)
            current = None
        start = segment.start_s if current is None else current.start_s
        self._open[segment.speaker] = Span(segment.speaker, start, segment.end_s)
        return sorted(done, key=lambda s: s.start_s)

    def advance(self, now_s: float) -> list[Span]:
        """Close utterances whose speaker has been silent ``end_gap_s`` by ``now_s``."""
        done = [s for s in self._open.values() if now_s - s.end_s >= self.end_gap_s]
        for span in done:
            del self._open[span.speaker]
        return sorted(done, key=lambda s: s.start_s)

    def open_spans(self) -> list[Span]:
        return list(self._open.values())

    def finish(self) -> list[Span]:
        done = sorted(self._open.values(), key=lambda s: s.start_s)
        self._open.clear()
        return done


class SettledUtterances:
    """Utterances of a running analysis as soon as no later segment can change them.

    ``update`` takes the session's segments so far (a list that only grows, every segment
    in it ending before any segment added later: the engine's history) and returns the
    utterances they settle. Fed that way, the spans and their order per speaker are those
    of ``utterances`` over the finished session: both are one ``UtteranceBuilder`` fed the
    segments by (end, start).
    """

    def __init__(self, *, end_gap_s: float = 0.5, max_s: float = 15.0) -> None:
        self._builder = UtteranceBuilder(end_gap_s=end_gap_s, max_s=max_s)
        self._fed = 0

    def update(self, segments: list[Segment]) -> list[Span]:
        new = sorted(segments[self._fed:], key=lambda s: (s.end_s, s.start_s))
        self._fed = len(segments)
        out: list[Span] = []
        for segment in new:
            out += self._builder.add(segment)
        return out

    def finish(self, segments: list[Segment]) -> list[Span]:
        """The rest, once the session is over (``segments``: all of them)."""
        return self.update(segments) + self._builder.finish()

    def advance(self, now_s: float) -> list[Span]:
        """Utterances settled by the clock, where no segment still to come starts before
        ``now_s``: a speaker silent ``end_gap_s`` by then is done (what ``update`` would
        close at their next segment, so the spans are the same)."""
        return self._builder.advance(now_s)

    def earliest_open_s(self) -> float | None:
        """Start of the earliest utterance not yet settled (None: none open)."""
        return min((s.start_s for s in self._builder.open_spans()), default=None)


def utterances(segments: list[Segment], *, end_gap_s: float = 0.5, max_s: float = 15.0
               ) -> list[Span]:
    """All utterances of a finished session (segments in any order)."""
    settled = SettledUtterances(end_gap_s=end_gap_s, max_s=max_s)
    return sorted(settled.finish(list(segments)), key=lambda s: s.start_s)
