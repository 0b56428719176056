"""session/rescore.py: ``sessions swap-roles`` rebuilds a stored session with therapist and
client swapped; what it does not recompute it must keep."""

from __future__ import annotations

import pytest

from live_attune.audio.decode import AudioInfo
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import replay_segments
from live_attune.core.events import Segment
from live_attune.session.config import (
    MODE_ACTIVITY,
    MODE_CHANNELS,
    MODE_SINGLE,
    Layout,
    PipelineConfig,
)
from live_attune.session.output import session_dict
from live_attune.session.rescore import SWAPPED, is_swapped, swap_roles
from live_attune.session.result import session_result
from live_attune.session.single_mic import rate_interruptions_of


def recovered_single_mic_session() -> dict[str, object]:
    """A one-microphone live session as recovery rebuilds it: its live segments replayed,
    each interruption rated without the attribution (none is kept), stored with an empty
    ``attribution``. The client comes in over each of the therapist's turns."""
    config = PipelineConfig()
    segments = []
    for k in range(12):
        t = 12.0 * k
        segments += [Segment("therapist", t, t + 6.0),
                     Segment("client", t + 4.0 + (k % 3) * 0.3, t + 5.5 + (k % 4))]
    segments.sort(key=lambda s: s.start_s)
    end_s = 12.0 * 12
    engine = replay_segments(("therapist", "client"), segments, end_s=end_s,
                             sample_rate=SAMPLE_RATE, config=config.metrics)
    metrics = engine.finish()
    rate_interruptions_of(engine.history, config.metrics)  # as session/recover.py does
    result = session_result(
        info=AudioInfo("live", 1, SAMPLE_RATE, end_s, "live"),
        layout=Layout(MODE_SINGLE, ("therapist", "client"), (0, 0), 1), config=config,
        metrics=metrics, history=engine.history, duration_s=end_s, live_decisions_only=True)
    return session_dict(result)


def test_swapping_a_recovered_session_keeps_each_interruptions_confidence() -> None:
    """Its stored attribution is empty, not missing: read as 'no second voice anywhere' the
    swap rated every interruption again with the full model (3 of 4 fell under 0.7)."""
    data = recovered_single_mic_session()
    assert data["attribution"] == []
    before = [(e["by"], e["at_s"], e["confidence"]) for e in data["metrics"]["interruptions"]]
    assert before and all(c is not None for _, _, c in before)
    swapped = swap_roles(data)
    other = {"therapist": "client", "client": "therapist"}
    after = [(other[e["by"]], e["at_s"], e["confidence"])
             for e in swapped["metrics"]["interruptions"]]
    assert after == before


def test_swapping_twice_is_the_session_as_it_was() -> None:
    """A probe (session 19): the second swap left two "swapped" notes on a session the
    right way round again and its one-microphone options null."""
    data = recovered_single_mic_session()
    data["config"]["single_mic"] = {"voices": "encoder", "speakers": 2, "swap_roles": False}
    once = swap_roles(data)
    assert is_swapped(once) and not is_swapped(data)
    assert once["config"]["single_mic"] == data["config"]["single_mic"] | {"swap_roles": True}
    twice = swap_roles(once)
    assert twice["notes"] == data["notes"] and not is_swapped(twice)
    assert twice["config"] == data["config"]
    assert twice["metrics"] == data["metrics"]


def test_an_activity_only_session_cannot_be_swapped() -> None:
    """A probe (session 19): an activity-only session (no roles) was "swapped". A session
    with a microphone per person can be (the microphones worn the other way round)."""
    with pytest.raises(ValueError, match="activity-only"):
        swap_roles(recovered_single_mic_session() | {"mode": MODE_ACTIVITY})
    channels = recovered_single_mic_session() | {"mode": MODE_CHANNELS}
    assert swap_roles(channels)["metrics"]["talk_share"]["therapist"] == (
        channels["metrics"]["talk_share"]["client"])


def test_a_session_an_older_version_swapped_twice_reads_as_not_swapped() -> None:
    """The review (session 19): an older version added its note at every swap; two notes
    mean the roles are as analysed."""
    data = recovered_single_mic_session()
    twice = data | {"notes": [*data["notes"], SWAPPED, SWAPPED]}
    assert not is_swapped(twice)
    once_more = swap_roles(twice)
    assert is_swapped(once_more) and once_more["notes"].count(SWAPPED) == 1
