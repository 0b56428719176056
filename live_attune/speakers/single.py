"""Single-microphone attribution: who is speaking when everyone shares one microphone.

Theory of operation (no learned weights: spectral statistics, as issue 3 allows):
speech windows of 1.5 s every 0.5 s (Silero VAD speech only) are described by their mean
MFCCs (c1..c19: the vocal tract's shape, loudness left out) and their median pitch in
semitones; the features are standardised and clustered bottom-up (Ward). The number of
speakers is given or chosen by the silhouette score (2..``max_speakers``). Each speech frame
takes the label of the nearest window. Roles: with a therapist voice print (calibration
``--enrol``), the cluster nearest to the print is the therapist; without one, the stated
heuristic is that **the first person to speak is the therapist** (therapists open their
sessions), and ``--swap-roles`` turns it round. A frame also counts for a second speaker
(overlap) when its window's mel spectrum is explained by a mix of two speakers' templates
much better than by either alone.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np

from live_attune.audio.vad import WINDOW
from live_attune.core.audio_facts import HOP, HOP_S, SAMPLE_RATE
from live_attune.core.events import Segment
from live_attune.core.prosody import FRAME, YIN_FMAX_HZ, YIN_FMIN_HZ, semitones
from live_attune.core.roles import THERAPIST, client_role

FRAME_S = WINDOW / SAMPLE_RATE  # the VAD's 32 ms frames
N_MFCC = 20


@dataclass(frozen=True, kw_only=True)
class SingleMicConfig:
    speakers: int | None = None  # None: estimate 2..max_speakers
    max_speakers: int = 3
    window_s: float = 1.5
    hop_s: float = 0.5
    min_speech_share: float = 0.5  # a window needs this much speech to be described
    pitch_weight: float = 2.0  # pitch is one number among 19 MFCCs: weigh it up
    overlap_gain: float = 0.35  # a two-speaker mix must explain this much more energy

    def __post_init__(self) -> None:
        if self.speakers is not None and not 1 <= self.speakers <= 8:
            raise ValueError("speakers must be between 1 and 8")
        if not 2 <= self.max_speakers <= 8:
            raise ValueError("max_speakers must be between 2 and 8")
        if not 0 < self.hop_s <= self.window_s:
            raise ValueError("need 0 < hop_s <= window_s")


@dataclass(frozen=True, slots=True)
class Attribution:
    """Per 32 ms VAD frame: the main speaker's index (-1: nobody) and overlap."""

    labels: np.ndarray  # (frames,) int
    second: np.ndarray  # (frames,) int: a second speaker at the same time, or -1
    roles: tuple[str, ...]  # role of each speaker index
    confidence: np.ndarray  # (frames,) 0..1: how clearly the frame's window belongs
    method: str


def mfcc_frames(audio: np.ndarray) -> np.ndarray:
    """(frames, N_MFCC) MFCCs every 10 ms (25 ms windows): shared with voice enrolment."""
    return _mfcc(_power(audio))


@functools.cache
def _mel_bases() -> tuple[np.ndarray, np.ndarray]:
    """librosa's mel filter banks for 512-point FFTs: 128 bands (MFCC), 40 bands (overlap)."""
    import librosa

    return (librosa.filters.mel(sr=SAMPLE_RATE, n_fft=512, n_mels=128),
            librosa.filters.mel(sr=SAMPLE_RATE, n_fft=512, n_mels=40))


def _power(audio: np.ndarray) -> np.ndarray:
    """(257, frames) power spectrogram, 512-point Hann frames every HOP samples, centred."""
    import librosa

    return np.asarray(np.abs(librosa.stft(audio.astype(np.float32), n_fft=512,
                                          hop_length=HOP)) ** 2)


def _mfcc(power: np.ndarray) -> np.ndarray:
    """librosa.feature.mfcc's definition (128 mel bands, dB with an 80 dB floor, DCT-II)."""
    import librosa
    import scipy.fft

    db = librosa.power_to_db(_mel_bases()[0] @ power)
    return np.asarray(scipy.fft.dct(db, axis=0, type=2, norm="ortho")[:N_MFCC].T)


def attribute(audio: np.ndarray, speech: np.ndarray, *, voice_mean: np.ndarray | None = None,
              voice_cov: np.ndarray | None = None, config: SingleMicConfig | None = None
              ) -> Attribution:
    """Attribute the speech of mono ``audio`` (16 kHz) given its per-frame VAD flags."""
    cfg = config or SingleMicConfig()
    centres, feats, mean_mfcc, mel = _windows(audio, speech, cfg)
    return decide(speech, centres, feats, mean_mfcc, mel, voice_mean=voice_mean,
                  voice_cov=voice_cov, config=cfg)


