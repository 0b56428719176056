"""The three things to notice (issue 20): those outside their context range first, in the
order of report/notice.py's RULES, each with its evidence; sentences written by hand."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from live_attune.report import build_html
from tests.report.test_report_golden import Text

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"


def things(session: dict[str, Any]) -> list[str]:
    page = build_html(session)
    text = Text()
    text.feed(page[page.index('<section class="notice">'):page.index("<h2>Key numbers</h2>")])
    return text.items[:-1]  # the legend paragraph last


def golden() -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads(GOLDEN.read_text(encoding="utf-8")))
    return data


def test_a_therapist_led_session_with_a_cut_in_and_a_long_turn() -> None:
    s = golden()
    m = s["metrics"]
    m["client_share"], m["balance"] = 0.35, "therapist-heavy"
    m["interruptions"].append({"at_s": 60.0, "by": "therapist", "of": "client",
                               "successful": False})
    m["interruptions_by"]["therapist"] = 1
    m["unsuccessful_interruptions_by"]["therapist"] = 1
    s["turns"][4]["duration_s"] = m["longest_monologue_s"]["therapist"] = 75.0
    # the complex reflections (25 %, below fair) are outside too, but come fourth
    assert things(s) == [
        "The therapist did most of the talking: the client spoke for 35 % of the time anyone "
        "spoke, below the 40–60 % of an even session. See the therapist's longest turn, at "
        "0:56",
        "The therapist came in once while the client was speaking; the client went on. See "
        "the first, at 1:00",
        "The therapist's longest turn lasted 75.0 s, longer than the 60 s after which the "
        "live view cues. See that turn, at 0:56",
    ]


def test_inside_the_ranges_the_order_fills_up() -> None:
    s = golden()
    m = s["metrics"]
    m["client_share"], m["balance"] = 0.52, "even"
    m["language"]["miti"]["complex_reflection_share"] = 0.5
    assert things(s) == [
        "The talk was evenly shared: the client spoke for 52 % of the time anyone spoke "
        "(even: 40–60 %). See the client's longest turn, at 1:04",
        "After the client finished, the therapist left a median of 1.30 s before answering, "
        "more than the 0.61 s typical of MI sessions; 33 % of the answers came after 1.5 s "
        "or more. See the longest wait, at 0:52",
        "The therapist made 1.33 reflections per question: fair by MITI (fair from 1, good "
        "from 2). See the reflections",
    ]


def test_several_cut_ins_by_outcome_and_no_sentence_without_evidence() -> None:
    s = golden()
    m = s["metrics"]
    m["interruptions"] = [{"at_s": t, "by": "client", "of": "therapist", "successful": ok}
                          for t, ok in ((36.5, True), (60.0, True), (90.0, False))]
    m["interruptions_by"]["client"] = 3
    m["successful_interruptions_by"]["client"] = 2
    m["unsuccessful_interruptions_by"]["client"] = 1
    m["long_silences"], m["long_silence_count"] = [], 0
    m["response_latency_s"]["count"] = 0
    del m["language"]
    assert things(s) == [
        "The client did most of the talking: 68 % of the time anyone spoke, above the 40–60 % "
        "of an even session. See the client's longest turn, at 1:04",
        "The client came in while the therapist was speaking 3 times: the therapist stopped "
        "twice and went on once. See the first, at 0:36",
    ]
