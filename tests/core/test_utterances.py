"""Grouping segments into utterances for transcription."""

from live_attune.core.events import Segment
from live_attune.core.utterances import Span, UtteranceBuilder, utterances

T, C = "therapist", "client"


def test_short_pauses_join_and_long_ones_split() -> None:
    segs = [Segment(T, 0.0, 2.0), Segment(T, 2.3, 4.0), Segment(T, 4.6, 6.0)]
    assert utterances(segs) == [Span(T, 0.0, 4.0), Span(T, 4.6, 6.0)]


def test_speaker_change_ends_the_utterance_but_a_backchannel_does_not() -> None:
    segs = [Segment(T, 0.0, 3.0), Segment(C, 1.0, 1.4), Segment(T, 3.3, 5.0),
            Segment(C, 5.2, 7.0), Segment(T, 7.1, 8.0)]
    assert utterances(segs) == [Span(T, 0.0, 5.0), Span(C, 1.0, 1.4), Span(C, 5.2, 7.0),
                                Span(T, 7.1, 8.0)]


def test_long_speech_is_cut_at_a_pause_before_15_s() -> None:
    segs = [Segment(T, float(i * 4), float(i * 4 + 3.7)) for i in range(6)]  # 0.3 s pauses
    spans = utterances(segs)
    assert all(s.duration_s <= 15.0 for s in spans)
    assert spans[0] == Span(T, 0.0, 11.7)
    assert [s.start_s for s in spans] == [0.0, 12.0]


def test_advance_closes_after_the_end_gap() -> None:
    b = UtteranceBuilder()
    assert b.add(Segment(C, 0.0, 2.0)) == []
    assert b.advance(2.4) == []
    assert b.advance(2.5) == [Span(C, 0.0, 2.0)]
    assert b.finish() == []


def test_settled_utterances_advanced_by_the_clock_are_the_same_spans_earlier() -> None:
    """One microphone's speech is cut for Whisper as it settles: without ``advance`` the
    last utterance before a long silence stayed open (its audio kept) until the next
    segment; advanced to where no segment still to come starts, it closes after end_gap_s
    and the spans are those of the whole session."""
    from live_attune.core.utterances import SettledUtterances

    segs = [Segment(C, 0.0, 2.0), Segment(C, 2.3, 3.0), Segment(C, 300.0, 302.0)]
    settled = SettledUtterances()
    assert settled.update(segs[:2]) == []
    assert settled.advance(3.4) == [] and settled.earliest_open_s() == 0.0
    assert settled.advance(3.5) == [Span(C, 0.0, 3.0)]
    assert settled.earliest_open_s() is None  # nothing held through the silence
    assert settled.finish(segs) == [Span(C, 300.0, 302.0)]
    assert utterances(segs) == [Span(C, 0.0, 3.0), Span(C, 300.0, 302.0)]
