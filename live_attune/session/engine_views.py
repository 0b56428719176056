"""What every pipeline answers straight from its conversation engine (one copy for both)."""

from __future__ import annotations

from dataclasses import dataclass

from live_attune.core import ConversationEngine, SessionMetrics
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Segment


@dataclass(frozen=True, slots=True)
class Recount:
    """One microphone, live: the frames up to ``to_s`` decided again as the end-of-session
    revision decides them (session/single_mic.py), their segments and the replay's
    measures and events (the interruptions and backchannels the dashboard shows)."""

    to_s: float
    segments: tuple[Segment, ...]
    metrics: SessionMetrics
    history: SessionHistory


class EngineViews:
    """Read-only views of the pipeline's engine; the pipeline owns ``_engine`` (the one-mic
    pipeline replaces it with the revised, replayed one at the end)."""

    _engine: ConversationEngine
    recount: Recount | None = None  # one microphone, live: the newest recount

    @property
    def history(self) -> SessionHistory:
        return self._engine.history

    @property
    def processed_s(self) -> float:
        return self._engine.processed_s

    def open_segments_s(self) -> dict[str, float]:
        return self._engine.open_segments_s()

    def snapshot(self) -> SessionMetrics:
        return self._engine.snapshot()
