"""Word error rate on normalised text (lower case, no punctuation), for tests and bench."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9']+")


def normalise(text: str) -> list[str]:
    return [w.strip("'") for w in _WORD.findall(text.lower().replace("-", " ")) if w.strip("'")]


def wer(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words (Levenshtein on words)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / len(ref)
