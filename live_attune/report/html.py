"""A self-contained HTML report from one session.json (inline CSS and SVG, no URL at all).

Read as a clinician and a supervisor would (issue 20): three things to notice first, each
linked to its moment; the key numbers in plain words against their context range (values
outside it marked); every flagged count opening its moment (report/moments.py); technical
names and the voice's raw measures in a glossary at the end. Every number is printed through
``Page.num()`` (report/page.py), tagged with the session.json key it shows. Nothing here
computes a measure; selection and layout only.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from live_attune import __version__
from live_attune.core import context
from live_attune.core.quality import MEASURED, counted, word_of
from live_attune.core.roles import THERAPIST, is_client
from live_attune.report import charts, moments, notice
from live_attune.report.page import Page, format_value, lookup, setting
from live_attune.report.style import CSS
from live_attune.report.words import (
    COMPLEX_THRESHOLDS,
    EVEN,
    FEATURES,
    GLOSSARY,
    MODALITIES,
    RQ_THRESHOLDS,
    UNSURE,
    session_date,
    setup,
    unsure,
    who,
)

__all__ = ["build_html", "format_value", "lookup"]

RATE_MIN_S = 20 * 60.0  # rates per hour only for sessions longer than this (issue 20)


def build_html(session: Mapping[str, Any]) -> str:
    page = Page(session)
    for part in (_header, _quality, _notice, _key_numbers, _language, _charts, _voice,
                 _moments, _glossary):
        part(page)
    info = session.get("session", {})
    title = f"Session report {session_date(info.get('started_at'))}".strip()
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="no-referrer"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body><main>{''.join(page.parts)}"
            f'<footer>Made on this computer by live-attune {__version__}; nothing left it. '
            f"Confidential: it describes a therapy session.</footer></main></body></html>\n")


# -- the opening ---------------------------------------------------------------------------

def _header(p: Page) -> None:
    info = p.s.get("session", {})
    parts = [_e(session_date(info.get("started_at")))]
    if info.get("label"):
        parts.append(f"client {_e(info['label'])}")
    parts += [p.num("duration_s", "min"), _e(setup(p.s["mode"]))]
    if info.get("state") not in (None, "complete"):
        parts.append(_e(info["state"]))
    if info.get("id"):
        parts.append(f"session {_e(info['id'])}")
    p.add(f'<header><h1>Session report</h1><p class="meta">'
          f"{' · '.join(x for x in parts if x)}</p>")
    notes = list(p.s.get("notes") or [])
    if p.s["mode"] == "single-mic" and info.get("id"):
        notes.append("Roles the wrong way round? live-attune sessions swap-roles "
                     f"{info['id']} recomputes everything.")
    for k, m in enumerate(p.s.get("missing_audio") or []):
        notes.append(f"{m['what']} missing for {m['missing_s']:.1f} s at "
                     f"{format_value('clock', m['at_s'])} ({m['reason']}) [#{k + 1}]")
    if notes:
        p.add("<ul class=\"notes\">" + "".join(f"<li>{_e(n)}</li>" for n in notes) + "</ul>")
    p.add("</header>")


def _quality(p: Page) -> None:
    flags = p.s.get("quality") or []
    if not flags:
        p.add('<p class="quality ok">Quality gates: all passed (see the glossary).</p>')
        return
    items = "".join(f'<li data-gate="{_e(f["gate"])}">⚑ {_e(f["message"])}</li>' for f in flags)
    p.add(f'<section class="quality flagged"><h2>Read with care</h2><p>This session did not '
          f"pass every quality gate (see the glossary):</p><ul>{items}</ul></section>")


def _notice(p: Page) -> None:
    found = notice.things_to_notice(p)
    if not found:
        return
    items = "".join(f'<li class="{"outside" if f.outside else "inside"}">{f.text} '
                    f'<a class="evidence" href="{f.href}">See {_e(f.link)}</a></li>'
                    for f in found)
    p.add(f'<section class="notice"><h2>{_things(len(found))} to notice</h2><ol>{items}</ol>'
          '<p class="legend">From this session\'s numbers set against the usual ranges (see '
          "the glossary); each links to the moment it comes from. They describe, they do not "
          "judge: only you know the session.</p></section>")


def _things(n: int) -> str:
    return {1: "One thing", 2: "Two things", 3: "Three things"}.get(n, f"{n} things")


# -- key numbers ---------------------------------------------------------------------------

def _key_numbers(p: Page) -> None:
    speakers = p.s["speakers"]
    head = "".join(f'<th class="who-{_e(s)}">{_e(who(s))}</th>' for s in speakers)
    m = p.s["metrics"]
    events = m["interruptions"]
    rows = [
        _row(p, "Share of the talk", "metrics.talk_share", "pct", note=f"even: client {EVEN}",
             kind="talk_share", outside=_share_outside(p)),
        _row(p, "Talk time", "metrics.talk_time_s", "min"),
        _row(p, "Longest turn", "metrics.longest_monologue_s", "s1",
             note=_cue_note(p),
             href=lambda s: _anchor("turn", moments.longest_of(p.s["turns"], s)),
             outside=lambda s, v: s == THERAPIST and v >= notice.monologue_cue_s(p.s)),
        _row(p, "Came in while the other spoke, and the other stopped",
             "metrics.successful_interruptions_by", "int", kind="interruptions",
             href=lambda s: _anchor("interruption", moments.first_interruption(events, s, True))),
        _row(p, "Came in while the other spoke, and the other went on",
             "metrics.unsuccessful_interruptions_by", "int", kind="interruptions",
             href=lambda s: _anchor("interruption", moments.first_interruption(events, s, False))),
    ]
    if p.s["duration_s"] > RATE_MIN_S:
        rows.append(_row(p, "Came in while the other spoke, per hour",
                         "metrics.interruptions_per_hour_by", "num1", kind="interruptions"))
    rows.append(_row(p, "Listening sounds (mm-hm)", "metrics.backchannels_by", "int",
                     note="active listening, not interrupting", kind="backchannels"))
    if (m.get("language") or {}).get("pace_wpm"):
        lo, hi = context.PACE_COMFORT_WPM
        rows.append(_row(p, "Pace", "metrics.language.pace_wpm", "wpm",
                         note=f"comfortable {lo:.0f}–{hi:.0f} wpm",
                         outside=lambda s, v: context.pace_label(v) != "comfortable"))
    table = (f'<table class="card key"><thead><tr><th></th>{head}<th>usual range</th></tr>'
             f"</thead><tbody>{''.join(rows)}</tbody></table>")
    p.add(f'<section><h2>Key numbers</h2>{table}<p class="legend">⚑ outside the usual range. '
          f"{_elapsed_share(p)} {_rates_note(p)}</p>{_overall(p)}</section>")


Href = Callable[[str], str | None]  # a speaker's value -> the anchor of its moment
Outside = Callable[[str, Any], bool]  # (speaker, value) -> outside its usual range


def _share_outside(p: Page) -> Outside:
    """The client's share is marked when core's balance is not "even" (one client only:
    with more, each client's share is not the clients' share)."""
    clients = [s for s in p.s["speakers"] if is_client(s)]
    flagged = p.s["metrics"].get("balance") not in (None, "even") and len(clients) == 1
    return lambda s, v: flagged and is_client(s)


def _row(p: Page, label: str, key: str, fmt: str, *, note: str = "", kind: str = "",
         href: Href | None = None, outside: Outside | None = None) -> str:
    """One measure per speaker. ``kind`` names its entry in session.json's reliability
    (core/quality.py): a measure core marks as not reliable is dimmed and says so.
    ``href(speaker)`` links a value to its moment; ``outside(speaker, value)`` marks it."""
    values = lookup(p.s, key)
    word = word_of(p.s, kind)
    if not counted(word):  # a recovered one-microphone session: no count, not nought
        values = {}
    cells = "".join(_cell(p, f"{key}.{s}", fmt, values.get(s), href and href(s),
                          bool(outside and values.get(s) is not None and outside(s, values[s])))
                    if s in values else "<td>–</td>" for s in p.s["speakers"])
    if word != MEASURED:
        return (f"<tr class=\"unreliable\"><th>{label}</th>{cells}"
                f"<td class=\"ctx\">{_e(word)}</td></tr>")
    return f"<tr><th>{label}</th>{cells}<td class=\"ctx\">{_e(note)}</td></tr>"


def _cell(p: Page, key: str, fmt: str, value: Any, href: str | None, outside: bool) -> str:
    text = p.num(key, fmt)
    if href and value:
        text = f'<a class="evidence" href="{href}">{text}</a>'
    if outside:
        return (f'<td class="outside"><span class="flag" title="outside the usual range">⚑'
                f"</span> {text}</td>")
    return f"<td>{text}</td>"


def _cue_note(p: Page) -> str:
    """The live view's monologue cue, by modality (core/context.py): this session's, then
    the others'."""
    others = ", ".join(f"{MODALITIES.get(name, name)} {cue:.0f} s" for name, cue in
                       context.MONOLOGUE_CUE_S_BY_MODALITY.items())
    return f"live view cue at {notice.monologue_cue_s(p.s):.0f} s ({others})"


