"""analyze --transcribe: Whisper on a thread beside the analysis, fed each utterance as it
settles (asr/background.py, session/offline.py). The words must be those of transcribing
after the analysis; only the time they take may differ."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pytest

from live_attune.asr.background import (
    BackgroundTranscriber,
    SpanAudio,
    Spoken,
    attribute_words,
)
from live_attune.asr.wer import wer
from live_attune.asr.whisper import span_audio
from live_attune.audio.decode import iter_blocks
from live_attune.core.events import Segment, Transcript, Word
from live_attune.core.utterances import SettledUtterances, Span, utterances
from live_attune.errors import AudioInputError
from live_attune.language.labeller import label_transcripts
from live_attune.session.config import SingleMicOptions, layout_for
from live_attune.session.offline import SpeechRuns, analyze_file
from live_attune.session.pipeline import ChannelPipeline
from live_attune.session.result import SessionResult, session_result
from live_attune.synth import MixConfig, ScenarioConfig
from live_attune.synth.truth import write
from tests.conftest import scripted

CHANNEL_OF = {"therapist": 0, "client": 1}


def with_transcript(result: SessionResult, model: Path | None) -> SessionResult:
    """The reference: the result with its utterances transcribed after the analysis (the
    bundled model unless ``model``), one span after another."""
    from live_attune.asr.whisper import transcribe_spans

    channel_of = dict(zip(result.layout.speakers, result.layout.channel_indices, strict=True))
    spans = utterances(result.history.segments)
    lines = label_transcripts(transcribe_spans(result.info.path, spans, channel_of, model))
    return session_result(info=result.info, layout=result.layout, config=result.config,
                          metrics=result.metrics, history=result.history,
                          duration_s=result.duration_s, notes=result.notes, transcript=lines,
                          prosody=result.prosody, missing_audio=result.missing_audio,
                          attribution=result.attribution, single_mic=result.single_mic)


def hard_render(root: Path, seed: int) -> Path:
    out = root / f"hard{seed}"
    if not (out / "stereo.wav").exists():
        write(scripted(seed, ScenarioConfig.hard(12)), out, MixConfig.hard(seed))
    return out / "stereo.wav"


@pytest.mark.parametrize(("seed", "block", "silence_s"),
                         [(1, 4_000, 0), (2, 1_000, 0), (3, 16_000, 0), (1, 4_000, 120)])
def test_utterances_settled_as_the_analysis_goes_are_the_finished_sessions(
        synth_dir: Path, seed: int, block: int, silence_s: int, tmp_path: Path) -> None:
    """Hard conversations (overlaps, backchannels, pauses in first phrases): the spans
    settled block by block, and their audio cut from the blocks kept, equal ``utterances``
    over the finished session and ``span_audio`` reading the file afterwards — also with
    two minutes of silence in the middle, which holds no audio (the last utterance before
    it is settled by the clock; it was held until the next segment)."""
    stereo = hard_render(synth_dir, seed)
    if silence_s:
        stereo = _with_silence(stereo, silence_s, tmp_path / "silent.wav")
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
        got += [(s, audio.take(s)) for s in settled.advance(min(starts))]
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


def _with_silence(path: Path, silence_s: int, out: Path) -> Path:
    """The file with ``silence_s`` of silence at its middle."""
    from live_attune.synth.truth import write_wav

    audio = np.concatenate(list(iter_blocks(path)), axis=1)
    half = audio.shape[1] // 2
    quiet = np.zeros((audio.shape[0], silence_s * 16_000), np.float32)
    write_wav(out, np.concatenate([audio[:, :half], quiet, audio[:, half:]], axis=1))
    return out


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


@pytest.mark.parametrize("kind", ["stereo", "mono"])
def test_a_file_without_audio_stops_the_thread_and_says_why(
        tmp_path: Path, brief_conversation: dict[str, Path], kind: str) -> None:
    empty = tmp_path / "empty.wav"
    empty.write_bytes(brief_conversation[kind].read_bytes()[:44])  # a header, no samples
    with pytest.raises(AudioInputError):
        analyze_file(empty, transcribe=True, single_mic=SingleMicOptions())
    assert not _transcribe_threads()


def _transcribe_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "transcribe"]


# One microphone: the speech goes to Whisper as it settles, whoever spoke; its words are
# given to the revised speakers' utterances at the end (session/offline._TranscribingSpeech).

def test_speech_runs_read_as_the_flags_grow_are_the_runs_of_all_the_flags() -> None:
    rng = np.random.default_rng(3)
    flags = np.repeat(rng.random(400) < 0.5, rng.integers(1, 30, 400))
    whole = SpeechRuns("speech").read(flags, final=True)
    assert len(whole) > 80
    for cuts in ([7, 8, 900, 901, 2000], list(range(0, len(flags), 61))):
        runs = SpeechRuns("speech")
        seen = 0
        for hi in [*cuts, len(flags)]:
            got = runs.read(flags[:hi])
            assert all(r.end_s * 1000 <= hi * 32 for r in got[seen:])  # closed by now
            seen = len(got)
            assert runs.open_from * 32 / 1000 >= (got[-1].end_s if got else 0.0)
        assert runs.read(flags, final=True) == whole
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(int), [0]])))
    assert [(r.start_s, r.end_s) for r in whole] == [
        (a * 0.032, b * 0.032) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _words(*timed: tuple[str, float, float]) -> Transcript:
    words = tuple(Word(t, a, b) for t, a, b in timed)
    return Transcript("speech", words[0].start_s, words[-1].end_s, "", words)


def test_words_go_to_the_utterance_of_whoever_holds_the_speech_at_their_middle() -> None:
    spoken = [_words(("How", 0.1, 0.3), ("are", 0.3, 0.5), ("you?", 0.5, 0.9),
                     ("Fine,", 1.05, 1.4), ("thanks.", 1.4, 1.9)),
              _words(("Mm-hm.", 2.9, 3.2), ("Go", 4.0, 4.2), ("on.", 4.2, 4.5))]
    spans = [Span("therapist", 0.0, 1.0), Span("client", 1.0, 3.5),
             Span("therapist", 2.8, 3.3), Span("therapist", 4.0, 4.6)]
    holds = [Segment("therapist", 0.0, 1.0), Segment("client", 1.0, 3.5),
             Segment("therapist", 4.1, 4.6)]  # the backchannel at 2.8 s is a second voice
    lines = attribute_words(spoken, spans, holds)
    assert [(t.speaker, t.start_s, t.text) for t in lines] == [
        ("therapist", 0.0, "How are you?"), ("client", 1.0, "Fine, thanks. Mm-hm."),
        ("therapist", 4.0, "Go on.")]  # "Go" (mid 4.1 s) sits on the holder's edge
    assert [w.text for w in lines[1].words] == ["Fine,", "thanks.", "Mm-hm."]


def test_a_word_between_runs_goes_to_the_nearest_and_nobody_heard_means_no_lines() -> None:
    spoken = [_words(("so", 1.6, 1.8))]
    spans = [Span("therapist", 0.0, 1.0), Span("client", 2.0, 3.0)]
    holds = [Segment("therapist", 0.0, 1.0), Segment("client", 2.0, 3.0)]
    assert [t.speaker for t in attribute_words(spoken, spans, holds)] == ["client"]
    assert attribute_words(spoken, [], []) == []


def test_a_sliver_of_a_run_holds_no_words_of_its_own() -> None:
    """A run of a few frames the engine did not count as speech (no utterance of its
    speaker overlaps it) holds nothing: its word goes to the run around it, not to that
    speaker's nearest utterance 10 s away (found on a real file by review)."""
    spoken = [_words(("long", 0.2, 0.58), ("story", 0.6, 0.7), ("short.", 0.72, 1.2))]
    spans = [Span("therapist", 0.0, 2.0), Span("client", 12.0, 13.0)]
    holds = [Segment("therapist", 0.0, 0.6), Segment("client", 0.6, 0.696),
             Segment("therapist", 0.696, 2.0), Segment("client", 12.0, 13.0)]
    lines = attribute_words(spoken, spans, holds)
    assert [(t.speaker, t.text) for t in lines] == [("therapist", "long story short.")]


