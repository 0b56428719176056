"""Therapist voice enrolment: spectral statistics of ≥ 20 s of their speech, kept locally.

A voice print is the mean and covariance of 20 MFCCs (librosa) over the speech windows —
the statistics the spectral single-microphone attribution starts from (issue 3) — and the
learned voice embedding of that speech (speakers/encoder.py, issue 18). It is a
small ``.npz`` file beside the profile, never sent anywhere (its record and file format:
live_attune/speakers/voiceprint.py, where attribution reads it). The quality score (0–100)
says how much to trust it: enough speech, a clean signal, no clipping, a steady voice.
"""

from __future__ import annotations

import numpy as np

from live_attune.audio.vad import WINDOW
from live_attune.core.audio_facts import CLIP_LEVEL, SAMPLE_RATE
from live_attune.speakers.encoder import embed_utterance
from live_attune.speakers.voiceprint import (
    N_MFCC,
    VERSION,
    VoicePrint,
    VoicePrintError,
    load,
    save,
)

MIN_SPEECH_S = 20.0

__all__ = ["N_MFCC", "VERSION", "VoicePrint", "VoicePrintError", "enrol", "load", "save"]


def enrol(audio: np.ndarray, speech: np.ndarray, *, noise_floor_dbfs: float | None
          ) -> VoicePrint:
    """From mono ``audio`` and its per-32 ms-window speech flags (the therapist alone)."""
    import librosa

    mask = np.repeat(speech, WINDOW)[: len(audio)]
    voiced = audio[: len(mask)][mask]
    speech_s = len(voiced) / SAMPLE_RATE
    if speech_s < 2.0:
        raise VoicePrintError(f"only {speech_s:.1f} s of speech to enrol; need "
                              f"{MIN_SPEECH_S:.0f} s of the therapist speaking alone")
    mfcc = librosa.feature.mfcc(y=voiced.astype(np.float32), sr=SAMPLE_RATE, n_mfcc=N_MFCC,
                                n_fft=512, hop_length=160).T  # (frames, N_MFCC)
    level = 10 * np.log10(float(np.mean(voiced.astype(np.float64) ** 2)) + 1e-12)
    snr = None if noise_floor_dbfs is None else level - noise_floor_dbfs
    clipped = float(np.mean(np.abs(audio) >= CLIP_LEVEL))
    steady = _steadiness(mfcc)
    score, issues = _quality(speech_s, snr, clipped, steady)
    return VoicePrint(mfcc.mean(axis=0), np.cov(mfcc.T), speech_s, snr, score, issues,
                      embed_utterance(voiced))


def _steadiness(mfcc: np.ndarray) -> float:
    """Share of 1 s chunks whose mean lies within 3 SD of the whole (one steady voice)."""
    chunk = 100  # 100 frames of 10 ms
    means = [mfcc[i:i + chunk].mean(axis=0) for i in range(0, len(mfcc) - chunk + 1, chunk)]
    if len(means) < 2:
        return 1.0
    centre, spread = np.mean(means, axis=0), np.std(means, axis=0) + 1e-9
    z = np.abs((np.asarray(means) - centre) / spread).max(axis=1)
    return float(np.mean(z <= 3.0))


def _quality(speech_s: float, snr: float | None, clipped: float, steady: float
             ) -> tuple[int, tuple[str, ...]]:
    issues = []
    amount = min(1.0, speech_s / MIN_SPEECH_S)
    if amount < 1:
        issues.append(f"only {speech_s:.0f} s of speech (20 s wanted)")
    clean = 1.0 if snr is None else float(np.clip((snr - 5.0) / 15.0, 0.0, 1.0))
    if snr is not None and snr < 20:
        issues.append(f"SNR {snr:.0f} dB (20 dB wanted)")
    unclipped = 1.0 - min(1.0, clipped * 100)
    if clipped > 0:
        issues.append("clipping")
    if steady < 0.9:
        issues.append("the voice varies a lot: was someone else speaking too?")
    return round(100 * amount * clean * unclipped * min(1.0, steady / 0.9)), tuple(issues)
