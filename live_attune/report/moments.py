"""The evidence: each flagged moment with its time, who, and the words around it (issue 20).

Every count the report flags links here by an anchor: ``#interruption-K`` (K: index in
metrics.interruptions), ``#silence-K`` (metrics.long_silences), ``#turn-K`` (turns),
``#line-K`` (transcript), ``#questions`` and ``#reflections``. Selection (which turns are the
longest, which lines are near a moment) and layout only; every number is core's.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from live_attune.core.quality import MEASURED, counted, word_of
from live_attune.report.page import Page
from live_attune.report.words import UNSURE, other_of, unsure, who
from live_attune.session.config import ACTIVITY_SPEAKER

CONTEXT_S = 3.0  # transcript shown around an interruption, each side
CONTEXT_LINES = 3  # at most this many lines around a moment
LINE_CHARS = 200  # a line around a moment is cut here
TURN_CHARS = 600  # a long turn's words are cut here
EXAMPLES = 4  # examples per behaviour
LONGEST = 3  # longest turns listed, besides each person's longest
BEHAVIOURS = (("open_question", "Open questions", "questions"),
              ("closed_question", "Closed questions", "questions"),
              ("reflection", "Reflections", "reflections"))


def longest_turns(turns: Sequence[Mapping[str, Any]], speakers: Sequence[str]) -> list[int]:
    """Indices of the turns listed as evidence: each person's longest and the LONGEST
    longest overall, longest first."""
    ranked = sorted(range(len(turns)), key=lambda k: turns[k]["duration_s"], reverse=True)
    picked = ranked[:LONGEST]
    for s in speakers:
        mine = next((k for k in ranked if turns[k]["speaker"] == s), None)
        if mine is not None and mine not in picked:
            picked.append(mine)
    return sorted(picked, key=lambda k: turns[k]["duration_s"], reverse=True)


def longest_of(turns: Sequence[Mapping[str, Any]], speaker: str) -> int | None:
    """Index of ``speaker``'s longest turn (the evidence of their "longest turn")."""
    mine = [k for k, t in enumerate(turns) if t["speaker"] == speaker]
    return max(mine, key=lambda k: turns[k]["duration_s"]) if mine else None


def first_interruption(events: Sequence[Mapping[str, Any]], by: str,
                       successful: bool | None = None) -> int | None:
    return next((k for k, i in enumerate(events) if i["by"] == by
                 and (successful is None or i["successful"] == successful)), None)


def longest_silence(silences: Sequence[Mapping[str, Any]], before: str | None = None,
                    after: str | None = None) -> int | None:
    picked = [k for k, x in enumerate(silences) if (before is None or x["before"] == before)
              and (after is None or x["after"] == after)]
    return max(picked, key=lambda k: silences[k]["duration_s"]) if picked else None


def words_near(transcript: Sequence[Mapping[str, Any]], start_s: float, end_s: float) -> str:
    """The lines spoken from ``start_s`` to ``end_s``, each "who: words" (HTML)."""
    near = [x for x in transcript if x["end_s"] >= start_s and x["start_s"] <= end_s]
    if not near:
        return "<i>no transcript</i>"
    return "<br>".join(f"{speaker_tag(x['speaker'])}: {_e(_cut(x['text'], LINE_CHARS))}"
                       for x in near[:CONTEXT_LINES])


def speaker_tag(speaker: str) -> str:
    """A person's name in their colour (the dashboard's, style.py's ``.who-*``)."""
    return f'<b class="who who-{_e(speaker)}">{_e(who(speaker))}</b>'


def interruptions(p: Page) -> str:
    events = p.s["metrics"]["interruptions"]
    if not events or not counted(word_of(p.s, "interruptions")):
        return ""
    rows = []
    for k, i in enumerate(events):
        outcome = (f"{other_of(i['by'])} stopped" if i["successful"]
                   else f"{other_of(i['by'])} went on")
        near = words_near(p.s.get("transcript", []), i["at_s"] - CONTEXT_S,
                          i["at_s"] + CONTEXT_S)
        doubt = f' <span class="unsure">({_e(UNSURE)})</span>' if unsure(i) else ""
        rows.append(f'<tr id="interruption-{k}"><td>'
                    f'{p.num(f"metrics.interruptions.{k}.at_s", "clock")}</td><td>'
                    f"{speaker_tag(i['by'])} came in; {_e(outcome)}{doubt}</td>"
                    f"<td>{near}</td></tr>")
    word = word_of(p.s, "interruptions")
    caveat = "" if word == MEASURED else (
        f"<p class=\"unreliable\">These moments are {_e(word)}: listen to them before "
        "drawing any conclusion.</p>")
    return ("<h3>Coming in while the other spoke</h3>" + caveat + _table(
        ("time", "what happened", "what was said around it"), rows))


