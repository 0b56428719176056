"""The classifier's pure part: question sentences, the dense input, the MITI summary, its
intervals from the classifier's confusion, and pace. The real model on real AnnoMI rows is
tested in tests/language/test_labeller.py."""

from __future__ import annotations

import numpy as np
import pytest

from live_attune.core.events import Transcript
from live_attune.core.language import (
    GOLD_CELLS,
    PREDICTED,
    Embedded,
    Labelled,
    dense_input,
    draw_gold,
    gold_cell,
    miti_intervals,
    miti_summary,
    miti_values,
    pace_wpm,
    question_sentence,
    summarize,
    word_count,
)


def test_miti_summary() -> None:
    labels = [Labelled("open_question", 1, None), Labelled("closed_question", 1, None),
              Labelled("reflection", 1, "complex"), Labelled("reflection", 1, "simple"),
              Labelled("reflection", 1, "complex"), Labelled("other", 1, None)]
    m = miti_summary(labels)
    assert (m.questions, m.open_questions, m.reflections, m.complex_reflections) == (2, 1, 3, 2)
    assert m.reflection_to_question == 1.5
    assert m.open_question_share == 0.5
    assert m.complex_reflection_share == pytest.approx(2 / 3)
    assert miti_summary([]).reflection_to_question is None


def test_pace_is_words_per_minute_of_own_talk_time() -> None:
    assert word_count("Well, I don't know... maybe?") == 5
    assert pace_wpm(150, 60.0) == 150.0
    assert pace_wpm(10, 0.0) is None
    lines = [Transcript("client", 0, 4, "one two three four five six"),
             Transcript("therapist", 5, 6, "How so?", behaviour="open_question")]
    s = summarize(lines, {"therapist": 1.0, "client": 3.0})
    assert s.pace_wpm == {"therapist": 120.0, "client": 120.0}
    assert s.behaviours["open_question"] == 1


def test_question_sentence_is_the_last_one_asked() -> None:
    assert question_sentence("Okay. What brings you here? I read the form.") == \
        "What brings you here?"
    assert question_sentence("So you want to stop. That's hard.") == "That's hard."
    assert question_sentence("Hm") == "Hm"
    assert question_sentence("  ") == ""


def test_dense_input_is_the_embeddings_then_closeness_and_missing_context() -> None:
    u = np.array([1.0, 0.0], np.float32)
    c = np.array([0.6, 0.8], np.float32)
    x = dense_input(Embedded(u, u, c, np.zeros(2, np.float32)))
    assert x.tolist() == pytest.approx([1, 0, 1, 0, 0.6, 0.8, 0, 0, 0.6, 0, 0, 1])


# --- session intervals ------------------------------------------------------------------

def cell(question: str = "", reflection: str = "") -> int:
    return gold_cell(question, reflection)


def exact_confusion(n: int = 1000) -> dict[str, list[float]]:
    """Each predicted class always right."""
    truth = {"open_question": cell("open"), "closed_question": cell("closed"),
             "simple_reflection": cell(reflection="simple"),
             "complex_reflection": cell(reflection="complex"), "other": cell()}
    return {c: [float(n) if i == truth[c] else 0.0 for i in range(len(GOLD_CELLS))]
            for c in PREDICTED}


def noisy_confusion() -> dict[str, list[float]]:
    """Open questions are open 7 times in 10, closed 3; the rest always right."""
    table = exact_confusion(100)
    table["open_question"] = [70.0 if i == cell("open") else 30.0 if i == cell("closed")
                              else 0.0 for i in range(len(GOLD_CELLS))]
    return table


def every(concentration: float) -> dict[str, float]:
    return dict.fromkeys(PREDICTED, concentration)


COUNTS = {"open_question": 3, "closed_question": 2, "simple_reflection": 2,
          "complex_reflection": 3, "other": 10}
MANY = {"open_question": 30, "closed_question": 20, "simple_reflection": 20,
        "complex_reflection": 30, "other": 100}  # shares with fine steps


def test_a_classifier_without_errors_gives_the_exact_numbers() -> None:
    got = miti_intervals(COUNTS, exact_confusion(), concentration=every(1e9))
    assert got.reflection_to_question is not None and got.open_question_share is not None
    assert got.complex_reflection_share is not None
    assert (got.reflection_to_question.low, got.reflection_to_question.high) == (1.0, 1.0)
    assert (got.open_question_share.low, got.open_question_share.high) == (0.6, 0.6)
    assert got.complex_reflection_share.estimate == 0.6
    assert got.level == 0.8


def test_errors_widen_the_interval_and_fewer_pseudo_counts_widen_it_more() -> None:
    def width(concentration: float) -> float:
        share = miti_intervals(MANY, noisy_confusion(), concentration=every(concentration)
                               ).open_question_share
        assert share is not None
        return share.high - share.low

    assert 0.05 < width(1e9) < width(10.0)
    # 30 predicted open of 50: the annotators' share is on average (30 * 0.7) / 50 = 0.42
    share = miti_intervals(MANY, noisy_confusion(), concentration=every(1e9)).open_question_share
    assert share is not None and share.low < 0.42 < share.high


def test_the_same_counts_give_the_same_interval() -> None:
    a = miti_intervals(COUNTS, noisy_confusion(), concentration=every(50.0))
    assert a == miti_intervals(COUNTS, noisy_confusion(), concentration=every(50.0))


def test_no_questions_no_ratio() -> None:
    counts = {"simple_reflection": 3, "other": 4}
    got = miti_intervals(counts, exact_confusion(), concentration=every(1e9))
    assert got.reflection_to_question is None and got.open_question_share is None
    assert got.complex_reflection_share is not None


def test_intervals_cover_sessions_drawn_from_the_same_errors_80_percent_of_the_time() -> None:
    """Sessions whose true codes follow the confusion exactly: an 80 % interval must hold the
    true share in about 80 % of them (neither too narrow nor too wide)."""
    table = noisy_confusion()
    hits = []
    for seed in range(200):
        truth = draw_gold(MANY, table, concentration=every(1e9), draws=1, seed=10_000 + seed)
        value = miti_values(truth)["open_question_share"][0]
        share = miti_intervals(MANY, table, concentration=every(1e9), draws=400,
                               seed=seed).open_question_share
        assert share is not None
        hits.append(share.low <= value <= share.high)
    assert 0.72 <= float(np.mean(hits)) <= 0.9  # discrete shares: ties at the edges count


def test_miti_values_of_annotated_codes() -> None:
    codes = np.bincount([cell("open"), cell("open", "complex"), cell("closed"),
                         cell(reflection="simple"), cell()], minlength=len(GOLD_CELLS))
    v = {k: float(x[0]) for k, x in miti_values(codes[None, :]).items()}
    assert v["reflection_to_question"] == pytest.approx(2 / 3)
    assert v["open_question_share"] == pytest.approx(2 / 3)
    assert v["complex_reflection_share"] == 0.5
