"""Quality gates (METRICS.md § Quality gates) and the report's context labels."""

from __future__ import annotations

import pytest

from live_attune.core import Segment
from live_attune.core.context import miti_level, pace_label
from live_attune.core.metrics import talk_share_series
from live_attune.core.quality import QualityConfig, quality_flags


def gates(**kw: object) -> list[str]:
    base: dict[str, object] = {"segments": [Segment("therapist", 0, 10), Segment("client", 10, 40)],
                               "talk_time_s": {"therapist": 30.0, "client": 40.0},
                               "overlap_s": 0.0, "duration_s": 100.0}
    return [f.gate for f in quality_flags(**(base | kw))]  # type: ignore[arg-type]


def test_a_good_session_passes_every_gate() -> None:
    assert gates() == []


def test_each_gate_at_its_limit() -> None:
    assert gates(duration_s=59.9, talk_time_s={"therapist": 20.0, "client": 20.0}) == ["duration"]
    assert gates(duration_s=60.0, talk_time_s={"therapist": 20.0, "client": 20.0}) == []
    # speech share: (talk − overlap) / duration, limit 25 %
    assert gates(talk_time_s={"therapist": 12.0, "client": 14.0}, overlap_s=1.1) == [
        "speech_share"]
    assert gates(talk_time_s={"therapist": 12.0, "client": 14.0}, overlap_s=1.0) == []
    assert gates(talk_time_s={"therapist": 8.9, "client": 81.1}) == ["speaker_share"]
    assert gates(talk_time_s={"therapist": 10.0, "client": 90.0}) == []
    long = [Segment("client", 0, 20.5)]
    assert gates(segments=long) == ["mean_segment"]
    assert gates(segments=[Segment("client", 0, 20.0)]) == []


def test_the_flag_names_the_speaker_and_says_why() -> None:
    flags = quality_flags(segments=[], talk_time_s={"therapist": 5.0, "client": 95.0},
                          overlap_s=0.0, duration_s=200.0)
    assert flags[0].speaker == "therapist"
    assert "therapist has 5%" in flags[0].message


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        QualityConfig(min_speech_share=1.5)


def test_talk_share_series_uses_the_rolling_window() -> None:
    segs = [Segment("therapist", 0, 60), Segment("client", 60, 120)]
    series = talk_share_series(("therapist", "client"), segs, end_s=120, window_s=60,
                               step_s=30)
    assert [p.at_s for p in series] == [30, 60, 90, 120]
    assert series[1].talk_share == {"therapist": 1.0, "client": 0.0}
    assert series[2].talk_share == {"therapist": 0.5, "client": 0.5}
    assert series[3].talk_share == {"therapist": 0.0, "client": 1.0}


def test_context_labels() -> None:
    assert [miti_level(v, 1.0, 2.0) for v in (None, 0.5, 1.0, 2.0)] == [
        None, "below fair", "fair", "good"]
    assert [pace_label(v) for v in (None, 99, 100, 165, 166)] == [
        None, "slow", "comfortable", "comfortable", "fast"]
