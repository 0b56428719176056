"""Prosody maths (METRICS.md § Prosody): pure functions over numpy arrays.

Frames are 64 ms long every 10 ms at 16 kHz; frame ``k`` covers samples
``[k * HOP, k * HOP + FRAME)`` and is stamped at its centre. F0 comes from YIN (librosa),
kept only where the frame is periodic (normalised autocorrelation at the YIN period ≥
``periodicity_min``) and inside the speaker's own speech. Speech rate counts syllable
nuclei as intensity peaks that are voiced and stand out by a dip (de Jong & Wempe 2009).
Entrainment is exploratory: published results on vocal synchrony and empathy disagree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from live_attune.core.audio_facts import HOP, SAMPLE_RATE

FRAME = 1024  # 64 ms: two periods of the lowest F0
REF_HZ = 100.0  # semitones are given relative to 100 Hz
YIN_FMIN_HZ = 60.0  # the F0 range YIN searches (here and in speakers/single.py)
YIN_FMAX_HZ = 400.0


@dataclass(frozen=True, kw_only=True)
class ProsodyConfig:
    fmin_hz: float = YIN_FMIN_HZ
    fmax_hz: float = YIN_FMAX_HZ
    periodicity_min: float = 0.5  # voiced: normalised autocorrelation at the period
    octave_guard_st: float = 9.0  # voiced frames this far from the turn's median are errors
    min_dip_db: float = 1.5  # a syllable peak stands out by this dip (de Jong & Wempe: 2)
    peak_floor_db: float = 25.0  # ... and lies within this of the speaker's loud frames
    smooth_frames: int = 1  # intensity smoothing before peak picking (1: none)

    def __post_init__(self) -> None:
        if not 0 < self.fmin_hz < self.fmax_hz <= SAMPLE_RATE / 4:
            raise ValueError("need 0 < fmin_hz < fmax_hz <= 4000")
        if not 0 < self.periodicity_min < 1:
            raise ValueError("periodicity_min must lie between 0 and 1")
        if self.min_dip_db <= 0 or self.peak_floor_db <= 0 or self.smooth_frames < 1:
            raise ValueError("min_dip_db, peak_floor_db and smooth_frames must be positive")


@dataclass(frozen=True, slots=True)
class FrameTrack:
    """Per-frame measures of one channel; frame ``i`` is frame number ``first + i``."""

    first: int
    f0_hz: np.ndarray  # (n,) float32, YIN estimate (meaningless where not voiced)
    periodicity: np.ndarray  # (n,) float32, normalised autocorrelation at the period
    level_db: np.ndarray  # (n,) float32, frame power in dBFS

    def times_s(self) -> np.ndarray:
        return (self.first + np.arange(len(self.f0_hz))) * HOP / SAMPLE_RATE + \
            FRAME / 2 / SAMPLE_RATE


YIN_CHUNK_FRAMES = 1000  # 10 s of frames per YIN call: ~25 MB of working arrays


def frame_track(audio: np.ndarray, *, first: int = 0,
                config: ProsodyConfig | None = None) -> FrameTrack:
    """Measure every whole frame of ``audio`` (float32 mono, 16 kHz)."""
    from live_attune.core.pitch import yin

    cfg = config or ProsodyConfig()
    n = 0 if len(audio) < FRAME else 1 + (len(audio) - FRAME) // HOP
    if n == 0:
        empty = np.zeros(0, np.float32)
        return FrameTrack(first, empty, empty, empty)
    x = np.ascontiguousarray(audio[: (n - 1) * HOP + FRAME], dtype=np.float32)
    # YIN holds a few copies of every frame at once: at most YIN_CHUNK_FRAMES a call (each
    # frame is measured alone, so the values are the same as in one call)
    f0 = np.concatenate([
        yin(x[i * HOP:(min(i + YIN_CHUNK_FRAMES, n) - 1) * HOP + FRAME], fmin_hz=cfg.fmin_hz,
            fmax_hz=cfg.fmax_hz, sample_rate=SAMPLE_RATE, frame_length=FRAME, hop_length=HOP)
        for i in range(0, n, YIN_CHUNK_FRAMES)])
    frames = np.lib.stride_tricks.sliding_window_view(x, FRAME)[::HOP][:n]
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    level = 10 * np.log10(np.maximum(power, 1e-12))
    return FrameTrack(first, f0.astype(np.float32), _periodicity(frames, f0).astype(np.float32),
                      level.astype(np.float32))


def _periodicity(frames: np.ndarray, f0_hz: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation of each frame at its YIN period (1: perfectly periodic)."""
    lags = np.clip(np.round(SAMPLE_RATE / np.maximum(f0_hz, 1.0)).astype(int), 1, FRAME // 2)
    out = np.zeros(len(frames))
    for i, (frame, lag) in enumerate(zip(frames.astype(np.float64), lags, strict=True)):
        a, b = frame[:-lag], frame[lag:]
        denom = math.sqrt(float(a @ a) * float(b @ b))
        out[i] = float(a @ b) / denom if denom > 0 else 0.0
    return out


def semitones(f0_hz: np.ndarray) -> np.ndarray:
    """Semitones relative to 100 Hz."""
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / REF_HZ)


