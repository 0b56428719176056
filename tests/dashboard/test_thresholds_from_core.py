"""The live view's thresholds come from core over the wire (issue 16): with a server whose
MetricsConfig is not the default, the page cues and words follow it, and a couple's second
client gets their own counts. Real Chromium; the golden snapshot carrying the thresholds
of a MetricsConfig that is not the default."""

from __future__ import annotations

from dataclasses import asdict

from playwright.sync_api import Browser

from live_attune.core.config import MetricsConfig
from live_attune.core.context import display_thresholds
from tests.dashboard.conftest import golden, offline_page


def test_the_page_shows_core_s_thresholds_and_every_client_role(browser: Browser,
                                                                 pages: str) -> None:
    page = offline_page(browser, pages)
    snapshot = golden("snapshot")
    metrics = golden("metrics")
    config = MetricsConfig(patient_wait_s=2.0, window_s=600.0, monologue_cue_s=20.0)
    th = display_thresholds(config)
    session = {**snapshot["session"], "speakers": ["therapist", "client", "client_2"],
               "thresholds": asdict(th)}
    page.evaluate("m => window.liveAttune.handle(m)", {**snapshot, "session": session})
    page.evaluate("() => localStorage.clear()")
    metrics["response_latency"] = {**metrics["response_latency"], "recent_s": [1.8, 2.2],
                                   "share_patient": 0.5}
    metrics["interruptions_by"] = {"therapist": 1, "client": 2, "client_2": 3}
    metrics["backchannels_by"] = {"therapist": 4, "client": 5, "client_2": 6}
    metrics["therapist_monologue_s"] = 25.0
    page.evaluate("m => window.liveAttune.handle(m)", metrics)

    assert page.inner_text("#rolling-label") == "last 10 min"
    assert page.inner_text("#latency-note") == "50% of answers waited 2.0 s or more"
    classes = page.eval_on_selector_all("#latency-recent span", "s => s.map(e => e.className)")
    assert classes == ["", "patient"]  # 1.8 s is under core's 2.0 s, 2.2 s is not
    assert page.inner_text("#int-client_2") == "3" and page.inner_text("#bc-client_2") == "6"
    assert "by client 2" in page.inner_text("#interruptions-card")
    # MI's cue is the config's monologue_cue_s (20 s): 25 s into a turn cues
    page.evaluate("() => { window.liveAttune.settings.modality = 'mi'; }")
    page.evaluate("m => window.liveAttune.handle(m)", metrics)
    assert "cue" in page.get_attribute("#monologue-card", "class")
    # person-centred: core's 45 s, so 25 s does not
    page.evaluate("() => { window.liveAttune.settings.modality = 'person-centred'; }")
    page.evaluate("m => window.liveAttune.handle(m)", metrics)
    assert "cue" not in (page.get_attribute("#monologue-card", "class") or "")
    page.close()