def decide(speech: np.ndarray, centres: np.ndarray, feats: np.ndarray, mean_mfcc: np.ndarray,
           mel: np.ndarray, *, voice_mean: np.ndarray | None = None,
           voice_cov: np.ndarray | None = None, config: SingleMicConfig | None = None
           ) -> Attribution:
    """From described windows (centres s, features, raw MFCC means, mel power) to every
    speech frame's speaker: shared by the offline path and the live session's revision."""
    cfg = config or SingleMicConfig()
    if len(feats) < 4:
        return _one_speaker(speech)
    z = (feats - feats.mean(axis=0)) / (feats.std(axis=0) + 1e-9)
    z[:, -1] *= cfg.pitch_weight
    sample = _subsample(len(z))
    k = cfg.speakers or choose_k(z[sample], cfg.max_speakers)
    window_labels = cluster(z, k, sample)
    roles = assign_roles(window_labels, centres, mean_mfcc, voice_mean, voice_cov, k)
    labels, conf = _frame_labels(speech, centres, window_labels, z, cfg)
    second = _overlaps(labels, centres, window_labels, mel, cfg)
    method = "voice print + clustering" if voice_mean is not None else "clustering"
    return Attribution(labels, second, roles, conf, method)


CHUNK_HOPS = 2000  # offline, features are computed 20 s at a time: memory stays small
BLOCK_CONTEXT = 640  # samples each side of a block: YIN's 1024-sample frames are centred


