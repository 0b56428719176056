"""One speaker's frame activity → speech segment boundaries (METRICS.md § Activity).

Theory of operation: a run of active frames opens a candidate segment. Inactive gaps shorter
than ``min_pause`` are bridged; when a gap reaches ``min_pause`` the segment closes at the end
of its last active frame. A segment is only announced (its onset emitted) once it has reached
``min_speech``, so shorter ones are dropped without ever being seen downstream.

Boundaries are emitted late (by up to ``min_pause``) but stamped with their true time; the
tracker's ``watermark`` says before which sample no boundary can still appear, which lets
the engine merge several speakers' boundaries in time order while streaming.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class Edge(IntEnum):
    """Kinds of boundary; the value orders ties (an offset before an onset at one time)."""

    OFFSET = 0
    ONSET = 1


@dataclass(frozen=True, slots=True)
class Boundary:
    """A speaker's speech starts (ONSET) or stops (OFFSET) at sample ``at``."""

    at: int
    edge: Edge
    speaker: str


class SegmentTracker:
    """Bridges short gaps and drops short bursts in one speaker's activity, streaming."""

    def __init__(self, speaker: str, *, min_pause: int, min_speech: int) -> None:
        if min_pause <= 0 or min_speech <= 0:
            raise ValueError("min_pause and min_speech must be positive sample counts")
        self.speaker = speaker
        self._min_pause = min_pause
        self._min_speech = min_speech
        self._run_start: int | None = None  # first sample of the open candidate segment
        self._last_active_end = 0  # one past the last active sample of that candidate
        self._announced = False  # has the candidate's onset been emitted?
        self._now = 0

    def feed(self, start: int, end: int, active: bool) -> list[Boundary]:
        """Take one frame [start, end) and return the boundaries it makes final."""
        self._now = end
        if active:
            return self._on_active(start, end)
        if self._run_start is not None and end - self._last_active_end >= self._min_pause:
            return self._close()
        return []

    def finish(self) -> list[Boundary]:
        """Close whatever is open at the end of the stream."""
        return self._close() if self._run_start is not None else []

    def watermark(self) -> int:
        """No boundary this tracker emits later can lie before this sample."""
        if self._run_start is None:
            return self._now
        if not self._announced:
            return self._run_start
        return self._last_active_end

    def _on_active(self, start: int, end: int) -> list[Boundary]:
        if self._run_start is None:
            self._run_start = start
            self._announced = False
        self._last_active_end = end
        if not self._announced and end - self._run_start >= self._min_speech:
            self._announced = True
            return [Boundary(self._run_start, Edge.ONSET, self.speaker)]
        return []

    def _close(self) -> list[Boundary]:
        out = []
        if self._announced:
            out.append(Boundary(self._last_active_end, Edge.OFFSET, self.speaker))
        self._run_start = None
        self._announced = False
        return out
