"""A one-microphone recording saved as two identical channels (many recorders and apps do
it) is one microphone, not a microphone per person (a probe, session 19: read as two people
it gave each the whole of the other's speech as overlap — 22 of 30 s — and a 50/50 share)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.errors import UsageError
from live_attune.session.config import MODE_ACTIVITY, MODE_CHANNELS, MODE_SINGLE, SingleMicOptions
from live_attune.session.offline import analyze_file, same_channels
from live_attune.synth.truth import write_wav


def test_two_identical_channels_are_analysed_as_one_microphone(
        brief_conversation: dict[str, Path], tmp_path: Path) -> None:
    mono = read_all(brief_conversation["mono"])
    doubled = tmp_path / "doubled.wav"
    write_wav(doubled, np.concatenate([mono, mono]))
    assert same_channels(doubled) and not same_channels(brief_conversation["stereo"])
    one = analyze_file(brief_conversation["mono"], single_mic=SingleMicOptions(),
                       prosody=False)
    two = analyze_file(doubled, single_mic=SingleMicOptions(), prosody=False)
    assert two.layout.mode == MODE_SINGLE
    assert two.history.segments == one.history.segments
    assert two.metrics.talk_share == one.metrics.talk_share
    assert "analysed as one microphone" in two.notes[0]
    activity = analyze_file(doubled, prosody=False)  # --activity-only
    assert activity.layout.mode == MODE_ACTIVITY
    # a real microphone per person stays so
    assert analyze_file(brief_conversation["stereo"], single_mic=SingleMicOptions(),
                        prosody=False).layout.mode == MODE_CHANNELS


def test_channels_that_differ_or_carry_nothing_are_not_one(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    speech = (0.1 * rng.standard_normal((1, 16_000 * 3))).astype(np.float32)
    other = (0.1 * rng.standard_normal((1, 16_000 * 3))).astype(np.float32)
    for name, audio, same in (
            ("same", np.concatenate([speech, speech]), True),
            ("quiet", np.concatenate([speech, speech]) * 0.01, False),  # nothing heard
            ("apart", np.concatenate([speech, 0.5 * speech + other]), False),
            ("mono", speech, False)):
        path = tmp_path / f"{name}.wav"
        write_wav(path, audio)
        assert same_channels(path) == same, name


def test_one_microphone_options_on_a_microphone_per_person_are_refused(
        brief_conversation: dict[str, Path]) -> None:
    """A probe (session 19): --speakers and --swap-roles on a two-channel file were
    silently ignored."""
    for options in (SingleMicOptions(speakers=2), SingleMicOptions(swap_roles=True)):
        with pytest.raises(UsageError, match="for one microphone"):
            analyze_file(brief_conversation["stereo"], single_mic=options, prosody=False)


@pytest.mark.parametrize(("codec", "suffix"), [("aac", "m4a"), ("libopus", "opus")])
def test_one_microphone_saved_as_lossy_stereo_is_one_too(
        brief_conversation: dict[str, Path], tmp_path: Path, codec: str, suffix: str) -> None:
    """The review (session 19): AAC (phones, apps) and Opus do not keep the two copies
    sample for sample (they differ by -40 and -57 dB), and were read as two people."""
    import av

    mono = read_all(brief_conversation["mono"])[0]
    path = tmp_path / f"doubled.{suffix}"
    rate = 48_000
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout="stereo")
        up = np.interp(np.arange(len(mono) * 3) / 3, np.arange(len(mono)), mono)
        both = np.stack([up, up]).astype(np.float32)
        for i in range(0, both.shape[1], 960 * 4):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(both[:, i:i + 960 * 4]),
                                               format="fltp", layout="stereo")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    assert same_channels(path)
    result = analyze_file(path, single_mic=SingleMicOptions(), prosody=False)
    assert result.layout.mode == MODE_SINGLE
    assert "analysed as one microphone" in result.notes[0]
