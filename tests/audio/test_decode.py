"""File decoding: formats, rates and channel counts in; 16 kHz float32 out; clear errors."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import iter_blocks, probe, read_all
from live_attune.errors import AudioInputError
from live_attune.synth.truth import write_wav
from tests.audio.files import cut, encode, ogg_page_ends, write_float_wav

SR = 16_000


def tone(seconds: float, rate: int, channels: int, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([0.3 * np.sin(2 * np.pi * hz * (c + 1) * t) for c in range(channels)])


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


# --- issue 14: hostile input that used to break silently -------------------------------

def distinct_tones(channels: int, rate: int, seconds: float = 1.0) -> np.ndarray:
    """Channel k carries a 200 + 90·k Hz tone at its own level: swaps and mixes show."""
    t = np.arange(int(seconds * rate)) / rate
    return np.stack([(0.1 + 0.02 * (k % 10)) * np.sin(2 * np.pi * (200 + 90 * k) * t)
                     for k in range(channels)])


@pytest.mark.parametrize("channels", [1, 2, 3, 7, 8, 9, 16, 31, 32])
def test_every_channel_count_up_to_32_decodes_each_channel_exactly(tmp_path: Path,
                                                                   channels: int) -> None:
    # 8+ channels segfaulted in PyAV's planar to_ndarray(); 48 kHz so the resampler runs
    path = tmp_path / f"ch{channels}.wav"
    written = distinct_tones(channels, 48_000)
    write_wav(path, written, 48_000)
    assert probe(path).channels == channels
    audio = read_all(path)
    assert audio.shape == (channels, SR)
    expected = distinct_tones(channels, SR)
    inner = slice(400, SR - 400)  # away from the resampler's edges
    for k in range(channels):
        got, want = audio[k, inner], expected[k, inner]
        assert np.corrcoef(got, want)[0, 1] > 0.999, k
        assert np.sqrt(np.mean(got ** 2)) == pytest.approx(np.sqrt(np.mean(want ** 2)),
                                                           rel=0.01), k


def test_sox_eight_channels_keep_their_order(tmp_path: Path) -> None:
    """sox writes 8 channels as WAVE_FORMAT_EXTENSIBLE 7.1, 32-bit: FFmpeg's named layout."""
    path = tmp_path / "sox8.wav"
    freqs = [250 * (k + 1) for k in range(8)]
    subprocess.run(["sox", "-n", "-r", "48000", "-c", "8", str(path), "synth", "1",
                    *(w for f in freqs for w in ("sine", str(f)))], check=True)
    audio = read_all(path)
    assert audio.shape == (8, SR)
    for k, hz in enumerate(freqs):
        spectrum = np.abs(np.fft.rfft(audio[k]))
        assert np.argmax(spectrum) == pytest.approx(hz, abs=1)  # 1 s: bins are 1 Hz


