"""A self-contained HTML report from one session.json (inline CSS and SVG, no URL at all).

Every number is printed through ``num()``, which tags it with the session.json key it shows
(``data-key``) and its format (``data-fmt``) — so a test can check each against the file.
Nothing here computes a measure; selection (the longest turns, examples) and layout only.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from live_attune import __version__
from live_attune.core import context
from live_attune.core.quality import MEASURED
from live_attune.report import charts
from live_attune.report.style import CSS

CONTEXT_S = 6.0  # transcript shown around an interruption, each side
EXAMPLES = 4  # examples per behaviour
LONGEST = 3  # longest turns listed


def lookup(session: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` ("metrics.talk_share.client")."""
    value: Any = session
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def format_value(fmt: str, value: Any) -> str:
    """How the report prints a value of kind ``fmt``; None prints as an en dash."""
    if value is None:
        return "–"
    match fmt:
        case "pct":
            return f"{100 * value:.0f} %"
        case "s1":
            return f"{value:.1f} s"
        case "s2":
            return f"{value:.2f} s"
        case "int":
            return f"{value:d}"
        case "num1":
            return f"{value:.1f}"
        case "ratio":
            return f"{value:.2f}"
        case "wpm":
            return f"{value:.0f} wpm"
        case "clock":
            minutes, seconds = divmod(int(value), 60)
            return f"{minutes:d}:{seconds:02d}"
        case "min":
            return f"{value / 60:.1f} min"
    raise ValueError(f"unknown format {fmt!r}")


class Page:
    """Collects the report's parts; ``num`` ties each printed number to its key."""

    def __init__(self, session: Mapping[str, Any]) -> None:
        self.s = session
        self.parts: list[str] = []

    def num(self, key: str, fmt: str) -> str:
        text = format_value(fmt, lookup(self.s, key))
        return f'<span class="num" data-key="{key}" data-fmt="{fmt}">{text}</span>'

    def add(self, text: str) -> None:
        self.parts.append(text)


def build_html(session: Mapping[str, Any]) -> str:
    page = Page(session)
    _header(page)
    _quality(page)
    _summary(page)
    _charts(page)
    _prosody(page)
    _interruptions(page)
    _monologues(page)
    _examples(page)
    info = session.get("session", {})
    title = f"Session report {info.get('id', '')}".strip()
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="no-referrer"><title>{_e(title)}</title>'
            f"<style>{CSS}</style></head><body><main>{''.join(page.parts)}"
            f'<footer>Made on this computer by live-attune {__version__}. Confidential: '
            f"it describes a therapy session.</footer></main></body></html>\n")


# -- sections ------------------------------------------------------------------------------

def _header(p: Page) -> None:
    info = p.s.get("session", {})
    who = f" · client {_e(info['label'])}" if info.get("label") else ""
    state = f" · {_e(info['state'])}" if info.get("state") not in (None, "complete") else ""
    p.add(f"<header><h1>Session report</h1><p class=\"meta\">{_e(info.get('started_at', ''))}"
          f"{who} · {p.num('duration_s', 'min')} · {_e(p.s['mode'])} mode{state}"
          f"{' · ' + _e(info['id']) if info.get('id') else ''}</p>")
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
        p.add('<section class="quality ok"><h2>Quality gates</h2><p>All passed: speech ≥ 25 % '
              "of the recording, every speaker ≥ 10 % of talk time, mean segment ≤ 20 s, "
              "recording ≥ 60 s (METRICS.md).</p></section>")
        return
    items = "".join(f'<li data-gate="{_e(f["gate"])}">⚑ {_e(f["message"])}</li>' for f in flags)
    p.add(f'<section class="quality flagged"><h2>Quality gates</h2><p>This session is '
          f"flagged; read its numbers with care:</p><ul>{items}</ul></section>")


