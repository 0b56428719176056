"""Power spectrogram, mel filter banks and dB in numpy, equal to librosa's
(``librosa.stft`` centred with zero padding, ``librosa.filters.mel`` with Slaney's scale and
norm, ``librosa.power_to_db``) for the one-microphone features.

Importing librosa imports numba, which holds ~50 MB and more once its kernels are cached
(bench/bench_memory.py); the one-microphone path needs only these three, so it does without.
``tests/speakers/test_spectrum.py`` compares them with librosa on real recordings.
"""

from __future__ import annotations

import functools

import numpy as np

F_SP_HZ = 200.0 / 3  # Slaney's mel scale: linear below 1 kHz ...
MIN_LOG_HZ = 1000.0
LOG_STEP = np.log(6.4) / 27.0  # ... logarithmic above


@functools.cache
def hann(n: int) -> np.ndarray:
    """The periodic Hann window of ``n`` samples (float64), as scipy's ``get_window``."""
    w: np.ndarray = (0.5 + 0.5 * np.cos(np.linspace(-np.pi, np.pi, n + 1)))[:n]
    w.flags.writeable = False
    return w


def power_spectrogram(y: np.ndarray, n_fft: int, hop: int, *, center: bool = True
                      ) -> np.ndarray:
    """(1 + n_fft // 2, frames) |STFT|² of float32 ``y`` with a periodic Hann window;
    ``center``: frame i centred on sample i·hop, the signal padded with zeros."""
    y = np.asarray(y, np.float32)
    if center:
        y = np.pad(y, n_fft // 2)
    n = 1 + (len(y) - n_fft) // hop
    if n <= 0:
        return np.zeros((1 + n_fft // 2, 0), np.float32)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop][:n].T
    spec = np.fft.rfft(hann(n_fft)[:, None] * frames, axis=0).astype(np.complex64)
    out: np.ndarray = np.abs(spec) ** 2
    return out


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    mels = hz / F_SP_HZ
    log = hz >= MIN_LOG_HZ
    mels[log] = MIN_LOG_HZ / F_SP_HZ + np.log(hz[log] / MIN_LOG_HZ) / LOG_STEP
    return mels


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    hz = F_SP_HZ * mels
    log = mels >= MIN_LOG_HZ / F_SP_HZ
    hz[log] = MIN_LOG_HZ * np.exp(LOG_STEP * (mels[log] - MIN_LOG_HZ / F_SP_HZ))
    return hz


@functools.cache
def mel_filters(sample_rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) triangular mel filters from 0 Hz to Nyquist, each scaled to
    constant energy (Slaney), float32."""
    lo_mel, hi_mel = _hz_to_mel(np.array([0.0, sample_rate / 2.0]))
    edges = _mel_to_hz(np.linspace(lo_mel, hi_mel, n_mels + 2))
    bins = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    widths = np.diff(edges)
    ramps = np.subtract.outer(edges, bins)
    weights = np.zeros((n_mels, len(bins)), np.float32)
    for i in range(n_mels):
        weights[i] = np.maximum(0, np.minimum(-ramps[i] / widths[i],
                                              ramps[i + 2] / widths[i + 1]))
    weights *= (2.0 / (edges[2:n_mels + 2] - edges[:n_mels]))[:, None]
    weights.flags.writeable = False
    return weights


def power_to_db(power: np.ndarray, *, amin: float = 1e-10, top_db: float = 80.0
                ) -> np.ndarray:
    """10·log10(power) relative to 1, floored at ``top_db`` under its maximum."""
    db = 10.0 * np.log10(np.maximum(amin, power))
    db -= 10.0 * np.log10(np.maximum(amin, 1.0))
    out: np.ndarray = np.maximum(db, db.max() - top_db)
    return out
