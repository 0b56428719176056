"""bench_live_counts: each live recount scored against the truth before the time it
reached, pooled as the dashboard shows the counts (issue 18)."""

from __future__ import annotations

import math

from bench.bench_live_counts import Tally
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Backchannel, Interruption


def _truth(kind: str, by: str, at_s: float) -> dict[str, object]:
    return {"kind": kind, "by": by, "of": "x", "at_s": at_s}


def test_a_recount_is_scored_on_the_events_before_the_time_it_reached() -> None:
    truth = {"interruptions": [_truth("i", "client", 10.0), _truth("i", "therapist", 20.0),
                               _truth("i", "client", 40.0)],  # after the recount: not yet
             "backchannels": [_truth("b", "client", 5.0)]}
    history = SessionHistory(
        interruptions=[Interruption(10.3, "client", "therapist", True),  # right (0.3 s)
                       Interruption(20.0, "client", "therapist", False),  # wrong speaker
                       Interruption(31.0, "client", "therapist", False)],  # after: left out
        backchannels=[Backchannel(5.6, "client", "therapist", 0.4)])  # 0.6 s off: wrong
    tally = Tally()
    tally.add(truth, history, 30.0)
    assert tally.counts == [2, 2, 1, 1, 1, 0]
    assert tally.pr(0) == (0.5, 0.5)
    tally.merge(tally)
    assert tally.counts == [4, 4, 2, 2, 2, 0] and tally.pr(1) == (0.0, 0.0)
    assert all(math.isnan(x) for x in Tally().pr(0))  # nothing found, nothing true