def frame_features(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every 10 ms: MFCCs (frames, 20), YIN pitch in Hz (frames,), mel power (frames, 40).

    Computed in 20 s blocks (a whole session at once would need gigabytes for YIN's frame
    matrix), each with the samples around it, as the live path computes its 0.5 s blocks."""
    n = len(audio) // HOP + 1
    padded = np.concatenate([np.zeros(BLOCK_CONTEXT, np.float32), audio.astype(np.float32),
                             np.zeros(BLOCK_CONTEXT + CHUNK_HOPS * HOP, np.float32)])
    blocks = [block_features(padded[first * HOP: (first + CHUNK_HOPS) * HOP + 2 * BLOCK_CONTEXT])
              for first in range(0, n, CHUNK_HOPS)]
    return tuple(np.concatenate(parts)[:n] for parts in zip(*blocks, strict=True))  # type: ignore[return-value]


def block_features(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frames centred on ``samples[BLOCK_CONTEXT:-BLOCK_CONTEXT]`` (one every HOP samples), from
    samples that carry BLOCK_CONTEXT more on each side."""
    import librosa

    samples = samples.astype(np.float32)
    n = (len(samples) - 2 * BLOCK_CONTEXT) // HOP
    first = BLOCK_CONTEXT // HOP
    power = _power(samples)  # one spectrogram for the MFCCs and the mel power
    mf = _mfcc(power)[first:first + n]
    f0 = librosa.yin(samples, fmin=YIN_FMIN_HZ, fmax=YIN_FMAX_HZ, sr=SAMPLE_RATE,
                     frame_length=FRAME, hop_length=HOP)[first:first + n]
    mel = (_mel_bases()[1] @ power).T[first:first + n]
    return mf, f0, mel


def speech_at_frames(speech: np.ndarray, first: int, n: int) -> np.ndarray:
    """The VAD's 32 ms flags read at ``n`` 10 ms frames from frame ``first`` (only the
    flags around those frames are read: live, ``speech`` grows all session)."""
    t = (first + np.arange(n)) * HOP_S
    if n == 0 or len(speech) == 0:
        return np.zeros(n, bool)
    lo = max(0, int(t[0] / FRAME_S) - 1)
    hi = min(len(speech), int(t[-1] / FRAME_S) + 2)
    return np.asarray(np.interp(t, np.arange(lo, hi) * FRAME_S, speech[lo:hi].astype(float))
                      > 0.5)


def describe_window(mf: np.ndarray, f0: np.ndarray, mel: np.ndarray, on: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A window's features (MFCC c1..c19 means + median pitch in semitones re 100 Hz), its
    MFCC c0..c19 means (for the voice print) and mean mel power (for overlap), over its
    speech frames ``on``."""
    m, pitch = mf[on], f0[on]
    st = float(semitones(np.median(pitch))) if len(pitch) else 0.0
    return np.concatenate([m[:, 1:].mean(axis=0), [st]]), m.mean(axis=0), mel[on].mean(axis=0)


def _windows(audio: np.ndarray, speech: np.ndarray, cfg: SingleMicConfig
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Window centres (s), features (MFCC means + pitch), raw MFCC means, mel power."""
    mf, f0, mel = frame_features(audio)
    on_all = speech_at_frames(speech, 0, len(mf))
    win, hop = round(cfg.window_s / HOP_S), round(cfg.hop_s / HOP_S)
    centres, described = [], []
    for start in range(0, max(1, len(mf) - win + 1), hop):
        sl = slice(start, start + win)
        if on_all[sl].mean() < cfg.min_speech_share:
            continue
        centres.append((start + win / 2) * HOP_S)
        described.append(describe_window(mf[sl], f0[sl], mel[sl], on_all[sl]))
    feats, means, mels = (np.asarray(x) for x in zip(*described, strict=True)) if described \
        else (np.zeros((0, N_MFCC)), np.zeros((0, N_MFCC)), np.zeros((0, 40)))
    return np.asarray(centres), feats, means, mels


MAX_WARD = 1500  # windows clustered bottom-up (O(n²) memory); the rest join the nearest


def _subsample(n: int) -> np.ndarray:
    """Evenly spread indices of at most MAX_WARD windows (deterministic)."""
    return np.unique(np.linspace(0, n - 1, min(n, MAX_WARD)).astype(int))


def cluster(z: np.ndarray, k: int, sample: np.ndarray) -> np.ndarray:
    """Ward on ``sample``, then every window to the nearest centroid, refined by k-means
    steps over all windows (a 1-hour session has ~7000 windows: Ward on all would need
    hundreds of MB for its distance matrix)."""
    from scipy.spatial.distance import cdist

    labels = np.zeros(len(z), int)
    labels[sample] = ward(z[sample], k)
    cents = np.stack([z[sample][labels[sample] == c].mean(0) for c in range(k)])
    for _ in range(10):
        labels = cdist(z, cents).argmin(1)
        new = np.stack([z[labels == c].mean(0) if (labels == c).any() else cents[c]
                        for c in range(k)])
        if np.allclose(new, cents):
            break
        cents = new
    order = {c: i for i, c in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[c] for c in labels.tolist()])


def ward(z: np.ndarray, k: int) -> np.ndarray:
    """Ward agglomerative clustering into ``k`` clusters (labels 0..k-1 by first use)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    raw = fcluster(linkage(z, method="ward"), t=k, criterion="maxclust")
    order = {c: i for i, c in enumerate(dict.fromkeys(raw))}
    return np.array([order[c] for c in raw])


def choose_k(z: np.ndarray, max_k: int) -> int:
    """The number of speakers (2..max_k) with the best silhouette score."""
    best, best_score = 2, -1.0
    for k in range(2, max_k + 1):
        labels = ward(z, k)
        if len(set(labels)) < 2:
            continue
        score = silhouette(z, labels)
        if score > best_score + 0.02:  # a third speaker must earn its place
            best, best_score = k, score
    return best


def silhouette(z: np.ndarray, labels: np.ndarray) -> float:
    from scipy.spatial.distance import pdist, squareform

    d = squareform(pdist(z))
    scores = []
    for i in range(len(z)):
        own = labels == labels[i]
        if own.sum() < 2:
            scores.append(0.0)
            continue
        a = d[i, own].sum() / (own.sum() - 1)
        b = min(d[i, labels == c].mean() for c in set(labels) if c != labels[i])
        scores.append((b - a) / max(a, b))
    return float(np.mean(scores))


def assign_roles(labels: np.ndarray, centres: np.ndarray, mean_mfcc: np.ndarray,
           voice_mean: np.ndarray | None, voice_cov: np.ndarray | None, k: int
           ) -> tuple[str, ...]:
    if voice_mean is not None and voice_cov is not None:
        inv = np.linalg.pinv(voice_cov)
        dist = [float((mean_mfcc[labels == c].mean(0) - voice_mean) @ inv @
                      (mean_mfcc[labels == c].mean(0) - voice_mean)) for c in range(k)]
        therapist = int(np.argmin(dist))
    else:
        therapist = int(labels[np.argmin(centres)])  # the first to speak
    names = (client_role(i) for i in itertools.count(1))
    return tuple(THERAPIST if c == therapist else next(names) for c in range(k))


def _frame_labels(speech: np.ndarray, centres: np.ndarray, labels: np.ndarray,
                  z: np.ndarray, cfg: SingleMicConfig) -> tuple[np.ndarray, np.ndarray]:
    """Each speech frame: the label of the nearest window (and that window's margin)."""
    times = (np.arange(len(speech)) + 0.5) * FRAME_S
    nearest = np.clip(np.searchsorted(centres, times), 1, len(centres) - 1)
    left = np.abs(times - centres[nearest - 1]) <= np.abs(times - centres[nearest])
    idx = np.where(left, nearest - 1, nearest)
    out = np.where(speech, labels[idx], -1)
    cents = np.stack([z[labels == c].mean(0) for c in range(labels.max() + 1)])
    d = np.sqrt(((z[:, None, :] - cents[None]) ** 2).sum(-1))
    srt = np.sort(d, axis=1)
    margin = (srt[:, 1] - srt[:, 0]) / (srt[:, 1] + 1e-9) if d.shape[1] > 1 else np.ones(len(z))
    return out, np.where(speech, margin[idx], 0.0)


def _overlaps(labels: np.ndarray, centres: np.ndarray, window_labels: np.ndarray,
              mel: np.ndarray, cfg: SingleMicConfig) -> np.ndarray:
    """Frames where a second speaker is heard too: the window's mean mel power is fitted
    by a non-negative mix of two speakers' templates much better than by its own alone."""
    k = window_labels.max() + 1
    second = np.full(len(labels), -1)
    if k < 2:
        return second
    templates = np.stack([np.median(mel[window_labels == c], axis=0) for c in range(k)])
    templates /= templates.sum(axis=1, keepdims=True)
    times = (np.arange(len(labels)) + 0.5) * FRAME_S
    for w, (centre, own) in enumerate(zip(centres, window_labels, strict=True)):
        spec = mel[w] / mel[w].sum()
        alone = _fit_error(spec, templates[[own]])
        for other in range(k):
            if other == own:
                continue
            both = _fit_error(spec, templates[[own, other]])
            if alone > 0 and (alone - both) / alone >= cfg.overlap_gain:
                span = (np.abs(times - centre) <= cfg.hop_s / 2) & (labels >= 0)
                second[span] = other
    return second


def _fit_error(spec: np.ndarray, basis: np.ndarray) -> float:
    """Squared log-spectral error of the best non-negative mix of ``basis`` rows."""
    from scipy.optimize import nnls

    coef, _ = nnls(basis.T, spec)
    fit = basis.T @ coef
    return float(np.mean((np.log(spec + 1e-9) - np.log(fit + 1e-9)) ** 2))


def _one_speaker(speech: np.ndarray) -> Attribution:
    labels = np.where(speech, 0, -1)
    return Attribution(labels, np.full(len(speech), -1), (THERAPIST,),
                       np.where(speech, 1.0, 0.0), "too little speech to tell voices apart")



@dataclass(frozen=True, slots=True)
class AttributedSpan:
    """A run of frames given to one speaker, with how clearly (0..1: the margin between
    the nearest and the next voice cluster, averaged over the run)."""

    speaker: str
    start_s: float
    end_s: float
    confidence: float


def attributed_spans(labels: np.ndarray, confidence: np.ndarray, roles: tuple[str, ...]
                     ) -> list[AttributedSpan]:
    out = []
    change = np.flatnonzero(np.diff(np.concatenate([[-2], labels, [-2]])))
    for a, b in itertools.pairwise(change):
        if labels[a] >= 0:
            out.append(AttributedSpan(roles[labels[a]], a * FRAME_S, b * FRAME_S,
                                      round(float(confidence[a:b].mean()), 3)))
    return out


def role_segments(labels: np.ndarray, second: np.ndarray, roles: tuple[str, ...]
                  ) -> list[Segment]:
    """Per-frame decisions (main speaker, overlapping second) → each role's segments."""
    out = []
    for idx, role in enumerate(roles):
        on = ((labels == idx) | (second == idx)).astype(int)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on, [0]])))
        out += [Segment(role, a * FRAME_S, b * FRAME_S)
                for a, b in zip(edges[::2], edges[1::2], strict=True)]
    return sorted(out, key=lambda s: s.start_s)
