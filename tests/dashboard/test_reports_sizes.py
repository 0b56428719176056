"""Past sessions at the live view's sizes (issue 20; tests/dashboard/test_every_size.py's
SIZES): the session, its key numbers and every number that opens a moment fit and can be
reached, and so does an opened moment with its words. Real Chromium; the report's
hand-written session.json stored as a session. Screenshots in build/test-artifacts/."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

from live_attune.store import default_store_path
from tests.dashboard.test_every_size import SIZES, SWEEP, assert_fits
from tests.dashboard.test_reports_view import store_golden
from tests.server.conftest import start_reports


@pytest.mark.parametrize("size", SWEEP)
def test_past_sessions_and_their_moments_fit(browser: Browser, size: str) -> None:
    sid, _ = store_golden()
    server = start_reports(default_store_path())
    try:
        page = browser.new_page(viewport={"width": SIZES[size][0], "height": SIZES[size][1]})
        page.goto(server.url)
        page.click(f'#sessions li[data-id="{sid}"] button')
        page.wait_for_selector("#session-detail:not([hidden])")
        moments = page.locator("button.evidence").evaluate_all(
            "bs => bs.map(b => b.dataset.moment)")
        assert len(set(moments)) == 6
        controls = ("#client-filter", f'#sessions li[data-id="{sid}"] button',
                    "#detail-report", *(f'button[data-moment="{m}"]' for m in moments))
        assert_fits(page, controls, f"reports-moments-{size}")
        assert page.evaluate("(t => t.scrollWidth <= t.parentElement.clientWidth)("
                             "document.querySelector('#detail-summary'))"), size  # no column cut
        # the interruption's moment: its words wrap inside the screen
        page.locator("#detail-summary tr", has_text="the other stopped").locator(
            "button").click()
        assert page.is_visible("#moment") and "you stopped" in page.inner_text("#moment")
        assert_fits(page, ("#moment-close", "#moment-list li"), f"reports-moment-{size}")
        page.close()
    finally:
        server.close()
