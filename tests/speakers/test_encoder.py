"""speakers/encoder.py: Resemblyzer's voice encoder read and run without torch (issue 18).
Speed is measured in bench/bench_single_mic.py, not here."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.speakers import encoder

REAL = Path(__file__).resolve().parents[3] / "shared" / "data" / "conversations"
REFERENCES = {"pyannote_sample/sample": "pyannote_sample/sample.json",
              "ami/dev00": "ami/dev00.ami_only_words.json",
              "ami/trn00": "ami/trn00.ami_only_words.json",
              "ami/trn04": "ami/trn04.ami_only_words.json"}


def _reference_lstm(x: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray, b_ih: np.ndarray,
                    b_hh: np.ndarray) -> np.ndarray:
    """torch.nn.LSTM's documented equations, one unit and one step at a time, in float64."""
    hidden = w_hh.shape[1]
    out = np.zeros((x.shape[0], x.shape[1], hidden))
    for b in range(x.shape[0]):
        h, c = np.zeros(hidden), np.zeros(hidden)
        for t in range(x.shape[1]):
            new_h, new_c = np.zeros(hidden), np.zeros(hidden)
            for j in range(hidden):
                def pre(k: int, j: int = j, h: np.ndarray = h, t: int = t, b: int = b
                        ) -> float:
                    row = k * hidden + j
                    return float(w_ih[row] @ x[b, t] + b_ih[row] + w_hh[row] @ h + b_hh[row])
                i, f = 1 / (1 + np.exp(-pre(0))), 1 / (1 + np.exp(-pre(1)))
                g, o = np.tanh(pre(2)), 1 / (1 + np.exp(-pre(3)))
                new_c[j] = f * c[j] + i * g
                new_h[j] = o * np.tanh(new_c[j])
            h, c = new_h, new_c
            out[b, t] = h
    return out


def test_one_lstm_layer_equals_the_equations_step_by_step() -> None:
    rng = np.random.default_rng(0)
    hidden, inputs = 3, 2
    w_ih, w_hh = rng.normal(0, 1, (4 * hidden, inputs)), rng.normal(0, 1, (4 * hidden, hidden))
    b_ih, b_hh = rng.normal(0, 1, 4 * hidden), rng.normal(0, 1, 4 * hidden)
    x = rng.normal(0, 1, (2, 5, inputs))
    got = encoder.lstm_layer(*(a.astype(np.float32) for a in (x, w_ih, w_hh, b_ih, b_hh)))
    np.testing.assert_allclose(got, _reference_lstm(x, w_ih, w_hh, b_ih, b_hh), atol=1e-5)


def test_an_lstm_with_only_biases_has_a_known_first_step() -> None:
    """Zero weights: h1 = σ(b_o)·tanh(σ(b_i)·tanh(b_g)), whatever the input."""
    b = np.array([0.5, -1.0, 2.0, 1.5], np.float32)  # i, f, g, o for one unit
    out = encoder.lstm_layer(np.ones((1, 1, 2), np.float32), np.zeros((4, 2), np.float32),
                             np.zeros((4, 1), np.float32), b, np.zeros(4, np.float32))

    def sig(v: float) -> float:
        return float(1 / (1 + np.exp(-v)))

    assert out[0, 0, 0] == pytest.approx(sig(1.5) * np.tanh(sig(0.5) * np.tanh(2.0)), abs=1e-6)


