"""The same measures across sessions: a table and an HTML page of charts.

Every value is read from a stored session.json; nothing is recomputed here.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from live_attune import __version__
from live_attune.report import charts
from live_attune.report.html import format_value, lookup
from live_attune.report.style import CSS


@dataclass(frozen=True, slots=True)
class Measure:
    title: str
    key: str  # dotted session.json key
    fmt: str  # report.html.format_value kind


MEASURES = (
    Measure("client share", "metrics.client_share", "pct"),
    Measure("latency median", "metrics.response_latency_s.median", "s2"),
    Measure("T interrupts /h", "metrics.interruptions_per_hour_by.therapist", "num1"),
    Measure("T backchannels", "metrics.backchannels_by.therapist", "int"),
    Measure("T longest turn", "metrics.longest_monologue_s.therapist", "s1"),
    Measure("long silences", "metrics.long_silence_count", "int"),
    Measure("T pace", "metrics.language.pace_wpm.therapist", "wpm"),
    Measure("R:Q", "metrics.language.miti.reflection_to_question", "ratio"),
    Measure("open questions", "metrics.language.miti.open_question_share", "pct"),
)


def value(session: Mapping[str, Any], key: str) -> Any:
    """The value at ``key``, or None when this session has no such measure."""
    try:
        return lookup(session, key)
    except (KeyError, IndexError, TypeError):
        return None


def trend_table(sessions: Sequence[Mapping[str, Any]]) -> str:
    head = ["date", "client", "length", *(m.title for m in MEASURES)]
    rows = [head]
    for s in sessions:
        info = s.get("session", {})
        rows.append([info.get("started_at", "")[:16].replace("T", " "), info.get("label") or "–",
                     format_value("min", s["duration_s"]),
                     *(format_value(m.fmt, value(s, m.key)) for m in MEASURES)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)


def trends_html(sessions: Sequence[Mapping[str, Any]], title: str) -> str:
    dates = [s.get("session", {}).get("started_at", "")[:16].replace("T", " ") for s in sessions]

    def series(key: str, scale: float = 1.0) -> list[float | None]:
        return [None if (v := value(s, key)) is None else v * scale for s in sessions]

    figures = [
        ("Client share of talk time (%)", {"client share": series("metrics.client_share", 100)}),
        ("Response latency (s)", {"median": series("metrics.response_latency_s.median"),
                                  "mean": series("metrics.response_latency_s.mean")}),
        ("Interruptions per hour", {
            "by therapist": series("metrics.interruptions_per_hour_by.therapist"),
            "by client": series("metrics.interruptions_per_hour_by.client")}),
        ("Reflections per question", {
            "R:Q": series("metrics.language.miti.reflection_to_question")}),
    ]
    body = "".join(f"<section><h2>{html.escape(name)}</h2>"
                   f"{charts.trend_lines(dates, values, name)}</section>"
                   for name, values in figures)
    table = html.escape(trend_table(sessions))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="referrer" content="no-referrer"><title>{html.escape(title)}</title>'
            f"<style>{CSS}</style></head><body><main><h1>{html.escape(title)}</h1>"
            f"<p class=\"meta\">{len(sessions)} sessions</p>{body}<h2>Table</h2><pre>{table}"
            f"</pre><footer>Made on this computer by live-attune {__version__}. "
            "Confidential.</footer></main></body></html>\n")