def _anchor(kind: str, k: int | None) -> str | None:
    return None if k is None else f"#{kind}-{k}"


def _elapsed_share(p: Page) -> str:
    """The other talk share, explained rather than shown as a second row."""
    shares = p.s["metrics"].get("talk_share_of_elapsed") or {}
    parts = [f"{_e(who(s))} {p.num(f'metrics.talk_share_of_elapsed.{s}', 'pct')}"
             for s in p.s["speakers"] if s in shares]
    if not parts:
        return ""
    return ("The share of the talk leaves silence out; of the whole session, silence "
            f"included: {', '.join(parts)}.")


def _rates_note(p: Page) -> str:
    if p.s["duration_s"] > RATE_MIN_S:
        return ""
    return "No rates per hour: the session is shorter than 20 minutes."


def _overall(p: Page) -> str:
    m = p.s["metrics"]
    items = []
    if m.get("balance"):
        lo, hi = context.THERAPIST_HEAVY, context.CLIENT_LED
        items.append(f"<li>Balance: <b>{_e(m['balance'])}</b> (client share above "
                     f"{100 * hi:.0f} % is client-led, {EVEN} even, below {100 * lo:.0f} % "
                     "therapist-heavy)</li>")
    lat = m["response_latency_s"]
    if lat.get("count"):
        items.append(
            f"<li>Room before answering (the therapist after the client): median "
            f"{p.num('metrics.response_latency_s.median', 's2')}, mean "
            f"{p.num('metrics.response_latency_s.mean', 's2')}; "
            f"{p.num('metrics.response_latency_s.share_patient', 'pct')} of "
            f"{p.num('metrics.response_latency_s.count', 'int')} answers waited "
            f"{setting(p.s, 'patient_wait_s'):g} s or more."
            f" MI sessions: median {context.MI_SILENCE_MEDIAN_S} s, mean "
            f"{context.MI_SILENCE_MEAN_S} s.</li>")
    count = p.num("metrics.long_silence_count", "int")
    if m.get("long_silences"):
        count = f'<a class="evidence" href="#silence-0">{count}</a>'
    items.append(f"<li>Silences of {setting(p.s, 'long_silence_s'):g} s or more: {count}</li>")
    word = word_of(p.s, "interruptions")
    both = (f"{p.num('metrics.overlap_s', 's1')} ({p.num('metrics.overlap_share', 'pct')} of "
            "the talk)") if counted(word) else _e(word)  # recovered, one microphone
    items.append(f"<li>Both speaking at once: {both}; {p.num('metrics.turn_count', 'int')} "
                 f"{'turn' if m['turn_count'] == 1 else 'turns'}</li>")
    return f"<ul class=\"overall\">{''.join(items)}</ul>"


