"""The post-session report: every number equals session.json, no URL, real Chromium, PDF."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from playwright.sync_api import sync_playwright

from live_attune.report import build_html, write_report
from live_attune.report.html import format_value, lookup

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"


class Numbers(HTMLParser):
    """Collects (data-key, data-fmt, text) of every tagged number."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []
        self._open: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-key" in a:
            self._open = (str(a["data-key"]), str(a["data-fmt"]))

    def handle_data(self, data: str) -> None:
        if self._open:
            self.found.append((*self._open, data))
            self._open = None


def test_every_number_equals_session_json(session_json: dict[str, Any]) -> None:
    page = build_html(session_json)
    parser = Numbers()
    parser.feed(page)
    assert len(parser.found) >= 40
    for key, fmt, text in parser.found:
        assert text == format_value(fmt, lookup(session_json, key)), key
    keys = {k for k, _, _ in parser.found}
    m = session_json["metrics"]
    for speaker in session_json["speakers"]:
        for measure in ("talk_share", "talk_time_s", "longest_monologue_s",
                        "successful_interruptions_by", "unsuccessful_interruptions_by",
                        "backchannels_by"):
            assert f"metrics.{measure}.{speaker}" in keys
        assert f"metrics.language.pace_wpm.{speaker}" in keys
    assert {"metrics.response_latency_s.median", "metrics.long_silence_count",
            "metrics.language.miti.reflection_to_question",
            "metrics.language.miti.open_question_share"} <= keys
    assert len([k for k in keys if k.startswith("metrics.interruptions.")]) == len(
        m["interruptions"])
    # the balance label comes from core, as it is in session.json
    assert f"<b>{m['balance']}</b>" in page


def test_the_html_holds_no_url(session_json: dict[str, Any]) -> None:
    page = build_html(session_json)
    assert not re.search(r"https?:|//[a-z]|url\((?!#)|@import|<link|<script|<img|<iframe", page,
                         re.I)


def test_quality_flags_are_shown_not_hidden(session_json: dict[str, Any]) -> None:
    flagged = session_json | {"quality": [{"gate": "duration", "value": 58.0, "limit": 60.0,
                                           "message": "the recording is 58 s long (under 60 s)",
                                           "speaker": None}]}
    page = build_html(flagged)
    assert 'class="quality flagged"' in page and "the recording is 58 s long" in page
    assert 'class="quality ok"' in build_html(session_json | {"quality": []})


def test_interruptions_come_with_what_was_said(session_json: dict[str, Any]) -> None:
    page = build_html(session_json)
    assert session_json["metrics"]["interruptions"]
    section = page[page.index("<h3>Coming in while the other spoke</h3>"):
                   page.index("<h3>Longest turns</h3>")]
    assert "no transcript" not in section
    for role in ("therapist", "client"):
        assert f'<b class="who who-{role}">{role}</b>:' in section


def test_chromium_renders_it_offline_and_it_prints(session_json: dict[str, Any],
                                                    tmp_path: Path) -> None:
    html_path, pdf_path = write_report(session_json, tmp_path, ["html", "pdf"])
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(html_path.as_uri())
        assert page.locator("svg").count() == 4  # timeline, share, gaps, prosody
        shown = page.inner_text(
            '[data-key="metrics.talk_share.client"]')
        assert shown == format_value("pct", session_json["metrics"]["talk_share"]["client"])
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        browser.close()
    assert requests == [html_path.as_uri()]
    pdf = pdfium.PdfDocument(str(pdf_path))
    assert len(pdf) >= 2
    for i in range(len(pdf)):
        image = pdf[i].render(scale=1.0).to_pil()
        image.save(ARTIFACTS / f"report-page{i + 1}.png")
        assert image.getextrema() != ((255, 255), (255, 255), (255, 255))  # not blank
    text = pdf[0].get_textpage().get_text_range()
    assert "Session report" in text and "Share of the talk" in text


def test_json_and_csv(session_json: dict[str, Any], tmp_path: Path) -> None:
    js, cs = write_report(session_json, tmp_path, ["json", "csv"])
    assert json.loads(js.read_text()) == json.loads(json.dumps(session_json))
    rows = [line.split(",") for line in cs.read_text().splitlines()]
    assert rows[0] == ["section", "measure", "speaker", "value"]
    share = next(r for r in rows if r[1] == "talk_share" and r[2] == "client")
    assert float(share[3]) == pytest.approx(session_json["metrics"]["talk_share"]["client"])


def test_csv_cells_cannot_run_as_formulas(session_json: dict[str, Any], tmp_path: Path) -> None:
    """A session.json given to `report` may name its speakers anything; negative numbers
    stay numbers (issue 14, item 13)."""
    import csv

    crafted = json.loads(json.dumps(session_json))
    crafted["metrics"]["talk_time_s"] = {"=HYPERLINK(\"http://x\")": 1.5, "client": -0.12}
    crafted["quality"] = [{"gate": "@gate", "speaker": "+x", "value": "-0.120"}]
    [path] = write_report(crafted, tmp_path, ["csv"])
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    talk = [r for r in rows if r[1] == "talk_time_s"]
    assert talk == [["metrics", "talk_time_s", "'=HYPERLINK(\"http://x\")", "1.5"],
                    ["metrics", "talk_time_s", "client", "-0.12"]]
    assert ["quality", "'@gate", "'+x", "-0.120"] in rows


