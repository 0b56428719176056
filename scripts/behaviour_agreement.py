"""How far AnnoMI's own experts agree, and where the shipped classifier stands beside them.

    python scripts/behaviour_agreement.py [--csv ../shared/data/annomi/annomi_dev.csv]
                                          [--bootstrap 2000]

Three tables:
1. Experts against their consensus: four transcripts were coded by ten annotators. Each
   annotator is scored against the majority of the other nine (ties left out), and the
   shipped model against the same majority on the same utterances — only on the held-out
   transcripts (id % 5 == 0), the model was trained on the others.
2. Experts against each other: every pair of annotators, pooled over the four transcripts.
3. The held-out scores of the shipped model with a 95 % interval from resampling whole
   held-out transcripts (the unit the split is made of).
Scores are those of ``scripts/train_behaviour.py``: F1 for question and reflection
detection, macro-F1 for open vs closed questions.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import statistics
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_behaviour as tb

from live_attune.language.labeller import DialogueLabeller

HEADS = ("question", "open", "reflection")


@dataclass(frozen=True, slots=True)
class Coding:
    """One annotator's labels for one therapist utterance."""

    question: bool
    open: bool | None  # None: not a question, or no subtype given
    reflection: bool


def codings(csv_path: Path) -> tuple[dict[tuple[int, int], dict[str, Coding]],
                                     dict[tuple[int, int], str]]:
    """Utterances coded by several annotators: (transcript, utterance) → annotator → coding."""
    coded: dict[tuple[int, int], dict[str, Coding]] = defaultdict(dict)
    texts: dict[tuple[int, int], str] = {}
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            if row["interlocutor"] != "therapist":
                continue
            key = (int(row["transcript_id"]), int(row["utterance_id"]))
            q = row["question_exists"] == "True"
            sub = row["question_subtype"]
            coded[key][row["annotator_id"]] = Coding(
                q, (sub == "open") if q and sub in ("open", "closed") else None,
                row["reflection_exists"] == "True")
            texts[key] = row["utterance_text"]
    multi = {k: v for k, v in coded.items() if len(v) > 1}
    return multi, {k: texts[k] for k in multi}


def majority(values: Sequence[bool]) -> bool | None:
    """The more frequent value; None when there is none or it is a tie."""
    counts = Counter(values).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def head_score(head: str, gold: list[bool], pred: list[bool]) -> float:
    if head != "open":
        return tb.f1(gold, pred)
    return (tb.f1(gold, pred) + tb.f1([not g for g in gold], [not p for p in pred])) / 2


def model_codings(csv_path: Path) -> dict[tuple[int, int], Coding]:
    """The shipped labeller's codes of every held-out therapist utterance, each transcript
    fed in order (the labeller reads the utterances before it)."""
    said: dict[tuple[int, int], tuple[str, str]] = {}
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            key = (int(row["transcript_id"]), int(row["utterance_id"]))
            if tb.held_out(key[0]):
                said[key] = (row["interlocutor"], row["utterance_text"])
    out: dict[tuple[int, int], Coding] = {}
    labellers: defaultdict[int, DialogueLabeller] = defaultdict(DialogueLabeller)
    for key in sorted(said):
        label = labellers[key[0]].feed(*said[key])
        if label is not None:
            out[key] = Coding(label.p_question >= 0.5, label.p_open > 0.5,
                              label.p_reflection >= 0.5)
    return out


def against_consensus(multi: dict[tuple[int, int], dict[str, Coding]],
                      coder: Callable[[tuple[int, int], str], Coding | None], left_out: str
                      ) -> dict[str, float]:
    """A coder scored against the majority of every annotator but ``left_out``."""
    pairs: dict[str, tuple[list[bool], list[bool]]] = {h: ([], []) for h in HEADS}
    for key, by_annotator in multi.items():
        mine = coder(key, left_out)
        others = [c for a, c in by_annotator.items() if a != left_out]
        if mine is None:
            continue
        for head, gold in (("question", majority([c.question for c in others])),
                           ("reflection", majority([c.reflection for c in others]))):
            if gold is not None:
                pairs[head][0].append(gold)
                pairs[head][1].append(getattr(mine, head))
        gold_open = majority([c.open for c in others if c.open is not None])
        if gold_open is not None and mine.open is not None:
            pairs["open"][0].append(gold_open)
            pairs["open"][1].append(mine.open)
    return {h: head_score(h, *pairs[h]) for h in HEADS} | {"n_open": len(pairs["open"][0])}


