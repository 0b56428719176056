"""The rules labeller (synth/truth.py) on hand-written speech intervals, answers worked by hand
from METRICS.md — each threshold on both sides of its edge. A = therapist, B = client."""

from __future__ import annotations

import pytest

from live_attune.synth.scenario import TruthEvent, TruthTurn
from live_attune.synth.truth import Labels, LongSilence, Rules, label, segments

A, B = "therapist", "client"


def lab(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> Labels:
    return label({A: a, B: b})


def turns(x: Labels) -> list[tuple[str, float, float]]:
    return [(t.speaker, t.start_s, t.end_s) for t in x.turns]


# -- § Activity ---------------------------------------------------------------------------------

def test_gaps_under_min_pause_are_bridged_at_it_they_are_not() -> None:
    assert segments([(0.0, 1.0), (1.24, 2.0)]) == [(0, 2000)]
    assert segments([(0.0, 1.0), (1.25, 2.0)]) == [(0, 1000), (1250, 2000)]


def test_segments_under_min_speech_are_dropped_at_it_they_are_kept() -> None:
    assert segments([(0.0, 0.09), (1.0, 1.1)]) == [(1000, 1100)]


def test_bridging_comes_before_dropping() -> None:
    # two 0.06 s blips 0.1 s apart make one 0.22 s segment, kept
    assert segments([(0.0, 0.06), (0.16, 0.22)]) == [(0, 220)]


def test_talk_share_is_summed_segments_silence_excluded() -> None:
    x = lab([(0.0, 3.0)], [(4.0, 5.0)])
    assert x.talk_time_s == {A: 3.0, B: 1.0}
    assert x.talk_share == {A: 0.75, B: 0.25}


# -- backchannels and bouts ---------------------------------------------------------------------

def test_short_bout_during_holder_speech_is_a_backchannel() -> None:
    x = lab([(0.0, 5.0)], [(2.0, 2.5)])
    assert x.backchannels == (TruthEvent(2.0, B, A),)
    assert x.interruptions == ()
    assert turns(x) == [(A, 0.0, 5.0)]


def test_two_word_backchannel_is_one_bout_of_summed_speech() -> None:
    # "mm-hm … yeah": 0.5 s + 0.35 s of speech 0.3 s apart: a bout of 0.85 s, one backchannel
    x = lab([(0.0, 6.0)], [(2.0, 2.5), (2.8, 3.15)])
    assert x.backchannels == (TruthEvent(2.0, B, A),)
    assert x.interruptions == ()


def test_bout_of_backchannel_max_summed_speech_is_no_backchannel() -> None:
    below = lab([(0.0, 8.0)], [(2.0, 2.5), (2.8, 3.29)])  # 0.99 s of speech
    at = lab([(0.0, 8.0)], [(2.0, 2.5), (2.8, 3.3)])  # 1.00 s
    assert below.backchannels == (TruthEvent(2.0, B, A),) and below.interruptions == ()
    assert at.backchannels == ()
    assert at.interruptions == (TruthEvent(2.0, B, A, False),)  # B stopped, A kept the floor


def test_bout_is_grouped_across_silences_under_bridge_only() -> None:
    # 0.5 s + 0.5 s of speech; 0.49 s apart: one 1.0 s bout; 0.50 s apart: two backchannels
    one = lab([(0.0, 8.0)], [(2.0, 2.5), (2.99, 3.49)])
    two = lab([(0.0, 8.0)], [(2.0, 2.5), (3.0, 3.5)])
    assert one.interruptions == (TruthEvent(2.0, B, A, False),) and one.backchannels == ()
    assert two.backchannels == (TruthEvent(2.0, B, A), TruthEvent(3.0, B, A))
    assert two.interruptions == ()


def test_gap_under_min_pause_counts_as_speech_in_a_bout() -> None:
    # 0.5 s + 0.35 s with a 0.2 s gap: bridged into one 1.05 s segment, so not a backchannel
    x = lab([(0.0, 8.0)], [(2.0, 2.5), (2.7, 3.05)])
    assert x.backchannels == ()
    assert x.interruptions == (TruthEvent(2.0, B, A, False),)


# -- interruptions -----------------------------------------------------------------------------

def test_no_pause_i_dont_think_so_is_a_successful_interruption_at_the_first_word() -> None:
    # A speaks 0-4 s; B: "No" 2.0-2.3, pause 0.4 s, "I don't think so" 2.7-4.5
    x = lab([(0.0, 4.0)], [(2.0, 2.3), (2.7, 4.5)])
    assert x.interruptions == (TruthEvent(2.0, B, A, True),)
    assert turns(x) == [(A, 0.0, 4.0), (B, 2.0, 4.5)]
    assert x.switch_gaps_s == (-2.0,)


def test_floor_min_edge() -> None:
    at = lab([(0.0, 5.0)], [(1.0, 2.2)])  # A has spoken exactly 1.0 s: interruption
    below = lab([(0.0, 5.0)], [(0.99, 2.19)])
    assert at.interruptions == (TruthEvent(1.0, B, A, False),)
    assert below.interruptions == ()  # an overlap; A keeps the floor
    assert turns(below) == [(A, 0.0, 5.0)]


def test_floor_min_counts_the_holders_speech_not_the_turns_span() -> None:
    # A: 0-0.6, pause 0.3, 0.9-5.0: at B's onset 1.2 A has spoken 0.9 s, not 1.2 s
    x = lab([(0.0, 0.6), (0.9, 5.0)], [(1.2, 2.4)])
    assert x.interruptions == ()
    y = lab([(0.0, 0.6), (0.9, 5.0)], [(1.3, 2.5)])  # 1.0 s spoken: at the edge
    assert y.interruptions == (TruthEvent(1.3, B, A, False),)


def test_terminal_edge() -> None:
    # B comes in 0.25 s before A's end: within the last terminal, a turn switch in overlap
    inside = lab([(0.0, 4.0)], [(3.75, 6.0)])
    assert inside.interruptions == ()
    assert turns(inside) == [(A, 0.0, 4.0), (B, 3.75, 6.0)]
    assert inside.switch_gaps_s == (-0.25,)
    outside = lab([(0.0, 4.0)], [(3.74, 6.0)])  # 0.26 s before: an interruption, successful
    assert outside.interruptions == (TruthEvent(3.74, B, A, True),)


def test_terminal_is_the_end_of_the_segment_covering_the_onset() -> None:
    # A pauses 0.3 s at 3.0 and goes on: B's onset 0.2 s before that pause is terminal
    x = lab([(0.0, 3.0), (3.3, 8.0)], [(2.8, 4.0)])
    assert x.interruptions == ()


def test_yield_within_edge() -> None:
    ok = lab([(0.0, 4.0)], [(2.0, 6.5)])  # A stops 2.0 s after B's onset
    late = lab([(0.0, 4.01)], [(2.0, 6.5)])
    assert ok.interruptions == (TruthEvent(2.0, B, A, True),)
    assert late.interruptions == (TruthEvent(2.0, B, A, False),)  # counted, not successful
    assert turns(late) == [(A, 0.0, 4.01), (B, 2.0, 6.5)]


def test_a_stops_means_the_end_of_a_last_speech_before_the_floor_changed() -> None:
    # A pauses 0.3 s 0.5 s after B's onset, then talks on to 4.5: A did not stop within 2 s
    x = lab([(0.0, 2.5), (2.8, 4.5)], [(2.0, 6.0)])
    assert x.interruptions == (TruthEvent(2.0, B, A, False),)
    assert turns(x) == [(A, 0.0, 4.5), (B, 2.0, 6.0)]


def test_long_bout_takes_the_floor_in_its_own_short_silence() -> None:
    # B: 3.0-4.0 then silent; A stops at 4.3, inside B's bridge: B took the floor
    taken = lab([(0.0, 4.3)], [(3.0, 4.0)])
    assert taken.interruptions == (TruthEvent(3.0, B, A, True),)
    assert turns(taken) == [(A, 0.0, 4.3), (B, 3.0, 4.0)]
    kept = lab([(0.0, 4.5)], [(3.0, 4.0)])  # A stops as B's silence reaches bridge
    assert kept.interruptions == (TruthEvent(3.0, B, A, False),)
    assert turns(kept) == [(A, 0.0, 4.5)]


def test_long_bout_takes_the_floor_when_the_holder_pauses() -> None:
    # B turns long at 3.0 while A speaks; A pauses at 3.2 (0.4 s) and goes on to 6.0: the
    # floor changed at 3.2; A's later speech is A's bout in B's turn (long: it takes it back)
    x = lab([(0.0, 3.2), (3.6, 6.0)], [(2.0, 3.5)])
    assert x.interruptions == (TruthEvent(2.0, B, A, True),)
    assert turns(x) == [(A, 0.0, 3.2), (B, 2.0, 3.5), (A, 3.6, 6.0)]


# -- turns, pending bouts, contests ------------------------------------------------------------

def test_short_bout_before_an_answer_starts_the_turn() -> None:
    # "yeah" 0.5 s after A stops, then the answer: B's turn starts at "yeah"
    x = lab([(0.0, 3.0)], [(3.5, 3.9), (4.6, 8.0)])
    assert x.backchannels == ()
    assert turns(x) == [(A, 0.0, 3.0), (B, 3.5, 8.0)]


def test_short_bout_in_the_holders_silence_then_the_holder_goes_on_is_a_backchannel() -> None:
    x = lab([(0.0, 3.0), (4.5, 6.0)], [(3.5, 3.9)])
    assert x.backchannels == (TruthEvent(3.5, B, A),)
    assert turns(x) == [(A, 0.0, 6.0)]


def test_short_bout_left_at_the_end_is_a_backchannel() -> None:
    x = lab([(0.0, 3.0)], [(3.5, 3.9)])
    assert x.backchannels == (TruthEvent(3.5, B, A),)


def test_contest_won_by_the_newcomer() -> None:
    # A finishes at 3.0; B answers at 3.4; A's "mm" 3.6-3.9 during it: B's turn from 3.4,
    # A's "mm" a backchannel of B
    x = lab([(0.0, 3.0), (3.6, 3.9)], [(3.4, 6.0)])
    assert turns(x) == [(A, 0.0, 3.0), (B, 3.4, 6.0)]
    assert x.backchannels == (TruthEvent(3.6, A, B),)
    assert x.switch_gaps_s == (0.4,)


def test_contest_kept_by_the_holder() -> None:
    # B starts in A's pause with a gappy bout (long at 4.7); A resumes at 3.5 and has 1.0 s of
    # speech at 4.5: A keeps the floor; B's bout is neither interruption nor backchannel
    x = lab([(0.0, 3.0), (3.5, 6.0)], [(3.4, 3.8), (4.1, 5.0)])
    assert turns(x) == [(A, 0.0, 6.0)]
    assert x.interruptions == () and x.backchannels == ()


def test_speech_begun_before_the_floor_changed_hands_interrupts_nobody() -> None:
    # B holds to 3.0; A's short bout 2.9-3.5 is pending, A's next bout (4.1) starts in B's
    # silence; B resumes at 4.5, A's bout is long first (5.1): A's turn runs from 2.9. B's
    # speech from 4.5 began while B still held the floor: no interruption, though in
    # hindsight A had spoken 1.0 s of their turn and was speaking at 4.5
    x = lab([(2.9, 3.5), (4.1, 6.0)], [(0.0, 3.0), (4.5, 7.0)])
    assert turns(x) == [(B, 0.0, 3.0), (A, 2.9, 6.0), (B, 4.5, 7.0)]
    assert x.interruptions == () and x.backchannels == ()


def test_holder_resuming_inside_a_short_bouts_bridge_keeps_the_floor() -> None:
    # B's "yeah" 4.73-5.31 ends just after A pauses; A goes on at 5.54 (before B's silence
    # reaches bridge) and talks to 8.16: a backchannel, and B's turn starts at 9.0
    x = lab([(0.0, 5.25), (5.54, 8.16)], [(4.73, 5.31), (9.0, 13.72)])
    assert x.backchannels == (TruthEvent(4.73, B, A),)
    assert turns(x) == [(A, 0.0, 8.16), (B, 9.0, 13.72)]


def test_holder_starting_as_the_bout_turns_long_contests_it() -> None:
    # B answers at 3.5 (long at 4.5). A starting at the very instant 4.5 contests it and loses:
    # A's speech began as B took the floor, no interruption; 10 ms later it is one
    tie = lab([(0.0, 3.0), (4.5, 6.5)], [(3.5, 6.0)])
    assert turns(tie) == [(A, 0.0, 3.0), (B, 3.5, 6.0), (A, 4.5, 6.5)]
    assert tie.interruptions == ()
    late = lab([(0.0, 3.0), (4.51, 6.5)], [(3.5, 6.0)])
    assert late.interruptions == (TruthEvent(4.51, A, B, True),)


def test_margin_is_the_nearest_deciding_quantity_to_its_threshold() -> None:
    # "mm-hm … yeah": 0.85 s of speech (0.15 from backchannel_max), a 0.3 s silence (0.2 from
    # bridge, 0.05 from min_pause): 0.05 s
    bc = lab([(0.0, 6.0)], [(2.0, 2.5), (2.8, 3.15)])
    assert bc.backchannels[0].margin_s == pytest.approx(0.05)
    # "No, — I don't think so" with A stopping 1.5 s after: the 0.4 s silence is 0.1 from bridge
    ok = lab([(0.0, 3.5)], [(2.0, 2.3), (2.7, 4.5)])
    assert ok.interruptions[0].margin_s == pytest.approx(0.1)
    # ... and A stopping exactly yield_within after the onset: no margin at all
    edge = lab([(0.0, 4.0)], [(2.0, 2.3), (2.7, 4.5)])
    assert edge.interruptions[0].margin_s == 0.0
    assert [(b.label, b.at_s) for b in edge.bouts] == [("interruption", 2.0)]


# -- switch gaps, latency, long silences -------------------------------------------------------

def test_response_latency_and_patient_wait_edge() -> None:
    x = lab([(0.0, 2.0), (7.0, 8.0), (11.49, 13.0)], [(3.0, 5.5), (9.0, 10.0)])
    assert [t.speaker for t in x.turns] == [A, B, A, B, A]
    assert x.switch_gaps_s == (1.0, 1.5, 1.0, 1.49)
    assert x.response_latencies_s == (1.5, 1.49)  # client -> therapist only
    assert x.patient_share == 0.5  # exactly 1.5 s waited "at least" patient_wait
    assert x.latency_median_s == pytest.approx(1.495)


def test_long_silence_edge() -> None:
    at = lab([(0.0, 2.0)], [(5.0, 6.0)])
    below = lab([(0.0, 2.0)], [(4.99, 6.0)])
    assert at.long_silences == (LongSilence(2.0, 5.0, A, B),)
    assert below.long_silences == ()


def test_long_silence_inside_one_turn() -> None:
    x = lab([(0.0, 2.0), (5.5, 7.0)], [])
    assert x.long_silences == (LongSilence(2.0, 5.5, A, A),)
    assert x.turns == (TruthTurn(A, 0.0, 7.0),)


def test_rules_are_configurable_and_validated() -> None:
    x = label({A: [(0.0, 5.0)], B: [(2.0, 3.1)]}, Rules(backchannel_max_s=1.2))
    assert x.backchannels == (TruthEvent(2.0, B, A),)
    with pytest.raises(ValueError, match="bridge_s"):
        Rules(bridge_s=0.0)
    with pytest.raises(ValueError, match="two speakers"):
        label({A: [(0.0, 1.0)], B: [(2.0, 3.0)], "client_2": [(4.0, 5.0)]})