@pytest.mark.slow
def test_one_microphone_transcribed_beside_gives_the_words_to_their_speakers(
        conversation: dict[str, Path]) -> None:
    """The real model on a generator conversation on one microphone (seed 1, 24 turns): the
    lines are the revised utterances, their words in order and inside them (within 0.5 s),
    and the word error rate over the whole conversation under 0.35 and within 0.06 of
    transcribing each revised utterance after the analysis (measured on 20-turn
    conversations: _TranscribingSpeech's docstring)."""
    mono = conversation["mono"]
    options = SingleMicOptions()
    plain = analyze_file(mono, single_mic=options)
    beside = analyze_file(mono, single_mic=options, transcribe=True)
    after = with_transcript(plain, None)
    assert beside.metrics == plain.metrics and beside.history == plain.history
    spans = set(utterances(beside.history.segments))
    assert len(beside.transcript) >= 15
    assert all(Span(t.speaker, t.start_s, t.end_s) in spans for t in beside.transcript)
    for line in beside.transcript:
        starts = [w.start_s for w in line.words]
        assert starts == sorted(starts) and line.text.split() == [w.text for w in line.words]
        assert all(line.start_s - 0.5 <= (w.start_s + w.end_s) / 2 <= line.end_s + 0.5
                   for w in line.words), line  # no word given to a line far from it
    conv = scripted(1)
    said = " ".join(u.text for u in sorted(conv.utterances, key=lambda u: u.start_s))
    heard = {name: wer(said, " ".join(t.text for t in r.transcript))
             for name, r in (("after", after), ("beside", beside))}
    assert heard["beside"] < 0.35 and heard["beside"] <= heard["after"] + 0.06, heard
    for role in ("therapist", "client"):  # words given to the wrong person would show here
        theirs = " ".join(u.text for u in conv.utterances if u.speaker == role)
        assert wer(theirs, " ".join(t.text for t in beside.transcript
                                    if t.speaker == role)) < 0.4


