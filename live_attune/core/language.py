"""Language measures from the transcript (METRICS.md § Language): pace, therapist behaviour
per utterance, and the MITI 4.2.1 summary scores.

The behaviour classifier is a multinomial logistic regression over words, word pairs and a
few cue features (a question mark, a leading wh-word or auxiliary verb, reflective stems
such as "sounds like"), trained on AnnoMI by ``scripts/train_behaviour.py``; its weights ship
in ``live_attune/data/behaviour_model.json``. Pure Python + numpy, well under a millisecond
per utterance.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

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


@dataclass(frozen=True, slots=True)
class Labelled:
    """A therapist utterance's behaviour, its probability, and the reflection depth."""

    behaviour: str  # one of BEHAVIOURS
    confidence: float
    reflection: str | None  # "simple" / "complex" for reflections, else None


@dataclass(frozen=True)
class BehaviourModel:
    """Four logistic heads: question?, open (vs closed)?, reflection?, complex (vs simple)?"""

    heads: Mapping[str, Mapping[str, float]]  # head → feature → weight (logit)

    def logit(self, head: str, feats: Sequence[str]) -> float:
        weights = self.heads[head]
        return sum(weights.get(f, 0.0) for f in feats)

    def label(self, text: str) -> Labelled:
        feats = features(text)
        q = _sigmoid(self.logit("question", feats))
        r = _sigmoid(self.logit("reflection", feats))
        if q >= 0.5 and q >= r:
            is_open = self.logit("open", feats) > 0
            return Labelled("open_question" if is_open else "closed_question", q, None)
        if r >= 0.5:
            depth = "complex" if self.logit("complex", feats) > 0 else "simple"
            return Labelled("reflection", r, depth)
        return Labelled("other", 1.0 - max(q, r), None)


@functools.cache
def default_model() -> BehaviourModel:
    text = resources.files("live_attune").joinpath("data/behaviour_model.json").read_text()
    return BehaviourModel(json.loads(text)["heads"])


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
    return LanguageSummary(words, pace, counts, miti_summary(labelled))
