"""Mix a conversation into stereo (one lapel mic each) and mono (one table mic) renderings.

Stereo channel i = own voice + the other voice ``bleed_db`` down, delayed and reverberant +
noise at ``snr_db`` under the channel's own speech level. Mono = both voices, reverberant, +
noise. Levels are set on active speech (frames above -50 dBFS), so SNR means what it says.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live_attune.synth.scenario import SR, Conversation
from live_attune.synth.voices import active_rms

ROLES = ("therapist", "client")


@dataclass(frozen=True, kw_only=True)
class MixConfig:
    bleed_db: float = -14.0  # crosstalk: the other voice in a lapel mic
    snr_db: float = 20.0  # speech level over noise, per channel
    rt60_s: float = 0.3  # light room reverb
    wet_db: float = -12.0  # reverberant energy relative to the direct sound
    speech_dbfs: float = -22.0  # active speech level of each voice
    bleed_delay_s: float = 0.002  # the other mic is ~70 cm further away
    seed: int = 0


def render(conv: Conversation, config: MixConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(stereo (2, n), mono (1, n))`` float32 at 16 kHz."""
    cfg = config or MixConfig()
    rng = np.random.default_rng(cfg.seed)
    ir = _room_ir(cfg, rng)
    voices = {r: _level(conv.tracks[r], cfg.speech_dbfs) for r in ROLES}
    room = {r: _reverb(v, ir, cfg.wet_db) for r, v in voices.items()}
    delay = int(cfg.bleed_delay_s * SR)
    bleed = 10 ** (cfg.bleed_db / 20)
    stereo = np.stack([
        voices[own] + bleed * _delayed(room[other], delay)
        for own, other in (("therapist", "client"), ("client", "therapist"))
    ])
    mono = (room["therapist"] + room["client"])[None, :]
    return _noisy(stereo, cfg, rng), _noisy(mono, cfg, rng)


def _level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x * (10 ** (dbfs / 20) / max(active_rms(x), 1e-9))).astype(np.float32)


def _room_ir(cfg: MixConfig, rng: np.random.Generator) -> np.ndarray:
    n = int(cfg.rt60_s * SR)
    t = np.arange(n) / SR
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / cfg.rt60_s)  # -60 dB at rt60
    tail[: int(0.005 * SR)] = 0.0  # first reflections arrive after the direct sound
    tail *= 10 ** (cfg.wet_db / 20) / np.sqrt(np.sum(tail**2))
    tail[0] = 1.0
    return tail.astype(np.float32)


def _reverb(x: np.ndarray, ir: np.ndarray, wet_db: float) -> np.ndarray:
    n = len(x) + len(ir) - 1
    size = 1 << (n - 1).bit_length()
    y = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(ir, size), size)[: len(x)]
    return y.astype(np.float32)


def _delayed(x: np.ndarray, samples: int) -> np.ndarray:
    return np.concatenate([np.zeros(samples, np.float32), x[: len(x) - samples]])


def _noisy(x: np.ndarray, cfg: MixConfig, rng: np.random.Generator) -> np.ndarray:
    noise_rms = 10 ** ((cfg.speech_dbfs - cfg.snr_db) / 20)
    noise = rng.standard_normal(x.shape).astype(np.float32) * noise_rms
    return np.clip(x + noise, -1.0, 1.0).astype(np.float32)
