"""Silero VAD: streaming equals batch; timing on clean speech; real recordings' RTTMs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.audio.vad import SileroVad, VadConfig, silero_model_path
from live_attune.core import MetricsConfig
from live_attune.session.config import PipelineConfig, layout_for
from live_attune.session.pipeline import ChannelPipeline
from live_attune.synth import make_conversation
from live_attune.synth.truth import truth_segments
from live_attune.synth.voices import active_rms

HOP_S = 0.01


def test_model_is_the_one_faster_whisper_ships() -> None:
    path = silero_model_path()
    assert path.name.startswith("silero_vad") and path.suffix == ".onnx"
    assert "faster_whisper" in str(path)


def test_streaming_in_odd_blocks_equals_one_batch() -> None:
    audio = read_all(Path(__file__).parents[2].parent / "shared/data/asr/jfk.wav")[0]
    whole = SileroVad().probabilities(audio)
    vad = SileroVad()
    parts = [vad.probabilities(audio[i:i + 1234]) for i in range(0, len(audio), 1234)]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-5)


def test_flags_line_up_with_windows_after_flush() -> None:
    vad = SileroVad(VadConfig(shift_frames=1))
    n = vad.flags(np.zeros(512 * 10 + 100, np.float32)).size + vad.flush().size
    assert n == 10


def test_silence_and_noise_are_not_speech() -> None:
    rng = np.random.default_rng(0)
    for audio in (np.zeros(16000 * 5, np.float32),
                  (rng.standard_normal(16000 * 5) * 0.01).astype(np.float32)):
        vad = SileroVad()
        assert not np.any(np.concatenate([vad.flags(audio), vad.flush()]))


def _segments(audio: np.ndarray, config: PipelineConfig | None = None) -> list[tuple[float, float]]:
    pipeline = ChannelPipeline(layout_for(1, None, "test"), config)
    pipeline.process(audio[None, :])
    pipeline.finish()
    return [(s.start_s, s.end_s) for s in pipeline.history.segments]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_onsets_and_offsets_within_50_ms_on_clean_speech(seed: int) -> None:
    conv = make_conversation(seed)
    truth = truth_segments(conv)
    errors = []
    for speaker, track in conv.tracks.items():
        found = _segments(track * (10 ** (-22 / 20) / active_rms(track)))
        mine = [(s, e) for who, s, e in truth if who == speaker]
        assert len(found) == len(mine)
        for (ts, te), (fs, fe) in zip(mine, found, strict=True):
            errors += [fs - ts, fe - te]
    err = np.abs(np.array(errors))
    print(f"seed {seed}: median |error| {np.median(err) * 1000:.0f} ms, "
          f"{np.mean(err <= 0.05):.0%} within 50 ms, max {err.max() * 1000:.0f} ms")
    assert np.median(err) <= 0.025
    assert np.mean(err <= 0.05) >= 0.85
    assert err.max() <= 0.15


def _mask(spans: list[tuple[float, float]], n: int) -> np.ndarray:
    m = np.zeros(n, bool)
    for s, e in spans:
        m[int(s / HOP_S): int(e / HOP_S)] = True
    return m


def _collar_accuracy(ref: np.ndarray, hyp: np.ndarray, collar_s: float = 0.25) -> float:
    """Frame accuracy outside ±collar of the reference's boundaries (the usual scoring)."""
    keep = np.ones(len(ref), bool)
    c = int(collar_s / HOP_S)
    for edge in np.flatnonzero(np.diff(ref.astype(np.int8))) + 1:
        keep[max(0, edge - c): edge + c] = False
    return float(np.mean(ref[keep] == hyp[keep]))


REAL = [("pyannote_sample/sample", "pyannote_sample/sample.json"),
        ("ami/dev00", "ami/dev00.ami_only_words.json"),
        ("ami/dev00", "ami/dev00.pyannote_debug.json"),
        ("ami/trn00", "ami/trn00.ami_only_words.json"),
        ("ami/trn00", "ami/trn00.pyannote_debug.json"),
        ("ami/trn04", "ami/trn04.ami_only_words.json"),
        ("ami/trn04", "ami/trn04.pyannote_debug.json")]


