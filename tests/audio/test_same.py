"""One microphone seen as stereo (many USB microphones, recorders and apps give a mono
microphone's sound on both channels): a probe (session 19) found such a file read as two
people each overlapping the other throughout. Analyze treats it as one microphone
(tests/session/test_same_channels.py); calibration saves one shared microphone; a live
session on it warns on the status line and in session.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from calibration.procedure import calibrate
from live_attune.audio.decode import read_all
from live_attune.audio.same import (
    ONE_MICROPHONE_LIVE,
    ONE_MICROPHONE_NOTE,
    SameChannelsCheck,
    same_sound,
)
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.speakers.channels import SHARED


def _fed(audio: np.ndarray, channels: tuple[int, ...] = (0, 1)) -> list[str]:
    check = SameChannelsCheck(SAMPLE_RATE, channels)
    for i in range(0, audio.shape[1], 1600):
        check.feed(audio[:, i:i + 1600])
    assert len(check.notes) == len(check.warnings)
    assert check.notes in ([], [ONE_MICROPHONE_NOTE])
    return check.warnings


def test_a_live_input_whose_channels_are_one_warns_once_after_30_s() -> None:
    rng = np.random.default_rng(1)
    sound = (0.1 * rng.standard_normal((1, SAMPLE_RATE * 40))).astype(np.float32)
    other = (0.1 * rng.standard_normal((1, SAMPLE_RATE * 40))).astype(np.float32)
    assert _fed(np.concatenate([sound, sound])) == [ONE_MICROPHONE_LIVE]
    assert _fed(np.concatenate([sound, sound])[:, :SAMPLE_RATE * 29]) == []  # not yet
    later = np.concatenate([sound, sound])
    later[1, SAMPLE_RATE * 20:] = other[0, SAMPLE_RATE * 20:]  # a second microphone after all
    assert _fed(later) == []
    assert _fed(np.concatenate([sound, sound]) * 0.01) == []  # nothing heard: no verdict
    assert _fed(sound, (0,)) == []  # one channel
    # the channels the speakers come from: a third, unused one (ignore) does not count
    assert _fed(np.concatenate([sound, sound, other]), (0, 1)) == [ONE_MICROPHONE_LIVE]
    assert _fed(np.concatenate([sound, other, sound]), (0, 1)) == []
    assert not same_sound(sound) and same_sound(np.concatenate([sound, sound, sound]))
    # a copy through a lossy codec (AAC differs by -40 dB, Opus -57 dB) is the same sound
    lossy = sound + 0.1 * 10 ** (-40 / 20) * rng.standard_normal(sound.shape)
    assert same_sound(np.concatenate([sound, lossy]).astype(np.float32))
    # two capsules a few centimetres apart, or each person's own microphone, are not
    apart = sound + 0.1 * 10 ** (-20 / 20) * rng.standard_normal(sound.shape)
    assert not same_sound(np.concatenate([sound, apart]).astype(np.float32))


def test_calibrating_two_identical_channels_saves_one_shared_microphone(
        brief_conversation: dict[str, Path]) -> None:
    mono = read_all(brief_conversation["mono"])
    done = calibrate(np.concatenate([mono, mono]), device=None, enrol=False, voice_path=None)
    assert done.profile.channels.roles == (SHARED,)
    assert done.lines[0].startswith("the channels all carry the same sound")
    stereo = calibrate(read_all(brief_conversation["stereo"]), device=None, enrol=False,
                       voice_path=None)
    assert stereo.profile.channels.roles != (SHARED,)
    assert not stereo.lines[0].startswith("the channels all")
