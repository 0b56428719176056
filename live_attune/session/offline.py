"""Offline analysis: a file through the same pipeline the live session uses, and the
steps after it (one microphone by voice, transcription)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from live_attune.audio.decode import iter_blocks, probe
from live_attune.audio.same import ChannelsAlike
from live_attune.audio.vad import WINDOW
from live_attune.core import SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import Event, Segment, Transcript, Turn
from live_attune.core.utterances import SettledUtterances, Span
from live_attune.errors import AudioInputError, UsageError
from live_attune.prosody import ProsodyTracker
from live_attune.session.config import (
    MODE_ACTIVITY,
    Layout,
    PipelineConfig,
    SingleMicOptions,
    layout_for,
    single_mic_layout,
)
from live_attune.session.pipeline import Pipeline, make_pipeline
from live_attune.session.result import SessionResult, session_result
from live_attune.session.single_mic import SingleMicPipeline
from live_attune.speakers.channels import SHARED, ChannelMap
from live_attune.speakers.single import FRAME_S

Progress = Callable[[float, SessionMetrics], None]  # seconds of audio done, live measures


def analyze_file(path: str | Path, *, channel_map: ChannelMap | None = None,
                 config: PipelineConfig | None = None, progress: Progress | None = None,
                 prosody: bool = True, single_mic: SingleMicOptions | None = None,
                 transcribe: bool = False, model: Path | None = None) -> SessionResult:
    """Run ``path`` through the pipeline as fast as possible (live replay: audio/replay.py).

    With ``prosody`` the per-turn prosody tracker runs on the same blocks. A mono file with
    ``single_mic`` options is then attributed to speakers by voice (speakers/single.py).
    With ``transcribe`` the utterances are transcribed (``model``, else the bundled one) on
    a thread beside the analysis: by channel, each utterance as it settles; by voice, the
    speech as it settles, its words given to the speakers the end-of-session revision finds.
    """
    if channel_map is not None and channel_map.roles == (SHARED,):
        channel_map = None  # a profile's one shared microphone: the same as no map
    channels = probe(path).channels
    one = channels == 1 or (channel_map is None and same_channels(path))
    by_voice = single_mic is not None and channel_map is None and one
    if single_mic is not None and not by_voice and (single_mic.speakers is not None
                                                     or single_mic.swap_roles):
        raise UsageError(f"{path}: --speakers and --swap-roles are for one microphone, and "
                         f"the file's {channels} channels are a microphone per person: the "
                         "channels say who is who (--channels client,therapist turns them "
                         "round)")
    if transcribe:  # a missing or broken model fails before a long analysis, and its load
        _load_whisper(model)  # peak (~75 MB) comes while the process is small
    return _analyze(path, channel_map=channel_map, config=config, progress=progress,
                    prosody=prosody, single_mic=single_mic if by_voice else None,
                    transcribe=transcribe, model=model, one_microphone=one)


SAME_CHANNELS_S = 60.0  # how much of a file's start tells whether its channels are one


def same_channels(path: str | Path) -> bool:
    """Whether a file's channels all carry the same sound over its first minute, with
    something heard in it (audio/same.py): one microphone saved as several channels."""
    alike, heard = ChannelsAlike(), 0
    for block in iter_blocks(path):
        alike.feed(block)
        heard += block.shape[1]
        if heard >= SAME_CHANNELS_S * SAMPLE_RATE:
            break
    return alike.same


def _load_whisper(model: Path | None) -> None:
    """The model Whisper's thread beside the analysis will use (one thread: the analysis
    has the other core)."""
    from live_attune.asr.background import BESIDE_THREADS
    from live_attune.asr.whisper import default_model_path, load_model

    load_model(model or default_model_path(), BESIDE_THREADS)


def _analyze(path: str | Path, *, channel_map: ChannelMap | None,
             config: PipelineConfig | None, progress: Progress | None,
             prosody: bool, single_mic: SingleMicOptions | None = None,
             transcribe: bool = False, model: Path | None = None,
             one_microphone: bool = False) -> SessionResult:
    """The pipeline over the file's blocks. With ``single_mic`` (a mono file): the
    one-microphone pipeline, as live (session/single_mic.py), the number of speakers
    estimated unless the options give it; its channel's prosody frames are measured as the
    blocks come and summarised per turn once the end-of-session revision has said who
    spoke when."""
    info = probe(path)
    pipeline = _pipeline_for(path, 1 if one_microphone else info.channels, channel_map,
                             config, single_mic)
    by_voice = isinstance(pipeline, SingleMicPipeline)
    tracker = ProsodyTracker(pipeline.layout.speakers, shared=by_voice) if prosody else None
    whisper = _whisper_for(pipeline, model) if transcribe else None
    notes = _mode_notes(pipeline.layout)
    if one_microphone and info.channels > 1:
        notes.insert(0, f"the file's {info.channels} channels carry the same sound (one "
                        "microphone saved as several channels): analysed as one microphone")
    try:
        samples = _feed(path, pipeline, tracker, whisper, progress, notes)
        metrics, events = _finish(pipeline, tracker)
        transcript = [] if whisper is None else whisper.finish()
    except BaseException:
        if whisper is not None:
            whisper.abandon()
        raise
    if tracker is not None:
        tracker.events(events)
    if not pipeline.history.segments:
        notes.append("no speech detected")
    if isinstance(pipeline, SingleMicPipeline) and single_mic is not None:
        notes.append(_by_voice_note(pipeline, single_mic))
    return session_result(info=info, layout=pipeline.layout, config=pipeline.config,
                          metrics=metrics, history=pipeline.history,
                          duration_s=samples / SAMPLE_RATE, notes=notes,
                          prosody=None if tracker is None else tracker.finish(),
                          attribution=pipeline.attribution, single_mic=single_mic,
                          transcript=transcript)


def _pipeline_for(path: str | Path, channels: int, channel_map: ChannelMap | None,
                  config: PipelineConfig | None, single_mic: SingleMicOptions | None
                  ) -> Pipeline:
    """By voice where ``single_mic`` is given (a mono file), else by channel."""
    if single_mic is not None:
        return SingleMicPipeline(single_mic_layout(single_mic.speakers or 2), config,
                                 options=single_mic, offline=True)
    return make_pipeline(layout_for(channels, channel_map, str(path)), config,
                         sample_rate=SAMPLE_RATE)


def _whisper_for(pipeline: Pipeline, model: Path | None) -> _Transcribing | _TranscribingSpeech:
    """Whisper's thread beside the analysis: by speech (one microphone) or by channel."""
    if isinstance(pipeline, SingleMicPipeline):
        return _TranscribingSpeech(pipeline, model)
    return _Transcribing(pipeline, model)


