"""File decoding: formats, rates and channel counts in; 16 kHz float32 out; clear errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import numpy as np
import pytest

from live_attune.audio.decode import iter_blocks, probe, read_all
from live_attune.errors import AudioInputError
from live_attune.synth.truth import write_wav

SR = 16_000


def tone(seconds: float, rate: int, channels: int, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * hz * (c + 1) * t) for c in range(channels)])


def encode(path: Path, audio: np.ndarray, rate: int, codec: str) -> None:
    """Encode with PyAV (FFmpeg) as a real encoder would write it."""
    layout = {1: "mono", 2: "stereo"}[audio.shape[0]]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio.T.reshape(1, -1), np.float32), format="flt", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


@pytest.mark.parametrize(("rate", "channels"), [(8000, 1), (16000, 2), (44100, 1), (48000, 2)])
def test_wav_any_rate_becomes_16k_channels_kept(tmp_path: Path, rate: int, channels: int) -> None:
    path = tmp_path / "x.wav"
    write_wav(path, tone(2.0, rate, channels), rate)
    audio = read_all(path)
    assert audio.dtype == np.float32
    assert audio.shape[0] == channels
    assert abs(audio.shape[1] - 2 * SR) <= 64
    # A 440 Hz tone stays a 440 Hz tone through the resampler.
    spectrum = np.abs(np.fft.rfft(audio[0, 4000:20000]))
    assert np.argmax(spectrum) * SR / 16000 == pytest.approx(440, abs=2)


@pytest.mark.parametrize(("suffix", "codec"), [(".flac", "flac"), (".ogg", "libopus"),
                                               (".mp3", "libmp3lame")])
def test_compressed_formats(tmp_path: Path, suffix: str, codec: str) -> None:
    path = tmp_path / f"x{suffix}"
    rate = 48000 if codec == "libopus" else 44100
    encode(path, tone(3.0, rate, 2), rate, codec)
    audio = read_all(path)
    assert audio.shape[0] == 2
    assert abs(audio.shape[1] / SR - 3.0) < 0.1
    assert 0.1 < np.max(np.abs(audio)) < 0.5


def test_six_channels_from_sox(tmp_path: Path) -> None:
    path = tmp_path / "six.wav"
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "6", str(path), "synth", "1", "sine", "300"],
                   check=True)
    assert probe(path).channels == 6
    assert read_all(path).shape == (6, SR)


def test_blocks_are_streamed_not_loaded_whole(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    write_wav(path, tone(10.0, 16000, 2), 16000)
    blocks = list(iter_blocks(path, block_s=1.0))
    assert len(blocks) == 10
    assert all(b.shape == (2, SR) for b in blocks)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("empty.wav", b"", "empty"),
    ("text.wav", b"this is not audio at all\n" * 100, "not a readable audio file"),
    ("random.mp3", bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8)),
     "not a readable audio file"),
])
def test_unreadable_files_raise_one_clear_error(tmp_path: Path, name: str, content: bytes,
                                                message: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AudioInputError, match=message):
        read_all(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioInputError, match="no such file"):
        probe(tmp_path / "nope.wav")


def test_header_only_wav_has_no_samples(tmp_path: Path) -> None:
    path = tmp_path / "header.wav"
    write_wav(path, np.zeros((1, 0), np.float32), 16000)
    with pytest.raises(AudioInputError, match="no audio samples"):
        read_all(path)


def test_truncated_wav_yields_what_is_there(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    write_wav(path, tone(4.0, 16000, 2), 16000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])  # header still claims 4 s
    audio = read_all(path)
    assert abs(audio.shape[1] / SR - 2.0) < 0.05