def voiced_mask(track: FrameTrack, in_speech: np.ndarray,
                config: ProsodyConfig | None = None) -> np.ndarray:
    """Frames that are speech, periodic and within the F0 range."""
    cfg = config or ProsodyConfig()
    f0 = track.f0_hz
    return (in_speech & (track.periodicity >= cfg.periodicity_min) & (f0 > cfg.fmin_hz * 1.01)
            & (f0 < cfg.fmax_hz * 0.99))


def pitch_stats_st(f0_hz: np.ndarray, config: ProsodyConfig | None = None
                   ) -> tuple[float | None, float | None]:
    """Mean and SD of F0 in semitones, octave errors (far from the median) left out."""
    cfg = config or ProsodyConfig()
    if len(f0_hz) == 0:
        return None, None
    st = semitones(f0_hz)
    kept = st[np.abs(st - np.median(st)) <= cfg.octave_guard_st]
    if len(kept) == 0:
        return None, None
    return float(np.mean(kept)), float(np.std(kept))


def loudness_db(level_db: np.ndarray) -> float | None:
    """RMS level (dBFS) of the given frames: the power mean, not the mean of dB values."""
    if len(level_db) == 0:
        return None
    return float(10 * np.log10(np.mean(10 ** (np.asarray(level_db, np.float64) / 10))))


def syllable_nuclei(level_db: np.ndarray, voiced: np.ndarray, in_speech: np.ndarray, *,
                    reference_db: float, config: ProsodyConfig | None = None) -> np.ndarray:
    """Frame indices of syllable nuclei (de Jong & Wempe 2009).

    A nucleus is a local maximum of the smoothed intensity, inside speech, voiced, no more
    than ``peak_floor_db`` under ``reference_db`` (the speaker's loud level), and at least
    ``min_dip_db`` above the lowest intensity since the previous nucleus.
    """
    cfg = config or ProsodyConfig()
    if len(level_db) < 3:
        return np.zeros(0, int)
    k = cfg.smooth_frames
    smooth = np.convolve(level_db.astype(np.float64), np.ones(k) / k, mode="same")
    peak = (smooth[1:-1] >= smooth[:-2]) & (smooth[1:-1] > smooth[2:])
    candidates = np.flatnonzero(peak) + 1
    floor = reference_db - cfg.peak_floor_db
    kept_candidates = [int(i) for i in candidates
                       if in_speech[i] and voiced[i] and smooth[i] >= floor]
    kept: list[int] = []
    for i in kept_candidates:
        if not kept:
            kept.append(i)
            continue
        dip = smooth[kept[-1]: i + 1].min()
        if smooth[i] - dip >= cfg.min_dip_db and smooth[kept[-1]] - dip >= cfg.min_dip_db:
            kept.append(i)
        elif smooth[i] > smooth[kept[-1]]:
            kept[-1] = i  # the same syllable, its louder peak
    return np.asarray(kept, int)