def _language(p: Page) -> None:
    """MITI summary scores, one row each with its level and thresholds, and — where core
    gives them (metrics.language.miti_intervals, issue 22) — the likely range."""
    lang = p.s["metrics"].get("language") or {}
    miti = lang.get("miti") or {}
    if not miti:
        return
    base = "metrics.language.miti."
    rq = context.miti_level(miti.get("reflection_to_question"), context.RQ_FAIR,
                            context.RQ_GOOD)
    cx = context.miti_level(miti.get("complex_reflection_share"), context.COMPLEX_FAIR,
                            context.COMPLEX_GOOD)
    rows = [
        ("Reflections per question", "reflection_to_question", "ratio",
         rq or "no questions", RQ_THRESHOLDS, rq == "below fair", "#reflections"),
        ("Open questions, of all questions", "open_question_share", "pct", "", "",
         False, "#questions"),
        ("Complex reflections, of all reflections", "complex_reflection_share", "pct",
         cx or "no reflections", COMPLEX_THRESHOLDS, cx == "below fair",
         "#reflections"),
    ]
    ranged = bool(lang.get("miti_intervals"))
    body = "".join(
        f"<tr><th>{label}</th>{_cell(p, base + name, fmt, miti.get(name), href, flagged)}"
        + (f"<td>{_likely(p, name, fmt)}</td>" if ranged else "")
        + f'<td>{_e(level)}</td><td class="ctx">{_e(ctx)}</td></tr>'
        for label, name, fmt, level, ctx, flagged, href in rows)
    counts = (f"{p.num(base + 'questions', 'int')} questions "
              f"({p.num(base + 'open_questions', 'int')} open) and "
              f"{p.num(base + 'reflections', 'int')} reflections "
              f"({p.num(base + 'complex_reflections', 'int')} complex), labelled "
              "automatically from the transcript.")
    likely = ("<th>likely range</th>" if ranged else "")
    note = (f" The likely range is where a human coder's number would probably fall "
            f"({100 * lang['miti_intervals'].get('level', 0.8):.0f} % interval, from the "
            "labeller's known errors)." if ranged else "")
    p.add(f'<section><h2>Questions and reflections (MITI)</h2><table class="card miti">'
          f"<thead><tr><th></th><th>this session</th>{likely}<th>MITI level</th>"
          f"<th>thresholds</th></tr></thead><tbody>{body}</tbody></table><p class=\"legend\">"
          f"The therapist's {counts}{note}</p></section>")


