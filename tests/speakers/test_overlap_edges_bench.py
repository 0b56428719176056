"""bench_overlap_edges: true overlaps from the truth's segments, found ones from the
attribution, and each true one's edge errors (issue 18)."""

from __future__ import annotations

import pytest

from bench.bench_overlap_edges import (
    SLACK_S,
    EdgeTally,
    found_overlaps,
    main,
    tally,
    true_overlaps,
)
from live_attune.speakers.single import AttributedSpan

N = 2000  # 20 s on the 10 ms grid


def _seg(who: str, a: float, b: float) -> dict[str, object]:
    return {"speaker": who, "start_s": a, "end_s": b}


def test_true_overlaps_are_where_two_speakers_speak_at_once_at_least_0_1_s() -> None:
    segments = [_seg("therapist", 1.0, 5.0), _seg("client", 4.0, 8.0),  # 4-5: overlap
                _seg("therapist", 7.95, 9.0),  # 7.95-8.0: 50 ms, not counted
                _seg("client", 12.0, 13.0), _seg("client", 12.5, 14.0)]  # one speaker twice
    assert true_overlaps(segments, N) == [(4.0, 5.0)]


def test_found_overlaps_are_the_second_voice_runs_joined_over_speakers() -> None:
    spans = [AttributedSpan("therapist", 0.0, 5.0, 0.9),
             AttributedSpan("client", 4.0, 4.6, 0.5, second_voice=True),
             AttributedSpan("therapist", 4.5, 5.2, 0.5, second_voice=True),  # joins it
             AttributedSpan("client", 5.0, 9.0, 0.9),
             AttributedSpan("therapist", 10.0, 10.3, 0.4, second_voice=True)]
    assert found_overlaps(spans, N) == [(4.0, 5.2), (10.0, 10.3)]


def test_each_true_overlap_gets_the_edges_of_the_found_ones_near_it() -> None:
    true = [(2.0, 3.0), (6.0, 7.0), (12.0, 12.5)]
    found = [(1.9, 2.4), (2.6, 3.1),  # one true overlap found in two pieces
             (7.1, 7.5),  # within SLACK_S after 6-7: that one's, late
             (15.0, 15.5)]  # nothing true near: false
    t = tally(true, found, N)
    assert (t.true_n, t.found_n, t.hit_n, t.false_n) == (3, 4, 2, 1)
    assert t.start_errors_s == (pytest.approx(-0.1), pytest.approx(1.1))
    assert t.end_errors_s == (pytest.approx(0.1), pytest.approx(0.5))
    assert t.frame_true_s == pytest.approx(2.5)
    assert t.frame_found_s == pytest.approx(0.5 + 0.5 + 0.4 + 0.5)
    assert t.frame_both_s == pytest.approx(0.4 + 0.4)  # 2.0-2.4 and 2.6-3.0


def test_a_found_overlap_just_past_the_slack_is_false_and_the_true_one_missed() -> None:
    t = tally([(5.0, 6.0)], [(6.0 + SLACK_S + 0.02, 6.5)], N)
    assert (t.hit_n, t.false_n, t.start_errors_s) == (0, 1, ())


def test_tallies_pool_by_adding() -> None:
    a = tally([(1.0, 2.0)], [(1.1, 2.0)], N)
    b = tally([(3.0, 4.0)], [], N)
    pooled = EdgeTally(0, 0, 0, 0, 0.0, 0.0, 0.0, (), ()) + a + b
    assert (pooled.true_n, pooled.hit_n, pooled.start_errors_s) == (2, 1, (pytest.approx(0.1),))


def test_a_backward_seed_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--hard-seeds", "9-3"])
    assert exc.value.code == 2
    assert "runs backwards" in capsys.readouterr().err
