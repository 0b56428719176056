"""scripts/compare_encoders.py: the parts that need no compiled engine."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from live_attune.core.language import HEADS

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
tb = importlib.import_module("train_behaviour")
ce = importlib.import_module("compare_encoders")


def test_matched_gives_each_block_the_reference_spread() -> None:
    rng = np.random.default_rng(0)
    width = 4 * ce.E5_DIM + 4
    reference = rng.normal(0, 0.05, (200, width))
    dense = 0.9 + rng.normal(0, 0.02, (200, width))
    dense[:, -2:] = rng.integers(0, 2, (200, 2))  # missing-context flags: left as they are
    out = ce.matched(dense, reference)
    for k in range(4):
        block = slice(k * ce.E5_DIM, (k + 1) * ce.E5_DIM)
        assert ce._spread(out[:, block]) == pytest.approx(ce._spread(reference[:, block]))
        ratio = out[:, block] / dense[:, block]
        assert np.allclose(ratio, ratio[0, 0])  # one factor per block: directions kept
    assert out[:, -4].std() == pytest.approx(reference[:, -4].std())
    assert np.array_equal(out[:, -2:], dense[:, -2:])


def test_needed_lists_each_text_once_with_its_token_limit() -> None:
    rows = [tb.Row(1, "I see. How often do you drink?", True, True, False, None, "q",
                   client_before="I drink.", therapist_before=""),
            tb.Row(1, "You drink daily.", False, None, True, False, "r",
                   client_before="Every day.", therapist_before="I see. How often do you drink?")]
    assert ce.needed(rows) == {"I see. How often do you drink?": 128, "I drink.": 128, "": 128,
                               "How often do you drink?": 64, "You drink daily.": 128,
                               "Every day.": 128}


def result(name: str, rows: list[Any], question: list[float]) -> Any:
    """A configuration whose every head has these probabilities, at threshold 0.5."""
    probs = {h: np.array(question) for h in HEADS}
    thresholds = dict.fromkeys(HEADS, 0.5)
    return ce.Result(name, probs, thresholds, tb.head_scores(rows, probs, thresholds), {})


def test_bootstrap_of_a_configuration_against_itself_is_zero() -> None:
    rows = [tb.Row(t, "Why?", t % 2 == 0, True, t % 3 == 0, True, "q") for t in range(1, 21)]
    a = result("a", rows, [0.9 if r.question else 0.2 for r in rows])
    diff = ce.bootstrap(rows, a, a, 50)
    assert all(d.cv == 0 and d.sd == 0 and d.low == d.high == 0 for d in diff.values())


def test_bootstrap_of_a_worse_configuration_is_negative() -> None:
    rows = [tb.Row(t, "Why?", t % 2 == 0, True, t % 3 == 0, True, "q") for t in range(1, 21)]
    a = result("a", rows, [0.9 if r.question else 0.2 for r in rows])
    worse = result("b", rows, [0.9 if r.question and r.transcript % 4 else 0.2 for r in rows])
    q = ce.bootstrap(rows, a, worse, 200)["question"]
    assert q.cv < 0 and q.sd > 0 and q.low < q.cv <= q.high <= 0
