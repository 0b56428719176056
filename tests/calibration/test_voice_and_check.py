"""Voice enrolment and the session-start profile check (issue 6)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from calibration import voice
from calibration.check import ProfileCheck, floor_warnings
from calibration.measure import vad_flags
from calibration.profile import Profile
from live_attune.speakers.channels import ChannelMap
from live_attune.synth.scenario import CLIENT_LINES, THERAPIST_LINES
from live_attune.synth.voices import CLIENT_VOICE, THERAPIST_VOICE, speak
from tests.calibration.test_measure import at_level, protocol_recording


def therapist_alone(seconds: float) -> np.ndarray:
    parts, total = [], 0
    for text in THERAPIST_LINES * 3:
        parts += [speak(THERAPIST_VOICE, text), np.zeros(4000, np.float32)]
        total += len(parts[-2]) + 4000
        if total >= seconds * 16_000:
            break
    rng = np.random.default_rng(0)
    x = at_level(np.concatenate(parts), -24.0)
    return x + (rng.standard_normal(len(x)) * 10 ** (-60 / 20)).astype(np.float32)


def test_enrolment_quality_and_round_trip(tmp_path: Path) -> None:
    audio = therapist_alone(30)
    vp = voice.enrol(audio, vad_flags(audio[None])[0], noise_floor_dbfs=-60.0)
    assert vp.speech_s >= 20 and vp.quality >= 90 and vp.issues == ()
    voice.save(vp, tmp_path / "v.npz")
    back = voice.load(tmp_path / "v.npz")
    assert np.allclose(back.mean, vp.mean) and back.quality == vp.quality


def test_short_or_noisy_enrolment_scores_low_and_says_why() -> None:
    audio = therapist_alone(8)
    vp = voice.enrol(audio, vad_flags(audio[None])[0], noise_floor_dbfs=-30.0)
    assert vp.quality < 50
    assert any("20 s wanted" in i for i in vp.issues)
    assert any("SNR" in i for i in vp.issues)


def test_the_voice_print_tells_the_voices_apart() -> None:
    """Its statistics separate the therapist from the client (what issue 3 builds on)."""
    t = therapist_alone(25)
    vp = voice.enrol(t, vad_flags(t[None])[0], noise_floor_dbfs=-60.0)
    c = at_level(np.concatenate([speak(CLIENT_VOICE, x) for x in CLIENT_LINES[:6]]), -24.0)
    other = voice.enrol(c, vad_flags(c[None])[0], noise_floor_dbfs=None)
    inv = np.linalg.inv(vp.cov)
    d_other = float((other.mean - vp.mean) @ inv @ (other.mean - vp.mean))
    half = t[: len(t) // 2]
    again = voice.enrol(half, vad_flags(half[None])[0], noise_floor_dbfs=None)
    d_same = float((again.mean - vp.mean) @ inv @ (again.mean - vp.mean))
    assert d_other > 10 * d_same


def test_a_bad_voice_print_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(voice.VoicePrintError, match="not a live-attune voice print"):
        voice.load(tmp_path / "bad.npz")
    with pytest.raises(voice.VoicePrintError, match="no such voice print"):
        voice.load(tmp_path / "none.npz")


def profile(floors: tuple[float, float], device: str | None = "USB mic") -> Profile:
    return Profile(channels=ChannelMap(roles=("therapist", "client")), device=device,
                   noise_floor_dbfs=floors)


def test_noise_floor_more_than_6_db_off_warns() -> None:
    audio = protocol_recording(floors=(-50.0, -56.0), bleeds=(-14.0, -14.0))
    assert floor_warnings(profile((-52.0, -53.0)), audio) == []
    warnings = floor_warnings(profile((-60.0, -56.0)), audio)
    assert len(warnings) == 1 and warnings[0].startswith("channel 1: noise floor -50 dBFS, "
                                                          "10 dB above the profile's -60")


def test_a_changed_device_warns_at_once_and_the_floor_after_listening() -> None:
    check = ProfileCheck(profile((-40.0, -56.0)), "Built-in microphone")
    assert check.warnings == ["the profile was made with 'USB mic', the input is "
                              "'Built-in microphone': calibrate again"]
    same = ProfileCheck(profile((-40.0, -56.0)), "USB mic")
    assert same.warnings == []
    listen(same, protocol_recording(floors=(-50.0, -56.0), bleeds=(-14.0, -14.0)))
    assert same.warnings and "10 dB below" in same.warnings[0]


def listen(check: ProfileCheck, audio: np.ndarray) -> None:
    """Feed the check over 30 s of ``audio`` (repeated) in 100 ms blocks; wait (≤ 20 s) for
    its noise-floor thread to say something."""
    import time

    audio = np.tile(audio, (1, 2))  # > 30 s
    for i in range(0, audio.shape[1], 1600):
        check.feed(audio[:, i:i + 1600])
    deadline = time.monotonic() + 20
    while not check.warnings and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_call_profile_warns_when_the_call_audio_comes_from_another_device() -> None:
    call = replace(profile((-40.0, -56.0)), call_device="Monitor of Speakers")
    assert ProfileCheck(call, "USB mic", call_device_name="Monitor of Speakers").warnings == []
    assert ProfileCheck(call, "USB mic", call_device_name="Monitor of HDMI").warnings == [
        "the profile was made with the call audio from 'Monitor of Speakers', the call audio "
        "is 'Monitor of HDMI': calibrate again"]


def test_a_call_checks_only_the_microphones_noise_floor_and_names_it() -> None:
    """In a video call channel 2 is the far room through the call's noise suppression:
    its floor changes from call to call and is not checked; the microphone's is."""
    audio = protocol_recording(floors=(-50.0, -56.0), bleeds=(-14.0, -14.0))
    both_moved = profile((-60.0, -70.0))
    assert len(floor_warnings(both_moved, audio)) == 2
    warnings = floor_warnings(both_moved, audio, ("your microphone", None))
    assert len(warnings) == 1 and warnings[0].startswith(
        "your microphone: noise floor -50 dBFS, 10 dB above the profile's -60")
    check = ProfileCheck(replace(both_moved, call_device="Monitor"), "USB mic",
                         call_device_name="Monitor")
    listen(check, audio)
    assert len(check.warnings) == 1 and check.warnings[0].startswith("your microphone:")
