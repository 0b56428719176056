"""The opening summary: three things to notice, in sentences, from core's numbers set
against the context numbers (METRICS.md § Context numbers, § Turns, § Language; core/context.py),
each linking to the moment it comes from (issue 20).

Candidates are tried in a fixed order of clinical weight; those outside their context range
come first, then the others fill up to three. Nothing is computed here: each sentence words
numbers from session.json and compares them with core's thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from live_attune.core import context
from live_attune.core.quality import MEASURED, word_of
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.report import moments
from live_attune.report.page import Page, format_value, pct_range, setting
from live_attune.report.words import COMPLEX_THRESHOLDS, RQ_THRESHOLDS, clients_word

THINGS = 3


@dataclass(frozen=True, slots=True)
class Finding:
    text: str  # HTML: a sentence with its numbers tagged
    href: str  # the anchor of its evidence
    link: str  # what the link says ("the longest turn, at 1:04")
    outside: bool  # outside its context range: shown before the ones inside


def things_to_notice(p: Page) -> list[Finding]:
    found = [f for rule in RULES if (f := rule(p)) is not None]
    return sorted(found, key=lambda f: not f.outside)[:THINGS]  # stable: order kept


def monologue_cue_s(session: Mapping[str, Any]) -> float:
    return setting(session, "monologue_cue_s")


def _measured(p: Page, kind: str) -> bool:
    return word_of(p.s, kind) == MEASURED


def _balance(p: Page) -> Finding | None:
    m = p.s["metrics"]
    share, label = m.get("client_share"), m.get("balance")
    if share is None or label is None:
        return None
    lo, hi = context.THERAPIST_HEAVY, context.CLIENT_LED
    even = pct_range(lo, hi)
    clients = clients_word(p.s["speakers"])
    value = p.num("metrics.client_share", "pct")
    estimated = "" if _measured(p, "talk_share") else " (estimated: one microphone)"
    if label == "client-led":  # core's label (core/metrics.py), not re-derived here
        text = (f"{clients.capitalize()} did most of the talking: {value} of the time anyone "
                f"spoke{estimated}, above the {even} of an even session.")
    elif label == "therapist-heavy":
        text = (f"The therapist did most of the talking: {clients} spoke for {value} of the "
                f"time anyone spoke{estimated}, below the {even} of an even "
                "session.")
    else:
        text = (f"The talk was evenly shared: {clients} spoke for {value} of the time anyone "
                f"spoke{estimated} (even: {even}).")
    most = CLIENT if share >= 0.5 else THERAPIST
    k = moments.longest_of(p.s["turns"], most)
    if k is None:
        return None
    at = format_value("clock", p.s["turns"][k]["start_s"])
    return Finding(text, f"#turn-{k}",
                   f"the {'client' if most == CLIENT else 'therapist'}'s longest turn, "
                   f"at {at}", outside=label != "even")


def _interruptions(p: Page, by: str) -> Finding | None:
    m = p.s["metrics"]
    count = m["interruptions_by"].get(by)
    if not count or not _measured(p, "interruptions"):
        return None
    stopped = m["successful_interruptions_by"].get(by, 0)
    went_on = m["unsuccessful_interruptions_by"].get(by, 0)
    other = "client" if by == THERAPIST else "therapist"
    k = moments.first_interruption(m["interruptions"], by)
    if k is None:
        return None
    at = format_value("clock", m["interruptions"][k]["at_s"])
    if count == 1:
        text = (f"The {by} came in once while the {other} was speaking; the {other} "
                f"{'stopped' if stopped else 'went on'}.")
    else:
        outcome = (f"stopped {_times(stopped)} and went on {_times(went_on)}"
                   if stopped and went_on else "stopped each time" if stopped
                   else "went on each time")
        text = (f"The {by} came in while the {other} was speaking "
                f"{p.num(f'metrics.interruptions_by.{by}', 'int')} times: the {other} "
                f"{outcome}.")
    return Finding(text, f"#interruption-{k}", f"the first, at {at}", outside=by == THERAPIST)


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _long_turn(p: Page) -> Finding | None:
    longest = p.s["metrics"]["longest_monologue_s"].get(THERAPIST)
    cue = monologue_cue_s(p.s)
    k = moments.longest_of(p.s["turns"], THERAPIST)
    if longest is None or longest < cue or k is None:
        return None
    text = (f"The therapist's longest turn lasted "
            f"{p.num(f'metrics.longest_monologue_s.{THERAPIST}', 's1')}, longer than the "
            f"{cue:.0f} s after which the live view cues.")
    at = format_value("clock", p.s["turns"][k]["start_s"])
    return Finding(text, f"#turn-{k}", f"that turn, at {at}", outside=True)


def _latency(p: Page) -> Finding | None:
    lat = p.s["metrics"]["response_latency_s"]
    if not lat.get("count"):
        return None
    median = lat["median"]
    word = "less than" if median < context.MI_SILENCE_MEDIAN_S else "more than"
    text = (f"After the client finished, the therapist left a median of "
            f"{p.num('metrics.response_latency_s.median', 's2')} before answering, {word} the "
            f"{context.MI_SILENCE_MEDIAN_S} s typical of MI sessions; "
            f"{p.num('metrics.response_latency_s.share_patient', 'pct')} of the answers came "
            f"after {setting(p.s, 'patient_wait_s'):g} s or more.")
    silences = p.s["metrics"].get("long_silences") or []
    k = moments.longest_silence(silences, before=CLIENT, after=THERAPIST)
    if k is None:
        return Finding(text, "#gaps", "the gaps between turns",
                       outside=median < context.MI_SILENCE_MEDIAN_S)
    at = format_value("clock", silences[k]["start_s"])
    return Finding(text, f"#silence-{k}", f"the longest wait, at {at}",
                   outside=median < context.MI_SILENCE_MEDIAN_S)


def _silences(p: Page) -> Finding | None:
    silences = p.s["metrics"].get("long_silences") or []
    k = moments.longest_silence(silences)
    if k is None:
        return None
    n = len(silences)
    longest = p.num(f"metrics.long_silences.{k}.duration_s", "s1")
    text = (f"There {'was' if n == 1 else 'were'} {p.num('metrics.long_silence_count', 'int')}"
            f" {'silence' if n == 1 else 'silences'} of {setting(p.s, 'long_silence_s'):g} s or "
            "more; the longest lasted "
            f"{longest}.")
    at = format_value("clock", silences[k]["start_s"])
    return Finding(text, f"#silence-{k}", f"the longest, at {at}", outside=False)


def _pace(p: Page) -> Finding | None:
    lang = p.s["metrics"].get("language") or {}
    wpm = (lang.get("pace_wpm") or {}).get(THERAPIST)
    label = context.pace_label(wpm)
    if label in (None, "comfortable"):
        return None
    lo, hi = context.PACE_COMFORT_WPM
    k = moments.longest_of(p.s["turns"], THERAPIST)
    if k is None:
        return None
    text = (f"The therapist spoke at {p.num(f'metrics.language.pace_wpm.{THERAPIST}', 'wpm')},"
            f" {'slower' if label == 'slow' else 'faster'} than the comfortable "
            f"{lo:.0f}–{hi:.0f} words a minute.")
    return Finding(text, f"#turn-{k}", "the therapist's longest turn", outside=True)


def _reflections(p: Page) -> Finding | None:
    miti = ((p.s["metrics"].get("language") or {}).get("miti")) or {}
    rq = miti.get("reflection_to_question")
    if rq is None:
        return None
    level = context.miti_level(rq, context.RQ_FAIR, context.RQ_GOOD)
    value = p.num("metrics.language.miti.reflection_to_question", "ratio")
    text = (f"The therapist made {value} reflections per question: {level} by MITI "
            f"({RQ_THRESHOLDS}).")
    return Finding(text, "#reflections", "the reflections", outside=level == "below fair")


def _complex(p: Page) -> Finding | None:
    miti = ((p.s["metrics"].get("language") or {}).get("miti")) or {}
    share = miti.get("complex_reflection_share")
    if share is None:
        return None
    level = context.miti_level(share, context.COMPLEX_FAIR, context.COMPLEX_GOOD)
    text = (f"{p.num('metrics.language.miti.complex_reflection_share', 'pct')} of the "
            f"reflections were complex: {level} by MITI ({COMPLEX_THRESHOLDS}).")
    return Finding(text, "#reflections", "the reflections",
                   outside=level == "below fair")


# In order of weight for supervision: the balance of the talk, the therapist's own
# interruptions and long turns, the room given before answering, silences, pace, MITI.
RULES: tuple[Callable[[Page], Finding | None], ...] = (
    _balance, lambda p: _interruptions(p, THERAPIST), _long_turn, _latency, _pace,
    _reflections, _complex, _silences, lambda p: _interruptions(p, CLIENT))

