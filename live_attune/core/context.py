"""Context numbers a report sets the session against (METRICS.md § Context numbers,
§ Turns and § Language). Labels, not judgements: the report says what the range means.
"""

from __future__ import annotations

from dataclasses import dataclass

from live_attune.core.config import MetricsConfig
from live_attune.core.metrics import CLIENT_LED, THERAPIST_HEAVY

SWITCH_GAP_MODE_S = 0.2  # METRICS.md § Turns: natural conversation (Levinson & Torreira 2015)
MI_SILENCE_MEDIAN_S = 0.61  # METRICS.md § Turns: MI sessions (Soma et al. 2022)
MI_SILENCE_MEAN_S = 0.96  # ... mean
PACE_COMFORT_WPM = (100.0, 165.0)  # METRICS.md § Language: comfortable pace
RQ_FAIR, RQ_GOOD = 1.0, 2.0  # METRICS.md § Language: MITI 4.2.1 reflection-to-question
COMPLEX_FAIR, COMPLEX_GOOD = 0.40, 0.50  # METRICS.md § Language: MITI % complex reflections

__all__ = [
    "CLIENT_LED",
    "COMPLEX_FAIR",
    "COMPLEX_GOOD",
    "MI_SILENCE_MEAN_S",
    "MI_SILENCE_MEDIAN_S",
    "MONOLOGUE_CUE_S_BY_MODALITY",
    "PACE_COMFORT_WPM",
    "RQ_FAIR",
    "RQ_GOOD",
    "SWITCH_GAP_MODE_S",
    "THERAPIST_HEAVY",
    "DisplayThresholds",
    "display_thresholds",
    "miti_level",
    "pace_label",
]


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


# The live monologue cue per modality (METRICS.md § Turns: monologue_cue "configurable per
# modality"). MI keeps METRICS.md's default (the config's monologue_cue_s); person-centred
# work leaves the client more room, CBT/DBT sessions run more therapist-led (§ Context).
MONOLOGUE_CUE_S_BY_MODALITY = {"person-centred": 45.0, "cbt": 90.0}
# The live view shows the typical room before answering once this many answers are in: the
# median of one or two swings widely in the first minute.
LATENCY_MIN_ANSWERS = 3


@dataclass(frozen=True, kw_only=True)
class DisplayThresholds:
    """The thresholds the live view shows, cues on or quotes in its definitions, sent to it
    by the server so that the page has none of its own."""

    patient_wait_s: float
    window_s: float
    long_silence_s: float
    monologue_cue_s: dict[str, float]  # by modality: person-centred, cbt, mi
    latency_min_answers: int  # the typical room before answering is shown from this many on
    floor_min_s: float  # METRICS.md § Overlaps: held this long before it can be interrupted
    terminal_s: float  # ... onsets this near the holder's end do not interrupt
    backchannel_max_s: float  # ... a bout this long or longer is not a backchannel
    client_led_share: float  # § Context numbers: client share above this reads client-led
    therapist_heavy_share: float  # ... below this therapist-heavy
    rq_fair: float  # § Language: MITI 4.2.1 reflections per question, fair from
    rq_good: float  # ... good from
    pace_comfort_wpm: tuple[float, float]  # § Language: comfortable pace


def display_thresholds(config: MetricsConfig) -> DisplayThresholds:
    cues = {**MONOLOGUE_CUE_S_BY_MODALITY, "mi": config.monologue_cue_s}
    return DisplayThresholds(patient_wait_s=config.patient_wait_s, window_s=config.window_s,
                             long_silence_s=config.long_silence_s, monologue_cue_s=cues,
                             latency_min_answers=LATENCY_MIN_ANSWERS,
                             floor_min_s=config.floor_min_s, terminal_s=config.terminal_s,
                             backchannel_max_s=config.backchannel_max_s,
                             client_led_share=CLIENT_LED, therapist_heavy_share=THERAPIST_HEAVY,
                             rq_fair=RQ_FAIR, rq_good=RQ_GOOD,
                             pace_comfort_wpm=PACE_COMFORT_WPM)