def _likely(p: Page, name: str, fmt: str) -> str:
    """ "1.10–1.80": a MITI number's interval from core; an en dash where it has none."""
    key = f"metrics.language.miti_intervals.{name}"
    if not (p.s["metrics"]["language"]["miti_intervals"] or {}).get(name):
        return "–"
    return f"{p.num(key + '.low', fmt)}–{p.num(key + '.high', fmt)}"


# -- charts --------------------------------------------------------------------------------

def _charts(p: Page) -> None:
    s = p.s
    speakers = s["speakers"]
    events = s["metrics"]["interruptions"]
    doubt = f" ▽ the same, {_e(UNSURE)}." if any(unsure(i) for i in events) else ""
    p.add("<section><h2>Who spoke when</h2>" + charts.timeline(
        speakers, s["segments"], events, s["duration_s"])
        + "<p class=\"legend\">▼ someone came in while the other spoke, on the lane of who "
          f"came in.{doubt}</p></section>")
    series = s.get("talk_share_series") or []
    if series:
        window = s.get("config", {}).get("metrics", {}).get("window_s", 300.0)
        p.add("<section><h2>Share of the talk over time</h2>"
              + charts.share_over_time(series, speakers, window) + "</section>")
    gaps = [t["switch_gap_s"] for t in s["turns"] if t.get("switch_gap_s") is not None]
    pauses = [x["duration_s"] for x in s.get("pauses", [])]
    p.add("<section id=\"gaps\"><h2>Gaps between turns and pauses within them</h2>"
          + charts.gap_histogram(gaps, pauses)
          + f"<p class=\"legend\">Natural conversation peaks near "
            f"+{context.SWITCH_GAP_MODE_S} s between turns; below 0 the next person started "
            "before the last had finished.</p></section>")


