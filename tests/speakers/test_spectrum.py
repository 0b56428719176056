"""speakers/spectrum.py gives librosa's values exactly (the one-microphone features without
importing librosa, and with it numba): the STFT power in both framings, the mel filter banks,
dB; on a real recording."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.signal

from live_attune.audio.decode import read_all
from live_attune.speakers.spectrum import hann, mel_filters, power_spectrogram, power_to_db

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "conversations"


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    audio: np.ndarray = read_all(REAL / "ami" / "trn04.wav")[0][:20 * 16000]
    return audio.astype(np.float32)


@pytest.mark.parametrize(("n_fft", "center"), [(512, True), (400, False), (400, True)])
def test_power_spectrogram_equals_librosa(speech: np.ndarray, n_fft: int, center: bool) -> None:
    ref = np.abs(librosa.stft(speech, n_fft=n_fft, hop_length=160, center=center)) ** 2
    ours = power_spectrogram(speech, n_fft, 160, center=center)
    assert ref.shape == ours.shape and ref.dtype == ours.dtype and np.array_equal(ref, ours)


@pytest.mark.parametrize(("n_fft", "n_mels"), [(512, 128), (512, 40), (400, 40)])
def test_mel_filters_equal_librosa(n_fft: int, n_mels: int) -> None:
    assert np.array_equal(librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=n_mels),
                          mel_filters(16000, n_fft, n_mels))


def test_window_and_db_equal_scipy_and_librosa(speech: np.ndarray) -> None:
    for n in (400, 512):
        assert np.array_equal(hann(n), scipy.signal.get_window("hann", n, fftbins=True))
    mel = mel_filters(16000, 512, 128) @ power_spectrogram(speech, 512, 160)
    assert np.array_equal(librosa.power_to_db(mel), power_to_db(mel))
