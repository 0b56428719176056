"""speakers/overlap.py: two voices at once on one microphone, told by their pitch (issue 18)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.core.audio_facts import HOP_S
from live_attune.core.pitch import yin
from live_attune.speakers.overlap import OverlapConfig, PitchTrack, pitch_overlaps, pitch_track

JFK = Path(__file__).resolve().parents[3] / "shared" / "data" / "asr" / "jfk.wav"


def test_pitch_track_in_odd_blocks_equals_yin_over_the_whole() -> None:
    audio = read_all(JFK)[0]
    whole = yin(audio, fmin_hz=60.0, fmax_hz=400.0, sample_rate=16000, frame_length=1024,
                hop_length=160, center=True)
    track = PitchTrack()
    for i in range(0, len(audio), 1234):
        track.feed(audio[i:i + 1234])
        assert len(track.f0_hz) <= len(whole)
    track.finish()
    np.testing.assert_array_equal(track.f0_hz, whole)
    np.testing.assert_array_equal(pitch_track(audio), whole)


def _jumping(first_hz: float, second_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """10 s at 10 ms: speaker 0 (first_hz) alone, then 1 s where the pitch jumps between
    both voices every 50 ms (two at once), then speaker 1 alone; main labels per 10 ms."""
    f0 = np.full(1000, first_hz)
    f0[500:] = second_hz
    f0[400:500] = np.where((np.arange(100) // 5) % 2 == 0, first_hz, second_hz)
    labels = np.where(np.arange(1000) < 470, 0, 1)
    return labels, f0


def test_a_second_voice_is_called_where_the_pitch_jumps_between_two_voices() -> None:
    labels, f0 = _jumping(220.0, 110.0)
    second, mix = pitch_overlaps(labels, f0, HOP_S)
    called = np.flatnonzero(second >= 0)
    assert 395 <= called.min() <= 410 and 490 <= called.max() <= 505  # the 1 s of jumping
    assert set(second[called[called < 470]]) == {1} and set(second[called[called >= 470]]) == {0}
    assert np.all(mix[called] > 0.3) and np.all(mix[second < 0] == 0)


def test_voices_alike_in_pitch_are_never_called_overlapping() -> None:
    labels, f0 = _jumping(220.0, 220.0 * 2 ** (-5 / 12))  # 5 semitones apart
    assert (pitch_overlaps(labels, f0, HOP_S)[0] >= 0).sum() == 0
    loose = OverlapConfig(min_separation_st=4.0)
    assert (pitch_overlaps(labels, f0, HOP_S, loose)[0] >= 0).sum() > 50


def test_lone_frames_of_another_pitch_are_not_read() -> None:
    """YIN's values on unvoiced frames jump about: a frame whose pitch is far from both its
    neighbours' says nothing, even when every third frame is one (an octave error, say)."""
    labels, f0 = _jumping(220.0, 110.0)
    f0[400:500] = 220.0
    f0[100:470:3] = 110.0  # speaker 1's pitch
    assert (pitch_overlaps(labels, f0, HOP_S)[0] >= 0).sum() == 0
    unsteady = OverlapConfig(steady_st=99.0)
    assert (pitch_overlaps(labels, f0, HOP_S, unsteady)[0] >= 0).sum() > 300


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="min_mix"):
        OverlapConfig(min_mix=0.6)
