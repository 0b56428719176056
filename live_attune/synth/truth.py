"""Ground truth from the clean tracks, and writing a rendered conversation to disk.

Truth segments are measured on each speaker's clean track (10 ms frames no more than 25 dB
under the voice's active speech level: quieter ones sink under a 20 dB SNR room's noise),
with METRICS.md's bridging (gaps < 0.25 s) and dropping (< 0.10 s) applied here,
independently of the engine's own code.
"""

from __future__ import annotations

import json
import wave
from dataclasses import asdict
from pathlib import Path

import numpy as np

from live_attune.synth.render import MixConfig, render
from live_attune.synth.scenario import SR, Conversation
from live_attune.synth.voices import audible

HOP = 160  # 10 ms at 16 kHz


def truth_segments(conv: Conversation, *, min_pause_s: float = 0.25,
                   min_speech_s: float = 0.10) -> list[tuple[str, float, float]]:
    """``(speaker, start_s, end_s)`` of each speech segment, sorted by start."""
    out = []
    for speaker, track in conv.tracks.items():
        for start, end in _runs(audible(track)):
            out.append((speaker, start * HOP / SR, end * HOP / SR))
    merged = []
    for speaker in conv.tracks:
        mine = [(s, e) for who, s, e in out if who == speaker]
        for s, e in _bridge(sorted(mine), min_pause_s):
            if e - s >= min_speech_s:
                merged.append((speaker, s, e))
    return sorted(merged, key=lambda x: x[1])


def write(conv: Conversation, out_dir: Path, mix: MixConfig | None = None) -> dict[str, Path]:
    """Write ``stereo.wav``, ``mono.wav`` and ``truth.json``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stereo, mono = render(conv, mix)
    paths = {"stereo": out_dir / "stereo.wav", "mono": out_dir / "mono.wav",
             "truth": out_dir / "truth.json"}
    write_wav(paths["stereo"], stereo)
    write_wav(paths["mono"], mono)
    paths["truth"].write_text(json.dumps(truth_dict(conv, mix or MixConfig()), indent=1))
    return paths


def truth_dict(conv: Conversation, mix: MixConfig) -> dict[str, object]:
    segs = truth_segments(conv)
    talk = {r: sum(e - s for who, s, e in segs if who == r) for r in conv.tracks}
    total = sum(talk.values())
    return {
        "seed": conv.seed,
        "duration_s": conv.duration_s,
        "mix": asdict(mix),
        "segments": [{"speaker": w, "start_s": s, "end_s": e} for w, s, e in segs],
        "talk_time_s": talk,
        "talk_share": {r: v / total for r, v in talk.items()},
        "turns": [asdict(t) for t in conv.turns],
        "interruptions": [asdict(e) for e in conv.interruptions],
        "backchannels": [asdict(e) for e in conv.backchannels],
        "response_latencies_s": response_latencies(conv),
        "utterances": [asdict(u) for u in conv.utterances],
    }


def response_latencies(conv: Conversation) -> list[float]:
    """Switch gaps before therapist turns that follow client turns (METRICS.md)."""
    pairs = zip(conv.turns, conv.turns[1:], strict=False)
    return [b.start_s - a.end_s for a, b in pairs
            if a.speaker == "client" and b.speaker == "therapist"]


def write_wav(path: Path, audio: np.ndarray, rate: int = SR) -> None:
    """16-bit PCM WAV of ``(channels, n)`` float audio."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(),
                    strict=True))


def _bridge(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in spans:
        if out and s - out[-1][1] < min_gap:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
