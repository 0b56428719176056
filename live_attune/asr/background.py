"""Transcription beside the analysis: utterances are transcribed as soon as they settle.

``analyze`` used to transcribe after the whole file was analysed (analysis, then Whisper
on both cores). ``BackgroundTranscriber`` runs ``transcribe_spoken`` on a thread fed
(utterance, audio) pairs while the analysis goes on, Whisper on one thread and the analysis
on the other core; ``SpanAudio`` keeps only the audio that an unsettled utterance may still
need. With one microphone per person the words are those ``transcribe_spans`` gives for the
same utterances: the same audio, packed the same way per speaker (CTranslate2's results do
not depend on its thread count; tested). One microphone sends its speech as one voice and
gives the words to the revised speakers at the end (``attribute_words``). A 10-minute
stereo session (bench/bench_memory.py, quiet 2-core machine): after 1.6-1.8 x
faster-whisper alone, beside on two threads 1.10 x, on one 0.93 x; peak memory 348 MB
after, 374 MB beside.
"""

from __future__ import annotations

import bisect
import contextlib
import queue
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np

from live_attune.asr.whisper import (
    default_model_path,
    joined_words,
    load_model,
    transcribe_spoken,
)
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import Segment, Transcript, Word
from live_attune.core.utterances import Span

Spoken = tuple[Span, np.ndarray]
BESIDE_THREADS = 1  # Whisper's threads beside the analysis, which has the other core


class SpanAudio:
    """The recent audio of a file read block by block: ``take`` cuts an utterance's samples
    (``int(s * rate)`` at both ends, as ``span_audio`` does); ``forget_before`` drops what no
    utterance can still need."""

    def __init__(self, channel_of: dict[str, int]) -> None:
        self._channel_of = channel_of
        self._blocks: list[tuple[int, np.ndarray]] = []  # (first sample, (channels, n))
        self._end = 0

    def add(self, block: np.ndarray) -> None:
        self._blocks.append((self._end, block))
        self._end += block.shape[1]

    def take(self, span: Span) -> np.ndarray:
        lo, hi = int(span.start_s * SAMPLE_RATE), int(span.end_s * SAMPLE_RATE)
        if self._blocks and lo < self._blocks[0][0]:
            raise ValueError(f"audio before {self._blocks[0][0]} was forgotten; {span} needs it")
        channel = self._channel_of[span.speaker]
        parts = [block[channel, max(lo, at) - at: min(hi, at + block.shape[1]) - at]
                 for at, block in self._blocks if at < hi and at + block.shape[1] > lo]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def forget_before(self, sample: int) -> None:
        while self._blocks and self._blocks[0][0] + self._blocks[0][1].shape[1] <= sample:
            self._blocks.pop(0)

    @property
    def held_samples(self) -> int:
        return sum(block.shape[1] for _, block in self._blocks)


