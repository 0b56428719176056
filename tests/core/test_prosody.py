"""core/prosody.py against signals of exactly known pitch, espeak voices of set pitch, and
espeak's own syllable count (issue 8)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.core.prosody import (
    Baseline,
    ProsodyConfig,
    TurnProsody,
    baseline,
    cue,
    entrainment,
    frame_track,
    loudness_db,
    pitch_stats_st,
    semitones,
    syllable_nuclei,
    voiced_mask,
    with_arousal,
)
from live_attune.synth.scenario import CLIENT_LINES, THERAPIST_LINES
from live_attune.synth.voices import CLIENT_VOICE, THERAPIST_VOICE, audible, speak

SR = 16_000
VOWELS = set("aeiouyæɑɒɔəɛɜɪʊʌɐɚɝɘɵøœɤɯ")


def harmonic(f0_hz: float, seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    phase = 2 * np.pi * f0_hz * t
    x = sum(a * np.sin(k * phase) for k, a in ((1, 1.0), (2, 0.6), (3, 0.4), (4, 0.25),
                                                 (5, 0.15)))
    return (0.2 * x).astype(np.float32)


def mean_f0_hz(audio: np.ndarray) -> float:
    track = frame_track(audio)
    loud = track.level_db > track.level_db.max() - 30
    mean_st, _ = pitch_stats_st(track.f0_hz[voiced_mask(track, loud)])
    assert mean_st is not None
    return float(100 * 2 ** (mean_st / 12))


@pytest.mark.parametrize("f0_hz", [80, 95, 120, 150, 180, 220, 260, 300])
def test_f0_of_harmonic_signals_within_half_a_percent(f0_hz: float) -> None:
    est = mean_f0_hz(harmonic(f0_hz))
    assert abs(est / f0_hz - 1) <= 0.005, est  # README: within 0.5 % (measured ≤ 0.22 %)


def test_noise_and_silence_are_not_voiced() -> None:
    rng = np.random.default_rng(0)
    noise = (0.1 * rng.standard_normal(SR * 2)).astype(np.float32)
    track = frame_track(noise)
    assert voiced_mask(track, np.ones(len(track.f0_hz), bool)).mean() < 0.02
    silent = frame_track(np.zeros(SR, np.float32))
    assert not voiced_mask(silent, np.ones(len(silent.f0_hz), bool)).any()


def espeak_monotone(voice: str, pitch: int) -> np.ndarray:
    text = "Hello there, this is a test of a monotone voice speaking slowly and calmly."
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "a.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-m", "-w", str(wav),
                        f'<speak><prosody range="0">{text}</prosody></speak>'], check=True)
        return read_all(wav)[0]


def subharmonic_summation_hz(audio: np.ndarray) -> float:
    """An independent reference (Hermes 1988): spectral subharmonic summation over 0.5 s
    windows, 0.25 Hz grid, 15 harmonics compressed by 0.84; the median over windows."""
    win, grid, picks = 8000, np.arange(60.0, 400.0, 0.25), []
    for start in range(0, len(audio) - win, win // 2):
        seg = audio[start:start + win] * np.hanning(win)
        if np.sqrt(np.mean(seg**2)) < 0.01:
            continue
        spec = np.abs(np.fft.rfft(seg, SR * 4))
        freqs = np.fft.rfftfreq(SR * 4, 1 / SR)
        shs = sum(np.interp(grid * k, freqs, spec) * 0.84 ** (k - 1) for k in range(1, 16))
        picks.append(grid[np.argmax(shs)])
    return float(np.median(picks))


# espeak-ng voices of set pitch, made monotone (SSML range 0): F0 from about 80 to 305 Hz.
@pytest.mark.parametrize(("voice", "pitch"), [("en-us", 40), ("en-us", 70), ("en-us", 99),
                                               ("en-us+f3", 0), ("en-us+f3", 50),
                                               ("en-us+f3", 99), ("en-gb+m3", 60)])
def test_f0_of_espeak_voices_of_set_pitch_within_half_a_percent(voice: str, pitch: int) -> None:
    audio = espeak_monotone(voice, pitch)
    reference = subharmonic_summation_hz(audio)
    assert 75 <= reference <= 310
    est = mean_f0_hz(audio)
    print(f"{voice} -p {pitch}: YIN {est:.1f} Hz, reference {reference:.1f} Hz")
    assert abs(est / reference - 1) <= 0.005  # README: within 0.5 % (measured ≤ 0.16 %)


def espeak_syllables(voice: str, text: str) -> int:
    """Syllables as espeak-ng speaks them: vowel nuclei in its IPA transcription."""
    ipa = subprocess.run(["espeak-ng", "-q", "--ipa", "-v", voice, text], check=True,
                         capture_output=True, text=True).stdout
    count, in_vowel = 0, False
    for ch in ipa:
        vowel = ch in VOWELS
        if vowel and not in_vowel:
            count += 1
        in_vowel = vowel or (in_vowel and ch in "ːˑ")
    return count + ipa.count("\u0329")  # syllabic consonants (l̩, n̩) are nuclei too


def speech_spans_s(audio: np.ndarray) -> list[tuple[float, float]]:
    """Audible 10 ms frames, gaps under 0.25 s bridged (METRICS.md min_pause)."""
    on = np.flatnonzero(audible(audio))
    spans: list[tuple[float, float]] = []
    for i in on:
        if spans and i / 100 - spans[-1][1] < 0.25:
            spans[-1] = (spans[-1][0], (i + 1) / 100)
        else:
            spans.append((i / 100, (i + 1) / 100))
    return spans


def test_speech_rate_within_15_percent_on_generator_speech() -> None:
    errors = []
    for voice, lines in ((THERAPIST_VOICE, THERAPIST_LINES), (CLIENT_VOICE, CLIENT_LINES)):
        for text in lines:
            audio = speak(voice, text)
            track = frame_track(audio)
            times = track.times_s()
            spans = speech_spans_s(audio)
            in_speech = np.zeros(len(times), bool)
            for a, b in spans:
                in_speech |= (times >= a) & (times < b)
            voiced = voiced_mask(track, in_speech)
            reference = float(np.percentile(track.level_db[in_speech], 95))
            found = len(syllable_nuclei(track.level_db, voiced, in_speech,
                                        reference_db=reference))
            errors.append(found / espeak_syllables(voice.name, text) - 1)
    err = np.array(errors)
    print(f"syllable rate error over {len(err)} sentences: median {np.median(err):+.3f}, "
          f"mean |e| {np.mean(np.abs(err)):.3f}, max |e| {np.max(np.abs(err)):.3f}")
    assert abs(np.median(err)) <= 0.05
    assert np.mean(np.abs(err)) <= 0.08
    assert np.mean(np.abs(err) <= 0.15) >= 0.9


def test_semitones_and_loudness() -> None:
    assert semitones(np.array([100.0, 200.0, 50.0])).tolist() == [0.0, 12.0, -12.0]
    # power mean: -10 and -20 dB average to 10*log10((0.1 + 0.01) / 2), not -15
    assert loudness_db(np.array([-10.0, -20.0])) == pytest.approx(-12.596, abs=1e-3)
    assert loudness_db(np.array([])) is None


def test_octave_errors_are_left_out() -> None:
    f0 = np.array([150.0] * 20 + [300.0, 75.0])
    mean, sd = pitch_stats_st(f0)
    assert mean == pytest.approx(12 * np.log2(1.5)) and sd == pytest.approx(0.0, abs=1e-9)


def turn(speaker: str, start: float, f0: float | None, loud: float | None,
         rate: float | None = 4.0, speech: float = 5.0) -> TurnProsody:
    return TurnProsody(speaker, start, start + speech, speech, speech, f0, 1.0, None, loud,
                       int((rate or 0) * speech), rate)


def test_arousal_is_speakerwise_z() -> None:
    turns = [turn("client", 0, 0.0, -20.0), turn("client", 10, 2.0, -10.0),
             turn("therapist", 5, 10.0, -30.0), turn("therapist", 15, 10.0, -30.0)]
    out = with_arousal(turns)
    assert out[0].arousal == pytest.approx(-1.0) and out[1].arousal == pytest.approx(1.0)
    assert out[2].arousal is None  # no spread: no z-score


def test_entrainment_follows_only_ordered_pairs() -> None:
    turns = []
    for k in range(8):  # the therapist's pitch follows the client's; their gap shrinks
        c = float(k % 3)
        turns += [turn("client", 20 * k, c, -20.0 - k),
                  turn("therapist", 20 * k + 10, 10 + c, -10.0 - 2 * k)]
    ent = entrainment(turns, lead="client", follow="therapist")
    assert ent["f0_mean_st"].pairs == 8
    assert ent["f0_mean_st"].synchrony_r == pytest.approx(1.0)
    assert ent["loudness_db"].convergence_r == pytest.approx(-1.0)
    assert ent["rate_syl_s"].synchrony_r is None  # constant rates: undefined


def test_baseline_and_cue() -> None:
    turns = [turn("therapist", 0, 10, -20.0, rate=4.0, speech=30),
             turn("therapist", 40, 10, -22.0, rate=5.0, speech=40)]
    assert baseline(turns[:1], "therapist", min_speech_s=60) is None
    base = baseline(turns, "therapist", min_speech_s=60)
    assert base == Baseline(4.5, -21.0)
    c = cue(turn("therapist", 90, 10, -18.0, rate=5.4), base)
    assert c.rate_ratio == pytest.approx(1.2) and c.rate_label == "faster"
    assert c.loudness_delta_db == pytest.approx(3.0) and c.loudness_label == "louder"
    same = cue(turn("therapist", 90, 10, -21.5, rate=4.6), base)
    assert (same.rate_label, same.loudness_label) == ("as usual", "as usual")
    assert cue(turns[0], None).rate_ratio is None


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        ProsodyConfig(fmin_hz=300, fmax_hz=100)
    with pytest.raises(ValueError):
        ProsodyConfig(periodicity_min=1.5)
