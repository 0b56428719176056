"""Fuzzing (hypothesis, 10,000 cases each) of the three ways hostile input gets in (issue 9):
the audio-loading path, the profile loader and the message parser. Anything may be
refused, but only with the documented error; nothing else may escape."""

from __future__ import annotations

import io
import json
import tempfile
import wave
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calibration.profile import ProfileError, parse
from live_attune.audio.decode import iter_blocks, probe
from live_attune.errors import AudioInputError
from live_attune.server.messages import MessageError, parse_client_message

CASES = 10_000
FUZZ = settings(max_examples=CASES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


def wav_bytes(channels: int = 2, rate: int = 16_000, seconds: float = 0.2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        rng = np.random.default_rng(0)
        w.writeframes((rng.standard_normal(int(rate * seconds) * channels) * 3000)
                      .astype("<i2").tobytes())
    return buf.getvalue()


SEED_FILES = [wav_bytes(), wav_bytes(1, 8000), wav_bytes(6, 48_000, 0.05)]


@st.composite
def mutated_audio(draw: st.DrawFn) -> bytes:
    """A real WAV with bytes flipped, cut, spliced or its header rewritten; or random bytes."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=4096))
    data = bytearray(draw(st.sampled_from(SEED_FILES)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.integers(0, 3))
        at = draw(st.integers(0, len(data) - 1)) if data else 0
        if op == 0 and data:
            data[at] = draw(st.integers(0, 255))
        elif op == 1:
            data = data[: draw(st.integers(0, len(data)))]
        elif op == 2:
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif len(data) > 44:  # rewrite a header field (sizes, channels, rate, format)
            field = draw(st.sampled_from([4, 16, 20, 22, 24, 28, 32, 34, 40]))
            data[field:field + 2] = draw(st.binary(min_size=2, max_size=2))
    return bytes(data)


@pytest.mark.slow
def test_fuzz_audio_loading() -> None:
    outcomes = {"ok": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.wav"

        @FUZZ
        @given(mutated_audio())
        def case(data: bytes) -> None:
            path.write_bytes(data)
            try:
                probe(path)
                for block in iter_blocks(path, block_s=0.5):
                    assert block.dtype == np.float32 and block.ndim == 2
                    assert np.all(np.isfinite(block))
                outcomes["ok"] += 1
            except AudioInputError as exc:
                assert "\n" not in str(exc)
                outcomes["refused"] += 1

        case()
    print(f"audio: {outcomes}")
    assert sum(outcomes.values()) >= CASES and outcomes["ok"] and outcomes["refused"]


toml_scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
toml_values = st.recursive(toml_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=6)
KEYS = ["version", "device", "channels", "crosstalk_margin_db", "noise_floor_dbfs",
        "speech_dbfs", "snr_db", "bleed_db", "voice", "calibrated", "extra"]


@st.composite
def profiles(draw: st.DrawFn) -> dict[str, object]:
    raw: dict[str, object] = {}
    if draw(st.booleans()):  # mostly well-formed, so the deeper checks are reached
        raw.update(version=1, channels=draw(st.sampled_from([
            ["therapist", "client"], ["client", "therapist"], ["shared"], ["therapist"],
            ["therapist", "client", "client_2", "ignore"]])))
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=5)):
        raw[key] = draw(toml_values)
    return raw


@pytest.mark.slow
@FUZZ
@given(profiles())
def test_fuzz_profile_loader(raw: dict[str, object]) -> None:
    try:
        profile = parse(raw, "fuzz.toml")
    except ProfileError as exc:
        assert str(exc).startswith("fuzz.toml: ") and "\n" not in str(exc)
        return
    assert profile.channels.roles


json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                     st.text(max_size=30)),
                           lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), inner,
                                                                   max_size=4)),
                           max_leaves=10)


@st.composite
def client_messages(draw: st.DrawFn) -> str | bytes:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.binary(max_size=5000))
    if kind == 1:
        return draw(st.text(max_size=5000))
    obj = draw(json_values)
    if kind == 3:
        obj = {"v": draw(st.sampled_from([1, 2, "1", None])),
               "type": draw(st.sampled_from(["ping", "pong", "stop", "", None]))} | (
            obj if isinstance(obj, dict) else {"x": obj})
    return json.dumps(obj)


@pytest.mark.slow
@FUZZ
@given(client_messages())
def test_fuzz_message_parser(data: str | bytes) -> None:
    try:
        message = parse_client_message(data)
    except MessageError as exc:
        assert "\n" not in str(exc)
        return
    assert message["v"] == 1 and message["type"] == "ping"
