"""scripts/train_behaviour.py: what it stores is what it fitted (per-head dense scale)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from live_attune.core.language import HEADS, model_from_json
from live_attune.language.encoder import DIM

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
tb = importlib.import_module("train_behaviour")

TEXTS = ("How are you?", "So you feel stuck.", "Did you drink?", "Okay.", "What happened?",
         "You want to stop.", "Is it hard?", "It sounds hard.")


def rows_and_dense(n: int = 80) -> tuple[list[Any], np.ndarray]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        text = TEXTS[i % len(TEXTS)]
        question, reflection = text.endswith("?"), not text.endswith("?") and i % 3 > 0
        rows.append(tb.Row(i % 5, text, question, (text[0] in "HW") if question else None,
                           reflection, bool((i // 8) % 2) if reflection else None, "other",
                           client_before="I drink too much.", therapist_before="Okay."))
    dense = rng.normal(size=(n, 4 * DIM + 4)).astype(np.float32)
    dense[:, 0] += np.array([r.reflection for r in rows]) * 2.0
    return rows, dense


@pytest.mark.parametrize("scale", [1.0, 3.0])
def test_the_stored_heads_give_the_fitted_probabilities(scale: float) -> None:
    """Fitted on dense columns times the head's scale, stored for the unscaled dense_input:
    the shipped model's probabilities are the fit's (a weight left unscaled would not be)."""
    rows, dense = rows_and_dense()
    parts = ("utterance", "question", "context")
    settings = {h: tb.Setting(scale, 0.1) for h in HEADS}
    fitted = tb.fit_probabilities(rows, rows, dense, dense, parts, settings)
    model = model_from_json({"heads": tb.final_model(rows, dense, parts, settings)})
    for head in HEADS:
        stored = [1 / (1 + np.exp(-model.logit(head, tb.row_features(r), d)))
                  for r, d in zip(rows, dense, strict=True)]
        assert stored == pytest.approx(fitted[head], abs=2e-3)


def test_each_head_keeps_the_setting_it_scored_best_with(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    rows, dense = rows_and_dense()
    monkeypatch.setattr(tb, "HEAD_GRID", ((1.0, 0.1), (3.0, 0.05)))
    scores = {(1.0, 0.1): {"question": 0.9, "open": 0.7, "reflection": 0.6, "complex": 0.5},
              (3.0, 0.05): {"question": 0.8, "open": 0.8, "reflection": 0.7, "complex": 0.4}}
    monkeypatch.setattr(tb, "out_of_fold", lambda rows, dense, parts, settings: {
        h: np.full(len(rows), settings[h].dense_scale) for h in HEADS})
    monkeypatch.setattr(tb, "head_scores", lambda rows, probs, thresholds: scores[
        (float(probs["question"][0]), 0.1 if probs["question"][0] == 1.0 else 0.05)])
    settings, probs = tb.per_head(rows, dense, ("utterance",))
    assert {h: (s.dense_scale, s.c) for h, s in settings.items()} == {
        "question": (1.0, 0.1), "open": (3.0, 0.05), "reflection": (3.0, 0.05),
        "complex": (1.0, 0.1)}
    assert probs["open"][0] == 3.0 and probs["question"][0] == 1.0


def test_embeddings_of_another_encoder_are_cached_apart(tmp_path: Path) -> None:
    """A cache is used again only by the encoder that made it (compare_encoders' e5)."""
    calls: list[tuple[str, int]] = []

    def encode(text: str, max_tokens: int) -> np.ndarray:
        calls.append((text, max_tokens))
        return np.full(3, len(text) + max_tokens, np.float32)

    cache = tmp_path / "e.npz"
    first = tb.Embeddings(cache, encode, "encoder A")
    assert ("Hi.", 64) not in first
    assert first("Hi.", 64).tolist() == [67.0] * 3
    assert ("Hi.", 64) in first and ("Hi.", 128) not in first
    first("Hi.", 64)
    first.save()
    assert calls == [("Hi.", 64)]
    again = tb.Embeddings(cache, encode, "encoder A")
    assert ("Hi.", 64) in again and again("Hi.", 64).tolist() == [67.0] * 3
    assert calls == [("Hi.", 64)]  # read from disk
    other = tb.Embeddings(cache, encode, "encoder B")
    assert ("Hi.", 64) not in other
    other("Hi.", 64)
    with pytest.raises(SystemExit, match="another encoder"):
        other.save()  # encoder A's file is not written over
    assert tb.Embeddings(cache, encode, "encoder A")("Hi.", 64).tolist() == [67.0] * 3
    assert calls == [("Hi.", 64), ("Hi.", 64)]


def test_all_parts_take_every_column_of_a_wider_input() -> None:
    width = 2 * (4 * DIM + 4)  # two encoders side by side
    assert tb.columns(("all",), width).tolist() == list(range(width))
    assert len(tb.columns(("utterance", "question", "context"), width)) == 4 * DIM + 4


def test_a_grid_given_replaces_head_grid(monkeypatch: pytest.MonkeyPatch) -> None:
    rows, dense = rows_and_dense()
    tried: list[float] = []

    def out_of_fold(rows: Any, dense: Any, parts: Any, settings: Any) -> dict[str, Any]:
        tried.append(settings["question"].dense_scale)
        return {h: np.full(len(rows), settings[h].dense_scale / 10) for h in HEADS}

    monkeypatch.setattr(tb, "out_of_fold", out_of_fold)
    tb.per_head(rows, dense, ("utterance",), ((5.0, 0.1), (6.0, 0.1)))
    assert tried == [5.0, 6.0]
    tried.clear()
    tb.per_head(rows, dense, ("utterance",))
    assert tried == [s for s, _ in tb.HEAD_GRID]
