"""The sans-I/O heart: activity frames in, frozen event records out.

No threads, no sockets, no files, no wall clock: time is the sample index of the frame.
"""

from live_attune.core.config import MetricsConfig
from live_attune.core.conversation import ActivityFrame, ConversationEngine
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
from live_attune.core.metrics import SessionMetrics

__all__ = [
    "ActivityFrame",
    "Backchannel",
    "ConversationEngine",
    "Event",
    "FloorChange",
    "Interruption",
    "LongSilence",
    "MetricsConfig",
    "Pause",
    "Segment",
    "SessionMetrics",
    "Turn",
]
