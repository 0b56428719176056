"""The capture callback's hand-off (audio/capture.py): blocks dropped while the consumer is
behind are not lost without a trace, they come back as missing audio."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from live_attune.audio.capture import DROPPED, CaptureConfig, DeviceBack, MicSource
from live_attune.core.audio_facts import SAMPLE_RATE


def test_blocks_dropped_while_behind_come_back_as_missing_audio() -> None:
    source = MicSource(CaptureConfig(channels=2, queue_blocks=2))
    ok = SimpleNamespace(input_overflow=False)
    n = 1600
    for i in range(5):  # the queue holds 2: blocks 2, 3 and 4 are dropped
        source._callback(np.full((n, 2), i, np.float32), n, None, ok)
    got = []
    blocks = source.blocks(timeout_s=0.05)
    got += [next(blocks)[1], next(blocks)[1]]
    source._callback(np.full((n, 2), 5, np.float32), n, None, ok)  # room again
    got += [next(blocks)[1], next(blocks)[1]]
    assert source.overflows == 3
    assert [b[0, 0] for b in got if isinstance(b, np.ndarray)] == [0, 1, 5]
    gap = got[2]
    assert isinstance(gap, DeviceBack) and gap.reason == DROPPED
    assert gap.missing_s == 3 * n / SAMPLE_RATE
    source._callback(np.full((n, 2), 6, np.float32), n, None, ok)
    assert isinstance(next(blocks)[1], np.ndarray)  # nothing dropped: no gap before it


def test_a_computer_that_stays_behind_is_one_missing_audio_entry_not_hundreds() -> None:
    """Behind for a while, the queue lets every other block through: each gap joins the
    entry of the drops before it while they are within DROPS_JOINED_S of session audio; a
    lost microphone or a later spell behind is an entry of its own."""
    from live_attune.session.config import layout_for
    from live_attune.session.live import DROPS_JOINED_S, LiveRun, LiveSetup

    run = LiveRun(LiveSetup(layout=layout_for(2, None, "x"),
                            source=SimpleNamespace(description="test")))
    for i in range(300):  # 30 s of session audio, a 0.1 s block lost after each 0.1 s one
        run.samples = (10 + i) * 1600
        run.device_change(DeviceBack(0.1, DROPPED))
    assert len(run.missing) == 1
    first = run.missing[0]
    assert (first.at_s, round(first.missing_s, 6), first.reason) == (1.0, 30.0, DROPPED)
    run.samples += int((DROPS_JOINED_S + 1) * SAMPLE_RATE)
    run.device_change(DeviceBack(0.2, DROPPED))  # behind again, later: its own entry
    run.device_change(DeviceBack(3.0))  # a microphone lost and back
    run.device_change(DeviceBack(0.1, DROPPED))  # not joined across the lost microphone
    assert [(m.reason, round(m.missing_s, 6)) for m in run.missing] == [
        (DROPPED, 30.0), (DROPPED, 0.2), ("microphone lost", 3.0), (DROPPED, 0.1)]