class BackgroundTranscriber:
    """Whisper on its own thread, fed settled utterances with ``put``; ``finish`` waits for
    the last and returns every transcript (sorted as ``transcribe_spans`` sorts them).

    The model loads in the caller's thread, so a missing model fails before any audio. At
    most ``waiting`` utterances queue: a slower Whisper holds the analysis back rather than
    letting the session's speech pile up in memory. A failure on the thread is raised by the
    next ``put`` (which ends the thread) or by ``finish``; ``abandon`` stops the thread
    without finishing."""

    def __init__(self, model_path: Path | None = None, *, waiting: int = 24) -> None:
        self._model = load_model(model_path or default_model_path(), BESIDE_THREADS)
        self._queue: queue.Queue[Spoken | None] = queue.Queue(waiting)
        self._abandoned = threading.Event()
        self._error: BaseException | None = None
        self._out: list[Transcript] = []
        self._ended = False
        self._thread = threading.Thread(target=self._run, name="transcribe", daemon=True)
        self._thread.start()

    def put(self, span: Span, audio: np.ndarray) -> None:
        if self._error is not None:
            self.abandon()  # the thread ends here, whether or not the caller abandons
            raise self._error
        self._queue.put((span, audio))

    def finish(self) -> list[Transcript]:
        self._queue.put(None)
        self._thread.join()
        self._raise_failure()
        return self._out

    def abandon(self) -> None:
        self._abandoned.set()
        with contextlib.suppress(queue.Full):  # a busy thread sees the flag when it asks
            self._queue.put_nowait(None)        # for the next; this wakes a waiting one
        self._thread.join()

    def _raise_failure(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            self._out = transcribe_spoken(self._model, self._spoken())
        except _Abandoned:
            return
        except BaseException as exc:  # raised in the caller's thread by put/finish
            self._error = exc
            while not self._ended and self._queue.get() is not None:
                if self._abandoned.is_set():
                    break  # keep taking work so a waiting put returns and sees the failure

    def _spoken(self) -> Iterator[Spoken]:
        while True:
            item = self._queue.get()
            if self._abandoned.is_set():
                raise _Abandoned  # not even the packs still open are transcribed
            if item is None:
                self._ended = True  # finish's mark: nothing more will come
                return
            yield item


class _Abandoned(Exception):
    """The analysis failed or was stopped: the thread ends without its last packs."""


def attribute_words(spoken: list[Transcript], spans: list[Span], main_runs: list[Segment]
                    ) -> list[Transcript]:
    """Words transcribed from one microphone's speech, whoever spoke them, given to the
    utterances of the one heard saying them.

    Each word goes to the speaker holding the speech at its middle (``main_runs``: who
    holds it, one at a time, as the end-of-session revision decided; the nearest run where
    none covers the word), then to that speaker's utterance in ``spans`` around it (the
    nearest of theirs where none does). A run no utterance of its speaker overlaps (a
    sliver of a few frames the engine did not count as speech) holds nothing: its words go
    to the runs around it, as their audio went to the utterance around it when each
    utterance was transcribed. An utterance gets its words in order and the text they make;
    one without words gets no line, as on the per-utterance path."""
    own: dict[str, list[Span]] = {}
    for span in spans:
        own.setdefault(span.speaker, []).append(span)
    by_speaker = {who: _Timeline(theirs) for who, theirs in own.items()}
    runs = _Timeline([r for r in main_runs
                      if r.speaker in by_speaker and by_speaker[r.speaker].overlaps(r)])
    words: dict[Span, list[Word]] = {}
    for word in sorted((w for t in spoken for w in t.words), key=lambda w: w.start_s):
        mid_s = (word.start_s + word.end_s) / 2
        run = runs.around(mid_s)
        if run is None:
            continue  # nobody was heard in the whole session: no utterance to give it to
        if (theirs := by_speaker[run.speaker].around(mid_s)) is not None:
            words.setdefault(theirs, []).append(word)
    return sorted((Transcript(u.speaker, u.start_s, u.end_s, joined_words(ws), tuple(ws))
                   for u, ws in words.items()),
                  key=lambda t: (t.start_s, t.speaker))


_Timed = TypeVar("_Timed", Span, Segment)


class _Timeline(Generic[_Timed]):
    """Stretches of time that do not overlap, found by the time they cover."""

    def __init__(self, items: list[_Timed]) -> None:
        self._items: list[_Timed] = sorted(items, key=lambda x: x.start_s)
        self._starts: list[float] = [x.start_s for x in self._items]

    def overlaps(self, other: Segment) -> bool:
        """Whether any stretch overlaps ``other`` (the nearest to its middle does if any
        does: the stretches do not overlap each other)."""
        near = self.around((other.start_s + other.end_s) / 2)
        return near is not None and near.start_s < other.end_s and near.end_s > other.start_s

    def around(self, at_s: float) -> _Timed | None:
        """The stretch covering ``at_s``, else the nearest one (None: there are none)."""
        i = bisect.bisect_right(self._starts, at_s)
        near = self._items[max(i - 1, 0): i + 1]
        return min(near, key=lambda x: max(x.start_s - at_s, at_s - x.end_s, 0.0),
                   default=None)