def test_a_session_id_cannot_name_a_file_outside_the_folder(session_json: dict[str, Any],
                                                            tmp_path: Path) -> None:
    crafted = json.loads(json.dumps(session_json))
    crafted["session"]["id"] = "../../escaped"
    [path] = write_report(crafted, tmp_path / "out", ["json"])
    assert path == tmp_path / "out" / "_._.._escaped.json" and path.exists()


def test_every_flagged_number_opens_its_moment(session_json: dict[str, Any]) -> None:
    """Issue 20: each interruption, long silence, longest turn, question and reflection has
    its moment (an anchor) and each link in the page lands on one."""
    page = build_html(session_json)
    ids = set(re.findall(r' id="([^"]+)"', page))
    links = re.findall(r'href="#([^"]+)"', page)
    assert links and set(links) <= ids, set(links) - ids
    m = session_json["metrics"]
    assert {f"interruption-{k}" for k in range(len(m["interruptions"]))} <= ids
    assert {f"silence-{k}" for k in range(len(m["long_silences"]))} <= ids
    assert {"questions", "reflections"} <= ids
    notice = page[page.index('<section class="notice">'):page.index("<h2>Key numbers</h2>")]
    assert notice.count("<li") == 3 and notice.count('class="evidence"') == 3
    for speaker in session_json["speakers"]:  # each longest turn links to that turn
        k = max((k for k, t in enumerate(session_json["turns"]) if t["speaker"] == speaker),
                key=lambda k: session_json["turns"][k]["duration_s"])
        assert f'href="#turn-{k}"><span class="num" data-key="metrics.longest_monologue_s.' \
               f'{speaker}"' in page
    by_outcome = [i for i in m["interruptions"] if not i["successful"]]
    if by_outcome:
        first = m["interruptions"].index(by_outcome[0])
        assert f'href="#interruption-{first}"' in page


def test_rates_per_hour_only_for_sessions_over_20_minutes(session_json: dict[str, Any]
                                                          ) -> None:
    short = build_html(session_json)
    assert "per hour</th>" not in short and "No rates per hour" in short
    long = build_html(session_json | {"duration_s": 20 * 60 + 1.0})
    assert "Came in while the other spoke, per hour</th>" in long
    assert "No rates per hour" not in long


def test_each_person_has_the_dashboards_colour() -> None:
    """One colour per person, the dashboard's (dashboard/style.css), in charts and text."""
    from live_attune.report.charts import COLOURS
    from live_attune.report.style import CSS

    css = (Path(__file__).resolve().parents[2] / "dashboard" / "style.css").read_text()
    for role in ("therapist", "client", "client_2", "client_3"):
        var = re.search(rf"--{role.replace('_', '-')}: (#[0-9a-f]{{6}})", css)
        assert var and COLOURS[role] == var.group(1), role
        assert f".who-{role} {{ color: {var.group(1)} }}" in CSS


def test_the_full_report_fits_a_phone(tmp_path: Path) -> None:
    """Past sessions opens the full report; on a phone nothing is wider than the screen."""
    golden = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"
    [html_path] = write_report(json.loads(golden.read_text(encoding="utf-8")), tmp_path,
                               ["html"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        for width in (360, 390, 1024):
            page = browser.new_page(viewport={"width": width, "height": 800})
            page.goto(html_path.as_uri())
            assert page.evaluate("document.documentElement.scrollWidth") <= width, width
            page.close()
        browser.close()


@pytest.mark.parametrize(("confidence", "said"), [(0.4, True), (0.0, True), (0.699, True),
                                                 (0.7, False), (0.9, False), (None, False)])
def test_an_unsure_interruption_says_so(session_json: dict[str, Any], confidence: float | None,
                                        said: bool) -> None:
    """One microphone gives each interruption a confidence (issue 18): under 0.7 the moment
    says it may not have been one; two microphones' (None) say nothing."""
    data = json.loads(json.dumps(session_json))
    for event in data["metrics"]["interruptions"]:
        event["confidence"] = confidence
    page = build_html(data)
    section = page[page.index("<h3>Coming in while the other spoke</h3>"):
                   page.index("<h3>Longest turns</h3>")]
    assert ("this may not have been an interruption" in section) is said


def test_the_timeline_marks_an_unsure_interruption_hollow(session_json: dict[str, Any]) -> None:
    """Who spoke when: ▼ filled for an interruption, hollow (▽) where one microphone is unsure
    of it, and the legend says what ▽ means only when there is one."""
    data = json.loads(json.dumps(session_json))
    events = data["metrics"]["interruptions"]
    assert len(events) >= 2
    sure = build_html(data)
    events[0]["confidence"] = 0.3
    events[1]["confidence"] = 0.9
    mixed = build_html(data)

    def timeline(page: str) -> str:
        return page[page.index("<h2>Who spoke when</h2>"):page.index("</section>",
                                                                    page.index("Who spoke"))]

    assert "▽" not in timeline(sure) and "▽ the same, unsure" in timeline(mixed)
    hollow = 'style="fill: #ffffff; stroke: #333333'
    assert hollow not in timeline(sure)
    assert timeline(mixed).count(hollow) == 1