@pytest.mark.parametrize(("audio_name", "ref_name"), REAL)
def test_speech_frames_against_real_recordings(shared_data: Path, audio_name: str,
                                               ref_name: str) -> None:
    """≥ 90 % frame accuracy against the references' own convention.

    The references mark a speaker's turn as speech through their pauses (dev00's first
    segment, 2.1-13.2 s, holds 3 s at -66..-75 dBFS), so the VAD's output is scored with
    pauses under 1 s bridged and the standard 0.25 s collar. The METRICS.md segmentation
    (0.25 s bridging, no collar) is printed alongside, not asserted.
    """
    conv = shared_data / "conversations"
    audio = read_all(conv / f"{audio_name}.wav")[0]
    n = int(len(audio) / 16000 / HOP_S)
    ref = _mask([(s["start"], s["end"]) for s in
                 json.loads((conv / ref_name).read_text())["segments"]], n)
    strict = _mask(_segments(audio), n)
    bridged_cfg = PipelineConfig(metrics=MetricsConfig(min_pause_s=1.0))
    bridged = _mask(_segments(audio, bridged_cfg), n)
    score = _collar_accuracy(ref, bridged)
    print(f"{ref_name}: {score:.3f} (METRICS.md segmentation, no collar: "
          f"{np.mean(ref == strict):.3f})")
    assert score >= 0.90


def test_two_readers_of_one_run_equal_two_vads(shared_data: Path) -> None:
    """Hysteresis at two thresholds over one model run gives exactly the flags of two
    separate VADs (the one-microphone pipeline's two readings), on a real recording."""
    from live_attune.audio.vad import Hysteresis

    audio = read_all(shared_data / "conversations" / "ami" / "dev00.wav")[0]
    configs = (VadConfig(), VadConfig(threshold=0.1, neg_threshold=0.1))
    vads = [SileroVad(c) for c in configs]
    readers = [Hysteresis(c) for c in configs]
    one, apart = [[], []], [[], []]  # type: ignore[var-annotated]
    shared = SileroVad()
    for i in range(0, len(audio), 1600):
        probs = shared.probabilities(audio[i:i + 1600])
        for k in range(2):
            one[k].append(readers[k].push(probs))
            apart[k].append(vads[k].flags(audio[i:i + 1600]))
    for k in range(2):
        got = np.concatenate([*one[k], readers[k].flush()])
        want = np.concatenate([*apart[k], vads[k].flush()])
        assert len(got) == len(audio) // 512
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(np.concatenate(one[0]), np.concatenate(one[1]))


def test_single_mic_pipeline_reads_its_two_flags_from_one_run(shared_data: Path) -> None:
    """The pipeline's voice-window flags and counted-speech flags are those of two separate
    VADs at its two configs (bit-identical to running the model twice)."""
    from live_attune.session.config import SingleMicOptions, single_mic_layout
    from live_attune.session.single_mic import SingleMicPipeline

    audio = read_all(shared_data / "conversations" / "ami" / "dev00.wav")[0]
    pipe = SingleMicPipeline(single_mic_layout())
    runs: list[int] = []
    model = pipe._vad
    original = model.probabilities

    def counted(samples: np.ndarray) -> np.ndarray:
        runs.append(1)
        return original(samples)

    model.probabilities = counted  # type: ignore[method-assign]
    blocks = range(0, len(audio), 1600)
    for i in blocks:
        pipe.process(audio[None, i:i + 1600])
    pipe.finish()
    assert len(runs) == len(blocks)
    base = PipelineConfig().vad
    for flags, config in ((pipe._voiced, base), (pipe._heard, SingleMicOptions().speech_vad(base))):
        vad = SileroVad(config)
        want = np.concatenate([vad.flags(audio), vad.flush()])
        np.testing.assert_array_equal(flags.view(), want)
