"""The dashboard's report view in a real headless Chromium: past sessions from the store,
each number exactly as session.json holds it, each flagged number opening its moments."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page

from live_attune.report.html import format_value, lookup
from live_attune.server.app import address
from live_attune.store import NewSession, Store, default_store_path
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
        assert href == f"/api/sessions/{second}/report?{urlsplit(server.url).query}"
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
    page.goto(address(pages, "calibration.html?offline"))
    page.evaluate("m => window.liveAttuneCalibration.handle(m)", message)
    assert page.inner_text("#cal-prompt") == message["prompt"]
    assert page.locator(".cal-meter").count() == len(message["levels_db"])
    assert page.inner_text('[data-channel="0"]') == "-24 dB"  # JS rounds -24.5 up
    assert page.locator(".cal-meter").first.inner_text().startswith("channel 1")
    call = message | {"channels": ["your microphone", "the call"]}  # calibrate --call
    page.evaluate("m => window.liveAttuneCalibration.handle(m)", call)
    assert [t.split("\n")[0] for t in page.locator(".cal-meter").all_inner_texts()] == [
        "your microphone", "the call"]
    done = message | {"step": "done", "lines": ["SNR 30 dB: good"],
                      "profile": "/p.toml", "levels_db": [], "clipping": []}
    page.evaluate("m => window.liveAttuneCalibration.handle(m)", done)
    assert page.inner_text("#cal-lines") == "SNR 30 dB: good"
    assert "Saved as /p.toml" in page.inner_text("#cal-profile")
    page.close()


GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"


def store_golden(label: str = "C-07") -> tuple[str, dict[str, Any]]:
    """The report's hand-written session.json (tests/fixtures/report), stored as analysed on
    Monday 12 January 2026 at 09:30: a transcript, an interruption, a long silence."""
    data: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    new = NewSession(kind="analyze", source="golden.wav", mode=data["mode"],
                     speakers=tuple(data["speakers"]), config=data["config"], label=label,
                     started_at="2026-01-12T09:30:00")
    with Store() as store:
        store.create(new, state="complete")
        store.save_result(new.id, data, state="complete")
    return new.id, data


def moment_texts(page: Page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("#moment-list > li").all_inner_texts()]


def test_every_flagged_number_opens_its_moment(browser: Browser) -> None:
    """Issue 20: the interruptions, the longest turns, the long silence, the questions and
    the reflections each open their moments (time, who, the words around it)."""
    sid, data = store_golden()
    server = start_reports(default_store_path())
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url)
        button = page.locator(f'#sessions li[data-id="{sid}"] button')
        assert button.inner_text() == "12 Jan 2026 09:30 · C-07 · 1.6 min"  # no ISO
        button.click()
        page.wait_for_selector("#session-detail:not([hidden])")
        assert page.inner_text("#detail-title") == \
            "Session Monday 12 January 2026, 09:30 · client C-07"
        assert page.inner_text("#detail-meta") == \
            "1.6 min · one microphone per person · analysed from a file"
        assert page.is_hidden("#moment")
        # one button per flagged count: the client's stopped interruption, both longest
        # turns, the long silence, the questions, the reflections
        assert page.locator("button.evidence").count() == 6
        expected = {
            "Longest turn: client": ["1:04 · client spoke for 23.6 s Calm, I suppose."],
            "client came in, and the other stopped": [
                "0:36 · client came in while you were speaking; you stopped you: Do you "
                "sleep better at weekends?"],
            "Long silences": ["0:52 · 4.2 s of silence after client, before you client: "
                              "No, not really"],
            "Your questions": ["0:01 · open question What brings you here today?",
                               "0:31 · closed question Do you sleep better at weekends?",
                               "1:00 · open question How would you like your evenings "
                               "to feel?"],
        }
        for k in range(page.locator("button.evidence").count()):
            page.locator("button.evidence").nth(k).click()
            assert page.is_visible("#moment")
            title, texts = page.inner_text("#moment-title"), moment_texts(page)
            assert texts and all(re.match(r"\d+:\d\d · ", t) for t in texts), texts
            for start in expected.pop(title, []):
                assert any(t.startswith(start) for t in texts), (title, start, texts)
            if title == "Your reflections":  # all 4, not examples
                assert len(texts) == data["metrics"]["language"]["miti"]["reflections"]
        assert not expected, expected
        for el in page.locator("#moment [data-key]").all():
            key, fmt = el.get_attribute("data-key"), el.get_attribute("data-fmt")
            assert key and fmt and el.inner_text() == format_value(fmt, lookup(data, key))
        page.locator("#detail-overall li", has_text="Silences").locator("button").click()
        words = page.locator("#moment-list .who-client").first  # the dashboard's client colour
        assert words.evaluate("e => getComputedStyle(e).color") == "rgb(228, 148, 68)"
        page.screenshot(path=str(ARTIFACTS / "reports-view-moment.png"), full_page=True)
        page.click("#moment-close")
        assert page.is_hidden("#moment")
        page.close()
    finally:
        server.close()


def test_an_unsure_interruption_says_so_in_its_moment(browser: Browser) -> None:
    """One microphone's interruption under 0.7 confidence (issue 18) says it may not have
    been one; at 0.9 it does not."""
    sid, data = store_golden()
    for confidence, said in ((0.45, True), (0.9, False)):
        data["metrics"]["interruptions"][0]["confidence"] = confidence
        with Store() as store:
            store.save_result(sid, data, state="complete")
        server = start_reports(default_store_path())
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(server.url)
            page.locator(f'#sessions li[data-id="{sid}"] button').click()
            page.wait_for_selector("#session-detail:not([hidden])")
            buttons = page.locator("button.evidence")
            for k in range(buttons.count()):
                buttons.nth(k).click()
                if "came in" in page.inner_text("#moment-title"):
                    break
            text = " ".join(moment_texts(page))
            assert ("(unsure: with one microphone this may not have been an interruption; "
                    "listen to it)"
                    in text) is said, text
            if said:
                page.screenshot(path=str(ARTIFACTS / "reports-view-unsure.png"))
            page.close()
        finally:
            server.close()


def test_the_dashboard_says_unsure_where_the_report_does() -> None:
    """The cut and the words are the report's (report/words.py), mirrored in reports.js."""
    from live_attune.report.words import UNSURE, UNSURE_BELOW

    js = (Path(__file__).resolve().parents[2] / "dashboard" / "reports.js").read_text()
    below = re.search(r"^const UNSURE_BELOW = ([0-9.]+);", js, re.M)
    words = re.search(r'^const UNSURE = "(.*)";', js, re.M)
    assert below and words
    assert float(below.group(1)) == UNSURE_BELOW and words.group(1) == UNSURE