def _feed(path: str | Path, pipeline: Pipeline, tracker: ProsodyTracker | None,
          whisper: _Transcribing | _TranscribingSpeech | None, progress: Progress | None,
          notes: list[str]) -> int:
    """Every block of the file through the pipeline, the prosody tracker and Whisper's
    thread; the samples read per channel. The decoder adds its notes (a cut file, NaN/Inf
    set to silence) when it is done."""
    by_voice = isinstance(pipeline, SingleMicPipeline)
    channels = [0] if by_voice else list(pipeline.layout.channel_indices)
    samples = 0
    one = pipeline.layout.input_channels == 1  # a file whose channels are all the same
    for block in iter_blocks(path, notes=notes):
        if one:
            block = block[:1]
        events = pipeline.process(block)
        if tracker is not None:
            tracker.feed(block[channels])
            if not by_voice:  # by voice: who spoke is settled by the revision
                tracker.events(events)
        if whisper is not None:
            whisper.feed(block)
        samples += block.shape[1]
        if progress is not None:
            progress(samples / SAMPLE_RATE, pipeline.snapshot())
    if samples == 0:
        raise AudioInputError(f"{path}: contains no audio samples")
    if samples < WINDOW:  # not one 32 ms frame: a 0.0 s session would be stored
        raise AudioInputError(f"{path}: {1000 * samples / SAMPLE_RATE:.0f} ms of audio, too "
                              f"short to measure (one frame is {FRAME_S * 1000:.0f} ms)")
    return samples


