"""How the report prints a value, and the page that ties each printed number to its key.

Every number is printed through ``Page.num()``, which tags it with the session.json key it
shows (``data-key``) and its format (``data-fmt``) — so a test can check each against the file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from live_attune.core.config import MetricsConfig

DEFAULTS: dict[str, Any] = asdict(MetricsConfig())  # METRICS.md's defaults


def lookup(session: Mapping[str, Any], key: str) -> Any:
    """The value at a dotted ``key`` ("metrics.talk_share.client")."""
    value: Any = session
    for part in key.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def setting(session: Mapping[str, Any], name: str) -> float:
    """A threshold the session was measured with (session.json's config.metrics, e.g.
    ``patient_wait_s``), else core's default for it."""
    value = ((session.get("config") or {}).get("metrics") or {}).get(name)
    return float(value if value is not None else DEFAULTS[name])


def pct_range(lo: float, hi: float) -> str:
    """ "40–60 %" from 0.4 and 0.6."""
    return f"{100 * lo:.0f}–{100 * hi:.0f} %"


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
