"""Typed thresholds for the conversation metrics, with the defaults of METRICS.md."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True, kw_only=True)
class MetricsConfig:
    """Every threshold of ``shared/METRICS.md``; each default is the documented one."""

    min_pause_s: float = 0.25  # METRICS.md § Activity: shorter gaps are bridged
    min_speech_s: float = 0.10  # METRICS.md § Activity: shorter segments are dropped
    window_s: float = 300.0  # METRICS.md § Activity: rolling talk share window
    patient_wait_s: float = 1.5  # METRICS.md § Turns: a "patient" response latency
    long_silence_s: float = 3.0  # METRICS.md § Turns: nobody speaks this long
    monologue_cue_s: float = 60.0  # METRICS.md § Turns: live monologue cue
    backchannel_max_s: float = 1.0  # METRICS.md § Overlaps: backchannels are shorter
    floor_min_s: float = 1.0  # METRICS.md § Overlaps: floor held before it can be interrupted
    terminal_s: float = 0.25  # METRICS.md § Overlaps: onsets this near the end don't interrupt
    yield_within_s: float = 2.0  # METRICS.md § Overlaps: a successful interruption's yield time
    bridge_s: float = 0.5  # METRICS.md § Overlaps: a bout goes on across shorter own silences

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{f.name} must be a positive number of seconds, got {value!r}")
        if self.terminal_s >= self.backchannel_max_s:
            raise ValueError("terminal_s must be shorter than backchannel_max_s")