def test_a_recovered_one_microphone_session_shows_no_counts(browser: Browser) -> None:
    """Its interruptions and mm-hm were not counted (the live decisions give each moment
    one voice; the revision never ran): dashes and the reason, not noughts."""
    from live_attune.core.quality import NOT_COUNTED_STOPPED
    from tests.store.test_crash_recovery import recovered_one_microphone_session

    sid, _ = recovered_one_microphone_session()
    server = start_reports(default_store_path())
    try:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server.url)
        page.click(f'#sessions li[data-id="{sid}"] button')
        page.wait_for_selector("#session-detail:not([hidden])")
        rows = page.locator("#detail-summary tr")
        texts = [rows.nth(i).inner_text() for i in range(rows.count())]
        counts = [t for t in texts if t.startswith(("Came in", "Listening sounds"))]
        assert len(counts) == 3
        for text in counts:
            cells = text.split("\t")
            assert cells[-3:-1] == ["–", "–"] and NOT_COUNTED_STOPPED in text, cells
        page.close()
    finally:
        server.close()


def test_the_dashboard_says_not_counted_in_cores_words() -> None:
    from live_attune.core.quality import NOT_COUNTED_STOPPED

    js = (Path(__file__).resolve().parents[2] / "dashboard" / "reports.js").read_text()
    words = re.search(r'^const NOT_COUNTED_STOPPED = "(.*)";', js, re.M)
    assert words is not None and words.group(1) == NOT_COUNTED_STOPPED
