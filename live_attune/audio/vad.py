"""Streaming Silero VAD (the ONNX file faster-whisper ships), one state per channel.

The model scores 512-sample windows (32 ms at 16 kHz), each with the previous 64 samples as
context, carrying its LSTM state (h, c) from call to call; scoring a long file in batches
gives exactly the probabilities of scoring it window by window. A two-threshold hysteresis
(``Hysteresis``) turns probabilities into speech flags; several may read one model run.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_attune._runtime import onnx_session
from live_attune.errors import ModelError

WINDOW = 512  # samples per VAD frame at 16 kHz (32 ms)
CONTEXT = 64  # samples of left context the model expects
_STATE_SHAPE = (1, 1, 128)


@dataclass(frozen=True, kw_only=True)
class VadConfig:
    """Speech on at ``threshold``, off below ``neg_threshold`` (faster-whisper's defaults).

    ``shift_frames``: Silero's probability follows the speech about one window late
    (measured on espeak speech: onsets +12..+49 ms, offsets +28..+68 ms, medians), so each
    flag is moved this many 32 ms windows earlier.
    """

    threshold: float = 0.5
    neg_threshold: float = 0.35
    shift_frames: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.neg_threshold <= self.threshold < 1.0:
            raise ValueError("VAD thresholds need 0 < neg_threshold <= threshold < 1")
        if not 0 <= self.shift_frames <= 8:
            raise ValueError("shift_frames must be between 0 and 8")


def silero_model_path() -> Path:
    """The Silero ONNX file bundled with faster-whisper (never downloaded)."""
    from faster_whisper.utils import get_assets_path

    candidates = sorted(Path(get_assets_path()).glob("silero_vad*.onnx"))
    if not candidates:
        raise ModelError("faster-whisper's Silero VAD model is missing; reinstall faster-whisper")
    return candidates[-1]


@functools.cache
def _session(path: str) -> object:
    return onnx_session(path, "VAD model")


class Hysteresis:
    """Speech flags from a stream of probabilities: on at ``threshold``, off below
    ``neg_threshold``, each flag shifted ``shift_frames`` windows earlier.

    Several readers may consume one VAD's probabilities (one model run, two thresholds).
    Window k's flag is the hysteresis flag computed at window k + shift: the first
    ``shift_frames`` flags are dropped here and ``flush`` repeats the last one at the end, so
    the flags returned over a stream line up one-to-one with its windows.
    """

    def __init__(self, config: VadConfig | None = None) -> None:
        self.config = config or VadConfig()
        self._speaking = False
        self._to_drop = self.config.shift_frames  # leading flags still to drop
        self._windows = 0  # windows read so far

    def push(self, probs: np.ndarray) -> np.ndarray:
        """The flags of these windows' probabilities (the first ``shift_frames`` dropped)."""
        out = np.empty(len(probs), bool)
        on, off, speaking = self.config.threshold, self.config.neg_threshold, self._speaking
        for i, p in enumerate(np.asarray(probs).tolist()):
            speaking = p >= on or (speaking and p >= off)
            out[i] = speaking
        self._speaking = speaking
        drop = min(self._to_drop, len(out))
        self._to_drop -= drop
        self._windows += len(out)
        return out[drop:]

    def flush(self) -> np.ndarray:
        """The flags still owed for the last windows: the final flag, repeated."""
        owed = min(self.config.shift_frames, self._windows)
        self._to_drop = self.config.shift_frames
        self._windows = 0
        return np.full(owed, self._speaking)


class SileroVad:
    """One channel's streaming VAD: samples in, one speech probability or flag per
    512-sample window out (``flags``: ``probabilities`` read by its ``Hysteresis``)."""

    def __init__(self, config: VadConfig | None = None, *, model: Path | None = None) -> None:
        self.config = config or VadConfig()
        self._session = _session(str(model or silero_model_path()))
        self._h = np.zeros(_STATE_SHAPE, np.float32)
        self._c = np.zeros(_STATE_SHAPE, np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._rest = np.zeros(0, np.float32)
        self._reader = Hysteresis(self.config)

    def probabilities(self, samples: np.ndarray) -> np.ndarray:
        """Speech probability of each complete window; a partial window waits for more."""
        audio = np.concatenate([self._rest, samples.astype(np.float32, copy=False)])
        n = len(audio) // WINDOW
        self._rest = audio[n * WINDOW:]
        if n == 0:
            return np.zeros(0, np.float32)
        windows = audio[: n * WINDOW].reshape(n, WINDOW)
        context = np.empty((n, CONTEXT), np.float32)
        context[0] = self._context
        context[1:] = windows[:-1, -CONTEXT:]
        self._context = windows[-1, -CONTEXT:].copy()
        batch = np.concatenate([context, windows], axis=1)
        probs, self._h, self._c = self._session.run(  # type: ignore[attr-defined]
            None, {"input": batch, "h": self._h, "c": self._c})
        return np.asarray(probs, np.float32).reshape(n)

    def flags(self, samples: np.ndarray) -> np.ndarray:
        """Speech flags of the complete windows, read by this VAD's ``Hysteresis``."""
        return self._reader.push(self.probabilities(samples))

    def flush(self) -> np.ndarray:
        """The flags still owed for the last windows (``Hysteresis.flush``)."""
        return self._reader.flush()


def window_power(samples: np.ndarray) -> np.ndarray:
    """Mean square of each complete 512-sample window of ``(channels, n)`` audio."""
    channels, n = samples.shape
    k = n // WINDOW
    frames = samples[:, : k * WINDOW].reshape(channels, k, WINDOW).astype(np.float64)
    power: np.ndarray = np.mean(frames * frames, axis=2)
    return power


def power_db(power: np.ndarray) -> np.ndarray:
    """Mean square → dBFS (a full-scale sine is -3 dBFS)."""
    return (10.0 * np.log10(power + 1e-12)).astype(np.float32)