def _summary(p: Page) -> None:
    m, speakers = p.s["metrics"], p.s["speakers"]
    head = "".join(f"<th>{_e(s)}</th>" for s in speakers)
    rows = [
        _row(p, "Talk share (of talk time)", "metrics.talk_share", "pct", speakers,
             note="client 40–60 %: even", kind="talk_share"),
        _row(p, "Talk share (of the session)", "metrics.talk_share_of_elapsed", "pct", speakers,
             kind="talk_share"),
        _row(p, "Talk time", "metrics.talk_time_s", "min", speakers),
        _row(p, "Longest turn", "metrics.longest_monologue_s", "s1", speakers),
        _row(p, "Interruptions made", "metrics.interruptions_by", "int", speakers,
             kind="interruptions"),
        _row(p, "&nbsp; of which the other yielded", "metrics.successful_interruptions_by",
             "int", speakers, kind="interruptions"),
        _row(p, "Interruptions per hour", "metrics.interruptions_per_hour_by", "num1", speakers,
             kind="interruptions"),
        _row(p, "Backchannels (mm-hm)", "metrics.backchannels_by", "int", speakers,
             note="active listening, not interrupting", kind="backchannels"),
    ]
    lang = m.get("language")
    if lang:
        rows.append(_row(p, "Pace", "metrics.language.pace_wpm", "wpm", speakers,
                         note="comfortable 100–165 wpm"))
    table = (f'<table class="card"><thead><tr><th></th>{head}<th>context</th></tr></thead>'
             f"<tbody>{''.join(rows)}</tbody></table>")
    p.add(f"<section><h2>Summary</h2>{table}{_overall(p)}</section>")


def _row(p: Page, label: str, key: str, fmt: str, speakers: Sequence[str],
         note: str = "", kind: str = "") -> str:
    """One measure per speaker. ``kind`` names its entry in session.json's reliability
    (core/quality.py): a measure core marks as not reliable is dimmed and says so."""
    values = lookup(p.s, key)
    cells = "".join(f"<td>{p.num(f'{key}.{s}', fmt) if s in values else '–'}</td>"
                    for s in speakers)
    word = (p.s.get("reliability") or {}).get(kind, MEASURED) if kind else MEASURED
    if word != MEASURED:
        return (f"<tr class=\"unreliable\"><th>{label}</th>{cells}"
                f"<td class=\"ctx\">{_e(word)}</td></tr>")
    return f"<tr><th>{label}</th>{cells}<td class=\"ctx\">{_e(note)}</td></tr>"


def _overall(p: Page) -> str:
    m = p.s["metrics"]
    items = []
    if m.get("balance"):
        items.append(f"<li>Balance: <b>{_e(m['balance'])}</b> (client share above 60 % is "
                     "client-led, 40–60 % even, below 40 % therapist-heavy)</li>")
    lat = m["response_latency_s"]
    if lat.get("count"):
        items.append(
            f"<li>Response latency (therapist after client): median "
            f"{p.num('metrics.response_latency_s.median', 's2')}, mean "
            f"{p.num('metrics.response_latency_s.mean', 's2')}; "
            f"{p.num('metrics.response_latency_s.share_patient', 'pct')} waited ≥ 1.5 s "
            f"({p.num('metrics.response_latency_s.count', 'int')} responses). MI sessions: "
            f"median {context.MI_SILENCE_MEDIAN_S} s, mean {context.MI_SILENCE_MEAN_S} s.</li>")
    items.append(f"<li>Long silences (≥ 3 s): {p.num('metrics.long_silence_count', 'int')}"
                 "</li>")
    items.append(f"<li>Overlap: {p.num('metrics.overlap_s', 's1')} "
                 f"({p.num('metrics.overlap_share', 'pct')} of talk time); "
                 f"{p.num('metrics.turn_count', 'int')} turns</li>")
    lang = m.get("language")
    if lang:
        items.append(_miti(p, lang["miti"]))
    return f"<ul class=\"overall\">{''.join(items)}</ul>"