def _finish(pipeline: Pipeline, tracker: ProsodyTracker | None
            ) -> tuple[SessionMetrics, list[Event]]:
    """The pipeline's last measures and the events the prosody tracker is still owed: by
    voice, the revision's segments and turns, its speakers named for the tracker (they may
    be more or fewer than laid out)."""
    metrics, events = pipeline.finish()
    if isinstance(pipeline, SingleMicPipeline):
        events = _in_order(pipeline.history)
        if tracker is not None:
            tracker.name_speakers(pipeline.layout.speakers)
    return metrics, events


class _Beside:
    """Whisper's thread beside the analysis (asr/background.py), fed settled utterances
    with the recent audio they are cut from."""

    def __init__(self, channel_of: dict[str, int], model: Path | None) -> None:
        from live_attune.asr.background import BackgroundTranscriber, SpanAudio

        self._settled = SettledUtterances()
        self._audio = SpanAudio(channel_of)
        self._whisper = BackgroundTranscriber(model)

    def abandon(self) -> None:
        self._whisper.abandon()

    def _send(self, spans: list[Span]) -> None:
        for span in spans:
            self._whisper.put(span, self._audio.take(span))


class _Transcribing(_Beside):
    """Utterances sent to Whisper as soon as they settle: the engine's history holds every
    segment ending before ``processed_s``, in that order, so ``SettledUtterances`` gives
    what ``utterances`` gives at the end. Audio is kept from the earliest start an
    unsettled utterance may still have: the earliest open utterance, open segment, or what
    the engine has not yet measured. No segment still to come starts before the earliest
    open segment or what is not yet measured, so an utterance silent ``end_gap_s`` by then
    is settled by the clock: a long silence does not hold its audio until the next one."""

    def __init__(self, pipeline: Pipeline, model: Path | None) -> None:
        layout = pipeline.layout
        super().__init__(dict(zip(layout.speakers, layout.channel_indices, strict=True)),
                         model)
        self._pipeline = pipeline

    def feed(self, block: np.ndarray) -> None:
        pipeline = self._pipeline
        self._audio.add(block)
        self._send(self._settled.update(pipeline.history.segments))
        starts = [pipeline.processed_s, *pipeline.open_segments_s().values()]
        self._send(self._settled.advance(min(starts)))
        if (first := self._settled.earliest_open_s()) is not None:
            starts.append(first)
        self._audio.forget_before(int(min(starts) * SAMPLE_RATE))

    def finish(self) -> list[Transcript]:
        from live_attune.language.labeller import label_transcripts

        self._send(self._settled.finish(self._pipeline.history.segments))
        return label_transcripts(self._whisper.finish())


