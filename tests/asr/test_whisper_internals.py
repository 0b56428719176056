"""The faster-whisper internals that live_attune/asr/whisper.py relies on, checked without a model.

The live path (``transcribe_short``) encodes a short mel window itself and times words from
the cross-attention alignment, so it reaches past faster-whisper's public API: the model's
``feature_extractor``, ``hf_tokenizer`` and ``model`` (the CTranslate2 Whisper), its
``find_alignment``, ``faster_whisper.tokenizer.Tokenizer`` and
``faster_whisper.transcribe.merge_punctuations``. None of these is promised across releases,
so pyproject.toml pins faster-whisper to the versions whose source was read (1.1.0, 1.1.1 and
1.2.1: the same signatures and behaviour). Each failure here names the internal and the pin:
adapt whisper.py to the new version before widening the pin.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn

import ctranslate2
import pytest
import tokenizers
from faster_whisper import tokenizer as fw_tokenizer
from faster_whisper import transcribe as fw_transcribe
from faster_whisper.feature_extractor import FeatureExtractor
from packaging.requirements import Requirement

from live_attune.asr.whisper import APPENDED, PREPENDED, default_model_path

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def _pin() -> Requirement:
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(r for r in map(Requirement, deps) if r.name == "faster-whisper")


def _fail(internal: str, problem: str) -> NoReturn:
    pytest.fail(f"faster-whisper {version('faster-whisper')}: {internal} {problem}. "
                f"live_attune/asr/whisper.py relies on it; pyproject.toml pins {_pin()} — "
                "adapt whisper.py before widening the pin", pytrace=False)


def test_faster_whisper_is_pinned_to_the_checked_versions() -> None:
    pin, installed = _pin(), version("faster-whisper")
    assert any(s.operator in ("<", "<=", "==", "~=") for s in pin.specifier), (
        f"pyproject.toml pins {pin}: no upper bound, so an unchecked release may break "
        "transcribe_short's use of faster-whisper internals")
    assert pin.specifier.contains(installed), (
        f"faster-whisper {installed} is outside the pin {pin}: its internals are unchecked")


# (internal, how to reach it, leading positional parameters after self as whisper.py passes
#  them, keyword parameters whisper.py passes by name)
SIGNATURES: list[tuple[str, Callable[[], Any], tuple[str, ...], tuple[str, ...]]] = [
    ("WhisperModel()", lambda: fw_transcribe.WhisperModel.__init__,
     ("model_size_or_path",), ("device", "compute_type", "cpu_threads", "local_files_only")),
    ("WhisperModel.transcribe", lambda: fw_transcribe.WhisperModel.transcribe, ("audio",),
     ("language", "beam_size", "temperature", "condition_on_previous_text", "vad_filter",
      "word_timestamps")),
    ("WhisperModel.find_alignment", lambda: fw_transcribe.WhisperModel.find_alignment,
     ("tokenizer", "text_tokens", "encoder_output", "num_frames"), ()),
    ("faster_whisper.tokenizer.Tokenizer()", lambda: fw_tokenizer.Tokenizer.__init__,
     ("tokenizer", "multilingual"), ("task", "language")),
    ("Tokenizer.decode", lambda: fw_tokenizer.Tokenizer.decode, ("tokens",), ()),
    ("faster_whisper.transcribe.merge_punctuations", lambda: fw_transcribe.merge_punctuations,
     ("alignment", "prepended", "appended"), ()),
    ("FeatureExtractor.__call__", lambda: FeatureExtractor.__call__, ("waveform",), ()),
]


@pytest.mark.parametrize(("internal", "get", "positional", "keywords"), SIGNATURES,
                         ids=[s[0] for s in SIGNATURES])
def test_the_internals_keep_their_signatures(internal: str, get: Callable[[], Any],
                                             positional: tuple[str, ...],
                                             keywords: tuple[str, ...]) -> None:
    try:
        params = [p for p in inspect.signature(get()).parameters if p != "self"]
    except AttributeError:
        _fail(internal, "is missing")
    if tuple(params[:len(positional)]) != positional:
        _fail(internal, f"takes {params} (whisper.py passes {list(positional)} by position)")
    if missing := [k for k in keywords if k not in params]:
        _fail(internal, f"has no parameter {missing} (it takes {params})")


def test_whisper_model_still_sets_the_attributes_used() -> None:
    source = inspect.getsource(fw_transcribe.WhisperModel.__init__)
    for attribute in ("self.feature_extractor = FeatureExtractor(", "self.hf_tokenizer = ",
                      "self.model = ctranslate2.models.Whisper("):
        if attribute not in source:
            _fail(f"WhisperModel.{attribute.split()[0][5:]}", f"is no longer set as "
                  f"`{attribute}` in WhisperModel.__init__")


def test_the_ctranslate2_whisper_calls_keep_their_keywords() -> None:
    # pybind11 methods have no inspect.signature; their docstring's first line is theirs
    for method, keywords in (("encode", ("to_cpu",)),
                             ("generate", ("beam_size", "max_length", "return_scores",
                                           "return_no_speech_prob", "suppress_blank",
                                           "suppress_tokens"))):
        line = (getattr(ctranslate2.models.Whisper, method).__doc__ or "").splitlines()[0]
        if missing := [k for k in keywords if f" {k}:" not in line]:
            _fail(f"model.model.{method} (ctranslate2 {ctranslate2.__version__})",
                  f"has no parameter {missing}: {line}")
    fields = {"sequences_ids", "scores", "no_speech_prob"}
    if missing_fields := fields - set(dir(ctranslate2.models.WhisperGenerationResult)):
        _fail("ctranslate2 WhisperGenerationResult", f"lacks {sorted(missing_fields)}")


def _tokenizer() -> Any:
    hf = tokenizers.Tokenizer.from_file(str(default_model_path() / "tokenizer.json"))
    return fw_tokenizer.Tokenizer(hf, False, task="transcribe", language="en")


def test_the_tokenizer_gives_what_transcribe_short_reads() -> None:
    tok = _tokenizer()
    for name in ("sot_sequence", "no_timestamps", "eot"):
        if not hasattr(tok, name):
            _fail(f"Tokenizer.{name}", "is missing")
    assert all(isinstance(t, int) for t in [*tok.sot_sequence, tok.no_timestamps, tok.eot])
    ids = tok.encode(" Hello, world.")
    assert all(t < tok.eot for t in ids)  # whisper.py keeps text tokens as `t < tok.eot`
    assert tok.decode(ids) == " Hello, world."


def test_find_alignment_is_batched_and_merge_punctuations_joins_commas() -> None:
    """``find_alignment`` takes a batch of token lists and returns one list of word dicts
    (word, start, end, tokens) per entry; ``merge_punctuations`` merges in place. The
    CTranslate2 aligner is stubbed: one alignment step per token, 0.1 s apart."""
    tok = _tokenizer()
    ids = tok.encode(" Hello, world.")
    steps = [(i, 5 * i) for i in range(len(ids) + 1)]  # (text index, time index), eot last
    stub = SimpleNamespace(tokens_per_second=50, model=SimpleNamespace(
        align=lambda *_, **__: [SimpleNamespace(alignments=steps,
                                                text_token_probs=[1.0] * len(steps))]))
    try:
        batch = fw_transcribe.WhisperModel.find_alignment(stub, tok, [ids], None, 100)
        words = batch[0]
        fw_transcribe.merge_punctuations(words, PREPENDED, APPENDED)
        got = [(w["word"], round(float(w["start"]), 2), round(float(w["end"]), 2))
               for w in words if w["word"]]
    except (AttributeError, KeyError, TypeError, IndexError) as exc:
        _fail("WhisperModel.find_alignment / merge_punctuations", f"changed its contract ({exc!r})")
    assert len(batch) == 1
    assert [w for w, _, _ in got] == [" Hello,", " world."]
    assert all(0.0 <= start <= end for _, start, end in got)
