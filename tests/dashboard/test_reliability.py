"""One microphone: the dashboard dims the interruption and backchannel counts and says
they are not reliable, and calls the talk share estimated (issue 14, item 12); while such a
session runs, the counts are those of a recount every half minute, with the time they
reach (a dash, not nought, before the first); with one microphone per person nothing is
dimmed. Real Chromium, the server's real snapshot shape."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

from playwright.sync_api import Browser

from live_attune.core.quality import RECOUNTED_LIVE, Reliability, reliability
from tests.dashboard.conftest import feed, golden, offline_page


def test_one_microphone_counts_are_dimmed_and_say_why(browser: Browser, pages: str) -> None:
    page = offline_page(browser, pages)
    snapshot = golden("snapshot")
    metrics = golden("metrics")
    cards = ("#interruptions-card", "#backchannels-card", "#balance-card")

    one_mic = {**snapshot, "session": {**snapshot["session"], "mode": "single-mic",
                                       "reliability": {"talk_share": "estimated",
                                                       "interruptions": "not reliable on "
                                                                        "one microphone",
                                                       "backchannels": "not reliable on "
                                                                       "one microphone"}}}
    page.evaluate("m => window.liveAttune.handle(m)", one_mic)
    page.evaluate("m => window.liveAttune.handle(m)", metrics)
    for card in cards:
        assert "unreliable" in page.get_attribute(card, "class")
    assert page.inner_text("#int-reliability") == "Counts not reliable on one microphone."
    assert page.inner_text("#bc-reliability") == "Counts not reliable on one microphone."
    assert page.inner_text("#balance-reliability").startswith("Talk share estimated")
    assert page.eval_on_selector("#int-client", "e => getComputedStyle(e).opacity") == "0.45"

    per_person = {**snapshot, "session": {**snapshot["session"], "reliability": {
        "talk_share": "measured", "interruptions": "measured", "backchannels": "measured"}}}
    page.evaluate("m => window.liveAttune.handle(m)", per_person)
    for card in cards:
        assert "unreliable" not in page.get_attribute(card, "class")
    assert not page.is_visible("#int-reliability")
    page.close()


def test_core_marks_only_one_microphone() -> None:
    assert set(vars(reliability(voices_from_one_microphone=False)).values()) == {"measured"}
    one = reliability(voices_from_one_microphone=True)
    assert (one.talk_share, one.interruptions, one.backchannels) == (
        "estimated", "not reliable on one microphone", "not reliable on one microphone")
    running = reliability(voices_from_one_microphone=True, live=True)
    assert (running.talk_share, running.interruptions, running.backchannels) == (
        "estimated", RECOUNTED_LIVE, RECOUNTED_LIVE)
    assert reliability(voices_from_one_microphone=False, live=True) == Reliability()


def test_while_one_microphone_runs_the_counts_are_the_newest_recounts(browser: Browser,
                                                                     pages: str) -> None:
    page = offline_page(browser, pages)
    snapshot = golden("snapshot")
    metrics = golden("metrics")
    running = {**snapshot, "session": {
        **snapshot["session"], "mode": "single-mic", "ended": None,
        "reliability": asdict(reliability(voices_from_one_microphone=True, live=True))}}
    feed(page, running, {**metrics, "counted_to_s": 0.0})  # before the first recount
    page.click("#glance-toggle")  # the full view
    for count in ("#int-therapist", "#int-client", "#bc-therapist", "#bc-client"):
        assert page.inner_text(count) == "—"
    tail = " Not reliable with one microphone."
    assert page.inner_text("#int-reliability") == "First count after half a minute of talk." + tail
    assert page.inner_text("#bc-reliability") == "First count after half a minute of talk." + tail
    assert "unreliable" in page.get_attribute("#interruptions-card", "class")
    assert page.inner_text("#balance-reliability").startswith("Talk share estimated")
    page.evaluate("() => window.liveAttune.settings.glanceItems = ['interruptions']")
    page.click("#glance-toggle")  # back to the glance
    assert page.inner_text("#glance-interruptions") == "—"
    assert page.inner_text("#glance-interruptions-note") == "first count after half a minute"

    feed(page, {**metrics, "counted_to_s": 90.0})  # a recount up to 1:30
    by = metrics["interruptions_by"]
    assert page.inner_text("#glance-interruptions") == f"{by['therapist']} · {by['client']}"
    assert page.inner_text("#glance-interruptions-note") == "counted up to 1:30"
    page.click("#glance-toggle")
    assert page.inner_text("#int-client") == str(by["client"])
    assert page.inner_text("#int-reliability") == (
        "Counted up to 1:30, updated every half minute." + tail)

    feed(page, {**metrics, "counted_to_s": None})  # the finished session's, before its end
    assert page.inner_text("#int-client") == str(by["client"])
    final = asdict(reliability(voices_from_one_microphone=True))
    feed(page, {**golden("end"), "reliability": final})
    assert page.inner_text("#int-client") == str(by["client"])
    assert page.inner_text("#bc-therapist") == str(metrics["backchannels_by"]["therapist"])
    assert page.inner_text("#int-reliability") == "Counts not reliable on one microphone."
    page.click("#glance-toggle")
    assert page.inner_text("#glance-interruptions-note").strip() == ""
    page.close()


def test_the_dashboard_recounts_in_cores_words() -> None:
    js = (Path(__file__).resolve().parents[2] / "dashboard" / "app.js").read_text()
    words = re.search(r'^const RECOUNTED_LIVE = "(.*)";', js, re.M)
    assert words is not None and words.group(1) == RECOUNTED_LIVE