class Boom(RuntimeError):
    """The failure made to happen, to be told apart from any other."""


def _fails_in_the_analysis(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    def progress(done_s: float, _metrics: object) -> None:
        if done_s > 30.0:
            raise Boom("the analysis stopped half-way")
    return {"progress": progress}


def _fails_in_the_revision(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    from live_attune.session.single_mic import SingleMicPipeline

    def finish(self: SingleMicPipeline) -> object:
        raise Boom("the revision failed")
    monkeypatch.setattr(SingleMicPipeline, "finish", finish)
    return {}


def _fails_on_whisper_s_thread(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    import live_attune.asr.background as background
    from live_attune.asr.whisper import transcribe_spoken as real  # what the thread runs

    def transcribe_spoken(model: object, spoken: Iterable[Spoken]) -> list[Transcript]:
        real(model, spoken)
        raise Boom("Whisper failed at its last pack")
    monkeypatch.setattr(background, "transcribe_spoken", transcribe_spoken)
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("fail", [_fails_in_the_analysis, _fails_in_the_revision,
                                  _fails_on_whisper_s_thread])
def test_one_microphone_beside_whisper_fails_with_its_own_error_and_no_thread_left(
        conversation: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        fail: Callable[[pytest.MonkeyPatch], dict[str, object]]) -> None:
    """Whisper's thread beside one microphone's analysis: a failure in the analysis, in its
    end-of-session revision or on Whisper's thread reaches the caller as itself, and the
    thread is gone (no hang, nothing left running)."""
    kwargs = fail(monkeypatch)
    with pytest.raises(Boom):
        analyze_file(conversation["mono"], single_mic=SingleMicOptions(), transcribe=True,
                     **kwargs)  # type: ignore[arg-type]
    assert not _transcribe_threads()
