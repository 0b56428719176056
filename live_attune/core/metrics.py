"""Talk time, shares, overlap, silences and the session summary (METRICS.md).

``ActivityLedger`` consumes the same time-ordered boundaries as the floor tracker and keeps
running sums, so a live snapshot and the final summary come from one code path.
"""

from __future__ import annotations

import statistics
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from live_attune.core.config import MetricsConfig
from live_attune.core.events import (
    FloorChange,
    LongSilence,
    Segment,
)
from live_attune.core.roles import THERAPIST, is_client


class ActivityLedger:
    """Running talk time, overlap time, rolling window and long silences."""

    def __init__(self, speakers: Sequence[str], *, sample_rate: int, config: MetricsConfig) -> None:
        self._rate = sample_rate
        self._window = round(config.window_s * sample_rate)
        self._long_silence = round(config.long_silence_s * sample_rate)
        self.talk: dict[str, int] = {s: 0 for s in speakers}  # closed speech, samples
        self.overlap = 0  # samples with two or more speakers active
        self.active: dict[str, int] = {}  # speaker -> onset of open segment
        self._last_change = 0
        self._silence_from: int | None = None  # end of the last speech, when all are silent
        self._last_speaker: str | None = None
        self._recent: deque[tuple[str, int, int]] = deque()  # closed segments in the window

    def onset(self, speaker: str, at: int) -> LongSilence | None:
        self._advance(at)
        found = None
        since = self._silence_from
        if not self.active and since is not None and at - since >= self._long_silence:
            found = LongSilence(since / self._rate, at / self._rate, self._last_speaker, speaker)
        self.active[speaker] = at
        return found

    def offset(self, speaker: str, at: int) -> None:
        self._advance(at)
        onset = self.active.pop(speaker)
        self.talk[speaker] += at - onset
        self._recent.append((speaker, onset, at))
        if not self.active:
            self._silence_from = at
            self._last_speaker = speaker

    def talk_at(self, now: int) -> dict[str, int]:
        """Talk time per speaker up to ``now``, open segments included."""
        out = dict(self.talk)
        for speaker, onset in self.active.items():
            out[speaker] += max(0, now - onset)
        return out

    def overlap_at(self, now: int) -> int:
        return self.overlap + (max(0, now - self._last_change) if len(self.active) >= 2 else 0)

    def rolling_talk_at(self, now: int) -> dict[str, int]:
        """Talk time per speaker within the last ``window`` before ``now``."""
        lo = now - self._window
        while self._recent and self._recent[0][2] <= lo:
            self._recent.popleft()
        out = {s: 0 for s in self.talk}
        spans = [*self._recent, *((s, on, now) for s, on in self.active.items())]
        for speaker, start, end in spans:
            out[speaker] += max(0, min(end, now) - max(start, lo))
        return out

    def _advance(self, at: int) -> None:
        if len(self.active) >= 2:
            self.overlap += at - self._last_change
        self._last_change = at


@dataclass(frozen=True, slots=True)
class LatencyStats:
    """Response latency: switch gaps before therapist turns that follow a client turn."""

    count: int
    median_s: float | None
    mean_s: float | None
    share_patient: float | None  # share of responses that waited >= patient_wait_s


@dataclass(frozen=True, slots=True)
class SessionMetrics:
    """The METRICS.md measures at one moment (live) or for the whole session (final)."""

    at_s: float
    speakers: tuple[str, ...]
    floor_holder: str | None
    current_turn_s: float
    talk_time_s: Mapping[str, float]
    talk_share: Mapping[str, float | None]  # of all talk time (silence excluded)
    talk_share_of_elapsed: Mapping[str, float | None]  # of elapsed time (silence included)
    rolling_talk_share: Mapping[str, float | None]  # over the last window_s
    balance: str | None  # "client-led", "even", "therapist-heavy" (session); None: no roles
    rolling_balance: str | None  # the same over the last window_s
    overlap_s: float
    overlap_share: float | None  # overlap time / total talk time
    response_latency: LatencyStats
    recent_response_latencies_s: tuple[float, ...]  # the last few, oldest first
    longest_monologue_s: Mapping[str, float]
    interruptions_by: Mapping[str, int]
    successful_interruptions_by: Mapping[str, int]  # and the other stopped
    unsuccessful_interruptions_by: Mapping[str, int]  # and the other went on
    interruptions_per_hour_by: Mapping[str, float | None]
    backchannels_by: Mapping[str, int]
    long_silences: int
    turns: int
    monologue_cue: bool  # the therapist's current turn is past monologue_cue_s
    # One microphone, live: the interruption and backchannel counts are those of the voices
    # decided again (every half minute) up to this time; 0.0: not yet; None: as they happen
    counted_to_s: float | None = None


