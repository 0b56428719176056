"""`live_attune/session/output.py`: turns.csv — numbers stay numbers, no cell runs as a formula."""

from __future__ import annotations

import csv
from pathlib import Path

from live_attune.session.offline import analyze_file
from live_attune.session.output import write_outputs


def test_turns_csv_keeps_negative_gaps_as_numbers(short_conversation: dict[str, Path],
                                                  tmp_path: Path) -> None:
    """An overlapping switch has a negative gap ("-0.120"): a number, not a formula, so it
    is written as it is (issue 14, item 13)."""
    result = analyze_file(short_conversation["stereo"], prosody=False)
    _, turns = write_outputs(result, tmp_path)
    with turns.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    gaps = [r["switch_gap_s"] for r in rows if r["switch_gap_s"].startswith("-")]
    assert gaps, "the 4 interruptions of this conversation overlap"
    assert [float(g) for g in gaps] == [round(t.switch_gap_s, 3) for t in result.history.turns
                                        if t.switch_gap_s is not None and t.switch_gap_s < 0]
    assert not any(c.startswith("'") for r in rows for c in r.values())