def expert_table(multi: dict[tuple[int, int], dict[str, Coding]], texts: dict[tuple[int, int], str],
                 model: dict[tuple[int, int], Coding]) -> None:
    held = {k: v for k, v in multi.items() if tb.held_out(k[0])}
    annotators = sorted({a for v in multi.values() for a in v}, key=int)
    print(f"1. Against the consensus of the other annotators ({len(multi)} utterances, "
          f"transcripts {sorted({k[0] for k in multi})}; model: held-out "
          f"{sorted({k[0] for k in held})}, {len(held)} utterances)")
    print(f"{'annotator':>9} | {'question':>8} {'open/closed':>11} {'reflection':>10} | "
          f"{'model, same gold (held-out)':>28}")
    rows = []
    for a in annotators:
        expert = against_consensus(multi, lambda k, a: multi[k].get(a), a)
        expert_held = against_consensus(held, lambda k, a: held[k].get(a), a)
        mine = against_consensus(held, lambda k, _a: model[k] if _a in held[k] else None, a)
        rows.append((expert, expert_held, mine))
        print(f"{a:>9} | {expert['question']:8.3f} {expert['open']:11.3f} "
              f"{expert['reflection']:10.3f} | {mine['question']:8.3f} {mine['open']:9.3f} "
              f"{mine['reflection']:9.3f}")
    for label, i in (("median (all four transcripts)", 0), ("median, held-out only", 1),
                     ("model, median (held-out)", 2)):
        med = {h: statistics.median(r[i][h] for r in rows) for h in HEADS}
        print(f"{label:>30}: question {med['question']:.3f}, open/closed {med['open']:.3f}, "
              f"reflection {med['reflection']:.3f}")


def pairwise_table(multi: dict[tuple[int, int], dict[str, Coding]]) -> None:
    pooled: dict[str, tuple[list[bool], list[bool]]] = {h: ([], []) for h in HEADS}
    for by_annotator in multi.values():
        for a, b in itertools.combinations(sorted(by_annotator), 2):
            x, y = by_annotator[a], by_annotator[b]
            for head in ("question", "reflection"):
                pooled[head][0].append(getattr(x, head))
                pooled[head][1].append(getattr(y, head))
            if x.open is not None and y.open is not None:
                pooled["open"][0].append(x.open)
                pooled["open"][1].append(y.open)
    print(f"\n2. Annotator against annotator, all pairs pooled ({len(pooled['open'][0])} "
          f"question pairs with a subtype): " + ", ".join(
              f"{h} {head_score(h, *pooled[h]):.3f}" for h in HEADS))


def bootstrap_table(csv_path: Path, model: dict[tuple[int, int], Coding], n: int,
                    seed: int = 0) -> None:
    rows = [r for r in tb.load(csv_path) if tb.held_out(r.transcript)]
    by_transcript: dict[int, list[tb.Row]] = defaultdict(list)
    for r in rows:
        by_transcript[r.transcript].append(r)
    ids = sorted(by_transcript)
    # tb.load keeps the held-out transcripts' therapist utterances in the same order
    keys = sorted(model)
    predict = {id(r): model[k] for r, k in zip(rows, keys, strict=True)}

    def scores(sample: list[tb.Row]) -> dict[str, float]:
        q = [r for r in sample if r.open is not None]
        return {"question": tb.f1([r.question for r in sample],
                                  [predict[id(r)].question for r in sample]),
                "open": head_score("open", [bool(r.open) for r in q],
                                   [bool(predict[id(r)].open) for r in q]),
                "reflection": tb.f1([r.reflection for r in sample],
                                    [predict[id(r)].reflection for r in sample])}

    point = scores(rows)
    rng = np.random.default_rng(seed)
    draws = [scores([r for i in rng.choice(ids, len(ids)) for r in by_transcript[i]])
             for _ in range(n)]
    print(f"\n3. Shipped model, held-out ({len(rows)} utterances, {len(ids)} transcripts; "
          f"95 % interval from {n} resamplings of whole transcripts)")
    for h in HEADS:
        lo, hi = np.percentile([d[h] for d in draws], [2.5, 97.5])
        print(f"   {h:>10}: {point[h]:.3f}  [{lo:.3f}, {hi:.3f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=tb.DEFAULT_CSV)
    ap.add_argument("--bootstrap", type=int, default=2000)
    args = ap.parse_args()
    model = model_codings(args.csv)
    multi, texts = codings(args.csv)
    expert_table(multi, texts, model)
    pairwise_table(multi)
    bootstrap_table(args.csv, model, args.bootstrap)


if __name__ == "__main__":
    main()
