"""scripts/compare_voice_encoders.py: the parts that need no downloaded wheel."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
cve = importlib.import_module("compare_voice_encoders")


def test_windows_come_only_from_speech_with_nobody_else_speaking() -> None:
    segments = [(0.0, 4.0, "a"), (3.0, 6.0, "b"), (1.0, 1.5, "b")]
    assert cve.alone(segments) == [(0.0, 1.0, "a"), (1.5, 3.0, "a"), (4.0, 6.0, "b")]
    audio = np.arange(7 * 16000, dtype=np.float32)
    pieces = cve.windows_of(audio, segments)
    # a's pieces (1.0 s, 1.5 s) are shorter than a window; b's 2 s hold one (4.5 s on
    # would end past 6.0)
    assert [(who, float(x[0]) / 16000) for who, x in pieces] == [("b", 4.0)]
    assert all(len(x) == round(cve.WINDOW_S * 16000) for _, x in pieces)
    # a cut inside a longer cut (b's 2-3 s inside c's 1-4 s) ends a's piece at 1 s, not 3 s
    assert cve.alone([(0.0, 6.0, "a"), (1.0, 4.0, "c"), (2.0, 3.0, "b")])[:2] == [
        (0.0, 1.0, "a"), (4.0, 6.0, "a")]
    exact = cve.windows_of(audio, [(1.0, 2.6, "a")])  # exactly one window's length
    assert [float(x[0]) / 16000 for _, x in exact] == [1.0]


def test_the_equal_error_rate_is_where_misses_and_false_matches_balance() -> None:
    assert cve.eer(np.array([0.9, 0.8, 0.7]), np.array([0.1, 0.2])) == 0.0
    assert cve.eer(np.array([0.9, 0.3]), np.array([0.5, 0.1])) == pytest.approx(0.5)
    # a pair of two speakers exactly as alike as the least alike same-speaker pair is
    # accepted with it: a tie is an error
    assert cve.eer(np.array([0.9, 0.7]), np.array([0.7, 0.1])) == pytest.approx(0.5)
    one = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [0.14, 0.99]])
    one /= np.linalg.norm(one, axis=1, keepdims=True)
    assert cve.pair_eer(one, ["a", "a", "b", "b"]) == 0.0
    # a window is not paired with itself (its likeness 1.0 would count as a same pair)
    apart = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8], [0.8, 0.6]])
    assert cve.pair_eer(apart, ["a", "a", "b", "b"]) == pytest.approx(0.5)
