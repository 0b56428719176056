"""The ceiling of AnnoMI's labels (scripts/behaviour_agreement.py) and the classifier beside it.

Most held-out transcripts carry one annotator's coding, so a classifier is scored against one
expert. Four transcripts were coded by ten: there each expert can be scored against the
consensus of the other nine, which is the most any classifier can expect against one expert
(the scores are symmetric in gold and prediction).
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _script() -> object:
    sys.path.insert(0, str(ROOT / "scripts"))
    path = ROOT / "scripts" / "behaviour_agreement.py"
    spec = importlib.util.spec_from_file_location("behaviour_agreement", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["behaviour_agreement"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def agreement() -> object:
    return _script()


@pytest.fixture(scope="module")
def coded(agreement: object, shared_data: Path) -> tuple[dict, dict]:
    return agreement.codings(shared_data / "annomi/annomi_dev.csv")  # type: ignore[attr-defined]


def test_majority_leaves_ties_out(agreement: object) -> None:
    majority = agreement.majority  # type: ignore[attr-defined]
    assert majority([True, True, False]) is True
    assert majority([True, False]) is None
    assert majority([]) is None


def test_scores_are_symmetric_in_gold_and_prediction(agreement: object) -> None:
    gold = [True, True, False, False, True, False, True]
    pred = [True, False, False, True, True, False, False]
    for head in ("question", "open"):
        assert agreement.head_score(head, gold, pred) == pytest.approx(  # type: ignore[attr-defined]
            agreement.head_score(head, pred, gold))  # type: ignore[attr-defined]


def test_ten_annotators_coded_four_transcripts(coded: tuple[dict, dict]) -> None:
    multi, texts = coded
    assert {k[0] for k in multi} == {7, 27, 55, 130}
    assert min(len(v) for v in multi.values()) == 10
    assert set(texts) == set(multi)


def test_experts_agree_with_their_consensus_on_open_vs_closed_below_085(
        agreement: object, coded: tuple[dict, dict]) -> None:
    """Why issue 4's open/closed bar (0.85) is above what these labels can show."""
    multi, _ = coded
    scores = [agreement.against_consensus(  # type: ignore[attr-defined]
        multi, lambda k, a: multi[k].get(a), a)
        for a in sorted({a for v in multi.values() for a in v})]
    open_closed = statistics.median(s["open"] for s in scores)
    question = statistics.median(s["question"] for s in scores)
    print(f"experts vs consensus: open/closed median {open_closed:.3f}, "
          f"question median {question:.3f}")
    assert 0.70 < open_closed < 0.85
    assert question > 0.90


@pytest.mark.slow  # the encoder labels every held-out transcript (~30 s)
def test_the_model_finds_questions_like_an_expert_on_held_out_consensus(
        agreement: object, coded: tuple[dict, dict], shared_data: Path) -> None:
    multi, _ = coded
    held = {k: v for k, v in multi.items() if k[0] % 5 == 0}
    model = agreement.model_codings(shared_data / "annomi/annomi_dev.csv")  # type: ignore[attr-defined]
    scores = [agreement.against_consensus(  # type: ignore[attr-defined]
        held, lambda k, a: model[k], a)
        for a in sorted({a for v in held.values() for a in v})]
    question = statistics.median(s["question"] for s in scores)
    print(f"model vs consensus (held-out): question {question:.3f}")
    assert question >= 0.93
