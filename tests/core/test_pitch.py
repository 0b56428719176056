"""core/pitch.yin gives librosa.yin's values exactly (librosa's runs through numba, which
holds ~180 MB for the rest of the process): real recordings and generator voices, both
framings the project uses, and a tone of known pitch."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.pitch import yin
from live_attune.core.prosody import FRAME, YIN_FMAX_HZ, YIN_FMIN_HZ
from live_attune.synth import make_conversation, render

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "conversations"
HOP = 160


def both(audio: np.ndarray, center: bool) -> tuple[np.ndarray, np.ndarray]:
    ref = librosa.yin(audio, fmin=YIN_FMIN_HZ, fmax=YIN_FMAX_HZ, sr=SAMPLE_RATE,
                      frame_length=FRAME, hop_length=HOP, center=center)
    ours = yin(audio, fmin_hz=YIN_FMIN_HZ, fmax_hz=YIN_FMAX_HZ, sample_rate=SAMPLE_RATE,
               frame_length=FRAME, hop_length=HOP, center=center)
    return ref, ours


@pytest.mark.parametrize("center", [False, True])
def test_equal_to_librosa_on_a_real_recording(center: bool) -> None:
    audio = read_all(SHARED / "ami" / "dev00.wav")[0][:30 * SAMPLE_RATE].astype(np.float32)
    ref, ours = both(audio, center)
    assert ref.shape == ours.shape and np.array_equal(ref, ours)


@pytest.mark.parametrize("center", [False, True])
def test_equal_to_librosa_on_generator_voices_and_silence(center: bool) -> None:
    stereo, _ = render(make_conversation(3))
    for channel in stereo[:, :20 * SAMPLE_RATE]:
        ref, ours = both(np.ascontiguousarray(channel, np.float32), center)
        assert np.array_equal(ref, ours)


def test_a_tone_reads_its_pitch() -> None:
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.3 * np.sin(2 * np.pi * 147.0 * t)).astype(np.float32)
    f0 = yin(tone, fmin_hz=YIN_FMIN_HZ, fmax_hz=YIN_FMAX_HZ, sample_rate=SAMPLE_RATE,
             frame_length=FRAME, hop_length=HOP)
    assert np.median(f0) == pytest.approx(147.0, rel=0.005)


def test_frame_track_in_chunks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """frame_track measures at most YIN_CHUNK_FRAMES per YIN call (memory): the same values
    as one call over the whole recording."""
    from live_attune.core import prosody

    audio = read_all(SHARED / "ami" / "trn00.wav")[0][:25 * SAMPLE_RATE].astype(np.float32)
    monkeypatch.setattr(prosody, "YIN_CHUNK_FRAMES", 333)
    chunked = prosody.frame_track(audio)
    monkeypatch.setattr(prosody, "YIN_CHUNK_FRAMES", 10**9)
    whole = prosody.frame_track(audio)
    assert len(chunked.f0_hz) == len(whole.f0_hz) > 2000
    for a, b in zip((chunked.f0_hz, chunked.periodicity, chunked.level_db),
                    (whole.f0_hz, whole.periodicity, whole.level_db), strict=True):
        assert np.array_equal(a, b)
