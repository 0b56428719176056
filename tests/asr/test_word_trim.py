"""Live word times end where the speech ends, not across the pause after a word (the
cross-attention alignment lets "you" run on to the next word: jfk.wav, 0.45 s past)."""

from __future__ import annotations

import numpy as np

from live_attune.asr.whisper import Word, _trimmed_to_speech

SR = 16_000


def burst(seconds: float, db: float, rng: np.random.Generator) -> np.ndarray:
    return (rng.standard_normal(int(seconds * SR)) * 10 ** (db / 20)).astype(np.float32)


def test_a_word_running_into_a_pause_ends_where_the_speech_does() -> None:
    rng = np.random.default_rng(1)
    # speech 0–0.5 s, a 0.5 s pause 40 dB down, speech 1.0–1.3 s
    audio = np.concatenate([burst(0.5, -20, rng), burst(0.5, -60, rng), burst(0.3, -20, rng)])
    words = (Word("for you", 10.2, 10.95), Word("ask", 10.95, 11.3))
    trimmed = _trimmed_to_speech(words, audio, 10.0)
    assert trimmed[0] == Word("for you", 10.2, 10.5)
    assert trimmed[1] == words[1]  # starts are left as aligned


def test_short_gaps_and_noisy_pauses_keep_the_aligned_times() -> None:
    rng = np.random.default_rng(2)
    short = np.concatenate([burst(0.5, -20, rng), burst(0.1, -60, rng), burst(0.4, -20, rng)])
    words = (Word("so", 0.0, 0.6), Word("my", 0.6, 1.0))
    assert _trimmed_to_speech(words, short, 0.0) == words  # 0.1 s: under QUIET_MIN_S
    noisy = np.concatenate([burst(0.5, -20, rng), burst(0.5, -32, rng), burst(0.3, -20, rng)])
    words = (Word("you", 0.2, 0.95), Word("ask", 0.95, 1.3))
    assert _trimmed_to_speech(words, noisy, 0.0) == words  # the pause is only 12 dB down
