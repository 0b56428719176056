"""What every pipeline answers straight from its conversation engine (one copy for both)."""

from __future__ import annotations

from live_attune.core import ConversationEngine, SessionMetrics
from live_attune.core.conversation import SessionHistory


class EngineViews:
    """Read-only views of the pipeline's engine; the pipeline owns ``_engine`` (the one-mic
    pipeline replaces it with the revised, replayed one at the end)."""

    _engine: ConversationEngine

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
