"""`live_attune/session/output.py`: turns.csv — numbers stay numbers, no cell runs as a
formula; session.json echoes the settings it was made with."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from live_attune.session.config import SingleMicOptions
from live_attune.session.offline import analyze_file
from live_attune.session.output import session_dict, single_mic_dict, write_outputs
from live_attune.speakers.channels import CrosstalkConfig


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


def test_session_json_says_with_which_settings_it_was_made(short_conversation: dict[str, Path],
                                                           tmp_path: Path) -> None:
    """STYLE.md 15: the options travel in one record and are echoed in the result; a voice
    print's path (the user's folders) is echoed only as given."""
    options = SingleMicOptions(speakers=2, swap_roles=True)
    mono = session_dict(analyze_file(short_conversation["mono"], prosody=False,
                                     single_mic=options))
    assert mono["config"]["single_mic"] == {"speakers": 2, "voice_print": None,
                                            "swap_roles": True, "voices": "encoder",
                                            "speech_on": 0.1, "speech_off": 0.1}
    assert mono["config"]["crosstalk"]["edge_shift_ms"] == CrosstalkConfig().edge_shift_ms
    stereo = session_dict(analyze_file(short_conversation["stereo"], prosody=False))
    assert stereo["config"]["single_mic"] is None
    assert stereo["config"]["metrics"]["bridge_s"] == 0.5  # METRICS.md's bout rule
    enrolled = single_mic_dict(SingleMicOptions(voice_print=tmp_path / "me.npz"))
    assert enrolled is not None and enrolled["voice_print"] is True
    assert str(tmp_path) not in json.dumps(enrolled)
