"""Calibration measurements on (channels, n) float32 audio at 16 kHz.

Theory of operation: every channel goes through the same Silero VAD as the pipeline, in
32 ms windows. A window is *quiet* when no channel has speech; the room's noise floor of a
channel is the power mean of its quiet windows (the loudest tenth left out, so a door or a
cough does not count). A window *belongs* to a channel when that channel has speech and is
at least ``DOMINANT_DB`` louder than every other: its speech level is the power mean of
those windows, and another channel's level in them, less its own noise, is the bleed
(crosstalk) from this one. The first channel to hold a second of speech is the therapist's,
the next different one the client's (the protocol: each person speaks in turn, therapist
first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from live_attune.audio.vad import WINDOW, SileroVad, VadConfig, power_db, window_power
from live_attune.core.audio_facts import CLIP_LEVEL, SAMPLE_RATE
from live_attune.core.roles import roles as roles_of

DOMINANT_DB = 6.0  # a window belongs to a channel this much louder than the rest
QUIET_TRIM = 0.10  # the loudest share of quiet windows left out of the noise floor
SUSTAINED_S = 1.0  # speech that identifies a speaker in the role mapping
GOOD_SNR_DB, FAIR_SNR_DB = 20.0, 10.0


@dataclass(frozen=True, slots=True)
class ChannelLevels:
    """One channel: levels in dBFS (None where there was nothing to measure)."""

    noise_floor_dbfs: float | None
    speech_dbfs: float | None
    snr_db: float | None
    peak_dbfs: float
    clipped_share: float  # of samples at full scale
    speech_s: float  # own (dominant) speech measured


@dataclass(frozen=True, slots=True)
class Measurement:
    channels: tuple[ChannelLevels, ...]
    bleed_db: tuple[tuple[float | None, ...], ...]  # [a][b]: a's voice in b's mic, re a's
    roles: tuple[str, ...]  # detected role of each channel (therapist first)
    quiet_s: float  # time with nobody speaking (what the noise floor rests on)
    duration_s: float


def vad_flags(audio: np.ndarray) -> np.ndarray:
    """(channels, windows) bool: Silero speech flags, one per 32 ms window."""
    out = []
    for ch in audio:
        vad = SileroVad(VadConfig())
        flags = np.concatenate([vad.flags(ch.astype(np.float32)), vad.flush()])
        out.append(flags[: len(ch) // WINDOW])
    return np.stack(out)


def measure(audio: np.ndarray, flags: np.ndarray | None = None) -> Measurement:
    """Everything the calibration reports, from one recording of the protocol (or any
    conversation in which the therapist speaks first)."""
    if audio.ndim != 2 or audio.shape[1] < WINDOW:
        raise ValueError("need (channels, n) audio of at least 32 ms")
    flags = vad_flags(audio) if flags is None else flags
    power = window_power(audio)[:, : flags.shape[1]]
    flags = flags[:, : power.shape[1]]
    level = power_db(power)
    quiet = ~flags.any(axis=0)
    noise = [_trimmed_power(p[quiet]) for p in power]
    owner = owners(flags, level)
    channels = tuple(_channel(audio[c], power[c], owner == c, noise[c])
                     for c in range(len(audio)))
    bleed = tuple(tuple(None if a == b else _bleed(power, owner == a, noise, a, b)
                        for b in range(len(audio))) for a in range(len(audio)))
    return Measurement(channels, bleed, map_roles(owner, len(audio)),
                       float(quiet.sum() * WINDOW / SAMPLE_RATE), audio.shape[1] / SAMPLE_RATE)


def owners(flags: np.ndarray, level: np.ndarray) -> np.ndarray:
    """Per window: the channel it belongs to (speech, ≥ DOMINANT_DB above the rest), or -1."""
    owner = np.full(flags.shape[1], -1)
    if len(level) == 1:
        owner[flags[0]] = 0
        return owner
    top = np.argmax(level, axis=0)
    ordered = np.sort(level, axis=0)
    clear = ordered[-1] - ordered[-2] >= DOMINANT_DB
    speaking = flags[top, np.arange(flags.shape[1])]
    owner[clear & speaking] = top[clear & speaking]
    return owner


def _trimmed_power(p: np.ndarray) -> float | None:
    if len(p) == 0:
        return None
    kept = np.sort(p)[: max(1, round(len(p) * (1 - QUIET_TRIM)))]
    return float(np.mean(kept))


def _db(p: float | None) -> float | None:
    return None if p is None or p <= 0 else float(10 * np.log10(p))


def _channel(samples: np.ndarray, power: np.ndarray, own: np.ndarray,
             noise: float | None) -> ChannelLevels:
    speech = float(np.mean(power[own])) if own.any() else None
    clean = None if speech is None else speech - (noise or 0.0)
    # A call's audio is digital silence between words (noise 0): no SNR to give, not a crash.
    snr = (None if clean is None or noise is None or clean <= 0 or noise <= 0
           else 10 * np.log10(clean / noise))
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    return ChannelLevels(_db(noise), _db(speech), None if snr is None else float(snr),
                         float(20 * np.log10(max(peak, 1e-6))),
                         float(np.mean(np.abs(samples) >= CLIP_LEVEL)),
                         float(own.sum() * WINDOW / SAMPLE_RATE))


def _bleed(power: np.ndarray, own_a: np.ndarray, noise: list[float | None], a: int,
           b: int) -> float | None:
    """a's voice in b's microphone relative to a's own, in a's loud windows (within 10 dB of
    its speech level), noise power taken out of both: the median over windows, so moments
    when b's own speaker talks as well do not count."""
    pa = power[a][own_a] - (noise[a] or 0.0)
    pb = power[b][own_a] - (noise[b] or 0.0)
    if len(pa) < 10 or not (pa > 0).any():
        return None
    loud = pa >= np.mean(pa[pa > 0]) * 0.1
    ratio = np.maximum(pb[loud], pa[loud] * 1e-8) / pa[loud]
    return float(10 * np.log10(np.median(ratio)))