CLIENT_LED = 0.60  # METRICS.md § Context numbers: client share above this is "client-led"
THERAPIST_HEAVY = 0.40  # ... below this "therapist-heavy"; between them "even"


def unsuccessful_by(interruptions_by: Mapping[str, int], successful_by: Mapping[str, int]
                    ) -> dict[str, int]:
    """Interruptions where the other went on, per speaker, from the two counts (every
    interruption is successful or not): for sessions saved before core emitted them."""
    return {s: n - successful_by.get(s, 0) for s, n in interruptions_by.items()}


def client_share(share: Mapping[str, float | None]) -> float | None:
    """The clients' combined share (client, client_2 ...); None without a therapist role."""
    if THERAPIST not in share or share[THERAPIST] is None:
        return None
    return sum(v or 0.0 for k, v in share.items() if is_client(k))


def balance_label(share: Mapping[str, float | None]) -> str | None:
    """Client-led / even / therapist-heavy from the clients' combined talk share."""
    client = client_share(share)
    if client is None:
        return None
    if client > CLIENT_LED:
        return "client-led"
    return "even" if client >= THERAPIST_HEAVY else "therapist-heavy"


def shares(values: Mapping[str, float], total: float) -> dict[str, float | None]:
    """Each value's fraction of ``total``; None when the total is zero."""
    return {k: (v / total if total > 0 else None) for k, v in values.items()}


def latency_stats(gaps_s: Sequence[float], patient_wait_s: float) -> LatencyStats:
    if not gaps_s:
        return LatencyStats(0, None, None, None)
    patient = sum(1 for g in gaps_s if g >= patient_wait_s)
    return LatencyStats(len(gaps_s), statistics.median(gaps_s), statistics.fmean(gaps_s),
                        patient / len(gaps_s))


def response_gap_s(change: FloorChange) -> float | None:
    """The switch gap before a therapist turn that follows a client turn, else None.

    METRICS.md § Turns: response latency ("patience").
    """
    if change.speaker != THERAPIST or change.previous in (None, THERAPIST):
        return None
    return change.switch_gap_s


def count_by(speakers: Iterable[str], who: Iterable[str]) -> dict[str, int]:
    out = dict.fromkeys(speakers, 0)
    for s in who:
        out[s] = out.get(s, 0) + 1
    return out


def per_hour(counts: Mapping[str, int], elapsed_s: float) -> dict[str, float | None]:
    return {k: (v * 3600.0 / elapsed_s if elapsed_s > 0 else None) for k, v in counts.items()}


@dataclass(frozen=True, slots=True)
class SharePoint:
    """Talk share over the ``window_s`` before ``at_s`` (the report's share-over-time line)."""

    at_s: float
    talk_share: Mapping[str, float | None]


def talk_share_series(speakers: Sequence[str], segments: Sequence[Segment], *, end_s: float,
                      window_s: float, step_s: float) -> list[SharePoint]:
    """Rolling talk share (METRICS.md § Activity) every ``step_s`` up to ``end_s``.

    Early points use the time since the start when less than ``window_s`` has passed.
    """
    if step_s <= 0 or window_s <= 0:
        raise ValueError("step_s and window_s must be positive")
    points = []
    n = int(end_s // step_s)
    for k in range(1, n + 1):
        at = k * step_s
        lo = at - window_s
        talk = dict.fromkeys(speakers, 0.0)
        for seg in segments:
            talk[seg.speaker] += max(0.0, min(seg.end_s, at) - max(seg.start_s, lo))
        points.append(SharePoint(at, shares(talk, sum(talk.values()))))
    return points
