"""Mix a conversation into stereo (one lapel mic each) and mono (one table mic) renderings.

Default mix: stereo channel i = own voice + the other voice ``bleed_db`` down, delayed and
reverberant + noise at ``snr_db`` under the channel's own speech level. Mono = both voices,
reverberant, + noise. Levels are set on active speech (frames above -50 dBFS), so SNR means
what it says.

The hard mix (``MixConfig.hard(seed)``) puts every talker-to-microphone pair on its own
reverberant path (``RoomPaths``): a direct sound with its own delay and gain, then an
exponentially decaying noise tail drawn afresh for each pair, so crosstalk is a different
room response in each microphone rather than a copy of the voice; the voices differ in level
by up to ±6 dB and the bleed's direct path is -8 to -20 dB.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.synth.scenario import Conversation
from live_attune.synth.voices import active_rms

ROLES = (THERAPIST, CLIENT)


@dataclass(frozen=True, kw_only=True)
class RoomPaths:
    """One reverberant path per (microphone, talker); pairs are (therapist, client) order.

    ``bleed_db[i]``: the other talker's direct sound in microphone i relative to their own
    microphone's. DRR: direct-to-reverberant energy ratio of a path.
    """

    rt60_s: float = 0.45
    bleed_db: tuple[float, float] = (-14.0, -14.0)
    own_delay_ms: tuple[float, float] = (0.8, 0.8)  # lapel mic ~25 cm from its own talker
    far_delay_ms: tuple[float, float] = (3.5, 3.5)  # ... and ~1.2 m from the other
    table_delay_ms: tuple[float, float] = (3.0, 3.0)  # the table mic, from each talker
    table_db: tuple[float, float] = (0.0, 0.0)  # each talker's direct gain at the table mic
    own_drr_db: float = 12.0  # the lapel hears mostly its own talker's direct sound
    far_drr_db: float = 0.0  # the other talker arrives as much room as direct sound
    table_drr_db: float = 3.0


@dataclass(frozen=True, kw_only=True)
class MixConfig:
    bleed_db: float = -14.0  # crosstalk: the other voice in a lapel mic
    snr_db: float | None = 20.0  # speech level over noise, per channel (None: no noise)
    rt60_s: float = 0.3  # light room reverb
    wet_db: float = -12.0  # reverberant energy relative to the direct sound
    speech_dbfs: float = -22.0  # active speech level of each voice
    bleed_delay_s: float = 0.002  # the other mic is ~70 cm further away
    seed: int = 0
    voice_db: tuple[float, float] = (0.0, 0.0)  # therapist's, client's level over speech_dbfs
    paths: RoomPaths | None = None  # per-pair rooms (then bleed_db..bleed_delay_s are unused)

    @classmethod
    def hard(cls, seed: int, *, noise: bool = True) -> MixConfig:
        """A hard room for ``seed``: voices up to ±6 dB apart, bleed -8 to -20 dB through
        per-pair reverberant paths, RT60 0.25-0.7 s, and (``noise``) noise at 15-30 dB SNR.
        For one SNR, ``dataclasses.replace(MixConfig.hard(seed), snr_db=...)``."""
        rng = random.Random(f"mix-{seed}")
        diff = rng.uniform(-6.0, 6.0)
        paths = RoomPaths(
            rt60_s=rng.uniform(0.25, 0.7),
            bleed_db=(rng.uniform(-20.0, -8.0), rng.uniform(-20.0, -8.0)),
            own_delay_ms=(rng.uniform(0.3, 1.5), rng.uniform(0.3, 1.5)),
            far_delay_ms=(rng.uniform(2.0, 6.0), rng.uniform(2.0, 6.0)),
            table_delay_ms=(rng.uniform(2.0, 5.0), rng.uniform(2.0, 5.0)),
            table_db=(rng.uniform(-3.0, 0.0), rng.uniform(-3.0, 0.0)),
            own_drr_db=rng.uniform(8.0, 16.0),
            far_drr_db=rng.uniform(-3.0, 3.0),
            table_drr_db=rng.uniform(0.0, 6.0),
        )
        snr = rng.uniform(15.0, 30.0)  # drawn either way: the room stays the same without noise
        return cls(snr_db=snr if noise else None, seed=seed, voice_db=(diff / 2, -diff / 2),
                   paths=paths)


def render(conv: Conversation, config: MixConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(stereo (2, n), mono (1, n))`` float32 at 16 kHz."""
    cfg = config or MixConfig()
    rng = np.random.default_rng(cfg.seed)
    voices = {r: _level(conv.tracks[r], cfg.speech_dbfs + db)
              for r, db in zip(ROLES, cfg.voice_db, strict=True)}
    if cfg.paths is not None:
        stereo, mono = _through_paths(voices, cfg.paths, rng)
        return _noisy(stereo, cfg, rng), _noisy(mono, cfg, rng)
    ir = _room_ir(cfg, rng)
    room = {r: _reverb(v, ir, cfg.wet_db) for r, v in voices.items()}
    delay = int(cfg.bleed_delay_s * SAMPLE_RATE)
    bleed = 10 ** (cfg.bleed_db / 20)
    stereo = np.stack([
        voices[own] + bleed * _delayed(room[other], delay)
        for own, other in ((THERAPIST, CLIENT), (CLIENT, THERAPIST))
    ])
    mono = (room[THERAPIST] + room[CLIENT])[None, :]
    return _noisy(stereo, cfg, rng), _noisy(mono, cfg, rng)


