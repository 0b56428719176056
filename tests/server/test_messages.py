"""The wire format: golden fixtures, schemas, and rejection of anything else."""

from __future__ import annotations

import json
import math
from pathlib import Path

import jsonschema
import pytest

from live_attune.server.messages import (
    SCHEMAS,
    VERSION,
    MessageError,
    encode,
    envelope,
    parse_client_message,
    without_words,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "messages"


def fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json"))


def test_every_server_message_type_has_a_golden_fixture() -> None:
    types = {json.loads(p.read_text())["type"] for p in fixtures()}
    assert types == set(SCHEMAS)


@pytest.mark.parametrize("path", fixtures(), ids=lambda p: p.stem)
def test_golden_fixture_matches_its_schema(path: Path) -> None:
    message = json.loads(path.read_text())
    assert message["v"] == VERSION
    jsonschema.validate(message, SCHEMAS[message["type"]])


def test_snapshot_fixture_embeds_valid_metrics_and_status() -> None:
    snap = json.loads((FIXTURES / "snapshot.json").read_text())
    jsonschema.validate(snap["metrics"], SCHEMAS["metrics"])
    jsonschema.validate(snap["status"], SCHEMAS["status"])


@pytest.mark.parametrize(("data", "reason"), [
    ("not json", "not JSON"), (b"\xff\xfe", "binary"), ("[1, 2]", "not a JSON object"),
    ('{"type": "ping"}', "unsupported version"), ('{"v": 2, "type": "ping"}', "version"),
    ('{"v": 1, "type": "shutdown"}', "unknown type"), ("x" * 5000, "too large"),
    (b'{"v": 1, "type": "ping"}', "binary"),  # the protocol is text
    ('{"v": true, "type": "ping"}', "version"),  # True == 1 in Python
    ('{"v": 1.0, "type": "ping"}', "version"),
    ("[" * 1000, "not JSON"),  # nested past Python's recursion limit: no traceback
    ('{"v": ' + "9" * 900 + ', "type": "ping"}', r"version 9{30,40}…$"),  # cut to 40
])
def test_client_messages_outside_the_protocol_are_rejected(data: str | bytes,
                                                           reason: str) -> None:
    with pytest.raises(MessageError, match=reason):
        parse_client_message(data)


def test_ping_is_accepted() -> None:
    assert parse_client_message('{"v": 1, "type": "ping"}')["type"] == "ping"


def test_encode_turns_non_finite_numbers_into_null() -> None:
    text = encode(envelope("metrics", x=math.nan, y=[math.inf, 1.0]))
    assert json.loads(text) == {"v": 1, "type": "metrics", "x": None, "y": [None, 1.0]}


def test_a_transcript_message_carries_its_timed_words() -> None:
    import numpy as np

    from live_attune.core.events import Transcript, Word
    from live_attune.server.messages import transcript_message

    line = Transcript("therapist", 10.0, 11.5, "How so?",
                      (Word("How", np.float64(10.0), 10.4), Word("so?", 10.4, 11.1)),
                      behaviour="open_question")
    message = json.loads(encode(transcript_message(line)))
    jsonschema.validate(message, SCHEMAS["transcript"])
    assert message["words"] == [{"text": "How", "start_s": 10.0, "end_s": 10.4},
                                {"text": "so?", "start_s": 10.4, "end_s": 11.1}]
    assert message["behaviour"] == "open_question"


def test_a_snapshot_without_words_keeps_everything_but_the_transcript() -> None:
    snapshot = json.loads((FIXTURES / "snapshot.json").read_text())
    line = json.loads((FIXTURES / "transcript.json").read_text())
    snapshot["recent"]["events"].insert(3, line)
    stripped = json.loads(without_words(encode(snapshot)))
    jsonschema.validate(stripped, SCHEMAS["snapshot"])
    assert stripped["session"] == snapshot["session"] | {"words": False}
    assert stripped["recent"]["events"] == [e for e in snapshot["recent"]["events"]
                                            if e["type"] != "transcript"]
    assert line["text"] not in json.dumps(stripped)
    assert {k: stripped[k] for k in ("metrics", "status")} == \
        {k: snapshot[k] for k in ("metrics", "status")}
