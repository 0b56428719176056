"""The live session's circular audio buffer."""

import numpy as np

from live_attune.session.live import AudioRing


def test_slices_match_the_stream_across_wraps() -> None:
    ring = AudioRing(2, seconds=1.0)  # 16000 samples
    stream = np.arange(2 * 50_000, dtype=np.float32).reshape(2, 50_000)
    for i in range(0, 50_000, 1_600):
        ring.append(stream[:, i:i + 1_600])
    got = ring.slice(1, 49_000 / 16_000 - 0.5, 49_000 / 16_000)
    assert got is not None
    assert np.array_equal(got, stream[1, 41_000:49_000])
    assert ring.slice(0, 0.0, 0.5) is None  # long gone


def test_a_block_longer_than_the_ring_keeps_its_end() -> None:
    ring = AudioRing(1, seconds=0.1)
    ring.append(np.arange(5_000, dtype=np.float32)[None, :])
    got = ring.slice(0, 4_000 / 16_000, 5_000 / 16_000)
    assert got is not None and np.array_equal(got, np.arange(4_000, 5_000, dtype=np.float32))
