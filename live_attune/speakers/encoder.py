"""A learned speaker encoder without torch: Resemblyzer's GE2E voice encoder in numpy.

The weights are ``resemblyzer/pretrained.pt`` from the PyPI package ``Resemblyzer`` 0.1.4
(Apache-2.0; its licence text is in the installed distribution's ``LICENSE``), installed by
scripts/setup.sh with ``--no-deps`` (the package itself imports torch; nothing here imports
it or the package). The file is torch's legacy serialisation, read here with ``pickle`` and
numpy only (``read_legacy_torch``). Its sha256 is pinned: another file is refused.

The network (Wan et al. 2018, GE2E; Resemblyzer's ``voice_encoder.py``): a 3-layer LSTM
40 → 256 over 160 frames (1.6 s) of a 40-band *power* mel spectrogram (16 kHz, 25 ms Hann
windows every 10 ms, librosa's Slaney mel), the last layer's final hidden state through a
linear 256 → 256 layer, ReLU, and L2 normalisation: a 256-d embedding, non-negative and of
unit length, whose cosine with another says how alike the two voices are. Resemblyzer
normalises each utterance's volume up to -30 dBFS before the mel (the input is power, so
without it similarity follows loudness); here each window is brought to -30 dBFS over its
speech (``embed_windows``). Loaded lazily and once.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from live_attune.core.audio_facts import HOP, SAMPLE_RATE
from live_attune.errors import ModelError

DISTRIBUTION = "Resemblyzer"
VERSION = "0.1.4"
WEIGHTS = "resemblyzer/pretrained.pt"
WEIGHTS_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
N_MELS = 40
N_FFT = 400  # 25 ms at 16 kHz
PARTIAL_FRAMES = 160  # 1.6 s of 10 ms frames: the length the encoder was trained on
HIDDEN = 256
LAYERS = 3
EMBEDDING = 256
TARGET_DBFS = -30.0  # Resemblyzer's audio_norm_target_dBFS
_INT16_MAX = 2**15 - 1
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # torch's legacy serialisation
_DTYPES: dict[str, type[np.generic]] = {"FloatStorage": np.float32, "DoubleStorage": np.float64,
           "LongStorage": np.int64, "IntStorage": np.int32}


class EncoderError(ModelError):
    """The voice encoder's weights are missing, altered or unreadable."""


def weights_path() -> Path:
    """Where the installed Resemblyzer distribution keeps ``pretrained.pt``."""
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        raise EncoderError(f"the voice encoder's weights are not installed (the PyPI package "
                           f"{DISTRIBUTION}=={VERSION}, installed with --no-deps by "
                           "scripts/setup.sh)") from None
    return Path(str(dist.locate_file(WEIGHTS)))


@functools.cache
def load_weights(path: Path | None = None) -> dict[str, np.ndarray]:
    """The encoder's parameters by name (float32), from ``path`` or the installed package;
    the file's sha256 is checked first. Read once per path."""
    path = path or weights_path()
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise EncoderError(f"{path}: cannot read the voice encoder's weights ({exc.strerror}); "
                           "run scripts/setup.sh again") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise EncoderError(f"{path}: not the voice encoder's weights of {DISTRIBUTION} "
                           f"{VERSION} (sha256 {digest[:12]}…, expected "
                           f"{WEIGHTS_SHA256[:12]}…); run scripts/setup.sh again")
    try:
        state = read_legacy_torch(io.BytesIO(data))["model_state"]
        weights = {k: np.ascontiguousarray(v, np.float32) for k, v in state.items()}
        _check_shapes(weights)
    except (pickle.UnpicklingError, EOFError, KeyError, ValueError, TypeError) as exc:
        raise EncoderError(f"{path}: unreadable voice encoder weights ({exc})") from None
    return weights


def _check_shapes(w: dict[str, np.ndarray]) -> None:
    for layer in range(LAYERS):
        inputs = N_MELS if layer == 0 else HIDDEN
        for name, shape in ((f"weight_ih_l{layer}", (4 * HIDDEN, inputs)),
                            (f"weight_hh_l{layer}", (4 * HIDDEN, HIDDEN)),
                            (f"bias_ih_l{layer}", (4 * HIDDEN,)),
                            (f"bias_hh_l{layer}", (4 * HIDDEN,))):
            if w[f"lstm.{name}"].shape != shape:
                raise ValueError(f"lstm.{name} has shape {w[f'lstm.{name}'].shape}")
    if w["linear.weight"].shape != (EMBEDDING, HIDDEN) or w["linear.bias"].shape != (EMBEDDING,):
        raise ValueError("the linear layer has the wrong shape")


