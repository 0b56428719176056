"""The same measures across sessions: a text table for the terminal and an HTML page of
charts and a table for supervision (issue 20: fixed 0–100 % axes with the even band, session
dates on the x axis, every point and row opening its session's report, words not codes).

Every value is read from a stored session.json; nothing is recomputed here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live_attune import __version__
from live_attune.core import context
from live_attune.core.quality import counted, word_of
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.paths import safe_file_name
from live_attune.report import charts
from live_attune.report.html import RATE_MIN_S
from live_attune.report.page import format_value, lookup
from live_attune.report.style import CSS
from live_attune.report.words import EVEN, short_date


@dataclass(frozen=True, slots=True)
class Measure:
    title: str  # the column's heading, in words
    key: str  # dotted session.json key
    fmt: str  # report.page.format_value kind
    per_hour: bool = False  # a rate: shown only for sessions longer than RATE_MIN_S
    kind: str = ""  # its entry in session.json's reliability: none where not counted


MEASURES = (
    Measure("client share of the talk", "metrics.client_share", "pct"),
    Measure("room before answering (median)", "metrics.response_latency_s.median", "s2"),
    Measure("therapist came in, per hour", "metrics.interruptions_per_hour_by.therapist",
            "num1", per_hour=True, kind="interruptions"),
    Measure("therapist's mm-hm", "metrics.backchannels_by.therapist", "int",
            kind="backchannels"),
    Measure("therapist's longest turn", "metrics.longest_monologue_s.therapist", "s1"),
    Measure("long silences", "metrics.long_silence_count", "int"),
    Measure("therapist's pace", "metrics.language.pace_wpm.therapist", "wpm"),
    Measure("reflections per question", "metrics.language.miti.reflection_to_question",
            "ratio"),
    Measure("open questions", "metrics.language.miti.open_question_share", "pct"),
)


def value(session: Mapping[str, Any], key: str) -> Any:
    """The value at ``key``, or None when this session has no such measure."""
    try:
        return lookup(session, key)
    except (KeyError, IndexError, TypeError):
        return None


def measure_value(session: Mapping[str, Any], m: Measure) -> Any:
    """A rate per hour only for a session long enough for one to mean something."""
    if m.per_hour and session["duration_s"] <= RATE_MIN_S:
        return None
    if not counted(word_of(session, m.kind)):
        return None  # a recovered one-microphone session: not nought, not counted
    return value(session, m.key)


def report_name(session: Mapping[str, Any]) -> str:
    """The file name ``write_report`` gives this session's HTML report."""
    return f"{safe_file_name(str(session.get('session', {}).get('id') or 'session'))}.html"


def dates(sessions: Sequence[Mapping[str, Any]]) -> list[str]:
    """Each session's date ("12 Jan 2026"), with its time where a day holds two sessions."""
    starts = [str(s.get("session", {}).get("started_at") or "") for s in sessions]
    days = [short_date(t) for t in starts]
    return [f"{d} {t[11:16]}" if days.count(d) > 1 and len(t) >= 16 else d
            for d, t in zip(days, starts, strict=True)]


