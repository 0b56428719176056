"""bench_single_mic's tally of where one microphone's interruptions go wrong (issue 18)."""

from __future__ import annotations

from typing import Any

from bench.bench_single_mic import MISS_CAUSES, miss_cause, misses_and_falses
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Backchannel, FloorChange, Interruption, Segment


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
    ], "bouts": [{"at_s": 70.0, "by": "client", "margin_s": 0.03}]}
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
    misses, false_near = misses_and_falses(truth, history)
    assert misses == (("bout measured < 1 s", False), ("seen as a floor-taking", True),
                      ("found > 0.5 s off", False), ("change of voice late", True),
                      ("not heard near", True), ("onset found, other", True),
                      ("not heard near", True))
    assert false_near == (1, 2)  # 70.1 matches a bout 0.03 s from a threshold; 40.8, 80.0
    assert {miss_cause(t, SessionHistory()) for t in truth["interruptions"]} == {
        MISS_CAUSES[-1]}
