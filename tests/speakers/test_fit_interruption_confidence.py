"""scripts/fit_interruption_confidence.py: the fit and the AUC it reads (no seeds run)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.bench_accuracy_hard import seed_list

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
fic = importlib.import_module("fit_interruption_confidence")


def test_the_fit_is_the_penalised_likelihoods_optimum() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 3)) * [0.5, 1.0, 2.0]
    y = (rng.random(60) < 1 / (1 + np.exp(-(x @ [1.0, -0.5, 0.3] + 0.2)))).astype(float)
    ridge = 1.0
    w = fic.fit(x, y, ridge)

    def loss(v: np.ndarray) -> float:
        z = v[0] + x @ v[1:]
        return float(np.sum(np.logaddexp(0.0, z) - y * z) + 0.5 * ridge * np.sum(v[1:] ** 2))

    # no step in any direction lowers it (the intercept unpenalised, the slopes penalised)
    for i in range(4):
        for step in (1e-4, -1e-4):
            moved = w.copy()
            moved[i] += step
            assert loss(moved) > loss(w)
    with pytest.raises(ValueError, match="right and wrong"):
        fic.fit(x, np.ones(60), ridge)


def test_auc_counts_pairs_with_ties_as_half() -> None:
    score = np.array([0.9, 0.5, 0.5, 0.1, 0.7])
    right = np.array([1, 1, 0, 0, 0], float)
    # right 0.9 beats all three wrong; right 0.5 ties 0.5, beats 0.1, loses to 0.7
    assert fic.auc(score, right) == pytest.approx((3 + 1.5) / 6)
    assert np.isnan(fic.auc(score, np.ones(5)))


def test_seeds_are_read_once_each_and_a_backward_range_refused() -> None:
    assert seed_list("9-12") == (9, 10, 11, 12)
    assert seed_list("3,1,3") == (3, 1)
    assert seed_list("") == ()
    with pytest.raises(ValueError, match="backwards"):
        seed_list("40-9")