@dataclass(frozen=True, slots=True)
class TurnProsody:
    """Prosody of one turn (METRICS.md § Prosody); None where there was too little voice."""

    speaker: str
    start_s: float
    end_s: float
    speech_s: float  # the speaker's own speech time inside the turn
    voiced_s: float
    f0_mean_st: float | None  # semitones re 100 Hz
    f0_sd_st: float | None
    f0_mean_hz: float | None
    loudness_db: float | None  # RMS dBFS over the speech
    syllables: int
    rate_syl_s: float | None  # syllables per second of speech
    wpm: float | None = None  # words per minute of speech, when there is a transcript
    arousal: float | None = None  # z(F0) + z(loudness) over two, per speaker; set at the end


def summarize_turn(speaker: str, start_s: float, end_s: float, track: FrameTrack,
                   speech: Sequence[tuple[float, float]], *, reference_db: float,
                   config: ProsodyConfig | None = None) -> TurnProsody:
    """One turn from its channel's frames and the speaker's speech spans inside it."""
    cfg = config or ProsodyConfig()
    times = track.times_s()
    in_speech = np.zeros(len(times), bool)
    for a, b in speech:
        in_speech |= (times >= a) & (times < b)
    voiced = voiced_mask(track, in_speech, cfg)
    mean_st, sd_st = pitch_stats_st(track.f0_hz[voiced], cfg)
    nuclei = syllable_nuclei(track.level_db, voiced, in_speech, reference_db=reference_db,
                             config=cfg)
    speech_s = float(sum(b - a for a, b in speech))
    hop_s = HOP / SAMPLE_RATE
    return TurnProsody(
        speaker, start_s, end_s, speech_s, float(voiced.sum() * hop_s), mean_st, sd_st,
        None if mean_st is None else float(REF_HZ * 2 ** (mean_st / 12)),
        loudness_db(track.level_db[in_speech]), len(nuclei),
        len(nuclei) / speech_s if speech_s > 0 else None)


def with_arousal(turns: Sequence[TurnProsody]) -> list[TurnProsody]:
    """Each turn's arousal index: the mean of its speaker-wise z-scored F0 and loudness."""
    from dataclasses import replace

    out = []
    stats = {s: (_mean_sd([t.f0_mean_st for t in turns if t.speaker == s]),
                 _mean_sd([t.loudness_db for t in turns if t.speaker == s]))
             for s in {t.speaker for t in turns}}
    for t in turns:
        (fm, fs), (lm, ls) = stats[t.speaker]
        if None in (t.f0_mean_st, t.loudness_db, fm, lm) or not fs or not ls:
            out.append(t)
            continue
        z = ((t.f0_mean_st - fm) / fs + (t.loudness_db - lm) / ls) / 2  # type: ignore[operator]
        out.append(replace(t, arousal=float(z)))
    return out


def _mean_sd(values: Sequence[float | None]) -> tuple[float | None, float | None]:
    vals = [v for v in values if v is not None]
    if len(vals) < 2:
        return None, None
    return float(np.mean(vals)), float(np.std(vals))


@dataclass(frozen=True, slots=True)
class FeatureEntrainment:
    """Exploratory: how one feature of a turn follows the other speaker's previous turn."""

    pairs: int
    synchrony_r: float | None  # Pearson r, previous turn's value vs the answering turn's
    convergence_r: float | None  # Pearson r of |difference| with time (< 0: converging)


ENTRAINMENT_FEATURES = ("f0_mean_st", "loudness_db", "rate_syl_s")


