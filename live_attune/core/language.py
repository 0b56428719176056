"""Language measures from the transcript (METRICS.md § Language): pace, therapist behaviour
per utterance, and the MITI 4.2.1 summary scores with their uncertainty.

The behaviour classifier is four logistic heads (question? open? reflection? complex?) over
two kinds of input: sparse cue features of the utterance (words, word pairs, a question
mark, a leading wh-word or auxiliary verb, reflective stems such as "sounds like") and dense
sentence embeddings of the utterance, of its question sentence and of its dialogue context
(the client's previous utterance, the therapist's previous one). The embeddings come from
``live_attune.language`` (a pretrained encoder: I/O, not core); this module only does the
arithmetic. Trained on AnnoMI by ``scripts/train_behaviour.py``; the weights ship in
``live_attune/data/behaviour_model.json`` together with the cross-validated confusion of
the labels, from which ``miti_intervals`` turns a session's label counts into 80 % intervals.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np

from live_attune.core.events import Transcript
from live_attune.core.roles import THERAPIST

BEHAVIOURS = ("open_question", "closed_question", "reflection", "other")
WH = ("what", "how", "why", "when", "where", "which", "who", "whom", "whose", "tell", "describe")
AUX = ("do", "does", "did", "is", "are", "am", "was", "were", "can", "could", "would", "will",
       "have", "has", "had", "should", "shall", "may", "might", "must", "anything", "any")
STEMS = ("sounds like", "it sounds", "you feel", "you're feeling", "you are feeling", "it seems",
         "you seem", "so you", "you're saying", "you are saying", "you want", "you'd like",
         "you would like", "on one hand", "on the other hand", "part of you", "you've been",
         "you have been", "you're not", "you don't", "for you", "it's like", "you're worried")
_TOKEN = re.compile(r"[a-z']+|[?.!,]")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower().replace("’", "'"))


def features(text: str) -> list[str]:
    """Sparse binary features of one utterance (names; the model maps them to weights)."""
    toks = tokens(text)
    words = [t for t in toks if t[0].isalpha()]
    out = [f"w:{w}" for w in set(words)]
    out += [f"b:{a}_{b}" for a, b in set(itertools.pairwise(words))]
    question = _question_sentence(toks)
    qwords = [t for t in question if t[0].isalpha()]
    out += [f"q:{w}" for w in set(qwords)]
    out += [f"q1:{qwords[0]}"] if qwords else []
    out += [f"q2:{qwords[0]}_{qwords[1]}"] if len(qwords) > 1 else []
    out += ["cue:q_wh"] if any(w in WH for w in qwords[:3]) else []
    out += ["cue:q_aux"] if qwords and qwords[0] in AUX else []
    out += ["cue:q_or"] if "or" in qwords else []
    lower = " ".join(words)
    out += ["cue:qmark"] if "?" in toks else []
    out += ["cue:ends_q"] if toks and toks[-1] == "?" else []
    out += [f"cue:stem:{s}" for s in STEMS if s in lower]
    out += [f"cue:len:{min(len(words) // 5, 8)}", "bias"]
    return out


def context_features(client_before: str, therapist_before: str) -> list[str]:
    """Sparse cues of the dialogue context: how long the client's previous turn was, its first
    and last word, whether it or the therapist's previous turn asked something ("?").
    Cross-validated on AnnoMI: reflection F1 .704 → .715, the other heads unchanged."""
    client, therapist = tokens(client_before), tokens(therapist_before)
    words = [t for t in client if t[0].isalpha()]
    out = [f"c:len:{min(len(words) // 5, 8)}"]
    out += [f"c:first:{words[0]}", f"c:last:{words[-1]}"] if words else ["c:none"]
    out += ["c:qmark"] if "?" in client else []
    out += ["t:qmark"] if "?" in therapist else []
    return out


def _question_sentence(toks: list[str]) -> list[str]:
    """The last sentence that ends in "?", else the last sentence."""
    sentences, current = [], []
    for t in toks:
        current.append(t)
        if t in ".!?":
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    asked = [s for s in sentences if s[-1] == "?"]
    return asked[-1] if asked else (sentences[-1] if sentences else [])


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def question_sentence(text: str) -> str:
    """The text's last sentence that ends in "?", else its last sentence (embedded apart:
    in a long turn the question that closes it decides open vs closed)."""
    parts = [p for p in _SENTENCE.split(text.strip()) if p]
    asked = [p for p in parts if p.endswith("?")]
    return asked[-1] if asked else (parts[-1] if parts else "")


@dataclass(frozen=True, slots=True)
class Embedded:
    """The sentence embeddings one therapist utterance is labelled from.

    Each is a (dim,) float32 vector of unit length, or zeros where there is no such text
    (the session's first utterance has no previous client utterance).
    """

    utterance: np.ndarray
    question: np.ndarray  # of question_sentence(text)
    client: np.ndarray  # the client's previous utterance
    therapist: np.ndarray  # the therapist's previous utterance


def dense_input(e: Embedded) -> np.ndarray:
    """The heads' dense input: the four embeddings, how close the utterance is to each
    context utterance (cosine), and whether the context is missing. Shape (4 * dim + 4,)."""
    cues = np.array([float(e.utterance @ e.client), float(e.utterance @ e.therapist),
                     float(not e.client.any()), float(not e.therapist.any())], np.float32)
    return np.concatenate([e.utterance, e.question, e.client, e.therapist, cues])


@dataclass(frozen=True, slots=True)
class Labelled:
    """A therapist utterance's behaviour, its probability, and the reflection depth.

    ``p_*`` are the heads' probabilities: of a question, of open given a question, of a
    reflection, of complex given a reflection.
    """

    behaviour: str  # one of BEHAVIOURS
    confidence: float
    reflection: str | None  # "simple" / "complex" for reflections, else None
    p_question: float = 0.0
    p_open: float = 0.0
    p_reflection: float = 0.0
    p_complex: float = 0.0


@dataclass(frozen=True)
class Head:
    """One logistic head: weights of the sparse features and of ``dense_input``."""

    sparse: Mapping[str, float]  # feature → weight (logit); "bias" is always present
    dense: np.ndarray  # (len(dense_input),) weights


HEADS = ("question", "open", "reflection", "complex")
EVEN = {h: 0.5 for h in HEADS}


def decide(q: float, o: float, r: float, c: float, thresholds: Mapping[str, float] = EVEN
           ) -> Labelled:
    """The label from the heads' probabilities. A head says yes at or above its threshold
    (chosen per head on cross-validation); a question and a reflection both above theirs:
    the one further above."""
    t = thresholds
    probs = {"p_question": q, "p_open": o, "p_reflection": r, "p_complex": c}
    if q >= t["question"] and q - t["question"] >= r - t["reflection"]:
        is_open = o >= t["open"]
        return Labelled("open_question" if is_open else "closed_question", q, None, **probs)
    if r >= t["reflection"]:
        return Labelled("reflection", r, "complex" if c >= t["complex"] else "simple", **probs)
    return Labelled("other", 1.0 - max(q, r), None, **probs)


@dataclass(frozen=True)
class BehaviourModel:
    """Four logistic heads: question?, open (vs closed)?, reflection?, complex (vs simple)?"""

    heads: Mapping[str, Head]
    thresholds: Mapping[str, float] = field(default_factory=lambda: dict(EVEN))

    def logit(self, head: str, feats: Sequence[str], dense: np.ndarray) -> float:
        h = self.heads[head]
        return sum(h.sparse.get(f, 0.0) for f in feats) + float(h.dense @ dense)

    def label(self, text: str, embedded: Embedded, context: Sequence[str] = ()) -> Labelled:
        """``context``: context_features of the turns before (none: the session's start)."""
        feats, dense = [*features(text), *context], dense_input(embedded)
        q, o, r, c = (_sigmoid(self.logit(h, feats, dense)) for h in HEADS)
        return decide(q, o, r, c, self.thresholds)


def model_from_json(data: Mapping[str, Any]) -> BehaviourModel:
    heads: dict[str, dict[str, Any]] = data["heads"]
    return BehaviourModel({name: Head(h["sparse"], np.asarray(h["dense"], np.float32))
                           for name, h in heads.items()},
                          {**EVEN, **data.get("thresholds", {})})


@functools.cache
def model_data() -> dict[str, Any]:
    """behaviour_model.json: the heads, the encoder they expect, the CV confusion."""
    text = resources.files("live_attune").joinpath("data/behaviour_model.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


@functools.cache
def default_model() -> BehaviourModel:
    return model_from_json(model_data())


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@dataclass(frozen=True, slots=True)
class MitiSummary:
    """MITI 4.2.1 summary scores over the therapist's labelled utterances."""

    questions: int
    open_questions: int
    reflections: int
    complex_reflections: int
    reflection_to_question: float | None  # fair >= 1, good >= 2
    open_question_share: float | None
    complex_reflection_share: float | None  # fair >= 0.40, good >= 0.50


def miti_summary(labels: Iterable[Labelled]) -> MitiSummary:
    items = list(labels)
    q = sum(1 for x in items if x.behaviour in ("open_question", "closed_question"))
    oq = sum(1 for x in items if x.behaviour == "open_question")
    r = sum(1 for x in items if x.behaviour == "reflection")
    cr = sum(1 for x in items if x.reflection == "complex")
    return MitiSummary(q, oq, r, cr, r / q if q else None, oq / q if q else None,
                       cr / r if r else None)


# The session-level uncertainty (issue 22). A session has few questions (AnnoMI: a median of
# about 9 open or closed), so one wrong call moves "% open" by 10 points: each MITI number
# comes with an interval from the classifier's own errors. Each therapist utterance's
# predicted class (PREDICTED) stands for a distribution over what the annotator would have
# coded (GOLD_CELLS): the cross-validated confusion shipped with the model
# (behaviour_model.json "uncertainty": predicted class → counts per gold cell, out-of-fold
# predictions on AnnoMI). Errors cluster by session — one therapist's style, one annotator's
# habits — so a session's error rates are drawn from a Dirichlet around the pooled ones whose
# concentration (per predicted class, in pseudo-utterances) was fitted by maximum likelihood
# to the spread of the error rates between AnnoMI transcripts (a Dirichlet-multinomial),
# joined with the finite count the pooled rates rest on; then the session's codes are drawn
# from a multinomial, and the MITI numbers of the draws give the interval.
PREDICTED = ("open_question", "closed_question", "simple_reflection", "complex_reflection",
             "other")
# (question, reflection) as annotated: question "open"/"closed"/"any" (no subtype) or "",
# reflection "simple"/"complex"/"any" or "" — both may hold for one utterance.
GOLD_CELLS = tuple((q, r) for q in ("", "open", "closed", "any")
                   for r in ("", "simple", "complex", "any"))
INTERVAL_LEVEL = 0.8


def predicted_class(label: Labelled) -> str:
    if label.behaviour == "reflection":
        return "complex_reflection" if label.reflection == "complex" else "simple_reflection"
    return label.behaviour


def gold_cell(question: str, reflection: str) -> int:
    """Index in GOLD_CELLS of an annotated utterance ('' where the code is absent)."""
    return GOLD_CELLS.index((question, reflection))


@dataclass(frozen=True, slots=True)
class Interval:
    """A MITI number as the median of the draws and its central INTERVAL_LEVEL interval."""

    estimate: float
    low: float
    high: float


@dataclass(frozen=True, slots=True)
class MitiIntervals:
    """80 % intervals of the MITI summary numbers, from the classifier's error rates."""

    reflection_to_question: Interval | None
    open_question_share: Interval | None
    complex_reflection_share: Interval | None
    level: float = INTERVAL_LEVEL


def miti_counts(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Questions, open, closed, reflections, simple, complex per row of gold-cell counts
    ((draws, len(GOLD_CELLS)) → each (draws,))."""
    def total(test: Callable[[str, str], bool]) -> np.ndarray:
        return np.asarray(cells[:, [i for i, c in enumerate(GOLD_CELLS) if test(*c)]].sum(1))

    return {"q": total(lambda q, r: q != ""), "open": total(lambda q, r: q == "open"),
            "closed": total(lambda q, r: q == "closed"), "r": total(lambda q, r: r != ""),
            "simple": total(lambda q, r: r == "simple"),
            "complex": total(lambda q, r: r == "complex")}


def miti_values(cells: np.ndarray) -> dict[str, np.ndarray]:
    """R:Q, % open and % complex per row of gold-cell counts; NaN where undefined."""
    n = miti_counts(cells)
    with np.errstate(divide="ignore", invalid="ignore"):
        return {"reflection_to_question": np.where(n["q"] > 0, n["r"] / n["q"], np.nan),
                "open_question_share": np.where(
                    n["open"] + n["closed"] > 0, n["open"] / (n["open"] + n["closed"]), np.nan),
                "complex_reflection_share": np.where(
                    n["simple"] + n["complex"] > 0,
                    n["complex"] / (n["simple"] + n["complex"]), np.nan)}


def cell_shares(seen: Sequence[float]) -> np.ndarray:
    """A predicted class's pooled shares of the gold cells, with half an utterance of prior
    spread over the cells (a cell never seen is rare, not impossible)."""
    counts = np.asarray(seen, np.float64) + 0.5 / len(seen)
    return np.asarray(counts / counts.sum())


def draw_gold(counts: Mapping[str, int], confusion: Mapping[str, Sequence[float]], *,
              concentration: Mapping[str, float], draws: int = 4000, seed: int = 0
              ) -> np.ndarray:
    """(draws, len(GOLD_CELLS)) counts of what annotators would have coded, given how many
    utterances the classifier put in each PREDICTED class."""
    rng = np.random.default_rng(seed)
    out = np.zeros((draws, len(GOLD_CELLS)), np.int64)
    for cls, n in counts.items():
        if n <= 0:
            continue
        seen = confusion[cls]
        # between-session spread and the pooled rates' own finite count, as pseudo-counts
        kappa, total = concentration[cls], float(sum(seen)) + 0.5
        joined = kappa * total / (kappa + total)
        out += rng.multinomial(n, rng.dirichlet(cell_shares(seen) * joined, size=draws))
    return out


def miti_intervals(counts: Mapping[str, int], confusion: Mapping[str, Sequence[float]], *,
                   concentration: Mapping[str, float], level: float = INTERVAL_LEVEL,
                   draws: int = 4000, seed: int = 0) -> MitiIntervals:
    """The session's MITI numbers with intervals; None where fewer than ``level`` of the
    draws define the number (no questions or no reflections)."""
    values = miti_values(draw_gold(counts, confusion, concentration=concentration,
                                   draws=draws, seed=seed))

    def interval(v: np.ndarray) -> Interval | None:
        v = v[~np.isnan(v)]
        if len(v) < level * draws:
            return None
        lo, mid, hi = np.quantile(v, [(1 - level) / 2, 0.5, (1 + level) / 2])
        return Interval(round(float(mid), 4), round(float(lo), 4), round(float(hi), 4))

    return MitiIntervals(interval(values["reflection_to_question"]),
                         interval(values["open_question_share"]),
                         interval(values["complex_reflection_share"]), level)


def session_intervals(labels: Iterable[Labelled]) -> MitiIntervals:
    """miti_intervals with the shipped model's confusion and concentration."""
    counts = Counter(predicted_class(x) for x in labels)
    return _shipped_intervals(tuple(counts[c] for c in PREDICTED))


@functools.lru_cache(maxsize=64)
def _shipped_intervals(counts: tuple[int, ...]) -> MitiIntervals:
    """Cached by the counts: a live session asks on every metrics update, and the counts
    change only when a therapist utterance is labelled (a call costs tens of ms)."""
    uncertainty = model_data()["uncertainty"]
    return miti_intervals(dict(zip(PREDICTED, counts, strict=True)), uncertainty["confusion"],
                          concentration=uncertainty["concentration"])


def pace_wpm(words: int, talk_time_s: float) -> float | None:
    """Words per minute of a speaker's own talk time (METRICS.md § Language)."""
    return words * 60.0 / talk_time_s if talk_time_s > 0 else None


def word_count(text: str) -> int:
    return sum(1 for t in tokens(text) if t[0].isalpha())


@dataclass(frozen=True, slots=True)
class LanguageSummary:
    """Pace per speaker and the therapist's behaviour mix (METRICS.md § Language)."""

    words: Mapping[str, int]
    pace_wpm: Mapping[str, float | None]
    behaviours: Mapping[str, int]  # therapist utterances per behaviour
    miti: MitiSummary
    miti_intervals: MitiIntervals | None  # None: no labelled therapist utterance yet


def summarize(transcripts: Sequence[Transcript], talk_time_s: Mapping[str, float]
              ) -> LanguageSummary:
    """Language measures over the transcribed utterances so far."""
    words = {s: 0 for s in talk_time_s}
    for t in transcripts:
        words[t.speaker] = words.get(t.speaker, 0) + word_count(t.text)
    pace = {s: pace_wpm(n, talk_time_s.get(s, 0.0)) for s, n in words.items()}
    labelled = [Labelled(t.behaviour, 1.0, t.reflection) for t in transcripts
                if t.speaker == THERAPIST and t.behaviour is not None]
    counts = {b: sum(1 for x in labelled if x.behaviour == b) for b in BEHAVIOURS}
    return LanguageSummary(words, pace, counts, miti_summary(labelled),
                           session_intervals(labelled) if labelled else None)
