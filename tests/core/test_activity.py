"""SegmentTracker: METRICS.md § Activity bridging and dropping, streamed."""

from live_attune.core.activity import Boundary, Edge, SegmentTracker


def run(flags: str, *, min_pause: int = 3, min_speech: int = 2) -> list[Boundary]:
    """Feed one frame per character ('x' active, '.' silent), one sample per frame."""
    tracker = SegmentTracker("a", min_pause=min_pause, min_speech=min_speech)
    out: list[Boundary] = []
    for i, c in enumerate(flags):
        out += tracker.feed(i, i + 1, c == "x")
    return out + tracker.finish()


def spans(boundaries: list[Boundary]) -> list[tuple[int, int]]:
    ons = [b.at for b in boundaries if b.edge is Edge.ONSET]
    offs = [b.at for b in boundaries if b.edge is Edge.OFFSET]
    return list(zip(ons, offs, strict=True))


def test_gaps_shorter_than_min_pause_are_bridged() -> None:
    assert spans(run("..xxx..xxx....")) == [(2, 10)]


def test_gaps_of_min_pause_split() -> None:
    assert spans(run("..xxx...xxx....")) == [(2, 5), (8, 11)]


def test_bursts_shorter_than_min_speech_are_dropped() -> None:
    assert spans(run("..x.....xx.....")) == [(8, 10)]


def test_open_segment_is_closed_at_finish() -> None:
    assert spans(run("...xxxx")) == [(3, 7)]


def test_watermark_never_passes_an_unannounced_onset() -> None:
    tracker = SegmentTracker("a", min_pause=3, min_speech=4)
    tracker.feed(0, 1, False)
    assert tracker.watermark() == 1
    tracker.feed(1, 2, True)  # candidate onset at 1, not yet announced
    tracker.feed(2, 3, True)
    assert tracker.watermark() == 1
    assert tracker.feed(3, 4, True) == []
    assert tracker.feed(4, 5, True) == [Boundary(1, Edge.ONSET, "a")]
    tracker.feed(5, 6, False)  # in a gap: the offset, if any, is at 5
    assert tracker.watermark() == 5
