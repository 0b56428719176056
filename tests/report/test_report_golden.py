"""The report against a frozen, hand-written session.json and expectations written out by
hand (issues 15 and 20): not against the report's own ``format_value``, so a broken format
fails; the wording is the plain one of issue 20.

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
    paragraph as one string, each heading (charts left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self.headings: list[str] = []
        self._cells: list[str] | None = None
        self._item: list[str] | None = None
        self._heading: list[str] | None = None
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
        elif tag in ("h1", "h2", "h3"):
            self._heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._in_svg -= 1
        elif tag == "tr" and self._cells is not None:
            self.rows.append([c.replace("\xa0", " ").strip() for c in self._cells])
            self._cells = None
        elif tag in ("li", "p") and self._item is not None:
            self.items.append("".join(self._item).strip())
            self._item = None
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._in_svg:
            return
        if self._cells:
            self._cells[-1] += data
        if self._item is not None:
            self._item.append(data)
        if self._heading is not None:
            self._heading.append(data)


# The key numbers: one talk share (of the talk), the client's 68 % marked (client-led, above
# 40–60 %), the client's 83 wpm marked (under 100); interruptions split by outcome; no rate
# per hour (95.5 s is under 20 minutes).
SUMMARY_ROWS = [
    ["", "therapist", "client", "usual range"],
    ["Share of the talk", "32 %", "⚑ 68 %", "even: client 40–60 %"],
    ["Talk time", "0.5 min", "1.0 min", ""],
    ["Longest turn", "7.8 s", "23.6 s",
     "live view cue at 60 s (person-centred 45 s, CBT 90 s)"],
    ["Came in while the other spoke, and the other stopped", "0", "1", ""],
    ["Came in while the other spoke, and the other went on", "0", "0", ""],
    ["Listening sounds (mm-hm)", "1", "0", "active listening, not interrupting"],
    ["Pace", "110 wpm", "⚑ 83 wpm", "comfortable 100–165 wpm"],
]
MITI_ROWS = [
    ["", "this session", "MITI level", "thresholds"],
    ["Reflections per question", "1.33", "fair", "fair from 1, good from 2"],
    ["Open questions, of all questions", "67 %", "", ""],
    ["Complex reflections, of all reflections", "⚑ 25 %", "below fair",
     "fair from 40 %, good from 50 %"],
]
# The voice by its technical names: only in the glossary's table at the end.
VOICE_ROWS = [
    ["Pitch (F0), mean, semitones above 100 Hz", "14.5", "-2.6"],
    ["Pitch movement (F0 SD), semitones", "1.8", "1.4"],
    ["Loudness, dBFS", "-21.3", "-22.8"],
    ["Speech rate, syllables a second", "4.1", "4.2"],
    ["client after therapist", "pitch", "3", "0.50", "-0.25"],
    ["therapist after client", "loudness", "3", "–", "0.88"],
]
# The moments: the interruption with the three lines within 3 s of it, the long silence
# with the words either side, the three longest turns and the therapist's longest.
EVENT_ROWS = [
    ["0:36", "client came in; the therapist stopped",
     "therapist: Do you sleep better at weekends?therapist: It sounds as if work follows you "
     "homeclient: No, not really, weekends are worse because there is nothing to distract me "
     "and I just keep thinking about Monday."],
    ["0:52", "4.2 s, after the client and before the therapist",
     "client: No, not really, weekends are worse because there is nothing to distract me and "
     "I just keep thinking about Monday.therapist: So the quiet gives the worry more room."],
    ["1:04", "client, 23.6 s", "Calm, I suppose. I used to paint in the evenings and I "
     "would lose whole hours in it, and I have not touched a brush since the new manager "
     "started in spring."],
    ["0:08", "client, 21.2 s", "I wake up at three and lie there going over everything I "
     "said at work, every meeting, every email, and by morning I am already exhausted before "
     "the day has started."],
    ["0:36", "client, 15.5 s", "No, not really, weekends are worse because there is "
     "nothing to distract me and I just keep thinking about Monday."],
    ["0:56", "therapist, 7.8 s", "So the quiet gives the worry more room. How would you "
     "like your evenings to feel?"],
]
ITEMS = [
    "Monday 12 January 2026, 09:30 · client C-07 · 1.6 min · one microphone per person · "
    "session 20260112-093000-c0de",
    "Quality gates: all passed (see the glossary).",
    # three things: the two outside their range (client-led; 25 % complex, below fair),
    # then the first inside (room before answering, longer than MI's 0.61 s)
    "The client did most of the talking: 68 % of the time anyone spoke, above the 40–60 % "
    "of an even session. See the client's longest turn, at 1:04",
    "25 % of the reflections were complex: below fair by MITI (fair from 40 %, good from "
    "50 %). See the reflections",
    "After the client finished, the therapist left a median of 1.30 s before answering, "
    "more than the 0.61 s typical of MI sessions; 33 % of the answers came after 1.5 s or "
    "more. See the longest wait, at 0:52",
    "⚑ outside the usual range. The share of the talk leaves silence out; of the whole "
    "session, silence included: therapist 30 %, client 63 %. No rates per hour: the session "
    "is shorter than 20 minutes.",
    "Balance: client-led (client share above 60 % is client-led, 40–60 % even, below 40 % "
    "therapist-heavy)",
    "Room before answering (the therapist after the client): median 1.30 s, mean 2.03 s; "
    "33 % of 3 answers waited 1.5 s or more. MI sessions: median 0.61 s, mean 0.96 s.",
    "Silences of 3 s or more: 1",
    "Both speaking at once: 2.1 s (2 % of the talk); 7 turns",
    "The therapist's 3 questions (2 open) and 4 reflections (1 complex), labelled "
    "automatically from the transcript.",
    "0:01 What brings you here today?",
    "1:00 How would you like your evenings to feel?",
    "0:31 Do you sleep better at weekends?",
    "0:03 You said on the phone that the nights have been hard. (simple)",
    "0:34 It sounds as if work follows you home (complex)",
    "0:56 So the quiet gives the worry more room. (simple)",
    "1:28 Painting was where you rested. (simple)",
]
HEADINGS = ["Session report", "Three things to notice", "Key numbers",
            "Questions and reflections (MITI)", "The moments behind the numbers",
            "Coming in while the other spoke", "Long silences", "Longest turns",
            "Open questions: all 2", "Closed questions: 1", "Reflections: all 4", "Glossary",
            "The voice in technical terms", "Entrainment (exploratory)"]
# What the body must not say (issue 20): raw keys, ISO times, set-up jargon, file names.
JARGON = ("f0_mean_st", "loudness_db", "rate_syl_s", "METRICS.md", "2026-01-12T",
          "channels mode", "semitones re", "Interruptions per hour", "Backchannels")
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
metrics,unsuccessful_interruptions_by,therapist,0
metrics,unsuccessful_interruptions_by,client,0
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
reliability,talk_share,,measured
reliability,interruptions,,measured
reliability,backchannels,,measured
"""


