"""A crosstalk model for one microphone per person: what the other microphones explain.

Theory of operation. Each microphone hears its own talker and, 8-20 dB down through the room,
everyone else (bleed). A channel's frame is its own speaker's speech where, in enough
frequency bands, it carries clearly more than the bleed the model predicts from the other
channels; a level test on the whole band (the level gate) loses the quieter of two voices
talking at once, because syllable levels swing ±10 dB against each other, while their
spectra rarely cover the same bands at the same moment.

Per 32 ms window and band (``band_power``: Hann-windowed power in 94 Hz bands):

* ``tail[i, j]``, channel j's level as microphone i hears it: ``delay[i, j]`` windows late
  (0 for microphones in one room; a video call's echo comes back 20-300 ms late: the lag
  whose levels correlate best over j's solo windows, searched up to ``max_delay_frames``),
  held with a decay of ``tail_db_per_frame`` (the reverberant tail reaching the other
  microphones outlasts the talker's own dry one);
* the predicted bleed into channel i: ``gain[i, j] + tail[i, j]`` summed over the others j;
* ``gain[i, j]`` (dB, per band) starts at ``bleed_db`` and is refined online, a running median
  of ``level[i] - tail[i, j]`` over the windows where j speaks alone (j's VAD on and channel j
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
    gain_quantile: float = 0.5  # the bleed gain: this quantile of level over the other's tail
    max_delay_frames: int = 0  # the longest path delay searched (video-call echo: 300 ms)
    delay_frames: int = 0  # the delay assumed until one is measured (a profile's)


# Delay search: the evidence needed before the assumed delay changes, and by how much the
# new delay's correlation must beat the current one's.
_DELAYED_QUANTILE = 0.7  # the bleed gain of a delayed path (a call's echo): see _learn
_DELAY_MIN_SOLO = 25  # solo windows (0.8 s of one person speaking alone)
_DELAY_MARGIN = 0.05  # correlation (mean over bands) the new delay must gain
_DELAY_FORGET = 0.995  # per solo window: the statistics follow a changed path in ~6 s


class CrosstalkModel:
    """Causal per-window own-band counts; one instance per stream (state carries over)."""

    def __init__(self, channels: int, params: ModelParams) -> None:
        self.p = params
        lags = params.max_delay_frames + 1
        self.gain = np.full((channels, channels, BANDS), float(params.bleed_db))  # [into i, from j]
        self.delay = np.full((channels, channels), params.delay_frames, int)  # [into i, from j]
        self._tail = np.full((channels, channels, BANDS), -120.0)  # j's held level, as i hears it
        self._past = np.full((lags + 1, channels, BANDS), -120.0)  # levels, newest first
        self._floor = np.zeros((channels, BANDS))
        self._started = False
        self._others = ~np.eye(channels, dtype=bool)
        self._corr = _LagCorrelation(channels, lags) if lags > 1 else None

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
        self._past = np.concatenate([x[None], self._past[:-1]])
        self._tail = np.maximum(self._source(), self._tail - p.tail_db_per_frame)
        # predicted bleed into i: sum over j != i of gain[i, j] + tail[i, j]  (channels, BANDS)
        bleed = 10.0 ** ((self.gain + self._tail) / 10.0)
        predicted = 10.0 * np.log10((bleed * self._others[:, :, None]).sum(axis=1) + 1e-12)
        audible = x > self._floor + p.floor_db
        own = audible & (x > predicted + p.margin_db)
        self._learn(flags, x, audible)
        counts: np.ndarray = own.sum(axis=1).astype(np.float64)
        return counts

    def _source(self) -> np.ndarray:
        """j's level as it reaches microphone i now: j's level ``delay[i, j]`` windows ago,
        or one window less (a delay rarely falls on a window's edge)  (i, j, BANDS)."""
        channels = self._past.shape[1]
        j = np.arange(channels)[None, :]
        late = self._past[self.delay, j]
        early = self._past[np.maximum(self.delay - 1, 0), j]
        out: np.ndarray = np.maximum(late, early)
        return out

    def _learn(self, flags: np.ndarray, x: np.ndarray, audible: np.ndarray) -> None:
        p = self.p
        # noise floor: the 5 % running quantile, 1 dB steps
        self._floor += np.where(x < self._floor, -0.95, 0.05)
        total = 10.0 * np.log10(np.sum(10.0 ** (x / 10.0), axis=1))
        # solo[i, j]: j speaks and channel j is solo_db over channel i
        solo = flags[None, :] & (total[None, :] > total[:, None] + p.solo_db) & self._others
        if not solo.any():
            return
        if self._corr is not None:
            self._corr.add(solo, self._past)
            self.delay = self._corr.delays(self.delay)
        d = x[:, None, :] - self._tail  # level in i over j's tail as i hears it
        use = solo[:, :, None] & audible[None, :, :]
        # running quantile: up q steps where above, down 1 - q where below (q = 0.5: median).
        # A delayed path (an echo) is predicted less exactly, its delay rarely falling on a
        # window's edge: its gain is a high quantile, so that the echo stays under it.
        q = np.where(self.delay > 0, _DELAYED_QUANTILE, p.gain_quantile)[:, :, None]
        step = np.where(d > self.gain, 2.0 * q, -2.0 * (1.0 - q))
        self.gain += np.where(use, step * p.gain_step_db, 0.0)


class _LagCorrelation:
    """How well each channel's band levels follow another's at each lag, over the windows
    where that other person speaks alone: the path delay is the best lag (a video call's
    echo comes back 20-300 ms late; microphones in one room hear each other at once)."""

    def __init__(self, channels: int, lags: int) -> None:
        shape = (channels, channels, lags, BANDS)
        self.n = np.zeros((channels, channels))
        self._sx, self._sy = np.zeros(shape), np.zeros(shape)
        self._sxx, self._syy, self._sxy = np.zeros(shape), np.zeros(shape), np.zeros(shape)
        self._lags = lags
        self._touched = np.zeros((channels, channels), bool)  # added to since delays()

    def add(self, solo: np.ndarray, past: np.ndarray) -> None:
        """Add window 0 of ``past`` (newest first, ``(lags + 1, channels, BANDS)``) where
        ``solo[i, j]``: i's levels now against j's ``lag`` windows ago. Only the solo pairs'
        sums are touched (the same numbers as forgetting and adding over all pairs masked,
        at a fraction of the cost: this runs in every solo window of every session)."""
        for i, j in zip(*np.nonzero(solo), strict=True):
            x = past[0, i]  # (BANDS,): i now
            y = past[: self._lags, j]  # (lags, BANDS): j at each lag
            for acc, value in ((self._sx, x), (self._sy, y), (self._sxx, x * x),
                               (self._syy, y * y), (self._sxy, x * y)):
                acc[i, j] *= _DELAY_FORGET
                acc[i, j] += value
            self.n[i, j] = self.n[i, j] * _DELAY_FORGET + 1.0
        self._touched |= solo

    def delays(self, current: np.ndarray) -> np.ndarray:
        """The best lag per pair where the evidence is enough and clearly better. Only the
        pairs added to since the last call can change (the others' sums have not)."""
        out = current.copy()
        for i, j in zip(*np.nonzero(self._touched & (self.n >= _DELAY_MIN_SOLO)), strict=True):
            n = self.n[i, j]
            sx, sy = self._sx[i, j] / n, self._sy[i, j] / n  # (lags, BANDS)
            cov = self._sxy[i, j] / n - sx * sy
            var = (self._sxx[i, j] / n - sx**2) * (self._syy[i, j] / n - sy**2)
            corr = (cov / np.sqrt(np.maximum(var, 1e-9))).mean(axis=1)  # (lags,)
            best = int(corr.argmax())
            if corr[best] - corr[current[i, j]] > _DELAY_MARGIN:
                out[i, j] = best
        self._touched[:] = False
        return out


# Sub-window edges (issue 17): each microphone's own energy on 8 ms ticks. A 32 ms window
# places a run's edges only to within ±35 ms (p10-p90, hard bench), and a bout of several
# runs sums those errors at backchannel_max's edge; the ticks place them within about ±30 ms,
# most within 10 ms (bench/bench_gate.py).
TICK = 128  # samples per tick (8 ms)
TICK_FRAME = 384  # Hann frame centred on each tick (24 ms: short enough to place an edge)
_TICK_HANN = np.hanning(TICK_FRAME + 1)[:TICK_FRAME]
_TICK_LEAD = (TICK_FRAME - TICK) // 2  # samples of a tick's frame before the tick
_TICK_BINS = slice(2, 123)  # 83 Hz - 5.1 kHz (41.7 Hz bins)
_TICKS_PER_WINDOW = WINDOW // TICK


class TickEnergy:
    """``(channels, n)`` audio in any pieces → each channel's own energy per 8 ms tick (dB):
    the power of the FFT bins where the channel is over ``mask_db`` above every other
    channel's power as it reaches this microphone: ``delay[i, j]`` windows late (a call's
    echo; set from ``CrosstalkModel.delay``, 0 in a room), or up to a window less, held
    with a decay of ``tail_db_per_tick`` (the room's tail). Tick t is samples
    ``[t * TICK, (t + 1) * TICK)``; its frame reaches one tick ahead, so the ticks of a
    piece come out one tick late."""

    def __init__(self, channels: int, *, mask_db: float, tail_db_per_tick: float,
                 max_delay_windows: int = 0) -> None:
        self._mask = 10.0 ** (mask_db / 10.0)
        self._decay = 10.0 ** (-tail_db_per_tick / 10.0)
        self._buf = np.zeros((channels, _TICK_LEAD), np.float64)  # tick 0's frame starts early
        bins = _TICK_BINS.stop - _TICK_BINS.start
        self._past = np.zeros((_TICKS_PER_WINDOW * max_delay_windows + 1, channels, bins))
        self._pos = 0
        self._held = np.zeros((channels, channels, bins))  # [into i, from j]
        self._others = ~np.eye(channels, dtype=bool)[:, :, None]
        self.delay = np.zeros((channels, channels), int)  # windows [into i, from j]

    def push(self, samples: np.ndarray) -> np.ndarray:
        """The own energy (dB) of the ticks now complete, ``(channels, k)``."""
        self._buf = np.concatenate([self._buf, samples.astype(np.float64)], axis=1)
        k = max(0, (self._buf.shape[1] - TICK_FRAME) // TICK + 1)
        if k == 0:
            return np.zeros((self._buf.shape[0], 0))
        idx = np.arange(TICK_FRAME)[None, :] + TICK * np.arange(k)[:, None]
        spec = np.fft.rfft(self._buf[:, idx] * _TICK_HANN, axis=2)
        power = (spec.real**2 + spec.imag**2)[:, :, _TICK_BINS]  # (channels, k, bins)
        self._buf = self._buf[:, k * TICK:]
        out = np.empty(power.shape[:2])
        for t in range(k):
            out[:, t] = self._own(power[:, t])
        db: np.ndarray = 10.0 * np.log10(out + 1e-12)
        return db

    def _own(self, power: np.ndarray) -> np.ndarray:
        channels = power.shape[0]
        if channels == 1:
            alone: np.ndarray = power.sum(axis=1)
            return alone
        size = self._past.shape[0]
        self._pos = (self._pos + 1) % size
        self._past[self._pos] = power  # a ring: tick lag L is at (pos - L) % size
        if self.delay.any():
            hi = _TICKS_PER_WINDOW * np.minimum(self.delay, (size - 1) // _TICKS_PER_WINDOW)
            lo = np.maximum(hi - _TICKS_PER_WINDOW, 0)
            lag = np.minimum(lo[:, :, None] + np.arange(_TICKS_PER_WINDOW + 1), hi[:, :, None])
            j = np.arange(channels)[None, :, None]
            source = self._past[(self._pos - lag) % size, j].max(axis=2)  # (i, j, bins)
        else:
            source = power[None]
        self._held = np.maximum(source, self._held * self._decay)
        others = np.where(self._others, self._held, 0.0).max(axis=1)  # (i, bins)
        mine: np.ndarray = np.where(power > others * self._mask, power, 0.0).sum(axis=1)
        return mine
