"""The dashboard in a real headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from tests.dashboard.conftest import ARTIFACTS, CHROMIUM, FLAGS, golden, offline_page
from tests.server.conftest import start

__all__ = ["ARTIFACTS", "CHROMIUM", "FLAGS"]  # (imported from here by tests/report)


def open_page(browser: Browser, url: str, requests: list[str]) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    return page


def test_golden_fixtures_render(browser: Browser, pages: str) -> None:
    page = offline_page(browser, pages)
    for name in ("snapshot", "metrics", "status", "floor", "interruption", "backchannel",
                 "long_silence", "transcript", "prosody", "turn", "pong", "error", "end"):
        page.evaluate("m => window.liveAttune.handle(m)", golden(name))
    metrics = golden("metrics")
    assert page.inner_text("#int-therapist") == str(metrics["interruptions_by"]["therapist"])
    assert page.inner_text("#int-client") == str(metrics["interruptions_by"]["client"])
    assert page.inner_text("#silences") == str(metrics["long_silences"])
    assert f"{metrics['response_latency']['median_s']:.1f} s" == page.inner_text("#latency")
    assert page.inner_text("#floor") == "session ended"
    lang = metrics["language"]
    assert page.inner_text("#rq") == f"{lang['reflection_to_question']:.1f}"
    assert page.inner_text("#open-q") == f"{round(100 * lang['open_question_share'])}%"
    assert page.inner_text("#pace") == f"{round(lang['therapist_wpm'])} wpm"
    assert page.inner_text("#voice-rate") == "12% faster"  # prosody.json: rate_ratio 1.12
    assert page.inner_text("#voice-loud") == "as usual"  # loudness_delta_db -0.8
    with pytest.raises(Exception, match="unknown message type"):
        page.evaluate("() => window.liveAttune.handle({v: 1, type: 'launch'})")
    with pytest.raises(Exception, match="unsupported message version"):
        page.evaluate("() => window.liveAttune.handle({v: 2, type: 'metrics'})")
    page.close()


@pytest.mark.slow
def test_live_dashboard_follows_the_audio(browser: Browser, brief_conversation: dict[str, Path],
                                          tmp_path: Path) -> None:
    running = start(brief_conversation["stereo"], tmp_path, speed=3.0)
    requests: list[str] = []
    page = open_page(browser, running.url, requests)
    floors, clocks = set(), []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and page.inner_text("#floor") != "session ended":
        floors.add(page.inner_text("#floor"))
        clocks.append(page.inner_text("#elapsed"))
        time.sleep(0.2)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"))
    session = running.wait()
    history = session.pipeline.history
    by = {r: sum(1 for i in history.interruptions if i.by == r) for r in ("therapist", "client")}
    assert {"your turn", "client's turn"} <= floors  # kept even while it is not shown
    assert len(set(clocks)) > 5  # the session clock moved
    assert page.inner_text("#int-therapist") == str(by["therapist"])
    assert page.inner_text("#int-client") == str(by["client"])
    width = page.eval_on_selector("#bar-session .c", "e => parseFloat(e.style.width)")
    client_share = session.pipeline.snapshot().talk_share["client"]
    assert width == pytest.approx(100 * client_share, abs=0.01)
    assert page.evaluate("window.liveAttune.state.errors") == []
    origin = running.url.partition("?")[0].rstrip("/")
    assert all(r.startswith(origin) for r in requests), requests
    page.close()


def test_glance_mode_and_settings_are_remembered(browser: Browser,
                                                 short_conversation: dict[str, Path],
                                                 tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=8.0)
    requests: list[str] = []
    page = open_page(browser, running.url, requests)
    assert page.is_hidden("#transcript")  # off by default
    page.click("#settings-toggle")
    page.select_option("#modality", "cbt")
    assert page.input_value("#cue-s") == "90"
    page.check("#show-transcript")
    page.click("#settings menu button")
    assert page.is_visible("#glance-value") and page.is_hidden("#full")  # glance first
    page.click("#glance-toggle")
    assert page.is_hidden("#glance-value") and page.is_visible("#full")
    page.reload()
    assert page.is_visible("#full")
    saved = page.evaluate("JSON.parse(localStorage.getItem('live-attune.settings'))")
    # the cue of 90 s came from core (session.thresholds), so nothing of it is stored here
    assert saved["modality"] == "cbt" and saved.get("cueOverrideS") is None
    assert saved["showTranscript"] and "cueS" not in saved
    page.close()
    running.stop()  # (what the session measured is not this test's)
    running.wait()
