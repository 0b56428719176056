"""Quality gates for a report (METRICS.md § Quality gates; Flemotomos et al. 2022).

A flagged session is shown with its flags, never hidden: the numbers may still be useful,
but the reader must know why they might not be.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live_attune.core.events import Segment


@dataclass(frozen=True, kw_only=True)
class QualityConfig:
    """The gates' limits; each default is METRICS.md's."""

    min_speech_share: float = 0.25  # speech below this share of the recording is flagged
    min_speaker_share: float = 0.10  # any speaker below this share of talk time is flagged
    max_mean_segment_s: float = 20.0  # longer mean segments: attribution likely failed
    min_duration_s: float = 60.0  # shorter recordings are flagged

    def __post_init__(self) -> None:
        if not (0 < self.min_speech_share < 1 and 0 < self.min_speaker_share < 1):
            raise ValueError("quality shares must lie between 0 and 1")
        if self.max_mean_segment_s <= 0 or self.min_duration_s <= 0:
            raise ValueError("quality durations must be positive")


@dataclass(frozen=True, slots=True)
class QualityFlag:
    """One gate the session failed: the measured ``value`` against its ``limit``."""

    gate: str  # speech_share | speaker_share | mean_segment | duration
    value: float
    limit: float
    message: str
    speaker: str | None = None


def quality_flags(*, segments: Sequence[Segment], talk_time_s: Mapping[str, float],
                  overlap_s: float, duration_s: float,
                  config: QualityConfig | None = None) -> list[QualityFlag]:
    """Every gate of METRICS.md the session fails, in the order METRICS.md lists them."""
    cfg = config or QualityConfig()
    flags: list[QualityFlag] = []
    total_talk = sum(talk_time_s.values())
    speech_share = (total_talk - overlap_s) / duration_s if duration_s > 0 else 0.0
    if speech_share < cfg.min_speech_share:
        flags.append(QualityFlag("speech_share", speech_share, cfg.min_speech_share,
                                 f"speech is {speech_share:.0%} of the recording "
                                 f"(under {cfg.min_speech_share:.0%})"))
    if len(talk_time_s) > 1:
        for speaker, talk in talk_time_s.items():
            share = talk / total_talk if total_talk > 0 else 0.0
            if share < cfg.min_speaker_share:
                flags.append(QualityFlag("speaker_share", share, cfg.min_speaker_share,
                                         f"{speaker} has {share:.0%} of the talk time (under "
                                         f"{cfg.min_speaker_share:.0%})", speaker))
    if segments:
        mean_s = sum(s.duration_s for s in segments) / len(segments)
        if mean_s > cfg.max_mean_segment_s:
            flags.append(QualityFlag("mean_segment", mean_s, cfg.max_mean_segment_s,
                                     f"mean speech segment is {mean_s:.0f} s (over "
                                     f"{cfg.max_mean_segment_s:.0f} s): attribution likely "
                                     "failed"))
    if duration_s < cfg.min_duration_s:
        flags.append(QualityFlag("duration", duration_s, cfg.min_duration_s,
                                 f"the recording is {duration_s:.0f} s long (under "
                                 f"{cfg.min_duration_s:.0f} s)"))
    return flags


MEASURED = "measured"
ESTIMATED = "estimated"
NOT_RELIABLE_ONE_MIC = "not reliable on one microphone"
RECOUNTED_LIVE = "recounted every half minute, not reliable on one microphone"  # live
NOT_COUNTED_STOPPED = "not counted: the session stopped unexpectedly"  # one mic, recovered
# one microphone, recovered from a journal that kept a recount: the counts are the newest
# recount's, up to its time (metrics.counted_to_s)
RECOUNTED_STOPPED = ("counted up to the last half minute before the session stopped, not "
                     "reliable on one microphone")


@dataclass(frozen=True, kw_only=True)
class Reliability:
    """How far each kind of measure can be trusted in this recording set-up, in the words
    the dashboard and the report show beside it.

    One microphone: who spoke is told apart by voice, so the talk share is an estimate.
    Interruptions and backchannels are decided in the moments when two people talk at once:
    they were mostly wrong on conversations the project had not seen (interruptions:
    precision about 0.5, recall about 0.35; backchannels about 0.2), and the end-of-session
    revision that now looks for them reaches precision 0.70, recall 0.63 on hard generator
    seeds 9-88 (each with a confidence); they are marked, never shown as facts. During a
    live session they are not counted from the live decisions, which give each moment one
    voice (each run of the other voice starts where the holder's ends), so by construction
    find no interruption (hard seeds 41-52: 0 of 100) and few backchannels, mostly wrong
    (21 found, 5 right, of 80): every half minute the frames so far are decided again as the
    revision will decide them, and the dashboard shows that recount's counts with the time
    they reach (``SessionMetrics.counted_to_s``; hard seeds 41-52, each recount against the
    truth before its time, pooled: interruptions precision 0.72, recall 0.58; backchannels
    0.41 / 0.71; bench/bench_live_counts.py). The store's journal keeps the newest
    recount: a session recovered after it stopped unexpectedly counts up to it; without one
    (stopped in its first half minute, or journaled by an older version) it keeps only the
    live decisions, and its counts are said not to have been counted (the report and the
    trends show none).
    """

    talk_share: str = MEASURED
    interruptions: str = MEASURED
    backchannels: str = MEASURED


def reliability(*, voices_from_one_microphone: bool, live: bool = False,
                revised: bool = True, recounted: bool = False) -> Reliability:
    """The measures' reliability for a session whose speakers were (or were not) told
    apart by voice on one microphone; ``live``: while the session is still running;
    ``revised`` False: it ended without the end-of-session revision (recovered), with
    ``recounted`` its counts those of the newest live recount."""
    if not voices_from_one_microphone:
        return Reliability()
    counts = RECOUNTED_LIVE if live else NOT_RELIABLE_ONE_MIC if revised \
        else RECOUNTED_STOPPED if recounted else NOT_COUNTED_STOPPED
    return Reliability(talk_share=ESTIMATED, interruptions=counts, backchannels=counts)


def counted(word: str) -> bool:
    """Whether a measure with this reliability word has a count to show (one microphone:
    not in a session recovered without its revision)."""
    return word != NOT_COUNTED_STOPPED


def word_of(session: Mapping[str, Any], kind: str) -> str:
    """A session.json's reliability word for ``kind`` (measured where it says none: older
    files, two microphones)."""
    words = session.get("reliability") or {}
    return str(words.get(kind, MEASURED)) if kind else MEASURED
