"""One microphone: the dashboard dims the interruption and backchannel counts and says
they are not reliable, and calls the talk share estimated (issue 14, item 12); while such a
session runs, the counts wait for its end (a dash, not nought); with one microphone per
person nothing is dimmed. Real Chromium, the server's real snapshot shape."""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path

from playwright.sync_api import Browser

from live_attune.core.quality import COUNTED_AT_END, Reliability, reliability
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
        "estimated", COUNTED_AT_END, COUNTED_AT_END)
    assert reliability(voices_from_one_microphone=False, live=True) == Reliability()


def test_while_one_microphone_runs_the_counts_wait_for_the_end(browser: Browser,
                                                               pages: str) -> None:
    page = offline_page(browser, pages)
    snapshot = golden("snapshot")
    metrics = golden("metrics")  # counts of its own: none may show while the session runs
    running = {**snapshot, "session": {
        **snapshot["session"], "mode": "single-mic", "ended": None,
        "reliability": asdict(reliability(voices_from_one_microphone=True, live=True))}}
    feed(page, running, metrics)
    page.click("#glance-toggle")  # the full view
    for count in ("#int-therapist", "#int-client", "#bc-therapist", "#bc-client"):
        assert page.inner_text(count) == "—"
    said = ("Counted when the session ends: on one microphone, two voices at once are told "
            "apart afterwards.")
    assert page.inner_text("#int-reliability") == said
    assert page.inner_text("#bc-reliability") == said
    assert "unreliable" in page.get_attribute("#interruptions-card", "class")
    assert page.inner_text("#balance-reliability").startswith("Talk share estimated")
    page.evaluate("() => window.liveAttune.settings.glanceItems = ['interruptions']")
    page.click("#glance-toggle")  # back to the glance
    assert page.inner_text("#glance-interruptions") == "—"
    assert page.inner_text("#glance-interruptions-note") == COUNTED_AT_END

    final = asdict(reliability(voices_from_one_microphone=True))
    feed(page, metrics, {**golden("end"), "reliability": final})
    by = metrics["interruptions_by"]
    assert page.inner_text("#glance-interruptions") == f"{by['therapist']} · {by['client']}"
    page.click("#glance-toggle")
    assert page.inner_text("#int-client") == str(by["client"])
    assert page.inner_text("#bc-therapist") == str(metrics["backchannels_by"]["therapist"])
    assert page.inner_text("#int-reliability") == "Counts not reliable on one microphone."
    page.close()


def test_the_dashboard_waits_in_cores_words() -> None:
    js = (Path(__file__).resolve().parents[2] / "dashboard" / "app.js").read_text()
    words = re.search(r'^const COUNTED_AT_END = "(.*)";', js, re.M)
    assert words is not None and words.group(1) == COUNTED_AT_END