def trend_table(sessions: Sequence[Mapping[str, Any]]) -> str:
    """The terminal's table: one row per session."""
    head = ["date", "client", "length", *(m.title for m in MEASURES)]
    rows = [head]
    for s, day in zip(sessions, dates(sessions), strict=True):
        rows.append([day, s.get("session", {}).get("label") or "–",
                     format_value("min", s["duration_s"]),
                     *(format_value(m.fmt, measure_value(s, m)) for m in MEASURES)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def _series(sessions: Sequence[Mapping[str, Any]], key: str, scale: float = 1.0,
            per_hour: bool = False, kind: str = "") -> list[float | None]:
    m = Measure("", key, "", per_hour, kind)
    return [None if (v := measure_value(s, m)) is None else v * scale for s in sessions]


def _figures(sessions: Sequence[Mapping[str, Any]]) -> list[tuple[str, str, str]]:
    """(title, chart, legend) for each chart on the page."""
    x, links = dates(sessions), [report_name(s) for s in sessions]
    colour = charts.COLOURS
    share = charts.trend_lines(x, {"client": _series(sessions, "metrics.client_share", 100)},
                               "% of the talk", links=links, percent=True,
                               colours={"client": colour[CLIENT]})
    wait = charts.trend_lines(x, {
        "median": _series(sessions, "metrics.response_latency_s.median"),
        "mean": _series(sessions, "metrics.response_latency_s.mean")}, "seconds",
        links=links, refs={f"MI median {context.MI_SILENCE_MEDIAN_S} s":
                           context.MI_SILENCE_MEDIAN_S})
    came_in = charts.trend_lines(x, {
        "therapist": _series(sessions, "metrics.interruptions_per_hour_by.therapist",
                             per_hour=True, kind="interruptions"),
        "client": _series(sessions, "metrics.interruptions_per_hour_by.client",
                          per_hour=True, kind="interruptions")}, "per hour", links=links,
        colours={"therapist": colour[THERAPIST], "client": colour[CLIENT]})
    rq = charts.trend_lines(x, {"reflections per question": _series(
        sessions, "metrics.language.miti.reflection_to_question")}, "ratio", links=links,
        refs={"MITI fair": context.RQ_FAIR, "good": context.RQ_GOOD})
    return [
        ("Client's share of the talk", share, f"The band is an even session ({EVEN}); "
         "the axis always runs from 0 to 100 %."),
        ("Room before answering", wait, "Seconds the therapist left after the client "
         "finished, median and mean of the session."),
        ("Coming in while the other spoke", came_in, "Per hour, for sessions longer than "
         "20 minutes only (a shorter one would make a rate out of one or two moments)."),
        ("Reflections per question", rq, "MITI: fair from 1, good from 2."),
    ]


def trends_html(sessions: Sequence[Mapping[str, Any]], title: str) -> str:
    """The page; each point and each date opens the session's report, written beside it
    (``report_name``)."""
    body = "".join(f'<section class="keep"><h2>{html.escape(name)}</h2>{chart}'
                   f'<p class="legend">{html.escape(legend)}</p></section>'
                   for name, chart, legend in _figures(sessions))
    days = dates(sessions)
    span = f"{days[0]} to {days[-1]}" if sessions else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="referrer" content="no-referrer"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body><main><h1>{html.escape(title)}</h1>"
            f'<p class="meta">{len(sessions)} sessions, {html.escape(span)}. Each point and '
            f"each date opens that session's report.</p>{body}<h2>Table</h2>"
            f"{_table(sessions)}<footer>Made on this computer by live-attune {__version__}; "
            "nothing left it. Confidential.</footer></main></body></html>\n")


def _table(sessions: Sequence[Mapping[str, Any]]) -> str:
    head = "".join(f"<th>{html.escape(t)}</th>" for t in
                   ("date", "client", "length", *(m.title for m in MEASURES)))
    rows = []
    for s, day in zip(sessions, dates(sessions), strict=True):
        cells = [f'<a href="{html.escape(report_name(s))}">{html.escape(day)}</a>',
                 html.escape(s.get("session", {}).get("label") or "–"),
                 format_value("min", s["duration_s"]),
                 *(format_value(m.fmt, measure_value(s, m)) for m in MEASURES)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    # on a phone the table scrolls in its box; from A4's width on it fits
    return (f'<div class="wide"><table class="trends"><thead><tr>{head}</tr></thead><tbody>'
            f'{"".join(rows)}</tbody></table></div><p class="legend">Rates per hour only for '
            "sessions longer than 20 minutes; – where a session has no such measure (no "
            "transcript, or too short; on one microphone, a session recovered after it "
            "stopped unexpectedly has no count of coming in or mm-hm).</p>")
