"""The live ASR worker's restart (live_attune/asr/worker.py) with the real bundled model.

A failure must not end transcription: the utterance it lost is recorded as missing audio and
the model is loaded afresh, because its state may be broken — a new model object, not the
cached broken one. It runs the model, so it is marked slow (README: ``-m "not slow"`` skips
the tests that run Whisper), though it takes about 2 s."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

import numpy as np
import pytest

from live_attune.asr.wer import wer
from live_attune.asr.whisper import default_model_path, load_model
from live_attune.asr.worker import AsrWorker
from live_attune.audio.decode import read_all
from live_attune.core.events import Transcript
from live_attune.core.utterances import Span


def _broken(*_: object, **__: object) -> np.ndarray:
    raise RuntimeError("simulated model failure")


@pytest.mark.slow
def test_a_broken_model_is_replaced_by_a_fresh_one_after_a_failure(
        shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    audio = read_all(shared_data / "asr/jfk.wav")[0]
    results: list[Transcript] = []
    worker = AsrWorker(results.append, threads=1)
    broken = load_model(default_model_path(), 1)
    assert worker._model is broken  # one model per path: the worker shares the cached one
    # break the model itself (every transcription through it raises), not the worker's code
    monkeypatch.setattr(broken, "feature_extractor", _broken)

    worker.submit(Span("client", 10.0, 10.0 + len(audio) / 16_000), audio, 0.0)
    worker.submit(Span("client", 40.0, 40.0 + len(audio) / 16_000), audio, 0.0)
    worker.close(60.0)  # finishes both jobs

    assert worker.restarts == 1
    assert [(m.at_s, m.what) for m in worker.missing] == [(10.0, "asr")]
    assert worker._model is not broken, "the restart reused the broken model"
    assert load_model(default_model_path(), 1) is worker._model  # the cache holds the new one
    assert [t.start_s for t in results] == [40.0]
    assert wer((shared_data / "asr/jfk.txt").read_text(), results[0].text) <= 0.10
    # one model per worker: nothing (the tokenizer cache included) keeps the broken one alive
    gone = weakref.ref(broken)
    monkeypatch.undo()
    del broken
    gc.collect()
    assert gone() is None, "the replaced model is still held: two models in memory"
