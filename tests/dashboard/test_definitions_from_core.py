"""The definitions in the live view's tooltips quote core's thresholds (issue 16: the page has
no number of its own): fed a snapshot whose MetricsConfig is not the default, every tooltip
says that config's numbers; before any snapshot they say none. Real Chromium."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

from playwright.sync_api import Browser

from live_attune.core.config import MetricsConfig
from live_attune.core.context import display_thresholds
from tests.dashboard.conftest import feed, golden, offline_page

INDEX = Path(__file__).resolve().parents[2] / "dashboard" / "index.html"


def titles(page: object) -> dict[str, str]:
    """Each [data-def] element's tooltip, keyed by its card or its heading's text."""
    got: dict[str, str] = page.eval_on_selector_all(  # type: ignore[attr-defined]
        "[data-def]", "els => Object.fromEntries(els.map((e, i) => "
                      "[e.dataset.what || e.textContent.trim().split('\\n')[0] || String(i), "
                      "e.title]))")
    return got


def test_tooltips_quote_the_config_s_numbers(browser: Browser, pages: str) -> None:
    config = MetricsConfig(floor_min_s=1.5, terminal_s=0.3, backchannel_max_s=1.2,
                           long_silence_s=4.0, patient_wait_s=2.0)
    snapshot = golden("snapshot")
    snapshot["session"] = {**snapshot["session"],
                           "thresholds": asdict(display_thresholds(config))}
    page = offline_page(browser, pages)
    before = titles(page)
    assert before and all(re.search(r"\d", t) is None or "4.2.1" in t for t in before.values())
    feed(page, snapshot, golden("metrics"))
    t = titles(page)
    assert t["interruptions"] == ("Times one of you started talking over the other, who had "
                                  "been speaking at least 1.5 s, and kept going for 1.2 s or "
                                  "more.")
    assert "at least 1.5 s, not in their last 0.3 s, and keeps going for 1.2 s" in \
        t["Interruptions"]
    assert "under 1.2 s" in t["Listening sounds (mm-hm)"]
    assert "for 4 s or more" in t["Long silences"]
    assert "you waited 2 s or more" in t["Room before you answer"]
    assert "Over 60 % reads client-led, 40 % to 60 % even, under 40 % you-heavy" in \
        t["balance"]
    assert "fair from 1, good from 2" in t["Questions and pace"]
    assert "comfortable 100–165" in t["Questions and pace"]
    page.close()


def test_the_page_itself_holds_no_threshold() -> None:
    """Every number in a definition is a {placeholder} filled from core (MITI's version
    number aside)."""
    html = INDEX.read_text(encoding="utf-8")
    defs = re.findall(r'(?:title|data-def)="([^"]*)"', html)
    assert len(defs) >= 8
    for text in defs:
        assert re.search(r"\d", re.sub(r"\{\w+\}|MITI 4\.2\.1", "", text)) is None, text