def _legacy_file(state: dict[str, np.ndarray]) -> bytes:
    """A small file in torch's legacy format, written as torch.save (protocol 2) lays it out:
    every tensor a view of one shared storage, as a flattened cuDNN LSTM's are."""
    flat = np.concatenate([v.ravel() for v in state.values()]).astype(np.float32)

    class Rebuild:  # pickled by reference as torch._utils._rebuild_tensor_v2
        __module__, __qualname__ = "torch._utils", "_rebuild_tensor_v2"

    class FloatStorage:
        __module__, __qualname__ = "torch", "FloatStorage"

    class Tensor:
        def __init__(self, offset: int, shape: tuple[int, ...]) -> None:
            self.offset, self.shape = offset, shape

        def __reduce__(self) -> tuple[object, ...]:
            stride = tuple(int(np.prod(self.shape[i + 1:])) for i in range(len(self.shape)))
            return (Rebuild, (("storage", 1), self.offset, self.shape, stride, False,
                              OrderedDict()))

    class Pickler(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            if obj == ("storage", 1):
                return ("storage", FloatStorage, "140", "cuda:0", len(flat), None)
            return None

    tensors, offset = OrderedDict(), 0
    for name, v in state.items():
        tensors[name] = Tensor(offset, v.shape)
        offset += v.size
    out = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    sys.modules["torch"] = sys.modules["torch._utils"] = type(sys)("fake")  # pickle checks
    try:
        sys.modules["torch._utils"]._rebuild_tensor_v2 = Rebuild  # type: ignore[attr-defined]
        sys.modules["torch"].FloatStorage = FloatStorage  # type: ignore[attr-defined]
        Pickler(out, protocol=2).dump({"step": 3, "model_state": tensors})
    finally:
        del sys.modules["torch"], sys.modules["torch._utils"]
    pickle.dump(["140"], out, protocol=2)
    out.write(np.int64(len(flat)).tobytes() + flat.tobytes())
    return out.getvalue()


def test_the_legacy_torch_format_is_read_with_pickle_and_numpy() -> None:
    state = {"a": np.arange(6, dtype=np.float32).reshape(2, 3),
             "b": np.array([7.5, -1.25], np.float32)}
    got = encoder.read_legacy_torch(io.BytesIO(_legacy_file(state)))
    assert got["step"] == 3 and list(got["model_state"]) == ["a", "b"]
    for name, v in state.items():
        np.testing.assert_array_equal(got["model_state"][name], v)


def test_a_legacy_file_naming_anything_else_is_refused() -> None:
    evil = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {"little_endian": True}):
        pickle.dump(header, evil, protocol=2)
    pickle.dump(print, evil, protocol=2)  # builtins.print: never called, refused
    evil.seek(0)
    with pytest.raises(pickle.UnpicklingError, match="unexpected object"):
        encoder.read_legacy_torch(evil)


def test_the_installed_weights_load_without_torch_or_resemblyzer() -> None:
    code = ("import sys; from live_attune.speakers import encoder as e; w = e.load_weights(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'resemblyzer')), w['lstm.weight_ih_l0'].shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[] (1024, 40)"


def test_missing_or_altered_weights_are_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(encoder.EncoderError, match="cannot read"):
        encoder.load_weights(tmp_path / "none.pt")
    altered = tmp_path / "pretrained.pt"
    data = bytearray(encoder.weights_path().read_bytes())
    data[-10] ^= 0xFF
    altered.write_bytes(bytes(data))
    with pytest.raises(encoder.EncoderError, match="sha256"):
        encoder.load_weights(altered)
    assert encoder.EncoderError.exit_code == 5  # a model problem (errors.py)


def _one_voice_windows(name: str) -> tuple[np.ndarray, np.ndarray]:
    """1.6 s windows (every 0.4 s) in which one reference speaker alone talks ≥ 1.2 s."""
    ref = json.loads((REAL / REFERENCES[name]).read_text())["segments"]
    audio = read_all(REAL / f"{name}.wav")[0]
    mel = encoder.mel_frames(audio)
    parts, who = [], []
    for s in np.arange(0.0, len(audio) / 16000 - 1.6, 0.4):
        on = [g for g in ref if g["start"] < s + 1.6 and g["end"] > s]
        if len({g["speaker"] for g in on}) != 1 or sum(
                min(g["end"], s + 1.6) - max(g["start"], s) for g in on) < 1.2:
            continue
        gain = encoder.volume_gain(audio[int(s * 16000):int((s + 1.6) * 16000)])
        parts.append(mel[round(s * 100):round(s * 100) + 160] * gain)
        who.append(on[0]["speaker"])
    return encoder.encode(np.stack(parts)), np.array(who)


@pytest.mark.parametrize("name", list(REFERENCES))
def test_same_speaker_windows_are_closer_than_other_speakers(name: str) -> None:
    emb, who = _one_voice_windows(name)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert emb.min() >= 0.0  # ReLU before the norm
    cos = emb @ emb.T
    pairs = np.triu_indices(len(emb), 1)
    same = (who[:, None] == who[None])[pairs]
    s, d = cos[pairs][same], cos[pairs][~same]
    threshold = np.sort(np.concatenate([s, d]))
    eer = min(max((s < t).mean(), (d >= t).mean()) for t in threshold)
    print(f"{name}: {len(emb)} windows, cosine same {s.mean():.3f}, other {d.mean():.3f}, "
          f"EER {100 * eer:.1f} %")
    # measured: same 0.82/0.69/0.76/0.82, other 0.67/0.56/0.62/0.56, EER 6/29/18/6 %
    assert s.mean() >= d.mean() + 0.1
    assert eer <= 0.3


def test_an_utterance_embedding_ignores_loudness() -> None:
    audio = read_all(REAL / "pyannote_sample" / "sample.wav")[0][16000 * 8: 16000 * 12]
    a, b = encoder.embed_utterance(audio), encoder.embed_utterance(0.1 * audio)
    assert a.shape == (256,) and float(a @ b) > 0.999
