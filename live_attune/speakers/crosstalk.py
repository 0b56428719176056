"""A crosstalk model for one microphone per person: what the other microphones explain.

Theory of operation. Each microphone hears its own talker and, 8-20 dB down through the room,
everyone else (bleed). A channel's frame is its own speaker's speech where, in enough
frequency bands, it carries clearly more than the bleed the model predicts from the other
channels; a level test on the whole band (the level gate) loses the quieter of two voices
talking at once, because syllable levels swing ±10 dB against each other, while their
spectra rarely cover the same bands at the same moment.

Per 32 ms window and band (``band_power``: Hann-windowed power in 94 Hz bands):

* ``tail[j]``, each channel's level held with a decay of ``tail_db_per_frame`` (the
  reverberant tail reaching the other microphones outlasts the talker's own dry one);
* the predicted bleed into channel i: ``gain[i, j] + tail[j]`` summed over the others j;
* ``gain[i, j]`` (dB, per band) starts at ``bleed_db`` and is refined online, a running median
  of ``level[i] - tail[j]`` over the windows where j speaks alone (j's VAD on and channel j
  ``solo_db`` over channel i): causal, so live and offline decide alike;
* a band is channel i's own where it is ``floor_db`` over that channel's noise floor (a low
  running quantile) and ``margin_db`` over the predicted bleed.

The count of own bands per window is the score the gate smooths and thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live_attune.audio.vad import WINDOW
from live_attune.core.audio_facts import SAMPLE_RATE

# Band edges (Hz), about a Bark apart: 18 bands from 100 Hz to 7.7 kHz.
_BIN_HZ = SAMPLE_RATE / WINDOW  # 31.25 Hz
# Bands of 3 FFT bins (94 Hz) from 94 Hz to 7.6 kHz: narrow enough that two voices' harmonics
# fall in different bands (20 Bark-wide bands kept 84 % of the quieter voice in overlap on the
# hard bench, these 94 %).
BAND_EDGES_HZ = tuple(float(b * _BIN_HZ) for b in range(3, 244, 3))
_HANN = np.hanning(WINDOW + 1)[:WINDOW]
BANDS = len(BAND_EDGES_HZ) - 1
_FIRST_BIN = int(np.ceil(BAND_EDGES_HZ[0] / _BIN_HZ))
_END_BIN = int(np.ceil(BAND_EDGES_HZ[-1] / _BIN_HZ))
_STARTS = np.ceil(np.asarray(BAND_EDGES_HZ[:-1]) / _BIN_HZ).astype(int) - _FIRST_BIN


def band_power(samples: np.ndarray) -> np.ndarray:
    """``(channels, n)`` audio → ``(channels, windows, BANDS)`` power per 512-sample window.

    Scaled so that white noise's bands sum to about its mean square."""
    channels, n = samples.shape
    k = n // WINDOW
    frames = samples[:, : k * WINDOW].reshape(channels, k, WINDOW).astype(np.float64)
    spec = np.fft.rfft(frames * _HANN, axis=2)
    power = (spec.real**2 + spec.imag**2) * (2.0 / (WINDOW * np.sum(_HANN**2)))
    out: np.ndarray = np.add.reduceat(power[:, :, _FIRST_BIN:_END_BIN], _STARTS, axis=2)
    return out


@dataclass(frozen=True, kw_only=True)
class ModelParams:
    margin_db: float
    bleed_db: float
    tail_db_per_frame: float
    solo_db: float
    floor_db: float
    gain_step_db: float


class CrosstalkModel:
    """Causal per-window own-band counts; one instance per stream (state carries over)."""

    def __init__(self, channels: int, params: ModelParams) -> None:
        self.p = params
        self.gain = np.full((channels, channels, BANDS), float(params.bleed_db))  # [into i, from j]
        self._tail = np.full((channels, BANDS), -120.0)
        self._floor = np.zeros((channels, BANDS))
        self._started = False
        self._others = ~np.eye(channels, dtype=bool)

    def scores(self, flags: np.ndarray, bands: np.ndarray) -> np.ndarray:
        """``flags (channels, k)``, ``bands (channels, k, BANDS)`` → own bands ``(channels, k)``."""
        out = np.zeros(flags.shape, np.float64)
        levels = 10.0 * np.log10(bands + 1e-12)
        for t in range(flags.shape[1]):
            out[:, t] = self._frame(flags[:, t], levels[:, t])
        return out

    def _frame(self, flags: np.ndarray, x: np.ndarray) -> np.ndarray:
        p = self.p
        if not self._started:
            self._floor, self._started = x.copy(), True
        self._tail = np.maximum(x, self._tail - p.tail_db_per_frame)
        # predicted bleed into i: sum over j != i of gain[i, j] + tail[j]  (channels, BANDS)
        bleed = 10.0 ** ((self.gain + self._tail[None, :, :]) / 10.0)
        predicted = 10.0 * np.log10((bleed * self._others[:, :, None]).sum(axis=1) + 1e-12)
        audible = x > self._floor + p.floor_db
        own = audible & (x > predicted + p.margin_db)
        self._learn(flags, x, audible)
        counts: np.ndarray = own.sum(axis=1).astype(np.float64)
        return counts

    def _learn(self, flags: np.ndarray, x: np.ndarray, audible: np.ndarray) -> None:
        p = self.p
        # noise floor: the 5 % running quantile, 1 dB steps
        self._floor += np.where(x < self._floor, -0.95, 0.05)
        total = 10.0 * np.log10(np.sum(10.0 ** (x / 10.0), axis=1))
        # solo[i, j]: j speaks and channel j is solo_db over channel i
        solo = flags[None, :] & (total[None, :] > total[:, None] + p.solo_db) & self._others
        if not solo.any():
            return
        d = x[:, None, :] - self._tail[None, :, :]  # level in i over j's tail
        use = solo[:, :, None] & audible[None, :, :]
        step = np.where(d > self.gain, p.gain_step_db, -p.gain_step_db)  # running median
        self.gain += np.where(use, step, 0.0)