def map_roles(owner: np.ndarray, channels: int) -> tuple[str, ...]:
    """Therapist: the first channel to hold ``SUSTAINED_S`` of speech within a 2 s stretch;
    client: the next different channel to do so; any others: client_2, ... or ignore."""
    need = int(SUSTAINED_S * SAMPLE_RATE / WINDOW)
    span = int(2.0 * SAMPLE_RATE / WINDOW)
    order: list[int] = []
    for c in range(channels):
        mine = np.convolve((owner == c).astype(int), np.ones(span, int), mode="valid")
        hits = np.flatnonzero(mine >= need)
        if len(hits):
            order.append((int(hits[0]), c))  # type: ignore[arg-type]
    order.sort()
    roles = ["ignore"] * channels
    names = roles_of(1 + channels)
    for name, (_, c) in zip(names, order, strict=False):  # type: ignore[misc]
        roles[c] = name
    return tuple(roles)


# -- plain-language verdicts ---------------------------------------------------------------

def snr_verdict(snr_db: float | None) -> str:
    if snr_db is None:
        return "no speech measured on this channel"
    if snr_db >= GOOD_SNR_DB:
        return f"SNR {snr_db:.0f} dB: good"
    if snr_db >= FAIR_SNR_DB:
        return f"SNR {snr_db:.0f} dB: usable; a quieter room or a closer microphone helps"
    return f"SNR {snr_db:.0f} dB: move the microphone closer or reduce the room noise"


def clip_verdict(levels: ChannelLevels) -> str | None:
    if levels.clipped_share > 0:
        return f"clipping ({levels.clipped_share:.2%} of samples): turn the input gain down"
    if levels.peak_dbfs > -1.0:
        return "peaks close to full scale: turn the input gain down a little"
    return None


def bleed_verdict(bleed_db: float | None) -> str | None:
    if bleed_db is None:
        return None
    if bleed_db > -6.0:
        return (f"crosstalk {bleed_db:.0f} dB: the microphones hear each other almost as "
                "well as their own speaker; clip each closer to its speaker")
    return None


MARGIN_HEADROOM_DB = 8.0  # bleed fluctuates frame to frame: keep the gate this far inside it


def suggested_margin_db(m: Measurement) -> float:
    """Crosstalk margin for the pipeline's gate: ``MARGIN_HEADROOM_DB`` inside the worst
    measured bleed, 3 to 10 dB, in half dB (6 dB, the default, when nothing was measured).
    At the generator's −14 dB bleed this gives the default 6 dB the accuracy tests use."""
    bleeds = [b for row in m.bleed_db for b in row if b is not None]
    if not bleeds:
        return 6.0
    return float(np.clip(round(2 * (-max(bleeds) - MARGIN_HEADROOM_DB)) / 2, 3.0, 10.0))
