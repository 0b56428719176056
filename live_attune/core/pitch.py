"""YIN pitch (de Cheveigné & Kawahara 2002) in numpy, equal to ``librosa.yin``.

librosa's version runs its trough search and parabolic interpolation through numba: the
first call compiles, and numba with its cached kernels holds ~180 MB for the rest of the
process (measured in ``bench/bench_memory.py``), more than the rest of an analysis. The same
steps here in plain array operations give the same values (tests/core/test_pitch.py compares
them on real recordings), using the FFT library librosa uses (``scipy.fft``).
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def yin(y: np.ndarray, *, fmin_hz: float, fmax_hz: float, sample_rate: int,
        frame_length: int, hop_length: int, center: bool = False,
        trough_threshold: float = 0.1) -> np.ndarray:
    """F0 in Hz per frame of ``y`` (1-D float), as ``librosa.yin`` with the same arguments
    (``center``: frames centred on their hop, the signal padded with zeros)."""
    if center:
        y = np.pad(y, frame_length // 2)
    frames = _frames(y, frame_length, hop_length)
    min_period = int(np.floor(sample_rate / fmax_hz))
    max_period = min(int(np.ceil(sample_rate / fmin_hz)), frame_length - 1)
    d = _cumulative_mean_normalized_difference(frames, min_period, max_period)
    shifts = _parabolic_shifts(d)
    troughs = _troughs(d) & (d < trough_threshold)
    period = np.argmax(troughs, axis=0)
    none = ~troughs.any(axis=0)
    period[none] = np.argmin(d, axis=0)[none]
    period_frac = min_period + period + np.take_along_axis(shifts, period[None], axis=0)[0]
    out: np.ndarray = sample_rate / period_frac
    return out


def _frames(y: np.ndarray, frame_length: int, hop_length: int) -> np.ndarray:
    """(frame_length, n) views of ``y``, as librosa.util.frame."""
    n = 1 + (len(y) - frame_length) // hop_length
    view: np.ndarray = np.lib.stride_tricks.sliding_window_view(y, frame_length)
    return view[::hop_length][:n].T


def _next_fast_len(n: int) -> int:
    """The smallest 5-smooth number ≥ n (scipy.fft.next_fast_len(n, real=True))."""
    best, p5 = 2 * n, 1
    while p5 < 2 * n:
        p35 = p5
        while p35 < 2 * n:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def _autocorrelation(frames: np.ndarray, max_lag: int) -> np.ndarray:
    """Each frame's autocorrelation at lags 0..max_lag-1 (librosa.autocorrelate)."""
    size = _next_fast_len(2 * frames.shape[0] - 1)
    spec = scipy.fft.rfft(frames, n=size, axis=0)
    acf: np.ndarray = scipy.fft.irfft(spec.real ** 2 + spec.imag ** 2, n=size, axis=0)
    return acf[:max_lag]


def _cumulative_mean_normalized_difference(frames: np.ndarray, min_period: int,
                                           max_period: int) -> np.ndarray:
    """YIN's d'(τ) for τ in min_period..max_period, per frame."""
    acf = _autocorrelation(frames, max_period + 1)
    energy = np.cumsum(np.square(frames), axis=0)
    energy[0] = 0  # as librosa: its row 0 is zeroed in place before the rows below read it
    diff = np.empty_like(energy)
    diff[0] = 0
    k = slice(1, max_period + 1)
    diff[k] = 2 * (acf[0:1] - acf[k]) - energy[:max_period]
    num = diff[min_period:max_period + 1]
    mean = np.cumsum(diff[k], axis=0) / np.arange(1, max_period + 1)[:, None]
    den = mean[min_period - 1:max_period]
    out: np.ndarray = num / (den + np.finfo(den.dtype).tiny)
    return out


def _parabolic_shifts(d: np.ndarray) -> np.ndarray:
    """The sub-sample offset of a parabola through each point and its neighbours (0 at the
    ends, and where the parabola is too flat), as librosa's stencil computes it."""
    a = (d[2:] + d[:-2]).astype(np.float64) - 2 * d[1:-1].astype(np.float64)
    b = (d[2:] - d[:-2]).astype(np.float64) / 2
    shifts = np.zeros_like(d)
    with np.errstate(divide="ignore", invalid="ignore"):
        shifts[1:-1] = np.where(np.abs(b) >= np.abs(a), 0.0, -b / a)
    return shifts


def _troughs(d: np.ndarray) -> np.ndarray:
    """Local minima along the lags (strictly below the previous, not above the next); the
    first lag a trough if below the second (librosa.util.localmin, then yin's first row)."""
    out = np.zeros(d.shape, bool)
    out[1:-1] = (d[1:-1] < d[:-2]) & (d[1:-1] <= d[2:])
    out[0] = d[0] < d[1]
    return out
