"""The container checks on their own, on real files and on hostile headers: a reason or None,
never an exception (the decoder has already read these files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.truncation import cut_reason
from live_attune.synth.truth import write_wav
from tests.audio.files import cut, encode, ogg_page_ends


def wav(tmp_path: Path, seconds: float = 2.0) -> Path:
    path = tmp_path / "x.wav"
    write_wav(path, np.zeros((2, int(seconds * 16_000)), np.float32), 16_000)
    return path


def test_whole_wav_is_whole(tmp_path: Path) -> None:
    assert cut_reason(wav(tmp_path), "wav", 2.0, 2.0) is None


def test_wav_cut_says_how_much_was_declared_and_how_much_is_there(tmp_path: Path) -> None:
    path = cut(wav(tmp_path, 4.0), 0.25)
    assert cut_reason(path, "wav", None, 1.0) == ("the WAV header declares 4.0 s of audio, "
                                                  "the file holds 1.0 s")


def test_wav_missing_only_its_pad_byte_is_whole(tmp_path: Path) -> None:
    path = wav(tmp_path)
    path.write_bytes(path.read_bytes()[:-1])  # less than one sample frame (4 bytes) short
    assert cut_reason(path, "wav", 2.0, 2.0) is None


@pytest.mark.parametrize("keep", [12, 20, 30, 40])
def test_wav_cut_inside_its_header_is_not_judged(tmp_path: Path, keep: int) -> None:
    path = wav(tmp_path)
    path.write_bytes(path.read_bytes()[:keep])
    assert cut_reason(path, "wav", None, 0.0) is None


def test_wav_chunk_sizes_running_off_the_end_do_not_loop(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    path.write_bytes(b"RIFF\x00\x00\x00\x00WAVE" + b"LIST\xff\xff\xff\x7f" + b"\x00" * 100)
    assert cut_reason(path, "wav", None, 0.0) is None


def test_ogg_page_walk(tmp_path: Path) -> None:
    whole = tmp_path / "x.opus"
    noise = 0.1 * np.random.default_rng(0).standard_normal((1, 48_000 * 5))
    encode(whole, noise.astype(np.float32), 48_000, "libopus")
    assert cut_reason(whole, "ogg", None, 5.0) is None
    ends = ogg_page_ends(whole)
    data = whole.read_bytes()
    (tmp_path / "mid.opus").write_bytes(data[: (ends[-2] + ends[-1]) // 2])
    assert cut_reason(tmp_path / "mid.opus", "ogg", None, 4.0) == (
        "its last Ogg page is incomplete")
    (tmp_path / "head.opus").write_bytes(data[: ends[-2] + 10])  # inside a page header
    assert cut_reason(tmp_path / "head.opus", "ogg", None, 4.0) == (
        "its last Ogg page is incomplete")
    (tmp_path / "page.opus").write_bytes(data[: ends[-2]])
    assert cut_reason(tmp_path / "page.opus", "ogg", None, 4.0) == (
        "it ends without the Ogg end-of-stream page")
    (tmp_path / "junk.opus").write_bytes(data[: ends[1]] + b"x" * 200)  # lost sync: no verdict
    assert cut_reason(tmp_path / "junk.opus", "ogg", None, 1.0) is None


def test_declared_durations_are_trusted_only_where_exact(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"\x00" * 100)
    assert cut_reason(path, "flac", 10.0, 4.0) == "the FLAC header declares 10.0 s"
    assert cut_reason(path, "mov,mp4,m4a,3gp,3g2,mj2", 10.0, 4.0) == (
        "the MP4 header declares 10.0 s")
    assert cut_reason(path, "flac", 10.0, 9.6) is None  # within the tolerance
    assert cut_reason(path, "mp3", 10.0, 4.0) is None  # no Xing/Info/VBRI header
    assert cut_reason(path, "aac", 10.0, 4.0) is None  # ADTS: a bitrate guess
    assert cut_reason(tmp_path / "gone.wav", "wav", 10.0, 4.0) is None  # vanished meanwhile