def entrainment(turns: Sequence[TurnProsody], *, lead: str, follow: str
                ) -> dict[str, FeatureEntrainment]:
    """How ``follow``'s turns track the ``lead`` turn just before them, per feature.

    Only ordered pairs (a ``lead`` turn, then the ``follow`` turn right after it): pooling
    both directions would correlate two different voices' levels, not entrainment.
    """
    out = {}
    ordered = [(p, q) for p, q in itertools.pairwise(turns)
               if p.speaker == lead and q.speaker == follow]
    for feature in ENTRAINMENT_FEATURES:
        pairs = [(getattr(p, feature), getattr(q, feature), q.start_s) for p, q in ordered
                 if getattr(p, feature) is not None and getattr(q, feature) is not None]
        x = [p for p, _, _ in pairs]
        y = [q for _, q, _ in pairs]
        t = [s for _, _, s in pairs]
        out[feature] = FeatureEntrainment(
            len(pairs), _pearson(x, y),
            _pearson(t, [abs(p - q) for p, q in zip(x, y, strict=True)]))
    return out


def _pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 3:
        return None
    xa, ya = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if xa.std() == 0 or ya.std() == 0:
        return None
    return float(np.corrcoef(xa, ya)[0, 1])


@dataclass(frozen=True, slots=True)
class Baseline:
    """A speaker's usual rate and loudness (calibration, or the session's first minutes)."""

    rate_syl_s: float
    loudness_db: float


def baseline(turns: Sequence[TurnProsody], speaker: str, *, min_speech_s: float
             ) -> Baseline | None:
    """Median rate and loudness over the speaker's first turns, once they hold
    ``min_speech_s`` of speech; None before that."""
    mine = [t for t in turns if t.speaker == speaker and t.rate_syl_s is not None
            and t.loudness_db is not None]
    total, used = 0.0, []
    for t in mine:
        used.append(t)
        total += t.speech_s
        if total >= min_speech_s:
            rates = [u.rate_syl_s for u in used]
            levels = [u.loudness_db for u in used]
            return Baseline(float(np.median(rates)), float(np.median(levels)))  # type: ignore[arg-type]
    return None


RATE_USUAL = 0.05  # within ±5 % of the baseline rate is "as usual" (live cue)
LOUDNESS_USUAL_DB = 1.5  # within ±1.5 dB of the baseline loudness is "as usual"


@dataclass(frozen=True, slots=True)
class ProsodyCue:
    """The latest turn against the speaker's baseline, for the live view."""

    rate_ratio: float | None  # 1.15: 15 % faster than usual
    loudness_delta_db: float | None  # +3: 3 dB louder than usual
    rate_label: str | None  # "as usual", "faster", "slower"
    loudness_label: str | None  # "as usual", "louder", "softer"


def cue(turn: TurnProsody, base: Baseline | None) -> ProsodyCue:
    if base is None:
        return ProsodyCue(None, None, None, None)
    rate = None if turn.rate_syl_s is None or base.rate_syl_s <= 0 else \
        turn.rate_syl_s / base.rate_syl_s
    loud = None if turn.loudness_db is None else turn.loudness_db - base.loudness_db
    rate_label = None if rate is None else "as usual" if abs(rate - 1) < RATE_USUAL else (
        "faster" if rate > 1 else "slower")
    loud_label = None if loud is None else "as usual" if abs(loud) < LOUDNESS_USUAL_DB else (
        "louder" if loud > 0 else "softer")
    return ProsodyCue(rate, loud, rate_label, loud_label)


def speaker_summary(turns: Sequence[TurnProsody]) -> dict[str, dict[str, float | None]]:
    """Per speaker over the session: speech-weighted means of the turn measures."""
    out: dict[str, dict[str, float | None]] = {}
    for s in sorted({t.speaker for t in turns}):
        mine = [t for t in turns if t.speaker == s]
        out[s] = {f: _weighted([(getattr(t, f), t.speech_s) for t in mine])
                  for f in ("f0_mean_st", "f0_sd_st", "loudness_db", "rate_syl_s")}
    return out


def _weighted(values: Sequence[tuple[float | None, float]]) -> float | None:
    pairs = [(v, w) for v, w in values if v is not None and w > 0]
    total = sum(w for _, w in pairs)
    return sum(v * w for v, w in pairs) / total if total > 0 else None