def _miti(p: Page, miti: Mapping[str, Any]) -> str:
    rq = context.miti_level(miti["reflection_to_question"], context.RQ_FAIR, context.RQ_GOOD)
    cx = context.miti_level(miti["complex_reflection_share"], context.COMPLEX_FAIR,
                            context.COMPLEX_GOOD)
    base = "metrics.language.miti."
    return (f"<li>Reflections to questions: {p.num(base + 'reflection_to_question', 'ratio')}"
            f" ({_e(rq or 'no questions')}; MITI fair ≥ 1, good ≥ 2) — "
            f"{p.num(base + 'reflections', 'int')} reflections, "
            f"{p.num(base + 'questions', 'int')} questions, "
            f"{p.num(base + 'open_question_share', 'pct')} of them open; complex reflections "
            f"{p.num(base + 'complex_reflection_share', 'pct')} ({_e(cx or 'none')}; fair ≥ "
            "40 %, good ≥ 50 %)</li>")


def _charts(p: Page) -> None:
    s = p.s
    speakers = s["speakers"]
    p.add("<section><h2>Who spoke when</h2>" + charts.timeline(
        speakers, s["segments"], s["metrics"]["interruptions"], s["duration_s"])
        + "<p class=\"legend\">▼ an interruption, on the lane of who interrupted.</p></section>")
    series = s.get("talk_share_series") or []
    if series:
        window = s.get("config", {}).get("metrics", {}).get("window_s", 300.0)
        p.add("<section><h2>Talk share over time</h2>"
              + charts.share_over_time(series, speakers, window) + "</section>")
    gaps = [t["switch_gap_s"] for t in s["turns"] if t.get("switch_gap_s") is not None]
    pauses = [x["duration_s"] for x in s.get("pauses", [])]
    p.add("<section><h2>Switch gaps and pauses</h2>" + charts.gap_histogram(gaps, pauses)
          + f"<p class=\"legend\">Natural conversation peaks near "
            f"+{context.SWITCH_GAP_MODE_S} s between turns.</p></section>")


def _prosody(p: Page) -> None:
    pros = p.s.get("prosody")
    if not pros or not pros.get("turns"):
        return
    speakers = [s for s in p.s["speakers"] if s in pros["speakers"]]
    head = "".join(f"<th>{_e(s)}</th>" for s in speakers)
    rows = "".join(
        f"<tr><th>{label}</th>" + "".join(
            f"<td>{p.num(f'prosody.speakers.{s}.{key}', fmt)}</td>" for s in speakers)
        + "</tr>"
        for label, key, fmt in (("Pitch, mean (semitones re 100 Hz)", "f0_mean_st", "num1"),
                                ("Pitch variation, SD (semitones)", "f0_sd_st", "num1"),
                                ("Loudness (dBFS)", "loudness_db", "num1"),
                                ("Speech rate (syllables/s)", "rate_syl_s", "num1")))
    p.add(f"<section><h2>Voice: pitch, loudness and rate</h2><table class=\"card\"><thead>"
          f"<tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>"
          + charts.prosody_turns(pros["turns"], speakers) + _entrainment(p, pros) + "</section>")


def _entrainment(p: Page, pros: Mapping[str, Any]) -> str:
    ent = pros["entrainment"]
    rows = []
    for pair, features in ent["pairs"].items():
        for feature in features:
            base = f"prosody.entrainment.pairs.{pair}.{feature}"
            rows.append(f"<tr><td>{_e(pair.replace('_', ' '))}</td><td>{_e(feature)}</td>"
                        f"<td>{p.num(base + '.pairs', 'int')}</td>"
                        f"<td>{p.num(base + '.synchrony_r', 'ratio')}</td>"
                        f"<td>{p.num(base + '.convergence_r', 'ratio')}</td></tr>")
    return ("<h3>Entrainment (exploratory)</h3><p class=\"legend\">" + _e(ent["label"])
            + ". Synchrony: correlation of a turn with the other's turn just before it; "
            "convergence: correlation of their difference with time (negative: growing "
            "closer).</p><table class=\"events\"><thead><tr><th>who follows whom</th>"
            "<th>feature</th><th>pairs</th><th>synchrony r</th><th>convergence r</th></tr>"
            "</thead><tbody>" + "".join(rows) + "</tbody></table>")