def test_more_than_32_channels_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "ch33.wav"
    write_wav(path, distinct_tones(33, SR, 0.1), SR)
    for read in (probe, read_all):
        with pytest.raises(AudioInputError, match="has 33 channels; at most 32"):
            read(path)


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_non_finite_samples_become_silence_with_a_note(tmp_path: Path, rate: int) -> None:
    clean = distinct_tones(2, rate, 3.0).astype(np.float32)
    broken = clean.copy()
    broken[0, rate:rate + 100] = np.nan
    broken[1, 2 * rate:2 * rate + 10] = np.inf
    broken[1, 2 * rate + 500] = -np.inf
    write_float_wav(tmp_path / "clean.wav", clean, rate)
    write_float_wav(tmp_path / "broken.wav", broken, rate)
    notes: list[str] = []
    audio = read_all(tmp_path / "broken.wav", notes=notes)
    reference = read_all(tmp_path / "clean.wav")
    assert np.all(np.isfinite(audio))
    # outside the bursts (and the resampler's ±20 samples around them) nothing changed
    hit = np.zeros(audio.shape[1], bool)
    for start_s, n in ((1.0, 100 / rate), (2.0, 10 / rate), (2.0 + 500 / rate, 1 / rate)):
        a = int(start_s * SR)
        hit[max(0, a - 24):a + int(np.ceil(n * SR)) + 24] = True
    np.testing.assert_array_equal(audio[:, ~hit], reference[:, ~hit])
    assert np.all(audio[0, SR:SR + 100 * SR // rate] == 0)
    assert len(notes) == 1 and "non-finite samples (NaN or infinity)" in notes[0]
    assert "the first at 1.00 s" in notes[0] and "set to silence" in notes[0]
    if rate == SR:  # no resampling: exactly the written samples
        assert notes[0].startswith("111 non-finite samples")


def opus_and_friends(tmp_path: Path) -> dict[str, Path]:
    """One 10 s stereo file per container, each as its encoder wrote it whole (Ogg: Vorbis
    by sox, Opus by FFmpeg)."""
    files = {"wav": tmp_path / "x.wav", "flac": tmp_path / "x.flac", "ogg": tmp_path / "x.ogg",
             "opus": tmp_path / "x.opus", "mp3": tmp_path / "x.mp3", "m4a": tmp_path / "x.m4a"}
    write_wav(files["wav"], tone(10.0, 16_000, 2), 16_000)
    encode(files["flac"], tone(10.0, 44_100, 2), 44_100, "flac")
    subprocess.run(["sox", str(files["wav"]), "-r", "44100", str(files["ogg"])],
                   check=True)  # Ogg Vorbis by another writer than FFmpeg
    encode(files["opus"], tone(10.0, 48_000, 2), 48_000, "libopus")
    encode(files["mp3"], tone(10.0, 44_100, 2), 44_100, "libmp3lame")
    encode(files["m4a"], tone(10.0, 44_100, 2), 44_100, "aac", movflags="+faststart")
    return files


def test_whole_files_get_no_note(tmp_path: Path) -> None:
    for kind, path in opus_and_friends(tmp_path).items():
        notes: list[str] = []
        audio = read_all(path, notes=notes)
        assert notes == [], kind
        assert audio.shape[1] / SR == pytest.approx(10.0, abs=0.05), kind


@pytest.mark.parametrize("kind", ["wav", "flac", "ogg", "opus", "mp3", "m4a"])
def test_a_file_cut_in_half_is_decoded_to_the_cut_with_a_note(tmp_path: Path, kind: str
                                                              ) -> None:
    path = cut(opus_and_friends(tmp_path)[kind], 0.5)
    notes: list[str] = []
    audio = read_all(path, notes=notes)
    seconds = audio.shape[1] / SR
    assert 3.0 < seconds < 7.0
    assert len(notes) == 1 and notes[0].startswith("the file is cut short ("), notes
    assert notes[0].endswith(f"only its first {seconds:.1f} s are analysed")


def test_wav_whose_header_claims_more_data_than_the_file_holds(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    write_wav(path, tone(2.0, 16_000, 1), 16_000)
    data = bytearray(path.read_bytes())
    assert data[36:40] == b"data"
    data[40:44] = (4 * 16_000 * 2).to_bytes(4, "little")  # claims 4 s, holds 2 s
    path.write_bytes(bytes(data))
    notes: list[str] = []
    assert read_all(path, notes=notes).shape[1] == 2 * SR
    assert notes == ["the file is cut short (the WAV header declares 4.0 s of audio, the file "
                     "holds 2.0 s); only its first 2.0 s are analysed"]


def test_wav_data_size_left_open_by_a_streaming_writer_is_not_a_cut(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    write_wav(path, tone(2.0, 16_000, 1), 16_000)
    data = bytearray(path.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # "unknown", as FFmpeg leaves it on a pipe
    path.write_bytes(bytes(data))
    notes: list[str] = []
    assert read_all(path, notes=notes).shape[1] == 2 * SR
    assert notes == []


def test_ogg_cut_at_a_page_boundary_lacks_its_end_of_stream_page(tmp_path: Path) -> None:
    whole = opus_and_friends(tmp_path)["opus"]
    ends = ogg_page_ends(whole)
    path = tmp_path / "pages.opus"
    path.write_bytes(whole.read_bytes()[: ends[len(ends) // 2]])
    notes: list[str] = []
    read_all(path, notes=notes)
    assert len(notes) == 1 and "without the Ogg end-of-stream page" in notes[0]


def test_vbr_mp3_without_a_length_header_is_not_called_cut(tmp_path: Path) -> None:
    """FFmpeg guesses such a file's duration from its first frame's bitrate (here 2× off):
    without a Xing/Info header there is nothing trustworthy to compare with."""
    rate = 44_100
    audio = np.zeros((1, 10 * rate), np.float32)
    audio[0, :5 * rate] = 0.01 * tone(5.0, rate, 1)[0]  # quiet: low-bitrate first frames
    audio[0, 5 * rate:] = 0.3 * np.random.default_rng(0).standard_normal(5 * rate)
    path = tmp_path / "vbr.mp3"
    encode(path, audio, rate, "libmp3lame", vbr_quality=4, write_xing="0")
    assert probe(path).duration_s > 15  # the guess
    notes: list[str] = []
    assert read_all(path, notes=notes).shape[1] / SR == pytest.approx(10.0, abs=0.1)
    assert notes == []


def test_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioInputError, match=r"pipe\.wav: is not a regular file \(a pipe or "
                                              r"device\); give an audio file"):
        probe(fifo)


def test_a_device_is_refused() -> None:
    with pytest.raises(AudioInputError, match="is not a regular file"):
        read_all("/dev/null")
