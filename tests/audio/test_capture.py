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