def _interruptions(p: Page) -> None:
    events = p.s["metrics"]["interruptions"]
    if not events:
        p.add("<section><h2>Interruptions</h2><p>None.</p></section>")
        return
    rows = []
    for k, i in enumerate(events):
        key = f"metrics.interruptions.{k}"
        outcome = "the other yielded" if i["successful"] else "the other kept the floor"
        rows.append(f"<tr><td>{p.num(key + '.at_s', 'clock')}</td><td>{_e(i['by'])} → "
                    f"{_e(i['of'])}</td><td>{outcome}</td><td>{_context(p, i['at_s'])}</td>"
                    "</tr>")
    word = (p.s.get("reliability") or {}).get("interruptions", MEASURED)
    caveat = "" if word == MEASURED else (
        f"<p class=\"unreliable\">These moments are {_e(word)}: listen to them before "
        "drawing any conclusion.</p>")
    p.add("<section><h2>Interruptions</h2>" + caveat + "<table class=\"events\"><thead><tr>"
          "<th>time</th><th>who</th><th>outcome</th><th>what was said around it</th></tr>"
          "</thead><tbody>" + "".join(rows) + "</tbody></table></section>")


def _monologues(p: Page) -> None:
    turns = sorted(enumerate(p.s["turns"]), key=lambda kt: kt[1]["duration_s"],
                   reverse=True)[:LONGEST]
    if not turns:
        return
    rows = []
    for k, t in turns:
        lines = [x for x in p.s.get("transcript", [])
                 if x["speaker"] == t["speaker"] and t["start_s"] <= x["start_s"] < t["end_s"]]
        text = _e(" ".join(x["text"] for x in lines)[:600]) or "<i>no transcript</i>"
        rows.append(f"<tr><td>{p.num(f'turns.{k}.start_s', 'clock')}</td><td>"
                    f"{_e(t['speaker'])}</td><td>{p.num(f'turns.{k}.duration_s', 's1')}</td>"
                    f"<td>{text}</td></tr>")
    p.add("<section><h2>Longest turns</h2><table class=\"events\"><thead><tr><th>time</th>"
          "<th>who</th><th>length</th><th>transcript</th></tr></thead><tbody>"
          + "".join(rows) + "</tbody></table></section>")


def _examples(p: Page) -> None:
    lines = p.s.get("transcript") or []
    if not lines:
        p.add("<section><h2>Questions and reflections</h2><p>No transcript was kept for this "
              "session.</p></section>")
        return
    blocks = []
    for behaviour, title in (("open_question", "Open questions"),
                             ("closed_question", "Closed questions"),
                             ("reflection", "Reflections")):
        picked = [(k, x) for k, x in enumerate(lines) if x.get("behaviour") == behaviour]
        items = "".join(
            f"<li>{p.num(f'transcript.{k}.start_s', 'clock')} {_e(x['text'])}"
            f"{' <i>(' + _e(x['reflection']) + ')</i>' if x.get('reflection') else ''}</li>"
            for k, x in picked[:EXAMPLES])
        blocks.append(f"<h3>{title} ({len(picked)})</h3><ul>{items or '<li>none</li>'}</ul>")
    p.add("<section class=\"examples\"><h2>Questions and reflections</h2>"
          + "".join(blocks) + "</section>")


def _context(p: Page, at_s: float) -> str:
    near = [x for x in p.s.get("transcript", [])
            if x["end_s"] >= at_s - CONTEXT_S and x["start_s"] <= at_s + CONTEXT_S]
    if not near:
        return "<i>no transcript</i>"
    return "<br>".join(f"<b>{_e(x['speaker'])}</b>: {_e(x['text'])}" for x in near)


def _e(text: object) -> str:
    return html.escape(str(text))
