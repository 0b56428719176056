"""The report against a frozen, hand-written session.json and expectations written out by
hand (issue 15): not against the report's own ``format_value``, so a broken format fails.

``tests/fixtures/report/session.json``: a 95.5 s two-microphone session. Therapist 28.9 s
and client 60.3 s of talk (of 89.2 s: 32 % / 68 %); three therapist responses after the
client, waiting 1.3, 4.2 and 0.6 s (median 1.30 s, mean 2.03 s, one in three ≥ 1.5 s); one
successful interruption by the client at 0:36; one therapist backchannel; one long silence;
2.1 s of overlap; 2 open and 1 closed question, 4 reflections (1 complex).
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from live_attune.report import build_html, write_report
from live_attune.report.build import write_csv
from live_attune.session.output import schema

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "report" / "session.json"


@pytest.fixture
def golden() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(GOLDEN.read_text(encoding="utf-8"))
    return data


class Text(HTMLParser):
    """The page's visible text: each table row as a list of its cells, each list item and
    paragraph as one string (charts left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self._cells: list[str] | None = None
        self._item: list[str] | None = None
        self._in_svg = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self._in_svg += 1
        elif tag == "tr":
            self._cells = []
        elif tag in ("td", "th") and self._cells is not None:
            self._cells.append("")
        elif tag in ("li", "p"):
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg -= 1
        elif tag == "tr" and self._cells is not None:
            self.rows.append([c.replace("\xa0", " ").strip() for c in self._cells])
            self._cells = None
        elif tag in ("li", "p") and self._item is not None:
            self.items.append("".join(self._item).strip())
            self._item = None

    def handle_data(self, data: str) -> None:
        if self._in_svg:
            return
        if self._cells:
            self._cells[-1] += data
        if self._item is not None:
            self._item.append(data)


SUMMARY_ROWS = [
    ["", "therapist", "client", "context"],
    ["Talk share (of talk time)", "32 %", "68 %", "client 40–60 %: even"],
    ["Talk share (of the session)", "30 %", "63 %", ""],
    ["Talk time", "0.5 min", "1.0 min", ""],
    ["Longest turn", "7.8 s", "23.6 s", ""],
    ["Interruptions made", "0", "1", ""],
    ["of which the other yielded", "0", "1", ""],
    ["Interruptions per hour", "0.0", "37.7", ""],
    ["Backchannels (mm-hm)", "1", "0", "active listening, not interrupting"],
    ["Pace", "110 wpm", "83 wpm", "comfortable 100–165 wpm"],
]
VOICE_ROWS = [
    ["Pitch, mean (semitones re 100 Hz)", "14.5", "-2.6"],
    ["Pitch variation, SD (semitones)", "1.8", "1.4"],
    ["Loudness (dBFS)", "-21.3", "-22.8"],
    ["Speech rate (syllables/s)", "4.1", "4.2"],
    ["client after therapist", "f0_mean_st", "3", "0.50", "-0.25"],
    ["therapist after client", "loudness_db", "3", "–", "0.88"],
]
EVENT_ROWS = [
    ["0:36", "client → therapist", "the other yielded",
     "therapist: Do you sleep better at weekends?therapist: It sounds as if work follows you "
     "homeclient: No, not really, weekends are worse because there is nothing to distract me "
     "and I just keep thinking about Monday."],
    ["1:04", "client", "23.6 s", "Calm, I suppose. I used to paint in the evenings and I "
     "would lose whole hours in it, and I have not touched a brush since the new manager "
     "started in spring."],
    ["0:08", "client", "21.2 s", "I wake up at three and lie there going over everything I "
     "said at work, every meeting, every email, and by morning I am already exhausted before "
     "the day has started."],
    ["0:36", "client", "15.5 s", "No, not really, weekends are worse because there is "
     "nothing to distract me and I just keep thinking about Monday."],
]
ITEMS = [
    "2026-01-12T09:30:00 · client C-07 · 1.6 min · channels mode · 20260112-093000-c0de",
    "Balance: client-led (client share above 60 % is client-led, 40–60 % even, below 40 % "
    "therapist-heavy)",
    "Response latency (therapist after client): median 1.30 s, mean 2.03 s; 33 % waited "
    "≥ 1.5 s (3 responses). MI sessions: median 0.61 s, mean 0.96 s.",
    "Long silences (≥ 3 s): 1",
    "Overlap: 2.1 s (2 % of talk time); 7 turns",
    "Reflections to questions: 1.33 (fair; MITI fair ≥ 1, good ≥ 2) — 4 reflections, "
    "3 questions, 67 % of them open; complex reflections 25 % (below fair; fair ≥ 40 %, "
    "good ≥ 50 %)",
    "0:01 What brings you here today?",
    "1:00 How would you like your evenings to feel?",
    "0:31 Do you sleep better at weekends?",
    "0:34 It sounds as if work follows you home (complex)",
    "1:28 Painting was where you rested. (simple)",
]
CSV = """\
section,measure,speaker,value
session,duration_s,,95.5
metrics,talk_time_s,therapist,28.9
metrics,talk_time_s,client,60.3
metrics,talk_share,therapist,0.324
metrics,talk_share,client,0.676
metrics,talk_share_of_elapsed,therapist,0.3026
metrics,talk_share_of_elapsed,client,0.6314
metrics,longest_monologue_s,therapist,7.8
metrics,longest_monologue_s,client,23.6
metrics,interruptions_by,therapist,0
metrics,interruptions_by,client,1
metrics,successful_interruptions_by,therapist,0
metrics,successful_interruptions_by,client,1
metrics,interruptions_per_hour_by,therapist,0.0
metrics,interruptions_per_hour_by,client,37.7011
metrics,backchannels_by,therapist,1
metrics,backchannels_by,client,0
metrics,response_latency_median,,1.3
metrics,response_latency_mean,,2.0333
metrics,response_latency_share_patient,,0.3333
metrics,response_latency_count,,3
metrics,overlap_s,,2.1
metrics,turn_count,,7
metrics,long_silence_count,,1
language,pace_wpm,therapist,110.0346
language,pace_wpm,client,82.5871
language,questions,,3
language,open_questions,,2
language,reflections,,4
language,complex_reflections,,1
language,reflection_to_question,,1.3333
language,open_question_share,,0.6667
language,complex_reflection_share,,0.25
"""


def check_page(page: str) -> None:
    text = Text()
    text.feed(page)
    for row in SUMMARY_ROWS + VOICE_ROWS + EVENT_ROWS:
        assert row in text.rows, row
    for item in ITEMS:
        assert item in text.items, item
    assert "All passed: speech ≥ 25 % of the recording" in page
    assert text.items.count("none") == 0  # every behaviour has its examples


def test_the_golden_session_is_valid(golden: dict[str, Any]) -> None:
    jsonschema.validate(golden, schema())


def test_the_html_report_says_what_was_written_by_hand(golden: dict[str, Any]) -> None:
    check_page(build_html(golden))


@pytest.mark.parametrize(("fmt", "broken"), [
    ("pct", lambda v: f"{10 * v:.0f} %"),  # ×0.1 off: "3 %" for 32 %
    ("pct", lambda v: f"{100 * v:.1f} %"),  # one decimal too many
    ("s2", lambda v: f"{v:.1f} s"),
    ("clock", lambda v: f"{int(v) // 60}:{int(v) % 60}"),  # 0:8 for 0:08
    ("min", lambda v: f"{v:.1f} min"),  # seconds shown as minutes
    ("wpm", lambda v: f"{v:.1f} wpm"),
])
def test_a_broken_format_fails_the_golden_check(golden: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch, fmt: str,
                                                broken: Any) -> None:
    """The check can fail: each format, broken, is caught."""
    from live_attune.report import html

    real = html.format_value
    monkeypatch.setattr(html, "format_value", lambda f, v: (
        broken(v) if f == fmt and v is not None else real(f, v)))
    with pytest.raises(AssertionError):
        check_page(build_html(golden))


def test_the_csv_report_is_the_one_written_by_hand(golden: dict[str, Any],
                                                   tmp_path: Path) -> None:
    write_csv(golden, tmp_path / "r.csv")
    assert (tmp_path / "r.csv").read_text(encoding="utf-8").splitlines() == CSV.splitlines()


def test_the_json_and_csv_reports_by_their_files(golden: dict[str, Any], tmp_path: Path
                                                 ) -> None:
    js, cs = write_report(golden, tmp_path, ["json", "csv"])
    assert js.name == "20260112-093000-c0de.json" and cs.name == "20260112-093000-c0de.csv"
    text = js.read_text(encoding="utf-8")
    assert json.loads(text) == golden
    for line in ('"duration_s": 95.5,', '"share_patient": 0.3333', '"balance": "client-led",',
                 '"label": "C-07",'):
        assert line in text, line
    rows = cs.read_text(encoding="utf-8").splitlines()
    assert "metrics,talk_share,client,0.676" in rows
    assert "metrics,response_latency_share_patient,,0.3333" in rows
    assert rows == CSV.splitlines()
