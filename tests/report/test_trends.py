"""Trends across sessions (issue 20): a fixed 0–100 % axis with the even band, session dates
on the x axis, rates per hour only past 20 minutes, grey for what is no person's, a table
that fits, and each point and date opening its session's report (real Chromium)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import sync_playwright

from live_attune.report import write_report
from live_attune.report.charts import COLOURS
from live_attune.report.trends import report_name, trend_table, trends_html
from tests.dashboard.test_dashboard_browser import ARTIFACTS, CHROMIUM, FLAGS

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"


def session(k: int, when: str, client_share: float, duration_s: float) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(json.loads(GOLDEN.read_text(encoding="utf-8")))
    data["session"] |= {"id": f"2026010{k}-100000-000{k}", "started_at": when}
    data["metrics"]["client_share"] = client_share
    data["duration_s"] = duration_s
    return data


@pytest.fixture
def sessions() -> list[dict[str, Any]]:
    # 46 → 56 %: a self-scaling axis made this look steep
    return [session(1, "2026-01-05T10:00:00", 0.46, 95.5),
            session(2, "2026-01-12T10:00:00", 0.56, 50 * 60.0),
            session(3, "2026-01-12T15:30:00", 0.52, 45 * 60.0)]


def svgs(page: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", page, re.S)


def texts(svg: str) -> list[str]:
    return [t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_share_runs_from_0_to_100_with_the_even_band(sessions: list[dict[str, Any]]) -> None:
    share = svgs(trends_html(sessions, "Trends"))[0]
    assert {"0", "20", "40", "60", "80", "100"} <= set(texts(share))
    assert "even (40–60 %)" in texts(share)
    assert COLOURS["client"] in share


def test_the_x_axis_is_the_session_date(sessions: list[dict[str, Any]]) -> None:
    for svg in svgs(trends_html(sessions, "Trends")):
        labels = texts(svg)
        # two sessions on 12 January: their times tell them apart
        assert {"5 Jan 2026", "12 Jan 2026 10:00", "12 Jan 2026 15:30"} <= set(labels)


def test_each_point_and_date_opens_its_report(sessions: list[dict[str, Any]]) -> None:
    page = trends_html(sessions, "Trends")
    for s in sessions:
        name = report_name(s)
        assert page.count(f'href="{name}"') >= 1 + 1  # a point (at least) and the table
        assert f'<a href="{name}">' in page


def test_rates_per_hour_only_for_sessions_over_20_minutes(sessions: list[dict[str, Any]]
                                                          ) -> None:
    table = trend_table(sessions).splitlines()
    per_hour = table[0].index("therapist came in, per hour")
    assert table[1][per_hour] == "–"  # 95.5 s
    assert table[2][per_hour:].startswith("0.0")  # 50 minutes: the rate


def test_what_is_no_persons_is_grey(sessions: list[dict[str, Any]]) -> None:
    """The old trends drew "mean" in the client's orange."""
    _, wait, came_in, rq = svgs(trends_html(sessions, "Trends"))
    for svg in (wait, rq):
        assert not {COLOURS["therapist"], COLOURS["client"]} & set(
            re.findall(r"#[0-9a-f]{6}", svg))
    assert COLOURS["therapist"] in came_in and COLOURS["client"] in came_in


def test_the_page_fits_and_a_point_opens_its_report(sessions: list[dict[str, Any]],
                                                    tmp_path: Path) -> None:
    page = tmp_path / "trends.html"
    page.write_text(trends_html(sessions, "Trends — client C-07"), encoding="utf-8")
    for s in sessions:
        write_report(s, tmp_path, ["html"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for width in (390, 794, 1280):  # a phone, A4 at 96 dpi, a laptop
            view = browser.new_page(viewport={"width": width, "height": 900})
            view.goto(page.as_uri())
            assert view.evaluate("document.documentElement.scrollWidth") <= width, width
            if width >= 794:  # from A4's width on, the table itself fits
                assert view.evaluate("(e => e.scrollWidth <= e.clientWidth)("
                                     "document.querySelector('.wide'))"), width
            view.screenshot(path=str(ARTIFACTS / f"trends-{width}.png"), full_page=True)
            view.close()
        view = browser.new_page(viewport={"width": 1280, "height": 900})
        view.goto(page.as_uri())
        dot = view.locator("svg a use").first
        dot.scroll_into_view_if_needed()
        with view.context.expect_page() as opened:  # the report opens beside the trends
            dot.click()
        report = opened.value
        report.wait_for_load_state()
        assert report.url.endswith(report_name(sessions[0]))
        assert "Session report" in report.inner_text("h1")
        browser.close()
