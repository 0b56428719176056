"""Train the therapist-behaviour classifier on AnnoMI and report held-out scores.

    python scripts/train_behaviour.py [--csv ../shared/data/annomi/annomi_dev.csv]

Four logistic heads over the features of ``live_attune.core.language.features``:
  question   question_exists          (all therapist utterances)
  open       question_subtype == open (utterances with a question)
  reflection reflection_exists        (all therapist utterances)
  complex    reflection_subtype == complex (utterances with a reflection)
Utterances coded by several annotators take the majority of each label. Held out: every
transcript whose id is 0 mod 5 (split by transcript, never by utterance); the L2 strength of
each head is chosen on the training transcripts whose id is 1 mod 5, then refit on all
training transcripts. Writes live_attune/data/behaviour_model.json.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_attune.core.language import BehaviourModel
from live_attune.core.language import features as _features

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "annomi" / "annomi_dev.csv"
OUT = ROOT / "live_attune" / "data" / "behaviour_model.json"
MIN_COUNT = 3  # features seen in fewer training utterances are dropped
L2_GRID = (3e-4, 1e-3, 3e-3, 1e-2)


@dataclass(frozen=True, slots=True)
class Row:
    transcript: int
    text: str
    question: bool
    open: bool | None
    reflection: bool
    complex: bool | None
    main: str


@functools.cache
def features(text: str) -> tuple[str, ...]:
    """The classifier's features, computed once per text (training calls it many times)."""
    return tuple(_features(text))


def held_out(transcript: int) -> bool:
    return transcript % 5 == 0


def load(csv_path: Path) -> list[Row]:
    votes: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["interlocutor"] == "therapist":
                votes[(row["transcript_id"], row["utterance_id"])].append(row)
    return [_majority(int(key[0]), rows) for key, rows in votes.items()]


def _majority(transcript: int, rows: list[dict[str, str]]) -> Row:
    def vote(field: str) -> str:
        return Counter(r[field] for r in rows).most_common(1)[0][0]

    q, sub = vote("question_exists") == "True", vote("question_subtype")
    r, depth = vote("reflection_exists") == "True", vote("reflection_subtype")
    return Row(transcript, rows[0]["utterance_text"], q,
               (sub == "open") if q and sub in ("open", "closed") else None, r,
               (depth == "complex") if r and depth in ("simple", "complex") else None,
               vote("main_therapist_behaviour"))


def vocabulary(texts: list[str]) -> dict[str, int]:
    counts = Counter(f for t in texts for f in set(features(t)))
    keep = sorted(f for f, c in counts.items() if c >= MIN_COUNT or f == "bias")
    return {f: i for i, f in enumerate(keep)}


def matrix(texts: list[str], vocab: dict[str, int]) -> np.ndarray:
    x = np.zeros((len(texts), len(vocab)), np.float32)
    for i, t in enumerate(texts):
        for f in features(t):
            if (j := vocab.get(f)) is not None:
                x[i, j] = 1.0
    return x


def fit(x: np.ndarray, y: np.ndarray, l2: float, steps: int = 300, lr: float = 0.05
        ) -> np.ndarray:
    """L2-regularised logistic regression, full-batch Adam; class-balanced weights."""
    w = np.zeros(x.shape[1])
    m, v = np.zeros_like(w), np.zeros_like(w)
    pos = y.mean()
    sample = np.where(y == 1, 0.5 / pos, 0.5 / (1 - pos))
    for t in range(1, steps + 1):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ ((p - y) * sample) / len(y) + l2 * w
        m = 0.9 * m + 0.1 * grad
        v = 0.999 * v + 0.001 * grad**2
        w -= lr * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
    return w


def f1(truth: list[bool], pred: list[bool]) -> float:
    tp = sum(a and b for a, b in zip(truth, pred, strict=True))
    fp = sum(b and not a for a, b in zip(truth, pred, strict=True))
    fn = sum(a and not b for a, b in zip(truth, pred, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


HEADS = {  # head → (rows it learns from, its target)
    "question": (lambda r: True, lambda r: r.question),
    "open": (lambda r: r.open is not None, lambda r: bool(r.open)),
    "reflection": (lambda r: True, lambda r: r.reflection),
    "complex": (lambda r: r.complex is not None, lambda r: bool(r.complex)),
}


def head_score(head: str, rows: list[Row], predict: object) -> float:
    """F1 for detection heads, macro-F1 for the two-way splits."""
    use, target = HEADS[head]
    part = [r for r in rows if use(r)]
    gold = [target(r) for r in part]
    pred = [predict(r.text) > 0 for r in part]  # type: ignore[operator]
    if head in ("question", "reflection"):
        return f1(gold, pred)
    return (f1(gold, pred) + f1([not g for g in gold], [not p for p in pred])) / 2


def train_head(head: str, train: list[Row], vocab: dict[str, int]) -> dict[str, float]:
    use, target = HEADS[head]
    names = sorted(vocab, key=vocab.__getitem__)

    def fit_on(rows: list[Row], l2: float) -> dict[str, float]:
        part = [r for r in rows if use(r)]
        w = fit(matrix([r.text for r in part], vocab), np.array([target(r) for r in part],
                                                                 float), l2)
        return {f: round(float(w[i]), 4) for i, f in enumerate(names) if abs(w[i]) >= 1e-3}

    inner = [r for r in train if r.transcript % 5 != 1]
    valid = [r for r in train if r.transcript % 5 == 1]
    scores = {}
    for l2 in L2_GRID:
        weights = fit_on(inner, l2)
        model = BehaviourModel({head: weights})
        scores[l2] = head_score(head, valid,
                                lambda t, m=model: m.logit(head, features(t)))
    best = max(scores, key=scores.__getitem__)
    print(f"  {head}: validation {', '.join(f'{k:g}→{v:.3f}' for k, v in scores.items())}; "
          f"L2 {best:g}")
    return fit_on(train, best)


def evaluate(rows: list[Row], model: BehaviourModel) -> dict[str, float]:
    out = {h: head_score(h, rows, lambda t, h=h: model.logit(h, features(t))) for h in HEADS}
    labels = [model.label(r.text).behaviour for r in rows]
    out["main_behaviour_accuracy"] = float(np.mean([
        _main(lab) == r.main for lab, r in zip(labels, rows, strict=True)]))
    return out


def _main(label: str) -> str:
    return "question" if label.endswith("question") else label


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    args = ap.parse_args()
    rows = load(args.csv)
    train = [r for r in rows if not held_out(r.transcript)]
    test = [r for r in rows if held_out(r.transcript)]
    vocab = vocabulary([r.text for r in train])
    print(f"{len(train)} training / {len(test)} held-out utterances, {len(vocab)} features")
    heads = {h: train_head(h, train, vocab) for h in HEADS}
    OUT.write_text(json.dumps({"trained_on": "AnnoMI (annomi_dev.csv), transcripts id % 5 != 0",
                               "heads": heads}, separators=(",", ":")))
    model = BehaviourModel(heads)
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    for name, part in (("train", train), ("held-out", test)):
        print(f"{name:9s}", json.dumps({k: round(v, 3) for k, v in evaluate(part, model).items()}))


if __name__ == "__main__":
    main()
