"""The report's charts: matplotlib figures rendered to inline SVG strings (no files, no URLs).

Each function takes plain session.json data and returns ``<svg ...>...</svg>``; nothing here
computes a measure — the numbers come from core via session.json.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure  # used without pyplot: no GUI backend, no global state

from live_attune.core import context
from live_attune.core.roles import CLIENT, THERAPIST, client_role
from live_attune.report.words import unsure

COLOURS = {THERAPIST: "#4e79a7", CLIENT: "#e49444", client_role(2): "#76b7b2",
           client_role(3): "#b07aa1", "speech": "#7f7f7f"}
matplotlib.rcParams.update({"font.size": 9, "font.family": "DejaVu Sans", "axes.spines.top": False,
                     "axes.spines.right": False, "svg.fonttype": "none",
                     "svg.hashsalt": "live-attune"})  # text stays text; stable ids


# The even band of the client's talk share (METRICS.md § Context numbers), in %
EVEN_BAND = (100 * context.THERAPIST_HEAVY, 100 * context.CLIENT_LED)
EVEN_LABEL = f"even ({EVEN_BAND[0]:.0f}–{EVEN_BAND[1]:.0f} %)"


MARK = "#333333"  # the timeline's interruption markers


def colour(speaker: str) -> str:
    return COLOURS.get(speaker, "#9c755f")


def timeline(speakers: Sequence[str], segments: Sequence[Mapping[str, Any]],
             interruptions: Sequence[Mapping[str, Any]], duration_s: float) -> str:
    """Who spoke when: one lane per speaker, interruptions marked (▼; ▽ where one
    microphone is unsure of it)."""
    fig = Figure(figsize=(10, 0.5 + 0.45 * len(speakers)))
    ax = fig.add_subplot()
    minutes = duration_s / 60
    for lane, speaker in enumerate(speakers):
        bars = [(s["start_s"] / 60, (s["end_s"] - s["start_s"]) / 60) for s in segments
                if s["speaker"] == speaker]
        ax.broken_barh(bars, (lane - 0.35, 0.7), facecolors=colour(speaker), linewidth=0)
    for i in interruptions:
        lane = speakers.index(i["by"]) if i["by"] in speakers else 0
        ax.plot(i["at_s"] / 60, lane + 0.5, marker="v", markersize=5, color=MARK,
                markerfacecolor="white" if unsure(i) else MARK)
    ax.set_yticks(range(len(speakers)), list(speakers))
    ax.set_xlim(0, max(minutes, 0.1))
    ax.set_ylim(-0.6, len(speakers) - 0.1)
    ax.set_xlabel("minutes")
    return _svg(fig)


def share_over_time(series: Sequence[Mapping[str, Any]], speakers: Sequence[str],
                    window_s: float) -> str:
    """Rolling talk share per speaker (from session.json's talk_share_series)."""
    fig = Figure(figsize=(10, 2.0))
    ax = fig.add_subplot()
    t = [p["at_s"] / 60 for p in series]
    for speaker in speakers:
        ax.plot(t, [_pct(p["talk_share"].get(speaker)) for p in series], color=colour(speaker),
                label=speaker.replace("_", " "), linewidth=1.6, marker="o" if len(t) < 12 else None,
                markersize=3)
    ax.axhspan(*EVEN_BAND, color="#dddddd", alpha=0.5, linewidth=0, label=EVEN_LABEL)
    ax.set_ylim(0, 100)
    ax.set_ylabel(f"talk share, last {window_s / 60:g} min (%)")
    ax.set_xlabel("minutes")
    ax.legend(loc="upper right", frameon=False, ncols=len(speakers) + 1)
    return _svg(fig)


NEUTRAL = "#555555"  # measures that belong to no one person (never a person's colour)
NEUTRAL_LIGHT = "#bab0ac"
MARKERS = ("o", "s", "^", "D")  # a second cue besides colour, for several lines


def gap_histogram(switch_gaps_s: Sequence[float], pauses_s: Sequence[float]) -> str:
    """Gaps between turns and pauses inside a turn, in seconds."""
    fig = Figure(figsize=(10, 1.8))
    ax = fig.add_subplot()
    bins = [x / 4 for x in range(-8, 33)]  # -2 .. 8 s in quarter seconds
    clip = [min(max(g, -2.0), 8.0) for g in switch_gaps_s]
    ax.hist([clip, [min(p, 8.0) for p in pauses_s]], bins=bins, label=[
        f"gaps between turns ({len(switch_gaps_s)})",
        f"pauses within a turn ({len(pauses_s)})"], color=[NEUTRAL, NEUTRAL_LIGHT])
    ax.axvline(0.0, color="#999999", linewidth=0.8)
    ax.set_xlabel("seconds (below 0: both speaking; the ends collect everything beyond)")
    ax.set_ylabel("how many")
    ax.legend(frameon=False)
    return _svg(fig)


# Per turn, against the person's own session average (issue 20: "higher/lower than your
# usual", not semitones re 100 Hz or dBFS; the raw values are in the report's glossary).
PANELS = (("f0_mean_st", "pitch", ("higher", "lower")),
          ("loudness_db", "loudness", ("louder", "quieter")),
          ("rate_syl_s", "speech rate", ("faster", "slower")))


def prosody_turns(turns: Sequence[Mapping[str, Any]], speakers: Sequence[str],
                  usual: Mapping[str, Mapping[str, float | None]]) -> str:
    """Each turn's pitch, loudness and rate minus the speaker's session average (``usual``,
    session.json's prosody.speakers): 0 is their usual, up is higher/louder/faster."""
    fig = Figure(figsize=(10, 2.7))
    axes = fig.subplots(len(PANELS), 1, sharex=True)
    for ax, (key, name, (up, down)) in zip(axes, PANELS, strict=True):
        for speaker in speakers:
            mean = usual.get(speaker, {}).get(key)
            mine = [t for t in turns if t["speaker"] == speaker and t.get(key) is not None]
            if mean is None or not mine:
                continue
            ax.plot([t["start_s"] / 60 for t in mine], [t[key] - mean for t in mine],
                    marker="o", markersize=3, linewidth=0.8, color=colour(speaker),
                    label=speaker.replace("_", " "))
        ax.axhline(0.0, color="#999999", linewidth=0.8)
        top = max([abs(y) for line in ax.get_lines() for y in line.get_ydata()] + [1e-9])
        ax.set_ylim(-1.15 * top, 1.15 * top)
        ax.set_yticks([-top, 0.0, top], [down, "usual", up])
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
    axes[0].legend(frameon=False, ncols=len(speakers), loc="upper right")
    axes[-1].set_xlabel("minutes into the session (turn start)")
    return _svg(fig)


def trend_lines(dates: Sequence[str], values: Mapping[str, Sequence[float | None]],
                ylabel: str, *, links: Sequence[str] = (), percent: bool = False,
                colours: Mapping[str, str] | None = None,
                refs: Mapping[str, float] | None = None) -> str:
    """One line per measure across sessions, sessions evenly spaced and labelled by date.
    ``percent``: a fixed 0–100 % axis with the even band (40–60 %) shaded, so that 46 → 56 %
    does not look steep; otherwise the axis starts at 0. ``links[i]``: the i-th point opens
    that session's report. ``colours``: a person's line in their colour; any other line is
    grey. ``refs``: dotted reference lines (a context number), labelled."""
    fig = Figure(figsize=(10, 2.4))
    ax = fig.add_subplot()
    x = list(range(len(dates)))
    if percent:
        ax.axhspan(*EVEN_BAND, color="#dddddd", alpha=0.6, linewidth=0, label=EVEN_LABEL)
        ax.set_ylim(0, 100)
    for n, (name, ys) in enumerate(values.items()):
        colour_n = (colours or {}).get(name, NEUTRAL if n == 0 else NEUTRAL_LIGHT)
        marker = MARKERS[n % len(MARKERS)]
        ax.plot(x, [float("nan") if y is None else y for y in ys], color=colour_n,
                linestyle="-" if n == 0 else "--", label=name, marker=marker, markersize=0)
        shown = [(i, y) for i, y in enumerate(ys) if y is not None]
        if shown:
            # the dots as a scatter: each one its own <a> in the SVG, opening its report
            dots = ax.scatter([i for i, _ in shown], [y for _, y in shown], color=colour_n,
                              marker=marker, s=30, zorder=3)
            dots.set_urls([links[i] if i < len(links) else None for i, _ in shown])
    for name, y in (refs or {}).items():
        ax.axhline(y, color="#999999", linewidth=0.8, linestyle=":")
        ax.annotate(name, (1.0, y), xycoords=("axes fraction", "data"), xytext=(2, 0),
                    textcoords="offset points", va="center", fontsize=7, color="#666666")
    if not percent:
        ax.set_ylim(bottom=0)
    ax.set_xticks(x, list(dates), rotation=30 if len(dates) > 6 else 0,
                  ha="right" if len(dates) > 6 else "center")
    ax.set_xlim(-0.5, max(len(dates) - 0.5, 0.5))
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, loc="upper left", ncols=len(values) + 1)
    return _svg(fig)


def _pct(x: float | None) -> float:
    return float("nan") if x is None else 100.0 * x


def _svg(fig: Figure) -> str:
    fig.set_layout_engine("constrained")
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    return inline_svg(buf.getvalue())


def inline_svg(text: str) -> str:
    """The SVG element alone, fit for inline HTML: no prolog, doctype, metadata or namespace
    URIs (HTML's parser knows SVG and xlink), so the page holds no URL at all."""
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    return re.sub(r'\s+xmlns(:xlink)?="[^"]*"', "", text)
