"""bench_single_mic's tally of where one microphone's interruptions go wrong (issue 18)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from bench.bench_single_mic import (
    BOUT_PARTS,
    MISS_CAUSES,
    bout_errors,
    hypothesis,
    miss_cause,
    misses_and_falses,
    overlap_from_truth,
    segments_annotation,
    true_second_voice,
)
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Backchannel, FloorChange, Interruption, Segment
from live_attune.speakers import single
from live_attune.speakers.single import FRAME_S, AttributedSpan


def _true(at_s: float, by: str, margin_s: float) -> dict[str, Any]:
    return {"at_s": at_s, "by": by, "of": "therapist" if by == "client" else "client",
            "successful": True, "margin_s": margin_s}


def test_each_missed_interruption_gets_its_cause_and_whether_it_was_near_a_threshold(
        ) -> None:
    truth = {"interruptions": [
        _true(10.0, "client", 0.3),  # found: not a miss
        _true(20.0, "client", 0.05),  # read as a backchannel
        _true(30.0, "therapist", 0.2),  # read as a floor-taking
        _true(40.0, "client", 0.02),  # found 0.8 s late
        _true(50.0, "client", 0.5),  # the client's speech only from 51 s
        _true(60.0, "client", 0.5),  # nothing of the client's near
        _true(90.0, "client", 0.5),  # a client segment begins there: something else
        _true(100.0, "client", 0.5),  # found
        _true(100.6, "client", 0.5),  # missed: the one found at 100.05 is 100.0's
    ], "bouts": [{"at_s": 70.0, "by": "client", "margin_s": 0.03, "label": "takes_floor"},
                 {"at_s": 80.3, "by": "client", "margin_s": 0.4, "label": "backchannel"},
                 {"at_s": 40.9, "by": "therapist", "margin_s": 0.0, "label": "overlap"}]}
    history = SessionHistory()
    history.interruptions += [Interruption(10.1, "client", "therapist", True),
                              Interruption(40.8, "client", "therapist", True),
                              Interruption(70.1, "client", "therapist", False),
                              Interruption(80.0, "client", "therapist", False),
                              Interruption(100.05, "client", "therapist", True)]
    history.backchannels.append(Backchannel(20.1, "client", "therapist", 0.8))
    history.floor_changes.append(FloorChange("therapist", 30.2, "client", -0.2))
    history.segments += [Segment("client", 51.0, 53.0), Segment("client", 89.8, 91.0),
                         Segment("client", 20.1, 20.9)]
    misses, falses = misses_and_falses(truth, history)
    assert misses == (("bout measured < 1 s", False), ("seen as a floor-taking", True),
                      ("found > 0.5 s off", False), ("change of voice late", True),
                      ("not heard near", True), ("onset found, other", True),
                      ("not heard near", True))
    # 40.8: the therapist's bout is not the client's; 70.1 a floor-taking 0.03 s from a
    # threshold; 80.0 a clear backchannel
    assert falses == (("no true bout", False), ("takes_floor", True), ("backchannel", False))
    assert {miss_cause(t, SessionHistory()) for t in truth["interruptions"]} == {
        MISS_CAUSES[-1]}


def _seg(speaker: str, start_s: float, end_s: float) -> dict[str, Any]:
    return {"speaker": speaker, "start_s": start_s, "end_s": end_s}


def _bout(at_s: float, label: str) -> dict[str, Any]:
    return {"at_s": at_s, "by": "client", "of": "therapist", "label": label}


def test_each_true_bout_s_error_is_split_into_where_its_speech_went() -> None:
    truth = {"segments": [
        _seg("therapist", 8.0, 45.0),
        _seg("client", 10.0, 10.6), _seg("client", 10.9, 11.5),  # 1.2 s, read 0.8 s
        _seg("client", 20.0, 20.4),  # a backchannel read 0.1 s long at both ends
        _seg("client", 30.0, 30.5), _seg("client", 30.7, 31.4),  # read as 0.5 s, cut off
        _seg("client", 40.0, 40.5),  # never heard as the client's
    ], "bouts": [_bout(10.0, "unsuccessful_interruption"), _bout(20.0, "backchannel"),
                 _bout(30.0, "interruption"), _bout(40.0, "backchannel"),
                 _bout(1.0, "takes_floor")]}  # not one of the bouts compared
    segments = [Segment("client", 10.2, 10.6), Segment("client", 10.9, 11.3),
                Segment("client", 19.9, 20.5),
                Segment("client", 30.0, 30.5), Segment("client", 31.1, 31.4)]
    heard = [AttributedSpan("therapist", 8.0, 11.4, 0.9),
             AttributedSpan("therapist", 19.0, 21.0, 0.9),
             AttributedSpan("therapist", 29.0, 41.0, 0.9)]
    second = [AttributedSpan("client", 10.2, 10.6, 0.5, second_voice=True)]
    errors = bout_errors(truth, segments, heard + second)
    parts = [dict(zip(BOUT_PARTS, e.parts_s, strict=True)) for e in errors]
    assert [e.label for e in errors] == ["unsuccessful_interruption", "backchannel",
                                         "interruption", "backchannel"]
    assert [e.true_s for e in errors] == pytest.approx([1.2, 0.4, 1.2, 0.5])
    assert [e.measured_s for e in errors] == pytest.approx([0.8, 0.6, 0.5, 0.0])
    expected = [{"onset: given to the other": 0.2, "end: given to the other": 0.1,
                 "end: not heard": 0.1},  # the speech counted stops at 11.4 s
                {"gained before": 0.1, "gained after": 0.1},
                {"end: given to the other": 0.4, "split off": 0.3},  # a 0.6 s gap cut it
                {"onset: given to the other": 0.5}]
    for got, want in zip(parts, expected, strict=True):
        assert got == {k: pytest.approx(want.get(k, 0.0), abs=1e-9) for k in BOUT_PARTS}
    for e in errors:  # measured - true = gains - losses
        losses, gains = sum(e.parts_s[:7]), sum(e.parts_s[7:])
        assert e.measured_s - e.true_s == pytest.approx(gains - losses, abs=0.011)


def test_bout_errors_keep_three_labels_split_at_the_bridge_and_count_second_voices() -> None:
    """Only interruptions, unsuccessful ones and backchannels are compared (an overlap and a
    turn start are not); a pause of exactly the 0.5 s bridge ends a bout (METRICS.md: a bout
    goes on across shorter silences); true speech lost where a second-voice span gives it to
    its own speaker counts as split off, not as given to the other voice."""
    truth = {"segments": [
        _seg("therapist", 48.0, 95.0),
        _seg("client", 50.0, 50.5), _seg("client", 51.0, 51.5),  # 0.5 s pause: two bouts
        _seg("client", 60.0, 60.4), _seg("client", 70.0, 70.4),
        _seg("client", 80.0, 80.6),  # read 0.3 s; the rest heard as a second voice
    ], "bouts": [_bout(50.0, "backchannel"), _bout(60.0, "overlap"),
                 _bout(70.0, "turn_start"), _bout(80.0, "backchannel")]}
    segments = [Segment("client", 50.0, 50.5), Segment("client", 51.0, 51.5),
                Segment("client", 80.0, 80.3)]
    spans = [AttributedSpan("therapist", 48.0, 95.0, 0.9),
             AttributedSpan("client", 80.3, 80.6, 0.5, second_voice=True)]
    errors = bout_errors(truth, segments, spans)
    assert [e.label for e in errors] == ["backchannel", "backchannel"]
    assert [e.true_s for e in errors] == pytest.approx([0.5, 0.6])
    assert [e.measured_s for e in errors] == pytest.approx([0.5, 0.3])
    parts = dict(zip(BOUT_PARTS, errors[1].parts_s, strict=True))
    assert parts == {k: pytest.approx(0.3 if k == "split off" else 0.0, abs=1e-9)
                     for k in BOUT_PARTS}


def test_the_oracle_second_voice_is_the_true_other_speaker_on_heard_overlap_frames() -> None:
    # frames of 0.1 s; cluster 1 is the therapist (alone on frames 0-4), cluster 0 the
    # client (alone on 8-9); both speak on 5-7 (0.5-0.8 s), of which frame 7 is not heard
    labels = np.array([1, 1, 1, 1, 1, 1, 0, -1, 0, 0])
    segments = [{"speaker": "therapist", "start_s": 0.0, "end_s": 0.79},  # rounds to 8
                {"speaker": "client", "start_s": 0.51, "end_s": 1.0}]  # rounds to 5
    second, mix = true_second_voice(labels, segments, 0.1)
    assert second.tolist() == [-1, -1, -1, -1, -1, 0, 1, -1, -1, -1]
    assert mix.tolist() == [0, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0]
    one_voice = true_second_voice(np.zeros(10, int), segments, 0.1)[0]  # one cluster only
    assert (one_voice == -1).all()


def test_the_oracle_reaches_the_encoder_path_s_decisions() -> None:
    rng = np.random.default_rng(0)
    n = 400  # 32 ms frames, ~12.8 s
    a, b = np.eye(256, dtype=np.float32)[0], np.eye(256, dtype=np.float32)[1]
    centres = np.arange(0.8, 12.0, 0.5)
    vectors = np.stack([(a if c < 6.4 else b) + 0.05 * rng.standard_normal(256)
                        for c in centres]).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    windows = single.VoiceWindows(centres, vectors, np.zeros((len(centres), 40), np.float32),
                                  np.zeros(n * 4))
    speech = np.ones(n, bool)
    truth = {"segments": [{"speaker": "therapist", "start_s": 0.0, "end_s": 7.68},
                          {"speaker": "client", "start_s": 5.12, "end_s": 12.8}]}
    alone = single.decide_voices(speech, windows)
    with overlap_from_truth(truth):
        known = single.decide_voices(speech, windows)
    assert (alone.second == -1).all()
    assert np.flatnonzero(known.second >= 0).tolist() == list(range(160, 240))
    assert (known.second[160:240] != known.labels[160:240]).all()


def test_two_speakers_segments_with_the_same_ends_are_both_scored() -> None:
    history = SessionHistory()
    history.segments = [Segment("therapist", 1.0, 2.0), Segment("client", 1.0, 2.0),
                        Segment("client", 2.3, 3.0)]
    ann = segments_annotation(SimpleNamespace(history=history))  # type: ignore[arg-type]
    assert sorted(ann.labels()) == ["client", "therapist"]
    assert ann.label_duration("therapist") == pytest.approx(1.0)
    assert ann.label_duration("client") == pytest.approx(1.7)
    bridged = segments_annotation(SimpleNamespace(history=history), 0.5)  # type: ignore[arg-type]
    assert bridged.label_duration("client") == pytest.approx(2.0)
    assert bridged.label_duration("therapist") == pytest.approx(1.0)


def test_a_frame_two_voices_share_is_scored_for_both() -> None:
    # both voices on exactly the same frames: one segment, two speakers
    att = single.Attribution(labels=np.array([0, 0, -1]), second=np.array([1, 1, -1]),
                             roles=("therapist", "client"), confidence=np.ones(3),
                             method="test")
    ann = hypothesis(att)
    assert ann.label_duration("therapist") == pytest.approx(2 * FRAME_S)
    assert ann.label_duration("client") == pytest.approx(2 * FRAME_S)
