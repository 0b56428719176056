"""The live view, past sessions and calibration at phone, tablet and laptop sizes (issue 19):
nothing wider than the screen, every control visible and reachable, the glance readable,
and the live view in plain words (overlaps said, not shown as a negative number; the
transcript follows the newest line and marks questions and reflections). Real Chromium;
the golden messages. Screenshots go to build/test-artifacts/ (not committed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from live_attune.server.app import address
from live_attune.store import default_store_path
from tests.dashboard.conftest import ARTIFACTS, feed, golden, offline_page
from tests.server.conftest import start_reports
from tests.server.test_api import store_one

SIZES = {"phone": (390, 844), "tablet": (1024, 768), "laptop": (1280, 800),
         "small-phone": (360, 640), "desktop": (1920, 1080)}
# The smallest screen runs in every test run; the sweep over the other four is slow-marked
# (it runs in CI: `pytest` without -m).
SWEEP = [pytest.param(size, marks=() if size == "small-phone" else pytest.mark.slow)
         for size in SIZES]
LIVE_CONTROLS = ("#glance-toggle", "#settings-toggle", "#reports-link", "#conn", "#clock")


def assert_fits(page: Page, controls: tuple[str, ...], shot: str) -> None:
    """No horizontal scrolling, and each control reachable: scrolled to (vertically, if it
    must be), inside the screen and not covered."""
    width = page.evaluate("innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width, shot
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
    for sel in controls:
        page.locator(sel).scroll_into_view_if_needed()
        box = page.locator(sel).bounding_box()
        assert box is not None, (shot, sel)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (shot, sel, box)
        centre = (box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        hit = page.evaluate("([x, y, s]) => { const e = document.elementFromPoint(x, y);"
                            " return !!e && !!e.closest(s); }", [*centre, sel])
        assert hit, (shot, sel)
        assert page.evaluate("scrollX") == 0, (shot, sel)


@pytest.mark.parametrize("size", SWEEP)
def test_live_view_fits_every_size(browser: Browser, pages: str, size: str) -> None:
    page = offline_page(browser, pages, SIZES[size])
    said = {**golden("transcript"), "speaker": "therapist", "behaviour": "reflection",
            "text": "So writing it down helped you see the pattern."}
    feed(page, golden("snapshot"), golden("metrics"), golden("status"), golden("transcript"),
         said)
    # glance first: three indicators, large, all on the screen without scrolling
    assert page.is_hidden("#full") and page.is_visible("#glance")
    items = page.locator(".glance-item:visible")
    assert items.count() == 3
    height = page.evaluate("innerHeight")
    for i in range(3):
        box = items.nth(i).bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, (size, i, box)
        value = items.nth(i).locator(".glance-value")
        assert float(value.evaluate("e => parseFloat(getComputedStyle(e).fontSize)")) >= 32
    assert page.is_hidden("#transcript") and page.is_hidden("#floor")  # quiet by default
    assert_fits(page, LIVE_CONTROLS, f"live-glance-{size}")
    # all measures, one tap away, with the transcript
    page.click("#glance-toggle")
    page.evaluate("() => { window.liveAttune.settings.showTranscript = true; }")
    feed(page, golden("metrics"))
    assert page.is_visible("#full") and page.is_visible("#transcript")
    assert_fits(page, LIVE_CONTROLS, f"live-full-{size}")
    page.click("#settings-toggle")
    assert_fits(page, ("#modality", "#planned-min", "#cue-s", "#settings-save"),
                f"live-settings-{size}")
    page.keyboard.press("Escape")
    page.close()


@pytest.mark.parametrize("size", SWEEP)
def test_past_sessions_and_calibration_fit(browser: Browser, pages: str,
                                           short_conversation: dict[str, Path],
                                           size: str) -> None:
    stored = store_one(short_conversation["stereo"], label="C-1")
    server = start_reports(default_store_path())  # this test's store
    page = browser.new_page(viewport={"width": SIZES[size][0], "height": SIZES[size][1]})
    page.goto(server.url)
    page.click(f'#sessions li[data-id="{stored}"] button')
    page.wait_for_selector("#session-detail:not([hidden])")
    assert_fits(page, ("#client-filter", f'#sessions li[data-id="{stored}"] button',
                       "#detail-report"), f"reports-{size}")
    page.goto(address(pages, "calibration.html?offline"))
    page.evaluate("m => window.liveAttuneCalibration.handle(m)", golden("calibration"))
    assert_fits(page, ("#cal-prompt", '[data-channel="1"]'), f"calibration-{size}")
    page.close()
    server.close()