def silences(p: Page) -> str:
    events = p.s["metrics"].get("long_silences") or []
    if not events:
        return ""
    lines = p.s.get("transcript", [])
    rows = []
    for k, x in enumerate(events):
        base = f"metrics.long_silences.{k}"
        between = ("" if ACTIVITY_SPEAKER in (x["before"], x["after"]) else  # nobody told apart
                   f", after the {speaker_tag(x['before'])} and before the "
                   f"{speaker_tag(x['after'])}")
        rows.append(f'<tr id="silence-{k}"><td>{p.num(base + ".start_s", "clock")}</td><td>'
                    f"{p.num(base + '.duration_s', 's1')}{between}</td><td>"
                    f"{words_near(lines, x['start_s'] - 1.0, x['end_s'] + 1.0)}</td></tr>")
    return "<h3>Long silences</h3>" + _table(("time", "silence", "the words either side"), rows)


def turns(p: Page) -> str:
    all_turns = p.s["turns"]
    picked = longest_turns(all_turns, p.s["speakers"])
    if not picked:
        return ""
    rows = []
    for k in picked:
        t = all_turns[k]
        lines = [x for x in p.s.get("transcript", [])
                 if x["speaker"] == t["speaker"] and t["start_s"] <= x["start_s"] < t["end_s"]]
        text = _e(_cut(" ".join(x["text"] for x in lines), TURN_CHARS)) or "<i>no transcript</i>"
        rows.append(f'<tr id="turn-{k}"><td>{p.num(f"turns.{k}.start_s", "clock")}</td><td>'
                    f"{speaker_tag(t['speaker'])}, {p.num(f'turns.{k}.duration_s', 's1')}"
                    f"</td><td>{text}</td></tr>")
    return "<h3>Longest turns</h3>" + _table(("time", "who, how long", "what was said"), rows)


def examples(p: Page) -> str:
    """Questions and reflections: up to EXAMPLES of each, said to be examples."""
    lines = p.s.get("transcript") or []
    if not lines:
        return ('<h3 id="questions">Questions and reflections</h3><p id="reflections">No '
                "transcript was kept for this session.</p>")
    blocks = []
    anchors = {"questions", "reflections"}
    for behaviour, title, anchor in BEHAVIOURS:
        picked = [(k, x) for k, x in enumerate(lines) if x.get("behaviour") == behaviour]
        shown = picked[:EXAMPLES]
        items = "".join(
            f'<li id="line-{k}">{p.num(f"transcript.{k}.start_s", "clock")} {_e(x["text"])}'
            f"{' <i>(' + _e(x['reflection']) + ')</i>' if x.get('reflection') else ''}</li>"
            for k, x in shown)
        heading_id = f' id="{anchor}"' if anchor in anchors else ""
        anchors.discard(anchor)
        blocks.append(f"<h3{heading_id}>{title}: {_count(len(shown), len(picked))}</h3>"
                      + (f"<ul>{items}</ul>" if items else ""))
    return "".join(blocks)


def _count(shown: int, total: int) -> str:
    """ "4 examples of 7", "all 3", "none" — never a list that looks complete but is not."""
    if total == 0:
        return "none"
    if shown == total:
        return f"all {total}" if total > 1 else "1"
    return f"{shown} examples of {total}"


def _table(head: Sequence[str], rows: Sequence[str]) -> str:
    cells = "".join(f"<th>{h}</th>" for h in head)
    return (f'<table class="events"><thead><tr>{cells}</tr></thead><tbody>{"".join(rows)}'
            "</tbody></table>")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _e(text: object) -> str:
    return html.escape(str(text))
