"""One microphone: the dashboard dims the interruption and backchannel counts and says
they are not reliable, and calls the talk share estimated (issue 14, item 12); with one
microphone per person nothing is dimmed. Real Chromium, the server's real snapshot shape."""

from __future__ import annotations

import json
from pathlib import Path

from playwright.sync_api import Browser

from live_attune.core.quality import reliability
from tests.dashboard.test_dashboard_browser import browser, open_page  # noqa: F401
from tests.server.conftest import FIXTURES, start


def test_one_microphone_counts_are_dimmed_and_say_why(
        browser: Browser, short_conversation: dict[str, Path],  # noqa: F811
        tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=8.0)
    page = open_page(browser, running.url + "?offline", [])
    snapshot = json.loads((FIXTURES / "messages" / "snapshot.json").read_text())
    metrics = json.loads((FIXTURES / "messages" / "metrics.json").read_text())
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
    running.wait()


def test_core_marks_only_one_microphone() -> None:
    assert set(vars(reliability(voices_from_one_microphone=False)).values()) == {"measured"}
    one = reliability(voices_from_one_microphone=True)
    assert (one.talk_share, one.interruptions, one.backchannels) == (
        "estimated", "not reliable on one microphone", "not reliable on one microphone")