# -- torch's legacy file format, without torch ------------------------------------------------


class _Storage:
    """A storage named by the pickle: filled from the file's tail after the pickle."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.dtype = np.dtype(dtype)
        self.data = np.zeros(0, self.dtype)


def _rebuild_tensor(storage: _Storage, offset: int, size: tuple[int, ...],
                    stride: tuple[int, ...], *_: Any) -> _Tensor:
    return _Tensor(storage, offset, tuple(size), tuple(stride))


class _Tensor:
    """A view of a storage not yet read (the storages follow the pickle in the file)."""

    def __init__(self, storage: _Storage, offset: int, size: tuple[int, ...],
                 stride: tuple[int, ...]) -> None:
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self) -> np.ndarray:
        data = self.storage.data
        item = data.itemsize
        if self.size and self.offset + sum((n - 1) * s for n, s in
                                           zip(self.size, self.stride, strict=True)) >= len(data):
            raise ValueError("a tensor reaches past its storage")
        return np.lib.stride_tricks.as_strided(data[self.offset:], shape=self.size,
                                               strides=[s * item for s in self.stride]).copy()


class _Unpickler(pickle.Unpickler):
    """Only what a state dict of float tensors needs; any other global is refused."""

    def __init__(self, file: io.BytesIO, storages: dict[str, _Storage]) -> None:
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            import collections

            return collections.OrderedDict
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"),
                              ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        raise pickle.UnpicklingError(f"unexpected object {module}.{name} in a weights file")

    def persistent_load(self, pid: Any) -> _Storage:
        # ('storage', storage type, key, location, element count, view metadata)
        if not (isinstance(pid, tuple) and pid[0] == "storage" and pid[1] in _DTYPES):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.60}")
        if pid[5] is not None:
            raise pickle.UnpicklingError("storage views are not supported")
        key = str(pid[2])
        if key not in self.storages:
            self.storages[key] = _Storage(_DTYPES[pid[1]])
        return self.storages[key]


def read_legacy_torch(f: io.BytesIO) -> Any:
    """The object saved by ``torch.save`` in its legacy (non-zip) format, tensors as numpy
    arrays: pickles of the magic number, the protocol version and the system info, the object
    (tensors as persistent ids of storages), the storage keys; then each storage's raw
    little-endian bytes after its int64 element count."""
    if pickle.load(f) != _LEGACY_MAGIC:
        raise pickle.UnpicklingError("not a torch file in the legacy format")
    if pickle.load(f) != 1001:
        raise pickle.UnpicklingError("unknown torch file protocol version")
    info = pickle.load(f)
    if not info.get("little_endian", False):
        raise pickle.UnpicklingError("a big-endian torch file")
    storages: dict[str, _Storage] = {}
    obj = _Unpickler(f, storages).load()
    for key in pickle.load(f):
        storage = storages[str(key)]
        count = int(np.frombuffer(f.read(8), "<i8")[0])
        raw = f.read(count * storage.dtype.itemsize)
        if len(raw) != count * storage.dtype.itemsize:
            raise EOFError("the weights file is cut short")
        storage.data = np.frombuffer(raw, storage.dtype.newbyteorder("<"))
    return _materialise(obj)


def _materialise(obj: Any) -> Any:
    if isinstance(obj, _Tensor):
        return obj.array()
    if isinstance(obj, dict):
        return {k: _materialise(v) for k, v in obj.items()}
    return obj


# -- the network --------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x) in place, as 0.5·tanh(x/2) + 0.5 (no overflow)."""
    x *= 0.5
    np.tanh(x, out=x)
    x *= 0.5
    x += 0.5
    return x


def lstm_layer(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray,
               b_hh: np.ndarray) -> np.ndarray:
    """torch.nn.LSTM's one layer (gates i, f, g, o) over ``x`` (batch, time, inputs) from zero
    state: every step's hidden state (batch, time, hidden)."""
    batch, steps, _ = x.shape
    hidden = w_hh.shape[1]
    # the gates reordered i, f, o, g: the three sigmoids in one call per step
    order = np.r_[0:2 * hidden, 3 * hidden:4 * hidden, 2 * hidden:3 * hidden]
    gates_x = x @ w_ih[order].T + (b_ih + b_hh)[order]  # (batch, time, 4·hidden), at once
    w_hh_t = np.ascontiguousarray(w_hh[order].T)
    h = np.zeros((batch, hidden), x.dtype)
    c = np.zeros((batch, hidden), x.dtype)
    g = np.empty((batch, 4 * hidden), x.dtype)
    out = np.empty((batch, steps, hidden), x.dtype)
    for t in range(steps):
        np.matmul(h, w_hh_t, out=g)
        g += gates_x[:, t]
        sig = _sigmoid(g[:, :3 * hidden])
        cell = np.tanh(g[:, 3 * hidden:], out=g[:, 3 * hidden:])
        c *= sig[:, hidden:2 * hidden]  # forget
        cell *= sig[:, :hidden]  # input
        c += cell
        np.tanh(c, out=h)
        h *= sig[:, 2 * hidden:]  # output
        out[:, t] = h
    return out


