"""Runs of frames (STYLE.md item 17: one home for each shared fact).

A frame-level decision (speech, an overlap, a voice) is a boolean per frame; the layers
above read it as runs ``[start, end)`` of consecutive true frames.
"""

from __future__ import annotations

import numpy as np


def true_runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """The ``[start, end)`` frame indices of each run of consecutive true ``flags``, in
    order (none for an empty array)."""
    edges = np.diff(np.concatenate([[0], np.asarray(flags, bool).astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(),
                    np.flatnonzero(edges == -1).tolist(), strict=True))
