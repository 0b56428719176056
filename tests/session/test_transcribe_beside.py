"""analyze --transcribe: Whisper on a thread beside the analysis, fed each utterance as it
settles (asr/background.py, session/offline.py). The words must be those of transcribing
after the analysis; only the time they take may differ."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from live_attune.asr.background import BackgroundTranscriber, SpanAudio
from live_attune.asr.whisper import span_audio
from live_attune.audio.decode import iter_blocks
from live_attune.core.utterances import SettledUtterances, Span, utterances
from live_attune.errors import AudioInputError
from live_attune.session.config import layout_for
from live_attune.session.offline import analyze_file, with_transcript
from live_attune.session.pipeline import ChannelPipeline
from live_attune.synth import MixConfig, ScenarioConfig
from live_attune.synth.truth import write
from tests.conftest import scripted

CHANNEL_OF = {"therapist": 0, "client": 1}


def hard_render(root: Path, seed: int) -> Path:
    out = root / f"hard{seed}"
    if not (out / "stereo.wav").exists():
        write(scripted(seed, ScenarioConfig.hard(12)), out, MixConfig.hard(seed))
    return out / "stereo.wav"


@pytest.mark.parametrize(("seed", "block"), [(1, 4_000), (2, 1_000), (3, 16_000)])
def test_utterances_settled_as_the_analysis_goes_are_the_finished_sessions(
        synth_dir: Path, seed: int, block: int) -> None:
    """Hard conversations (overlaps, backchannels, pauses in first phrases): the spans
    settled block by block, and their audio cut from the blocks kept, equal ``utterances``
    over the finished session and ``span_audio`` reading the file afterwards."""
    stereo = hard_render(synth_dir, seed)
    pipeline = ChannelPipeline(layout_for(2, None, str(stereo)))
    settled, audio = SettledUtterances(), SpanAudio(CHANNEL_OF)
    got: list[tuple[Span, np.ndarray]] = []
    most_held, before_s, seen = 0, 0.0, 0
    for piece in _pieces(stereo, block):
        pipeline.process(piece)
        audio.add(piece)
        segments = pipeline.history.segments
        # the premise: a segment that comes later ends after what was measured before
        assert all(before_s <= s.end_s < pipeline.processed_s for s in segments[seen:])
        before_s, seen = pipeline.processed_s, len(segments)
        got += [(s, audio.take(s)) for s in settled.update(segments)]
        starts = [pipeline.processed_s, *pipeline.open_segments_s().values()]
        if (first := settled.earliest_open_s()) is not None:
            starts.append(first)
        audio.forget_before(int(min(starts) * 16_000))
        most_held = max(most_held, audio.held_samples)
    pipeline.finish()
    got += [(s, audio.take(s)) for s in settled.finish(pipeline.history.segments)]
    spans = utterances(pipeline.history.segments)
    assert len(spans) >= 15
    assert sorted((s for s, _ in got), key=lambda s: s.start_s) == spans
    for speaker in CHANNEL_OF:  # each speaker's in start order: the same packs
        mine = [s for s, _ in got if s.speaker == speaker]
        assert mine == sorted(mine, key=lambda s: s.start_s)
    after = dict(span_audio(stereo, spans, CHANNEL_OF))
    assert all(np.array_equal(a, after[s]) for s, a in got)
    assert most_held < 25 * 16_000  # only what an open utterance (≤ 15 s) may need


def _pieces(path: Path, block: int) -> list[np.ndarray]:
    audio = np.concatenate(list(iter_blocks(path)), axis=1)
    return [audio[:, i:i + block] for i in range(0, audio.shape[1], block)]


def test_forgotten_audio_is_an_error_not_silence() -> None:
    audio = SpanAudio(CHANNEL_OF)
    for _ in range(4):
        audio.add(np.ones((2, 16_000), np.float32))
    audio.forget_before(2 * 16_000)
    assert audio.take(Span("client", 2.5, 3.0)).shape == (8_000,)
    with pytest.raises(ValueError, match="forgotten"):
        audio.take(Span("client", 1.5, 3.0))


@pytest.mark.slow
def test_analyze_transcribing_beside_gives_the_words_of_transcribing_after(
        brief_conversation: dict[str, Path]) -> None:
    """The real Whisper model: the same transcript, words and times, and the same prosody."""
    stereo = brief_conversation["stereo"]
    after = with_transcript(analyze_file(stereo), None)
    beside = analyze_file(stereo, transcribe=True)
    assert len(after.transcript) >= 4
    assert beside.transcript == after.transcript
    assert beside.prosody == after.prosody and beside.metrics == after.metrics


def test_a_failure_on_whisper_s_thread_reaches_finish() -> None:
    whisper = BackgroundTranscriber()
    whisper.put(Span("client", 0.0, 1.0), np.zeros((2, 2, 2), np.float32))  # not audio
    with pytest.raises(ValueError):  # the pack is transcribed at finish: numpy's refusal
        whisper.finish()
    assert not _transcribe_threads()


def test_a_failure_on_whisper_s_thread_stops_the_next_put_and_ends_the_thread() -> None:
    """15 s utterances fill a pack every two: the bad one's pack fails while the caller is
    still putting; a later put raises it, and the thread is gone without ``abandon``."""
    whisper = BackgroundTranscriber(waiting=2)
    whisper.put(Span("client", 0.0, 15.0), np.zeros((2, 2, 2), np.float32))  # not audio
    with pytest.raises(ValueError):
        for i in range(1, 40):
            whisper.put(Span("client", 15.0 * i, 15.0 * (i + 1)),
                        np.zeros(15 * 16_000, np.float32))
    assert not _transcribe_threads()


def test_abandoning_a_busy_thread_waits_for_one_pack_at_most() -> None:
    whisper = BackgroundTranscriber(waiting=2)
    for i in range(4):  # two packs of speech-less audio: fills the queue
        whisper.put(Span("client", 15.0 * i, 15.0 * (i + 1)),
                    np.random.default_rng(i).normal(0, 0.01, 15 * 16_000).astype(np.float32))
    whisper.abandon()
    assert not _transcribe_threads()


def test_a_file_without_audio_stops_the_thread_and_says_why(
        tmp_path: Path, brief_conversation: dict[str, Path]) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(brief_conversation["stereo"].read_bytes()[:44])  # a header, no samples
    with pytest.raises(AudioInputError):
        analyze_file(empty, transcribe=True)
    assert not _transcribe_threads()


def _transcribe_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "transcribe"]