def encode(mels: np.ndarray, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Embeddings (batch, 256) of power-mel partials (batch, frames, 40), float32: the LSTM's
    last hidden state through the linear layer, ReLU, L2 norm (an all-zero output stays 0)."""
    w = weights if weights is not None else load_weights()
    x = np.asarray(mels, np.float32)
    if x.ndim != 3 or x.shape[2] != N_MELS:
        raise ValueError(f"mels must be (batch, frames, {N_MELS}), not {x.shape}")
    for layer in range(LAYERS):
        x = lstm_layer(x, w[f"lstm.weight_ih_l{layer}"], w[f"lstm.weight_hh_l{layer}"],
                       w[f"lstm.bias_ih_l{layer}"], w[f"lstm.bias_hh_l{layer}"])
    raw = np.maximum(x[:, -1] @ w["linear.weight"].T + w["linear.bias"], 0.0)
    norm = np.linalg.norm(raw, axis=1, keepdims=True)
    return np.asarray(raw / np.maximum(norm, 1e-12), np.float32)


# -- Resemblyzer's preprocessing --------------------------------------------------------------


@functools.cache
def _mel_basis() -> np.ndarray:
    from live_attune.speakers.spectrum import mel_filters

    return np.asarray(mel_filters(SAMPLE_RATE, N_FFT, N_MELS), np.float32)


def mel_frames(audio: np.ndarray, first: int = 0, n: int | None = None) -> np.ndarray:
    """(frames, 40) power mel every 10 ms, as ``librosa.feature.melspectrogram`` makes it for
    Resemblyzer (25 ms Hann windows, centred, zero-padded): frame i is centred on sample
    i·HOP. ``first``/``n``: only frames first..first+n-1 (each block of a long file or a live
    stream computed once; the same numbers as one pass, to float rounding)."""
    from live_attune.speakers.spectrum import power_spectrogram

    total = len(audio) // HOP + 1
    n = total - first if n is None else n
    if n <= 0:
        return np.zeros((0, N_MELS), np.float32)
    half = N_FFT // 2
    lo, hi = first * HOP - half, (first + n - 1) * HOP + half  # the samples those frames read
    chunk = np.asarray(audio[max(lo, 0):max(min(hi, len(audio)), 0)], np.float32)
    chunk = np.pad(chunk, (max(0, -lo), hi - lo - len(chunk) - max(0, -lo)))
    spec = power_spectrogram(chunk, N_FFT, HOP, center=False)
    return np.asarray((_mel_basis() @ spec).T, np.float32)


def power_gain(power: float) -> float:
    """The gain (on power) bringing a signal of mean ``power`` (full scale 1) to TARGET_DBFS:
    Resemblyzer's ``normalize_volume``, here both ways, so that loudness never matters."""
    if power <= 1e-14:
        return 1.0
    return float(10 ** ((TARGET_DBFS - 10 * np.log10(power)) / 10))


def volume_gain(audio: np.ndarray) -> float:
    """``power_gain`` of ``audio``'s mean power."""
    return power_gain(float(np.mean(np.asarray(audio, np.float64) ** 2)))


def embed_utterance(audio: np.ndarray) -> np.ndarray:
    """One embedding for a stretch of one voice: its 1.6 s partials every 0.8 s embedded and
    averaged, then L2-normed (Resemblyzer's ``embed_utterance``, without its silence trim:
    give it speech)."""
    mel = mel_frames(audio) * volume_gain(audio)
    if len(mel) < PARTIAL_FRAMES:
        mel = np.pad(mel, ((0, PARTIAL_FRAMES - len(mel)), (0, 0)))
    starts = range(0, len(mel) - PARTIAL_FRAMES + 1, PARTIAL_FRAMES // 2)
    parts = encode(np.stack([mel[s:s + PARTIAL_FRAMES] for s in starts]))
    mean = parts.mean(axis=0)
    return np.asarray(mean / max(float(np.linalg.norm(mean)), 1e-12), np.float32)