class _TranscribingSpeech(_Beside):
    """One microphone: who said what is settled only by the end-of-session revision, so
    the speech itself goes to Whisper as it settles — the runs of frames counted as speech,
    joined into utterances by the same rule, as one voice — and at the end its words are
    given to the revised speakers' utterances (``attribute_words``). Each word is
    transcribed once: where two voices overlap it goes to the one holding the speech.

    Measured against transcribing each revised utterance after the analysis (generator
    sessions of 20 turns, word error rate over the whole conversation; after / beside):
    default seeds 1-4 0.240/0.273, 0.102/0.137, 0.174/0.196, 0.157/0.182 (beside worse by
    0.02-0.035), hard seeds 1-3 0.247/0.236, 0.401/0.370, 0.283/0.243 (beside better); mean
    0.229 after, 0.234 beside. Cutting Whisper's utterances by the live decisions instead
    gave 0.248 (a wrong live decision packs one person's words with the other's)."""

    SPEECH = "speech"  # the one voice Whisper's utterances are cut for

    def __init__(self, pipeline: SingleMicPipeline, model: Path | None) -> None:
        super().__init__({self.SPEECH: 0}, model)
        self._pipeline = pipeline
        self._runs = SpeechRuns(self.SPEECH)

    def feed(self, block: np.ndarray) -> None:
        self._audio.add(block)
        self._send(self._settled.update(self._runs.read(self._pipeline.heard)))
        # no run to come starts before the open one (or the frames read): an utterance
        # silent end_gap_s by then is done, and its audio need not wait for the next run
        self._send(self._settled.advance(self._runs.open_from * FRAME_S))
        keep_samples = [self._runs.open_from * WINDOW]
        if (first_s := self._settled.earliest_open_s()) is not None:
            keep_samples.append(int(first_s * SAMPLE_RATE))
        # a span's first sample is int(start_s * rate), which can round one under
        self._audio.forget_before(min(keep_samples) - 1)

    def finish(self) -> list[Transcript]:
        """The words given to the revised utterances (after the pipeline's ``finish``)."""
        from live_attune.asr.background import attribute_words
        from live_attune.core.utterances import utterances
        from live_attune.language.labeller import label_transcripts

        pipeline = self._pipeline
        self._send(self._settled.finish(self._runs.read(pipeline.heard, final=True)))
        holds = [Segment(a.speaker, a.start_s, a.end_s) for a in pipeline.attribution
                 if not a.second_voice]
        return label_transcripts(attribute_words(
            self._whisper.finish(), utterances(pipeline.history.segments), holds))


class SpeechRuns:
    """Runs of frames flagged as speech, read as the flags grow: ``read`` gives every run
    closed so far (a list that only grows, each run ending before any later one), as one
    ``speaker``'s segments; ``final`` closes the last."""

    def __init__(self, speaker: str) -> None:
        self.speaker = speaker
        self._runs: list[Segment] = []
        self._read = 0  # frames read so far
        self._open: int | None = None  # first frame of the run still going on

    @property
    def open_from(self) -> int:
        """The first frame a run not yet closed may still hold."""
        return self._read if self._open is None else self._open

    def read(self, flags: np.ndarray, *, final: bool = False) -> list[Segment]:
        new = np.asarray(flags[self._read:], bool)
        edges = np.flatnonzero(np.diff(np.concatenate([[self._open is not None], new])))
        for edge in edges:
            self._close_or_open(self._read + int(edge))
        self._read = len(flags)
        if final and self._open is not None:
            self._close_or_open(self._read)
        return self._runs

    def _close_or_open(self, frame: int) -> None:
        if self._open is None:
            self._open = frame
        else:
            self._runs.append(Segment(self.speaker, self._open * FRAME_S, frame * FRAME_S))
            self._open = None


def _by_voice_note(pipeline: SingleMicPipeline, options: SingleMicOptions) -> str:
    heuristic = ("the therapist is the speaker nearest to the enrolled voice print"
                 if options.voice_print is not None
                 else "the first person to speak is taken as the therapist")
    swapped = "; roles swapped on request" if options.swap_roles else ""
    if not pipeline.history.segments:  # nobody to tell apart (said: "no speech detected")
        return "single microphone: no voices to tell apart"
    n = len(pipeline.layout.speakers)
    if n == 1:
        return (f"single microphone: one voice heard ({pipeline.method}), taken as the "
                f"therapist{swapped} (--swap-roles turns it round)")
    return (f"single microphone: {n} speakers told apart by voice "
            f"({pipeline.method}); {heuristic}{swapped} (--swap-roles turns them round)")


def _in_order(history: SessionHistory) -> list[Event]:
    """The revised session's segments and turns as the engine would have closed them: by
    end, a turn after the segments that end with it."""
    both: list[Segment | Turn] = [*history.segments, *history.turns]
    return [*sorted(both, key=_closing)]


def _closing(event: Segment | Turn) -> tuple[float, bool]:
    return event.end_s, isinstance(event, Turn)


def _mode_notes(layout: Layout) -> list[str]:
    if layout.mode == MODE_ACTIVITY:  # (one microphone by voice is said after attribution)
        return ["mono input: speech activity only, not attributed to therapist or client "
                "(single-microphone attribution is not used)"]
    return []