def _voice(p: Page) -> None:
    pros = p.s.get("prosody")
    if not pros or not pros.get("turns"):
        return
    speakers = [s for s in p.s["speakers"] if s in pros["speakers"]]
    p.add("<section><h2>Voice</h2><div class=\"keep\"><p class=\"legend\">Each dot is a "
          "turn, set against that person's own average in this session (the line): above it "
          "higher, louder or faster than their usual; below it lower, quieter or slower.</p>"
          + charts.prosody_turns(pros["turns"], speakers, pros["speakers"]) + "</div></section>")


# -- the evidence and the glossary -----------------------------------------------------------

def _moments(p: Page) -> None:
    body = "".join(part(p) for part in (moments.interruptions, moments.silences,
                                         moments.turns, moments.examples))
    p.add('<section class="moments"><h2>The moments behind the numbers</h2><p class="legend">'
          "Each with its time in the session (minutes:seconds), who, and the words around it."
          f"</p>{body}</section>")


def _glossary(p: Page) -> None:
    items = "".join(f"<dt>{_e(term)}</dt><dd>{_e(text)}</dd>" for term, text in GLOSSARY)
    p.add(f'<section class="glossary"><h2>Glossary</h2><dl>{items}</dl>{_technical(p)}'
          "</section>")


def _technical(p: Page) -> str:
    """The voice's measures by their technical names, and entrainment (exploratory)."""
    pros = p.s.get("prosody")
    if not pros or not pros.get("speakers"):
        return ""
    speakers = [s for s in p.s["speakers"] if s in pros["speakers"]]
    head = "".join(f'<th class="who-{_e(s)}">{_e(who(s))}</th>' for s in speakers)
    rows = "".join(
        f"<tr><th>{label}</th>" + "".join(
            f"<td>{p.num(f'prosody.speakers.{s}.{key}', fmt)}</td>" for s in speakers)
        + "</tr>"
        for label, key, fmt in (("Pitch (F0), mean, semitones above 100 Hz", "f0_mean_st",
                                 "num1"),
                                ("Pitch movement (F0 SD), semitones", "f0_sd_st", "num1"),
                                ("Loudness, dBFS", "loudness_db", "num1"),
                                ("Speech rate, syllables a second", "rate_syl_s", "num1")))
    return (f"<h3>The voice in technical terms</h3><table class=\"card\"><thead><tr><th></th>"
            f"{head}</tr></thead><tbody>{rows}</tbody></table>" + _entrainment(p, pros))


def _entrainment(p: Page, pros: Mapping[str, Any]) -> str:
    ent = pros.get("entrainment") or {}
    rows = []
    for pair, features in (ent.get("pairs") or {}).items():
        for feature in features:
            base = f"prosody.entrainment.pairs.{pair}.{feature}"
            rows.append(f"<tr><td>{_e(pair.replace('_', ' '))}</td>"
                        f"<td>{_e(FEATURES.get(feature, feature))}</td>"
                        f"<td>{p.num(base + '.pairs', 'int')}</td>"
                        f"<td>{p.num(base + '.synchrony_r', 'ratio')}</td>"
                        f"<td>{p.num(base + '.convergence_r', 'ratio')}</td></tr>")
    if not rows:
        return ""
    return ("<h3>Entrainment (exploratory)</h3><div class=\"wide\"><table class=\"events\">"
            "<thead><tr><th>who follows whom</th><th>feature</th><th>pairs of turns</th>"
            "<th>synchrony r</th><th>convergence r</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div>")


def _e(text: object) -> str:
    return html.escape(str(text))
