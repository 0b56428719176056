"""A realistic session.json: a real analysis of a generator conversation, with the
generator's own words as its transcript (labelled in order by the pipeline's dialogue
labeller, as offline analysis does)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from live_attune.core.events import Transcript
from live_attune.language.labeller import label_transcripts
from live_attune.session.offline import analyze_file
from live_attune.session.output import session_dict
from live_attune.synth import ScenarioConfig, make_conversation


@pytest.fixture(scope="session")
def session_json(short_conversation: dict[str, Path]) -> dict[str, Any]:
    result = analyze_file(short_conversation["stereo"])
    lines = [Transcript(u.speaker, u.start_s, u.end_s, u.text)
             for u in make_conversation(14, ScenarioConfig(turns=10)).utterances
             if u.kind != "backchannel"]
    data = session_dict(replace(result, transcript=tuple(label_transcripts(lines))))
    data["session"] = {"id": "20261127-100000-abcd", "label": "C-12",
                       "started_at": "2026-11-27T10:00:00", "kind": "analyze",
                       "state": "complete"}
    return data