def check_page(page: str) -> None:
    text = Text()
    text.feed(page)
    for row in SUMMARY_ROWS + MITI_ROWS + VOICE_ROWS + EVENT_ROWS:
        assert row in text.rows, row
    for item in ITEMS:
        assert item in text.items, item
    assert [h for h in text.headings if h in HEADINGS] == HEADINGS
    assert not any("per hour" in row[0] for row in text.rows)
    body = page[:page.index("<h2>Glossary</h2>")]
    for word in JARGON:
        assert word not in body, word


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
    from live_attune.report import page

    real = page.format_value
    monkeypatch.setattr(page, "format_value", lambda f, v: (
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


def test_miti_numbers_with_their_likely_ranges(golden: dict[str, Any]) -> None:
    """Where core gives intervals (issue 22), the MITI table has a likely-range column."""
    golden["metrics"]["language"]["miti_intervals"] = {
        "level": 0.8, "reflection_to_question": {"estimate": 1.3, "low": 1.1, "high": 1.8},
        "open_question_share": {"estimate": 0.66, "low": 0.4, "high": 0.9},
        "complex_reflection_share": None}
    text = Text()
    text.feed(build_html(golden))
    for row in (["", "this session", "likely range", "MITI level", "thresholds"],
                ["Reflections per question", "1.33", "1.10–1.80", "fair",
                 "fair from 1, good from 2"],
                ["Open questions, of all questions", "67 %", "40 %–90 %", "", ""],
                ["Complex reflections, of all reflections", "⚑ 25 %", "–", "below fair",
                 "fair from 40 %, good from 50 %"]):
        assert row in text.rows, row
    assert any(i.endswith("The likely range is where a human coder's number would probably "
                          "fall (80 % interval, from the labeller's known errors).")
               for i in text.items)
