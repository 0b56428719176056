"""Context numbers a report sets the session against (METRICS.md § Context numbers,
§ Turns and § Language). Labels, not judgements: the report says what the range means.
"""

from __future__ import annotations

from live_attune.core.metrics import CLIENT_LED, THERAPIST_HEAVY

SWITCH_GAP_MODE_S = 0.2  # METRICS.md § Turns: natural conversation (Levinson & Torreira 2015)
MI_SILENCE_MEDIAN_S = 0.61  # METRICS.md § Turns: MI sessions (Soma et al. 2022)
MI_SILENCE_MEAN_S = 0.96  # ... mean
PACE_COMFORT_WPM = (100.0, 165.0)  # METRICS.md § Language: comfortable pace
RQ_FAIR, RQ_GOOD = 1.0, 2.0  # METRICS.md § Language: MITI 4.2.1 reflection-to-question
COMPLEX_FAIR, COMPLEX_GOOD = 0.40, 0.50  # METRICS.md § Language: MITI % complex reflections

__all__ = ["CLIENT_LED", "COMPLEX_FAIR", "COMPLEX_GOOD", "MI_SILENCE_MEAN_S",
           "MI_SILENCE_MEDIAN_S", "PACE_COMFORT_WPM", "RQ_FAIR", "RQ_GOOD",
           "SWITCH_GAP_MODE_S", "THERAPIST_HEAVY", "miti_level", "pace_label"]


def miti_level(value: float | None, fair: float, good: float) -> str | None:
    """MITI 4.2.1 threshold label: "good", "fair" or "below fair"; None without data."""
    if value is None:
        return None
    if value >= good:
        return "good"
    return "fair" if value >= fair else "below fair"


def pace_label(wpm: float | None) -> str | None:
    """Slow / comfortable / fast against METRICS.md's 100–165 wpm."""
    if wpm is None:
        return None
    lo, hi = PACE_COMFORT_WPM
    if wpm < lo:
        return "slow"
    return "comfortable" if wpm <= hi else "fast"
