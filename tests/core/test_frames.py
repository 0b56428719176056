"""Runs of true frames, the one helper every layer reads them with."""

from __future__ import annotations

import numpy as np

from live_attune.core.frames import true_runs


def test_runs_of_true_frames_at_the_edges_and_inside() -> None:
    flags = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], bool)
    assert true_runs(flags) == [(0, 2), (4, 5), (6, 9)]


def test_no_runs_in_an_empty_or_silent_array() -> None:
    assert true_runs(np.zeros(0, bool)) == []
    assert true_runs(np.zeros(5, bool)) == []


def test_numbers_read_as_flags() -> None:
    assert true_runs(np.array([0, 3, -1, 0])) == [(1, 3)]