def _through_paths(voices: dict[str, np.ndarray], p: RoomPaths, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Each microphone sums every talker through that pair's own impulse response."""
    mics = []
    for m, own in enumerate(ROLES):
        channel = np.zeros_like(voices[own])
        for talker in ROLES:
            if talker == own:
                ir = _path_ir(rng, 0.0, p.own_delay_ms[m], p.own_drr_db, p.rt60_s)
            else:
                ir = _path_ir(rng, p.bleed_db[m], p.far_delay_ms[m], p.far_drr_db, p.rt60_s)
            channel += _reverb(voices[talker], ir, 0.0)
        mics.append(channel)
    mono = sum(_reverb(voices[t], _path_ir(rng, p.table_db[i], p.table_delay_ms[i],
                                           p.table_drr_db, p.rt60_s), 0.0)
               for i, t in enumerate(ROLES))
    return np.stack(mics), np.asarray(mono, np.float32)[None, :]


def _path_ir(rng: np.random.Generator, gain_db: float, delay_ms: float, drr_db: float,
             rt60_s: float) -> np.ndarray:
    """Direct sound at ``delay_ms`` and ``gain_db``, then a decaying noise tail starting
    1-5 ms later with ``drr_db`` less energy: a fresh draw for every path."""
    delay = round(delay_ms * SAMPLE_RATE / 1000)
    first = delay + round(rng.uniform(0.001, 0.005) * SAMPLE_RATE)
    t = np.arange(round(rt60_s * SAMPLE_RATE)) / SAMPLE_RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60_s)  # -60 dB at rt60
    gain = 10 ** (gain_db / 20)
    tail *= gain * 10 ** (-drr_db / 20) / np.sqrt(np.sum(tail**2))
    ir = np.zeros(first + len(t), np.float32)
    ir[delay] = gain
    ir[first:] = tail
    return ir


def _level(x: np.ndarray, dbfs: float) -> np.ndarray:
    return (x * (10 ** (dbfs / 20) / max(active_rms(x), 1e-9))).astype(np.float32)


def _room_ir(cfg: MixConfig, rng: np.random.Generator) -> np.ndarray:
    n = int(cfg.rt60_s * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / cfg.rt60_s)  # -60 dB at rt60
    tail[: int(0.005 * SAMPLE_RATE)] = 0.0  # first reflections arrive after the direct sound
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
    if cfg.snr_db is not None:
        noise_rms = 10 ** ((cfg.speech_dbfs - cfg.snr_db) / 20)
        x = x + rng.standard_normal(x.shape).astype(np.float32) * noise_rms
    out: np.ndarray = np.clip(x, -1.0, 1.0).astype(np.float32)
    return out
