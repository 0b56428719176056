"""core.replay_segments: stored segments → the same events and measures as the live engine."""

from __future__ import annotations

import itertools
from dataclasses import asdict

import pytest

from live_attune.core import Segment
from live_attune.core.conversation import frames_from_segments, replay_segments
from live_attune.session.offline import analyze_file


def test_frames_reproduce_segments_exactly() -> None:
    segs = [Segment("therapist", 0.5, 2.0), Segment("client", 1.5, 4.0),
            Segment("therapist", 5.0, 6.0)]
    frames = frames_from_segments(("therapist", "client"), segs, end_s=7.0, sample_rate=16_000)
    assert frames[0].start == 0 and frames[-1].end == 7 * 16_000
    assert all(a.end == b.start for a, b in itertools.pairwise(frames))
    engine = replay_segments(("therapist", "client"), segs, end_s=7.0, sample_rate=16_000)
    assert engine.history.segments == sorted(segs, key=lambda s: s.end_s)


def test_replay_of_a_whole_session_equals_the_pipeline(conversation: dict) -> None:
    result = analyze_file(conversation["stereo"])
    h = result.history
    engine = replay_segments(result.layout.speakers, h.segments, end_s=result.metrics.at_s,
                             sample_rate=16_000)
    again = engine.history
    assert again.segments == h.segments
    assert again.turns == h.turns
    assert again.pauses == h.pauses
    assert again.interruptions == h.interruptions
    assert again.backchannels == h.backchannels
    assert again.long_silences == h.long_silences
    assert asdict(engine.finish()) == asdict(result.metrics)


def test_segments_past_the_end_are_clipped() -> None:
    engine = replay_segments(("therapist",), [Segment("therapist", 1.0, 9.0)], end_s=4.0,
                             sample_rate=16_000)
    assert engine.history.segments == [Segment("therapist", 1.0, 4.0)]
    assert engine.finish().talk_time_s["therapist"] == pytest.approx(3.0)
