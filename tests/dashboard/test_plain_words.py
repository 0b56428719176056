"""The live view in plain words (issue 19): overlaps said in words and the room before
answering shown only once core's minimum of answers is in; the transcript follows the
newest line and marks questions and reflections; Escape in settings keeps nothing; a page
opened after the end says it ended and where the session was kept (never a path over
--lan). Real Chromium, the golden messages and a real session's snapshot."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from live_attune.server.messages import SAVED_WHERE_LAN, without_words
from tests.dashboard.conftest import ARTIFACTS, feed, golden, offline_page
from tests.dashboard.test_lan_browser import frames
from tests.server.conftest import start


@pytest.fixture
def page(browser: Browser, pages: str) -> Iterator[Page]:
    p = offline_page(browser, pages)
    yield p
    p.close()


def with_latency(count: int, median_s: float, recent: list[float]) -> dict[str, Any]:
    m = golden("metrics")
    m["response_latency"] = {**m["response_latency"], "count": count, "median_s": median_s,
                             "recent_s": recent}
    return m


def test_room_before_answering_in_words(page: Page) -> None:
    snapshot = golden("snapshot")
    need = snapshot["session"]["thresholds"]["latency_min_answers"]
    feed(page, snapshot, with_latency(need - 1, -1.1, [-1.3, -0.9]))
    assert page.inner_text("#glance-latency") == "—"  # too few answers for a median
    assert page.inner_text("#glance-latency-note") == f"shown after {need} answers (2 so far)"
    feed(page, with_latency(need + 2, -0.6, [-1.3, -0.9, 0.4, -0.2, 2.0]))
    assert page.inner_text("#glance-latency") == "you start early"
    assert "−" not in page.inner_text("body") and "-0.6" not in page.inner_text("body")
    page.click("#glance-toggle")
    assert page.inner_text("#latency") == "you start early"
    assert page.inner_text("#latency-note") == "you often started before they finished"
    titles = page.eval_on_selector_all("#latency-recent span", "s => s.map(e => e.title)")
    assert titles[0] == "you started 1.3 s before they finished"
    assert titles[2] == "you waited 0.4 s"
    feed(page, with_latency(need, 0.8, [0.8]))
    assert page.inner_text("#latency") == "0.8 s"


def test_transcript_follows_the_newest_line_and_marks_behaviour(page: Page) -> None:
    feed(page, golden("snapshot"))
    page.evaluate("() => { window.liveAttune.settings.showTranscript = true; }")
    line = golden("transcript")
    kinds = ["open_question", "reflection", "closed_question", "other"]
    for i in range(40):
        speaker = "therapist" if i % 2 else "client"
        feed(page, {**line, "speaker": speaker, "start_s": 10.0 * i, "text": f"line {i}",
                    "behaviour": kinds[i // 2 % 4] if speaker == "therapist" else None})
    assert page.is_hidden("#transcript")  # not in the glance
    page.click("#glance-toggle")
    feed(page, golden("metrics"))
    assert page.is_visible("#transcript")
    box = page.locator("#transcript").bounding_box()
    assert box is not None and box["y"] < 800  # above the fold at 1280 x 800
    at_end = "e => e.scrollTop + e.clientHeight >= e.scrollHeight - 2"
    assert page.eval_on_selector("#transcript", at_end)
    assert page.locator("#transcript-lines li").last.inner_text().endswith("line 39")
    marks = page.eval_on_selector_all("#transcript-lines .behaviour",
                                      "s => s.map(e => e.textContent)")
    assert set(marks) == {"open question", "reflection", "closed question"}
    assert page.locator("#transcript-lines li .who").first.inner_text() in ("you", "client")
    feed(page, {**line, "speaker": "client", "start_s": 999.0, "text": "the newest"})
    assert page.eval_on_selector("#transcript", at_end)
    assert page.is_visible("text=the newest")


def test_escape_and_invalid_values_keep_the_settings(page: Page) -> None:
    feed(page, golden("snapshot"))
    before = page.evaluate("JSON.stringify(window.liveAttune.settings)")
    page.click("#settings-toggle")
    page.fill("#planned-min", "3")
    page.fill("#cue-s", "2")
    page.keyboard.press("Escape")
    assert page.is_hidden("#settings")
    assert page.evaluate("JSON.stringify(window.liveAttune.settings)") == before
    assert page.evaluate("localStorage.getItem('live-attune.settings')") is None
    page.click("#settings-toggle")
    page.fill("#planned-min", "3")
    page.click("#settings-save")  # the browser refuses an out-of-range value
    assert page.is_visible("#settings")
    page.fill("#planned-min", "60")
    page.uncheck("#settings input[value=latency]")
    page.check("#settings input[value=clock]")
    assert page.is_disabled("#settings input[value=interruptions]")  # three at most
    page.click("#settings-save")
    assert page.is_hidden("#settings")
    # the dialog's close event (which saves) is dispatched after it hides: wait for it
    page.wait_for_function("localStorage.getItem('live-attune.settings') !== null",
                           timeout=5000)
    saved = page.evaluate("JSON.parse(localStorage.getItem('live-attune.settings'))")
    assert saved["plannedMin"] == 60 and saved["glanceItems"] == ["balance", "monologue",
                                                                   "clock"]
    assert page.inner_text("#planned") == "1:00:00"
    assert page.is_visible("#glance-clock") and page.is_hidden("#glance-latency")


def test_the_cue_is_easy_to_see(page: Page) -> None:
    snapshot = golden("snapshot")
    metrics = golden("metrics")
    cue = snapshot["session"]["thresholds"]["monologue_cue_s"]["person-centred"]
    feed(page, snapshot, {**metrics, "therapist_monologue_s": cue + 1})
    item = page.locator(".glance-item[data-what=monologue]")
    assert "cue" in (item.get_attribute("class") or "")
    assert page.inner_text("#glance-monologue-note") == "a long turn — room for the client?"
    page.wait_for_timeout(1200)  # the tone settles within a second or so
    shadow = item.evaluate("e => getComputedStyle(e).boxShadow")
    assert "4px" in shadow


def test_a_page_opened_after_the_end_says_so(page: Page, brief_conversation: dict[str, Path],
                                             tmp_path: Path) -> None:
    running = start(brief_conversation["stereo"], tmp_path, speed=None)
    session = running.wait()
    snapshot = json.loads(session.snapshot())
    ended = snapshot["session"]["ended"]
    assert ended["saved_to"] == str(tmp_path / "session.json")
    feed(page, snapshot)
    assert page.is_visible("#ended")
    assert "ended" in page.inner_text("#ended") and ended["saved_to"] in page.inner_text("#ended")
    assert page.inner_text("#floor") == "session ended" and page.is_visible("#floor")
    assert page.inner_text("#elapsed") != "0:00"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "live-ended.png"))
    # over --lan: where in words, no path
    page.reload()
    feed(page, json.loads(without_words(session.snapshot())))
    text = page.inner_text("#ended")
    assert f"Saved on {SAVED_WHERE_LAN}." in text and str(tmp_path) not in page.inner_text("body")


def test_over_lan_the_end_says_where_without_a_path(page: Page,
                                                    brief_conversation: dict[str, Path],
                                                    tmp_path: Path) -> None:
    running = start(brief_conversation["stereo"], tmp_path, speed=6.0, lan=True)
    got: list[list[str]] = []  # (Playwright's loop owns this thread: listen on another)
    listener = threading.Thread(target=lambda: got.append(asyncio.run(frames(running.ws))))
    listener.start()
    listener.join(120)
    session = running.wait()
    heard = got[0]
    assert session.saved_to == tmp_path / "session.json"
    end = json.loads(heard[-1])
    assert end == golden("end_lan")
    assert not any(str(tmp_path) in frame for frame in heard)
    feed(page, json.loads(heard[0]), end)
    assert page.inner_text("#ended") == f"The session has ended. Saved on {SAVED_WHERE_LAN}."
