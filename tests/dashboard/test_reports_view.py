"""The dashboard's report view in a real headless Chromium: past sessions from the store,
each number exactly as session.json holds it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser

from live_attune.report.html import format_value, lookup
from live_attune.store import Store, default_store_path
from tests.dashboard.conftest import ARTIFACTS, golden
from tests.server.conftest import start_reports
from tests.server.test_api import store_one


def test_report_view_lists_and_shows_sessions(browser: Browser,
                                              short_conversation: dict[str, Path],
                                              conversation: dict[str, Path]) -> None:
    first = store_one(short_conversation["stereo"], label="C-1")
    second = store_one(conversation["stereo"], label="C-2")
    with Store() as store:
        data = store.result(second)
    server = start_reports(default_store_path())
    requests: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(server.url)
        page.wait_for_selector(f'#sessions li[data-id="{first}"]')
        assert page.locator("#sessions li").count() == 2
        page.select_option("#client-filter", "C-2")
        assert page.locator("#sessions li").count() == 1
        page.click(f'#sessions li[data-id="{second}"] button')
        page.wait_for_selector("#session-detail:not([hidden])")
        cells = page.locator("[data-key]")
        assert cells.count() >= 12
        for i in range(cells.count()):
            el = cells.nth(i)
            key, fmt = el.get_attribute("data-key"), el.get_attribute("data-fmt")
            assert key and fmt
            assert el.inner_text() == format_value(fmt, lookup(data, key)), key
        href = page.get_attribute("#detail-report", "href")
        assert href == f"/api/sessions/{second}/report"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reports-view.png"))
        page.close()
    finally:
        server.close()
    origin = urlsplit(server.url).netloc
    assert requests and all(urlsplit(u).netloc == origin for u in requests), requests


def test_calibration_view_renders_the_golden_message(browser: Browser, pages: str) -> None:
    message = golden("calibration")
    page = browser.new_page()
    page.goto(pages + "calibration.html?offline")
    page.evaluate("m => window.liveAttuneCalibration.handle(m)", message)
    assert page.inner_text("#cal-prompt") == message["prompt"]
    assert page.locator(".cal-meter").count() == len(message["levels_db"])
    assert page.inner_text('[data-channel="0"]') == "-24 dB"  # JS rounds -24.5 up
    done = message | {"step": "done", "lines": ["SNR 30 dB: good"],
                      "profile": "/p.toml", "levels_db": [], "clipping": []}
    page.evaluate("m => window.liveAttuneCalibration.handle(m)", done)
    assert page.inner_text("#cal-lines") == "SNR 30 dB: good"
    assert "Saved as /p.toml" in page.inner_text("#cal-profile")
    page.close()
