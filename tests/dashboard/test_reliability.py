"""One microphone: the dashboard dims the interruption and backchannel counts and says
they are not reliable, and calls the talk share estimated (issue 14, item 12); with one
microphone per person nothing is dimmed. Real Chromium, the server's real snapshot shape."""

from __future__ import annotations

from playwright.sync_api import Browser

from live_attune.core.quality import reliability
from tests.dashboard.conftest import golden, offline_page


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
