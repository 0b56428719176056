"""One microphone: the spectral voices against the learned encoder, per file (issue 18).

    python bench/bench_single_mic.py [--seeds 1-3] [--hard-seeds 1-8] [--no-live]
                                     [--approaches spectral,encoder] [--speech ON:OFF|none]
                                     [--bouts]

Approaches (SingleMicOptions.voices; live_attune/speakers/single.py):
  spectral  1.5 s windows of mean MFCCs + median pitch, Ward clustering (issue 3)
  encoder   1.6 s windows embedded by the GE2E voice encoder (speakers/encoder.py, numpy),
            speaker count by eigengap, spherical k-means
Each file goes through the offline session path (``analyze_file`` with ``SingleMicOptions``:
VAD, attribution, METRICS.md's activity rules, the engine). Data: generator mono mixes —
default (two voices, SNR 20 dB, RT60 0.3 s) and hard (ScenarioConfig.hard(), MixConfig.hard:
voices ±6 dB, RT60 0.25-0.7 s, SNR 15-30 dB, the harder interruptions) — and the real
recordings in ../shared/data/conversations (no profile, number of speakers estimated).
Per file: DER (pyannote.metrics, collar 0.25 s; references: the generator's truth, the
RTTMs) and its parts (missed speech, false alarm, confusion; each a share of the reference's
speech), DER again with each speaker's pauses under 1 s scored as speech (DER<1s: the real
references mark a turn's pauses as speech, METRICS.md's segments do not; shown beside, the
bars are read on DER), the therapist's talk-share error (generator), interruptions
precision/recall against the truth (same speaker, ±0.5 s: bench_accuracy_hard.matched_pairs;
in the summary also away from METRICS.md's thresholds: bench_accuracy_hard.clear_tally,
truth events with a margin >= 0.1 s, found events matching a bout near a threshold left
out; the missed ones by cause (miss_cause), near a threshold and clear, and the wrong found
ones near a threshold's bout and not, and by what METRICS.md's rules made of the true bout
each matches (a floor-taking, a backchannel, ...; misses_and_falses); among the events of
confidence >= 0.7,
Interruption.confidence; and the confidence's AUC, right events against wrong ones, beside
session 8's bout-only one), the
attribution's CPU time (one BLAS thread) per minute of audio and its peak memory
(tracemalloc). Then the live cost and decision lag (``--no-live`` skips it). ``--speech``
sets SingleMicOptions' speech_on/speech_off (the frames counted as speech); ``none``: the
windows' VAD alone (as before issue 18's session 6).

Session 10, the code on main (the one change tried then was reverted), ``--approaches
encoder --no-live --seeds ""`` with ``--hard-seeds 9-24`` and ``25-40`` (tuning) and
``57-72`` (never run before; replayed with these trims after a run with the reverted
change): interruptions 0.787/0.685 (124/108/85), 0.772/0.607 (117/92/71), 0.645/0.517
(116/93/60); on the clear events 0.750/0.837 (43/48/36), 0.757/0.757 (37/37/28),
0.625/0.610 (41/40/25). Misses near a threshold / clear, 9-24 | 25-40: seen as a
floor-taking 14/2 | 14/4, bout measured < 1 s 10/1 | 9/4, change of voice late 3/3 | 8/0,
onset found, other 3/0 | 2/0, not heard near 2/0 | 3/0, found > 0.5 s off 0/1 | 1/1 (that
label then also took misses beside a neighbour found right; it now looks only at found
events no true one took); wrong found events near a threshold's bout / other: 11/12 |
12/9. So on the tuning seeds 69 of 85 misses lie within 0.1 s of a threshold; on 57-72 the
clear events are missed too (bouts of 1-2 s read 0.20-0.31 s short there).

``--bouts`` (session 11) also sets each true bout (interruption, unsuccessful interruption,
backchannel) against the measured bout of the same speaker and splits the difference
(bout_errors). Hard seeds 9-40 / 41-72 (41-72 each scored once held out before; now
development seeds), bouts of 1-2 s true speech (74 / 87, nearly all unsuccessful
interruptions): median -0.14 / -0.32 s, mean -0.17 / -0.35; lost at the onset to the other
voice 0.11 / 0.14, inside 0.04 / 0.04, at the end 0.18 / 0.21, split off 0.03 / 0.04,
never to the VAD (0 with speech_on 0.1); gained before/inside/after 0.08 0.04 0.07 /
0.03 0.03 0.02. In the cases looked at (seed 56) the end went to the holder where YIN
followed the interrupter's pitch alone: the pitch mix falls to 0 inside the run, which
ends or splits. The gap between the sets (-0.18 s; permutation over seeds p = 0.05) is
half fewer gains, half more losses; it goes with the interrupter's level at the microphone
(1-2 s bouts of an interrupter 3 dB or more under the holder: -0.52 / -0.50 s on both
sets), and it is not a few seeds (12 of 28 / 16 of 32 seeds read their 1-2 s bouts 0.3 s
or more short on average). Tried and not kept: the other voice's steady pitch between two
pitch-mix runs joins them (1-2 s bouts median -0.08 / -0.17 s): interruptions 9-40
0.780/0.647 (241/200/156) -> 0.791/0.693 (241/211/167), 41-72 0.681/0.533 (244/191/130)
-> 0.657/0.557 (244/207/136), backchannels counted as interruptions 7 -> 8 and 7 -> 15
(near-threshold ones, now read whole); trims, min_run_s and the bout threshold move P and
R the opposite ways on both sets.

Held out, hard seeds 73-88, run once (session 11, the code of a16bd8c: one-microphone code
as in session 10; ``--approaches encoder --no-live --seeds "" --hard-seeds 73-88
--bouts``): interruptions 0.705/0.598 (112/95/67), clear 0.732/0.556 (54/41/30),
confidence >= 0.7 0.747/0.500 (112/75/56), AUC 0.658, DER 3.9 % mean, max 5.8 %, share
error max 2.48 pp; 1-2 s bouts (45) median -0.16 s, mean -0.13 s.

Session 13, overlap runs joined across a held floor (OverlapConfig.join_gap_s 0.3 s; the
same commands): 9-24 0.769/0.726 (124/117/90), 25-40 0.762/0.658 (117/101/77), 41-64
0.665/0.566 (189/161/107), 65-88 0.637/0.653 (167/171/109); all 80 seeds 0.696/0.642
(597/550/383); DER mean 3.0 / 3.2 / 3.4 / 3.6 %, share error max 2.01 / 3.92 / 2.56 / 2.75 pp;
of confidence >= 0.7 124/100/84, 117/79/68, 189/121/88, 167/136/99: all 80 seeds 0.778/0.568
(436 found, 339 right). Seeds 25-88 measured before the review's mend of the join (the other
voice looked for in the runs only); 9-24 after it read the same.

Session 18, a change of voice inside a run of speech held back unless it gains
SingleMicConfig.switch_penalty 1.5 (the same commands; ``--switch-penalty 0`` the rule
before): 9-24 0.786/0.710 (124/112/88),
25-40 0.787/0.632 (117/94/74), 41-64 0.682/0.566 (189/157/107), 65-88 0.618/0.641
(167/173/107); all 80 seeds 0.701/0.630 (597/536/376); DER mean 3.0 / 3.2 / 3.3 / 3.6 %,
share error max 2.21 / 3.27 / 2.72 / 3.49 pp (seed 75: 2.74 without); of confidence >= 0.7
all 80 seeds 0.781/0.566 (433 found, 338 right). Held out, hard seeds 105-120, run once
with and once without: 0.753/0.589 (124/97/73) against 0.723/0.589 (124/101/73), DER mean
3.1 % both, share error max 2.58 against 2.26 pp. The real clips: the pyannote sample 9.4 ->
8.2 %, AMI dev00 34.4 -> 34.0 %, the 3-person ones unchanged.

Held out, hard seeds 121-136, run once (session 20, the code of 7d962da; ``--approaches
encoder --no-live --seeds "" --hard-seeds 121-136``): interruptions 0.688/0.600
(110/96/66), of confidence >= 0.7 0.773/0.527 (110/75/58), AUC 0.668; DER mean 3.3 %, max
4.9 %; share error max 2.48 pp (seed 134). The next untouched seeds start at 137.
Then (session 20) a window ending at the audio's end (EncoderWindows._tail): the real clips
DER mean 30.3 -> 29.0 % (AMI dev00 34.0 -> 28.6 %, confusion 9.0 -> 3.7 %; with pauses under
1 s as speech 16.7 -> 11.6 %; the others unchanged); hard seeds 41-56 every figure as before.

``--oracle-overlap`` (session 12): the encoder's second voice taken from the truth instead
of the pitch (true_second_voice: on each frame the attribution gives to someone and the truth
has both speakers on, the other one), the rest as is — what the voices, the VAD and
METRICS.md's rules make of overlaps known exactly. Hard seeds 9-24 / 25-40 / 41-64 / 65-88
(the code of main; ``--approaches encoder --no-live --seeds "" --hard-seeds R
[--oracle-overlap]``), interruptions P/R (truth/found/right), the pitch's against the truth's
overlaps: 0.787/0.685 (124/108/85) -> 0.828/0.968 (124/145/120); 0.772/0.607 (117/92/71) ->
0.776/0.949 (117/143/111); 0.702/0.524 (189/141/99) -> 0.833/0.952 (189/216/180);
0.676/0.587 (167/145/98) -> 0.780/0.958 (167/205/160); all 80 seeds 0.726/0.591
(597/486/353) -> 0.805/0.956 (597/709/571); DER mean 3.3-4.0 % -> 1.7-1.9 %. So nearly all
the lost recall is the overlap detector's, and 0.08 of the precision; with the overlaps
known, 95 of the 138 wrong found ones match a true bout within 0.1 s of a threshold
(a backchannel of 0.9-1.0 s measured >= 1 s: the 32 ms frame grid, the VAD's edges), the rest
are other (43). Tried beside the pitch mix, frame by frame against the truth (hard seeds
9-11, the truth's voices and medians; scratch): a dip of YIN's normalised difference in the
other voice's pitch range (+-3 st; 150 ms mean) tells the high voice under a low one
(AUC 0.88-0.97; the pitch mix 0.91-0.94) but not the low voice under a high one (0.30-0.41:
the high voice's period repeats in the low one's range); a harmonic-comb salience with the
other voice's comb cancelled 0.52-0.53. Not taken further. Also in session 12: two
speakers' segments with the same ends were one track of the DER's annotations (pyannote
keeps one label per segment and track; the second replaced the first): a track per speaker
now (seeds 9-24: every row as before).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import math
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
from pyannote.core import Annotation, Segment  # type: ignore[import-untyped]
from pyannote.metrics.diarization import DiarizationErrorRate

from calibration import voice
from calibration.measure import vad_flags
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import SessionHistory
from live_attune.core.events import CONFIDENT_INTERRUPTION, Interruption
from live_attune.core.events import Segment as SpeechSegment
from live_attune.core.frames import true_runs
from live_attune.core.roles import THERAPIST
from live_attune.core.turns import bout_end_and_speech_s, bout_speech_s
from live_attune.session.config import SingleMicOptions
from live_attune.session.offline import analyze_file
from live_attune.session.result import SessionResult
from live_attune.session.single_mic import SingleMicPipeline
from live_attune.speakers import single
from live_attune.speakers.single import FRAME_S, Attribution, SingleMicConfig, attribute
from live_attune.synth import MixConfig, ScenarioConfig, make_conversation, render
from live_attune.synth.scenario import THERAPIST_LINES
from live_attune.synth.truth import truth_dict, write_wav
from live_attune.synth.voices import THERAPIST_VOICE, speak

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_accuracy_hard import (  # noqa: E402
    CLEAR_S,
    TOLERANCE_S,
    clear_tally,
    matched_pairs,
    seed_list,
)

REAL = ROOT.parent / "shared" / "data" / "conversations"
REAL_FILES = {"ami/dev00": "ami/dev00.ami_only_words.rttm",
              "ami/trn00": "ami/trn00.ami_only_words.rttm",
              "ami/trn04": "ami/trn04.ami_only_words.rttm",
              "pyannote_sample": "pyannote_sample/sample.rttm"}
APPROACHES = ("spectral", "encoder")
BRIDGE_S = 1.0  # the "DER<1s" column: a speaker's pauses under this are scored as speech
# Interruptions at least CONFIDENT_INTERRUPTION sure are tallied apart too. Its 0.7 was
# chosen in session 8 on hard seeds 9-24 for the bout-only confidence then (all events P/R
# 0.735/0.694; confidence >= 0.5 0.743/0.677, >= 0.7 0.784/0.645, >= 0.8 0.793/0.589) and
# kept, not chosen again, for the model that replaced it


def real_wav(name: str) -> Path:
    return REAL / f"{name}.wav" if "/" in name else REAL / name / "sample.wav"


def hypothesis(att: Attribution) -> Annotation:
    ann = Annotation()
    for idx, role in enumerate(att.roles):
        for a, b in true_runs((att.labels == idx) | (att.second == idx)):
            ann[Segment(a * FRAME_S, b * FRAME_S), role] = role  # a track per speaker
    return ann


def segments_annotation(result: SessionResult, bridge_s: float = 0.0) -> Annotation:
    """The session's segments; with ``bridge_s``, each speaker's pauses shorter than it
    filled (the real references mark a turn's pauses as speech: tests/audio/test_vad.py
    scores the VAD the same way)."""
    ann = Annotation()
    ends: dict[str, Segment] = {}
    for seg in sorted(result.history.segments, key=lambda s: s.start_s):
        last = ends.get(seg.speaker)
        if last is not None and seg.start_s - last.end < bridge_s:
            del ann[last, seg.speaker]
            ends[seg.speaker] = Segment(last.start, max(last.end, seg.end_s))
        else:
            ends[seg.speaker] = Segment(seg.start_s, seg.end_s)
        # a track per speaker: two speakers' segments with the same ends are both kept
        ann[ends[seg.speaker], seg.speaker] = seg.speaker
    return ann


def der_of(reference: Annotation, hyp: Annotation) -> float:
    return der_parts(reference, hyp)[0]


def der_parts(reference: Annotation, hyp: Annotation) -> tuple[float, float, float, float]:
    """DER and its missed speech, false alarm and confusion, each over the reference's
    speech (collar 0.25 s, scored over the reference's extent)."""
    metric = DiarizationErrorRate(collar=0.25)
    d = metric(reference, hyp, uem=reference.get_timeline().extent(), detailed=True)
    total = max(float(d["total"]), 1e-9)
    return (float(d["diarization error rate"]), float(d["missed detection"]) / total,
            float(d["false alarm"]) / total, float(d["confusion"]) / total)


def der(reference: Annotation, att: Attribution) -> float:
    """DER of one attribution's frames (before METRICS.md's activity rules)."""
    return der_of(reference, hypothesis(att))


def share_error_pp(reference: Annotation, att: Attribution | Annotation) -> float:
    """Therapist talk share, hypothesis vs reference, in percentage points."""
    hyp = hypothesis(att) if isinstance(att, Attribution) else att

    def share(ann: Annotation) -> float:
        talk = {label: ann.label_duration(label) for label in ann.labels()}
        total = sum(talk.values())
        return talk.get(THERAPIST, 0.0) / total if total else 0.0

    return 100 * abs(share(hyp) - share(reference))


def enrolled_print() -> voice.VoicePrint:
    audio = np.concatenate([speak(THERAPIST_VOICE, t) for t in THERAPIST_LINES[::-1]] * 2)
    return voice.enrol(audio, vad_flags(audio[None])[0], noise_floor_dbfs=None)


def generated(seed: int, *, hard: bool = False) -> tuple[np.ndarray, Annotation, dict[str, Any]]:
    """A generator mono mix, its reference annotation and its truth (METRICS.md's rules)."""
    if hard:
        conv, cfg = make_conversation(seed, ScenarioConfig.hard()), MixConfig.hard(seed)
    else:
        conv, cfg = make_conversation(seed), MixConfig(seed=seed)
    _, mono = render(conv, cfg)
    truth = truth_dict(conv, cfg)
    ref = Annotation()
    segments: list[dict[str, Any]] = truth["segments"]  # type: ignore[assignment]
    for s in segments:
        ref[Segment(s["start_s"], s["end_s"]), s["speaker"]] = s["speaker"]
    return mono[0], ref, truth


def generator(seed: int) -> tuple[np.ndarray, Annotation]:
    """The default generator's mono mix for ``seed`` and its reference."""
    audio, ref, _ = generated(seed)
    return audio, ref


def rttm(path: Path) -> Annotation:
    ann = Annotation()
    for line in path.read_text().splitlines():
        f = line.split()
        ann[Segment(float(f[3]), float(f[3]) + float(f[4])), f[7]] = f[7]
    return ann


@dataclass(frozen=True, kw_only=True)
class Row:
    data: str
    name: str
    approach: str
    speakers: int
    der: float
    parts: tuple[float, float, float]  # missed speech, false alarm, confusion
    der_bridged: float  # pauses under 1 s bridged (the real references' convention)
    share_pp: float | None
    interruptions: tuple[int, int, int] | None  # truth, found, matched
    clear: tuple[int, int, int] | None  # the same away from METRICS.md's thresholds
    confident: tuple[int, int, int] | None  # the same, events CONFIDENT_INTERRUPTION sure
    # each found interruption: its confidence, session 8's bout-only one, and whether right
    rated: tuple[tuple[float, float, bool], ...] | None
    # each missed true interruption: why (miss_cause), and whether away from the thresholds
    misses: tuple[tuple[str, bool], ...] | None
    # each wrong found one: what the truth made of its bout, and whether near a threshold
    falses: tuple[tuple[str, bool], ...] | None
    bouts: tuple[BoutError, ...] | None  # each true bout against the measured one
    analyze_s_per_min: float  # CPU of the whole offline analysis (VAD, engine, ...)
    cpu_s_per_min: float
    peak_mb: float


def attribution_cost(audio: np.ndarray, approach: str) -> tuple[float, float]:
    """CPU seconds per minute of audio and peak traced MB of ``attribute`` alone (one BLAS
    thread, VAD excluded; the encoder's weights loaded beforehand)."""
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    flags = vad_flags(audio[None])[0]
    with threadpool_limits(limits=1, user_api="blas"):
        tracemalloc.start()
        t = time.process_time()
        attribute(audio, flags, config=SingleMicConfig(voices=approach))
        cpu = time.process_time() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return cpu / (len(audio) / SAMPLE_RATE / 60), peak / 2**20


def run_file(data: str, name: str, audio: np.ndarray, ref: Annotation,
             truth: dict[str, Any] | None, options: SingleMicOptions, tmp: Path, *,
             cost: bool, oracle: bool = False, penalty: float | None = None) -> Row:
    approach = options.voices
    wav = tmp / "mono.wav"
    write_wav(wav, audio[None])
    t = time.process_time()
    with overlap_from_truth(truth if oracle else None), held_by(penalty):
        result = analyze_file(wav, single_mic=options, prosody=False)
    whole = (time.process_time() - t) / (len(audio) / SAMPLE_RATE / 60)
    hyp = segments_annotation(result)
    inter = clear = confident = rated = misses = falses = bouts = None
    if truth is not None:
        found = result.history.interruptions
        right = {id(f) for _, f in matched_pairs(truth["interruptions"], found)}
        inter = (len(truth["interruptions"]), len(found), len(right))
        rated = tuple((e.confidence or 0.0, bout_only_confidence(result, e), id(e) in right)
                      for e in found)
        sure = [e for e in found
                if e.confidence is not None and e.confidence >= CONFIDENT_INTERRUPTION]
        confident = (len(truth["interruptions"]), len(sure),
                     len(matched_pairs(truth["interruptions"], sure)))
        if "bouts" in truth and all(t["margin_s"] is not None  # the hard generator's:
                                    for t in truth["interruptions"]):  # margins, bouts
            tally = clear_tally(truth, "interruptions", found)
            clear = (tally.truth, tally.found, tally.matched)
            misses, falses = misses_and_falses(truth, result.history)
            bouts = bout_errors(truth, result.history.segments, result.attribution,
                                result.config.metrics.bridge_s)
    cpu, peak = attribution_cost(audio, approach) if cost else (float("nan"), float("nan"))
    parts = der_parts(ref, hyp)
    return Row(data=data, name=name, approach=approach, speakers=len(result.layout.speakers),
               der=parts[0], parts=parts[1:],
               der_bridged=der_of(ref, segments_annotation(result, BRIDGE_S)),
               share_pp=None if truth is None else share_error_pp(ref, hyp),
               interruptions=inter, clear=clear, confident=confident, rated=rated,
               misses=misses, falses=falses, bouts=bouts,
               analyze_s_per_min=whole,
               cpu_s_per_min=cpu, peak_mb=peak)


def true_second_voice(labels: np.ndarray, segments: Sequence[dict[str, Any]],
                      frame_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The second voice from the truth, in pitch_overlaps' shape: on each frame the
    measured attribution gives to someone (``labels`` >= 0) and where the truth has two
    speakers, the other one (the speaker a voice cluster is: the one its frames hold most
    often alone); the mix 0.5 there. Segments are put on the frame grid by rounding."""
    n = len(labels)
    names = sorted({s["speaker"] for s in segments})
    second, mix = np.full(n, -1), np.zeros(n)
    if len(names) != 2:
        return second, mix
    active = {name: on_grid([(s["start_s"], s["end_s"]) for s in segments
                              if s["speaker"] == name], n, frame_s) for name in names}
    alone = {name: active[name] & ~active[other]
             for name, other in zip(names, names[::-1], strict=True)}
    clusters = range(int(labels.max(initial=-1)) + 1)
    speaker_of = [max(names, key=lambda name: int((alone[name] & (labels == c)).sum()))
                  for c in clusters]
    cluster_of = {name: c for c, name in enumerate(speaker_of)}
    # each cluster's partner: the cluster of the other speaker (-1: none has them)
    partner = np.array([cluster_of.get(names[name == names[0]], -1) for name in speaker_of]
                       + [-1])  # labels of -1 read the last entry
    both = active[names[0]] & active[names[1]]
    second = np.where(both, partner[labels], -1)
    mix = np.where(second >= 0, 0.5, 0.0)
    return second, mix


@contextlib.contextmanager
def held_by(penalty: float | None) -> Iterator[None]:
    """``--switch-penalty``: inside, the encoder's frames are decided with ``penalty`` in
    place of SingleMicConfig.switch_penalty (0: each frame its most alike voice, the rule
    before session 18). None: as configured."""
    if penalty is None:
        yield
        return
    frame_likeness = single._frame_likeness

    def held(speech: np.ndarray, centres: np.ndarray, likeness: np.ndarray, *,
             switch_penalty: float) -> tuple[np.ndarray, np.ndarray]:
        return frame_likeness(speech, centres, likeness, switch_penalty=penalty)

    with mock.patch.object(single, "_frame_likeness", held):
        yield


@contextlib.contextmanager
def overlap_from_truth(truth: dict[str, Any] | None) -> Iterator[None]:
    """``--oracle-overlap``: inside, the one-microphone attribution takes its second voice
    from ``truth`` instead of the pitch (single.pitch_overlaps): what the rest of the path
    (voices, VAD, METRICS.md's rules) makes of overlaps known exactly. No truth: as is.
    Known only as far as the voices are: a truth of two speakers and a cluster for each (a
    cluster is the speaker it holds most often alone; where both clusters read as one
    speaker, or the truth has another number of speakers, no frame gets a second voice;
    with more clusters, one per speaker). Every known overlap has the mix 0.5, so the
    confidence of its second voice is 1.0: under the oracle the rows of confident events
    and the confidence's AUC mean something else, and the analysis' CPU leaves out the
    pitch detector. Generator files and the encoder only (the bench passes no truth else)."""
    if truth is None:
        yield
        return
    segments: list[dict[str, Any]] = truth["segments"]

    def known(labels: np.ndarray, f0_hz: np.ndarray, frame_s: float,
              config: Any = None) -> tuple[np.ndarray, np.ndarray]:
        return true_second_voice(labels, segments, frame_s)

    with mock.patch.object(single, "pitch_overlaps", known):
        yield


def bout_only_confidence(result: SessionResult, event: Interruption) -> float:
    """Session 8's confidence, kept for comparison: the chance the bout really reached
    backchannel_max given a normal error of +0.06 +- 0.34 s (hard seeds 9-24), rounded to
    0.001 as session.json stored it (long bouts tie at 1.0; the unrounded values, as this
    bench read them until 2026-11-30's runs, rank those ties and read higher)."""
    config = result.config.metrics
    bout = bout_speech_s(result.history.segments, event.by, event.at_s, config.bridge_s)
    z = (bout - 0.06 - config.backchannel_max_s) / 0.34
    return round(0.5 * (1.0 + math.erf(z / math.sqrt(2.0))), 3)


MISS_CAUSES = ("found > 0.5 s off", "bout measured < 1 s", "seen as a floor-taking",
               "onset found, other", "change of voice late", "not heard near")


def miss_cause(event: dict[str, Any], history: SessionHistory,
               unmatched: Sequence[Interruption] | None = None) -> str:
    """Why a true interruption was not found, from what the session made of its interrupter
    near its onset (the first that holds, in MISS_CAUSES' order): an interruption within 1 s
    (of ``unmatched``, the found ones no true event took; all found ones if not given),
    a backchannel (its bout measured under backchannel_max), a floor-taking (the holder's
    speech measured ended, terminal, or under floor_min), a segment of theirs beginning there
    (something else), their speech beginning 0.5-3 s later (the change of voice late)."""
    by, at, tol = event["by"], event["at_s"], TOLERANCE_S
    found = history.interruptions if unmatched is None else unmatched
    if any(e.by == by and abs(e.at_s - at) <= 1.0 for e in found):
        return MISS_CAUSES[0]
    if any(e.by == by and abs(e.at_s - at) <= tol for e in history.backchannels):
        return MISS_CAUSES[1]
    if any(e.speaker == by and abs(e.at_s - at) <= tol for e in history.floor_changes):
        return MISS_CAUSES[2]
    starts = [s.start_s - at for s in history.segments if s.speaker == by]
    if any(abs(d) <= tol for d in starts):
        return MISS_CAUSES[3]
    if any(tol < d <= 3.0 for d in starts):
        return MISS_CAUSES[4]
    return MISS_CAUSES[5]


NO_BOUT = "no true bout"  # a wrong found interruption no true bout of its speaker is near


def misses_and_falses(truth: dict[str, Any], history: SessionHistory
                      ) -> tuple[tuple[tuple[str, bool], ...], tuple[tuple[str, bool], ...]]:
    """Each missed true interruption's cause and whether its margin is at least CLEAR_S;
    each wrong found one's true bout (same speaker, +-0.5 s, nearest first): what
    METRICS.md's rules made of it (synth's BOUT_LABELS, or NO_BOUT), and whether it matches
    a true bout near a threshold (margin under CLEAR_S: what the clear tally leaves out)."""
    found = history.interruptions
    pairs = matched_pairs(truth["interruptions"], found)
    got = {id(t) for t, _ in pairs}
    hit = {id(f) for _, f in pairs}
    wrong = [f for f in found if id(f) not in hit]
    misses = tuple((miss_cause(t, history, wrong), t["margin_s"] >= CLEAR_S)
                   for t in truth["interruptions"] if id(t) not in got)
    # near: as clear_tally leaves it out (matching a true bout near a threshold); the label:
    # the true bout of its speaker nearest to it, whatever its margin
    near = {id(f) for _, f in matched_pairs(
        [b for b in truth["bouts"] if b["margin_s"] < CLEAR_S], wrong)}
    bout_of = {id(f): b for b, f in matched_pairs(truth["bouts"], wrong)}
    falses = tuple((bout_of[id(f)]["label"] if id(f) in bout_of else NO_BOUT, id(f) in near)
                   for f in wrong)
    return misses, falses


BOUT_KINDS = ("interruption", "unsuccessful_interruption", "backchannel")  # of synth's labels
BOUT_OWNER = "speaker"  # the one speaker of _bout_span's intervals
BOUT_PARTS = ("onset: given to the other", "onset: not heard", "inside: given to the other",
              "inside: not heard", "end: given to the other", "end: not heard",
              "split off", "gained before", "gained inside", "gained after")
BOUT_LENGTHS_S = (1.0, 2.0, 4.0)  # the summary's bins of true bout speech: < 1, 1-2, 2-4, >= 4
GRID_S = 0.01


@dataclass(frozen=True, kw_only=True)
class BoutError:
    """One true bout (an interruption's, an unsuccessful one's or a backchannel's) against the
    measured bout of the same speaker: its summed speech both ways and the difference split
    into BOUT_PARTS (s; measured - true = gains - losses to within the 10 ms grid the parts
    are counted on: up to ~0.03 s a bout, ~0 on average). A lost 10 ms of the true bout is
    placed before the measured onset (onset), after the measured bout's end (end) or between
    them (inside), and is: given to the other voice (heard, attributed to someone else) or
    not heard (no speech counted), each by where; or split off, wherever it lies (the
    speaker's, but outside this measured bout: a gap of 0.5 s or more cut it off, or the
    segment rules dropped it). Gains: the measured bout's speech outside the true bout's
    speech, before its onset, inside its span (a pause filled) or after its end. A bout with
    no measured speech of its speaker overlapping it loses its speech at the onset (or split
    off, where the speaker's attribution spans hold it)."""

    label: str
    true_s: float
    measured_s: float
    parts_s: tuple[float, ...]  # as BOUT_PARTS


def _bout_span(intervals: Sequence[tuple[float, float]], onset_s: float, bridge_s: float
               ) -> tuple[float, float]:
    """End and summed speech of the bout from ``onset_s`` over one speaker's intervals
    (METRICS.md's bout, as core groups it)."""
    return bout_end_and_speech_s([SpeechSegment(BOUT_OWNER, a, b) for a, b in intervals],
                                 BOUT_OWNER, onset_s, bridge_s)


def on_grid(intervals: Sequence[tuple[float, float]], n: int, step_s: float = GRID_S
             ) -> np.ndarray:
    """(n,) flags of the ``step_s`` frames the intervals cover, their ends rounded."""
    mask = np.zeros(n, bool)
    for a, b in intervals:
        mask[round(a / step_s):round(b / step_s)] = True
    return mask


def bout_errors(truth: dict[str, Any], segments: Sequence[Any], spans: Sequence[Any],
                bridge_s: float = 0.5) -> tuple[BoutError, ...]:
    """Each true bout of BOUT_KINDS against the measured one (``segments``: the session's,
    ``spans``: its attribution, AttributedSpan), on a 10 ms grid (see BoutError)."""
    ends = [s["end_s"] for s in truth["segments"]] + [s.end_s for s in segments]
    n = round(max(ends, default=0.0) / GRID_S) + 2
    t = (np.arange(n) + 0.5) * GRID_S
    heard = on_grid([(s.start_s, s.end_s) for s in spans if not s.second_voice], n)
    speakers = {b["by"] for b in truth["bouts"]}
    true_ivs = {by: [(s["start_s"], s["end_s"]) for s in truth["segments"]
                     if s["speaker"] == by] for by in speakers}
    mine_ivs = {by: [(s.start_s, s.end_s) for s in segments if s.speaker == by]
                for by in speakers}
    # each speaker's grids once, not once per bout
    true_on = {by: on_grid(iv, n) for by, iv in true_ivs.items()}
    mine_on = {by: on_grid(iv, n) for by, iv in mine_ivs.items()}
    theirs = {by: mine_on[by] | on_grid([(s.start_s, s.end_s) for s in spans
                                          if s.speaker == by], n) for by in speakers}
    out = []
    for bout in truth["bouts"]:
        if bout["label"] not in BOUT_KINDS:
            continue
        by, t0 = bout["by"], bout["at_s"]
        mine_iv = mine_ivs[by]
        t1, true_s = _bout_span(true_ivs[by], t0, bridge_s)
        found = [a for a, b in mine_iv if b > t0 and a < t1]
        m0 = min(found, default=t1)
        m1, measured_s = _bout_span(mine_iv, m0, bridge_s) if found else (t1, 0.0)
        true_bout = true_on[by] & (t >= t0) & (t < t1)
        measured = mine_on[by] & (t >= m0) & (t < m1)
        lost, gained = true_bout & ~measured, measured & ~true_bout
        split = lost & theirs[by]
        other, unheard = lost & ~split & heard, lost & ~split & ~heard
        where = (t < m0, (t >= m0) & (t < m1), t >= m1)
        parts = [x & w for w in where for x in (other, unheard)]
        parts += [split, gained & (t < t0), gained & (t >= t0) & (t < t1), gained & (t >= t1)]
        out.append(BoutError(label=bout["label"], true_s=true_s, measured_s=measured_s,
                             parts_s=tuple(round(float(p.sum()) * GRID_S, 3) for p in parts)))
    return tuple(out)


def print_bout_errors(errors: Sequence[BoutError], title: str) -> None:
    """Mean measured - true bout speech and its parts per bin of true bout speech."""
    print(f"\n{title}: true bouts ({', '.join(BOUT_KINDS)}) against the measured ones, "
          "mean s per bout (measured - true = gains - losses, to within the 10 ms grid)")
    print(f"{'true speech':12s}{'n':>5}{'median':>8}{'mean':>8}  "
          + "  ".join(p for p in BOUT_PARTS))
    edges = (0.0, *BOUT_LENGTHS_S, math.inf)
    for lo, hi in itertools.pairwise(edges):
        sel = [e for e in errors if lo <= e.true_s < hi]
        if not sel:
            continue
        delta = [e.measured_s - e.true_s for e in sel]
        parts = np.mean([e.parts_s for e in sel], axis=0)
        name = f"< {hi:g} s" if lo == 0 else f">= {lo:g} s" if hi == math.inf \
            else f"{lo:g}-{hi:g} s"
        print(f"{name:12s}{len(sel):>5}{statistics.median(delta):>8.3f}"
              f"{statistics.fmean(delta):>8.3f}  "
              + "  ".join(f"{x:>{len(p)}.3f}" for x, p in zip(parts, BOUT_PARTS, strict=True)))


def auc(rated: list[tuple[float, bool]]) -> float:
    """The chance a right event's confidence lies above a wrong one's (ties: half)."""
    right = [c for c, ok in rated if ok]
    wrong = [c for c, ok in rated if not ok]
    if not right or not wrong:
        return float("nan")
    wins = sum(1.0 if r > w else 0.5 if r == w else 0.0 for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def _pr(t: tuple[int, int, int] | None) -> str:
    if t is None:
        return f"{'':>18}"
    truth, found, hit = t
    p = f"{hit / found:.2f}" if found else " n/a"
    r = f"{hit / truth:.2f}" if truth else " n/a"
    return f"{truth:3d}/{found:3d}/{hit:3d} {p:>4} {r:>4}"


def print_rows(rows: list[Row]) -> None:
    print(f"{'data':9s}{'file':18s}{'approach':10s}{'spk':>4}{'DER':>8}{'miss':>7}{'FA':>6}"
          f"{'conf':>6}{'DER<1s':>8}{'share pp':>10}"
          f"  {'int t/f/hit   P    R':20s}{'analyze':>9}{'attrib.':>9}{'peak MB':>9}")
    for r in rows:
        share = "" if r.share_pp is None else f"{r.share_pp:.2f}"
        miss, fa, conf = (100 * x for x in r.parts)
        print(f"{r.data:9s}{r.name:18s}{r.approach:10s}{r.speakers:>4}{100 * r.der:>7.1f}%"
              f"{miss:>7.1f}{fa:>6.1f}{conf:>6.1f}{100 * r.der_bridged:>7.1f}%{share:>10}"
              f"  {_pr(r.interruptions):20s}"
              f"{r.analyze_s_per_min:>9.2f}"
              f"{r.cpu_s_per_min:>9.2f}{r.peak_mb:>9.1f}")
    print("(DER<1s: the same with each speaker's pauses under 1 s scored as speech, the real "
          "references' convention; analyze: CPU s per minute of audio of the whole offline "
          "analysis; attrib.: of the "
          "attribution alone, one BLAS thread, first file of each data set; peak MB: "
          "tracemalloc's peak during the attribution)")


def print_summary(rows: list[Row]) -> None:
    print("\nsummary (bars, issue 18: generator DER <= 8 % mean, <= 15 % every seed, share "
          "<= 3 pp every seed, interruptions P >= 0.75 R >= 0.6; real two-party <= 15 %, "
          "3-4 speakers <= 30 %)")
    keys = sorted({(r.data, r.approach) for r in rows})
    for data, approach in keys:
        sel = [r for r in rows if r.data == data and r.approach == approach]
        ders = [r.der for r in sel]
        bridged = [r.der_bridged for r in sel]
        line = (f"{data:9s}{approach:10s} DER mean {100 * statistics.fmean(ders):5.1f} %, "
                f"max {100 * max(ders):5.1f} % (pauses < 1 s as speech: mean "
                f"{100 * statistics.fmean(bridged):.1f}, max {100 * max(bridged):.1f} %)")
        shares = [r.share_pp for r in sel if r.share_pp is not None]
        if shares:
            line += f"; share error max {max(shares):.2f} pp"
        ints = [r.interruptions for r in sel if r.interruptions is not None]
        if ints:
            line += "; interruptions " + _pr(_total(ints))
            clear = [r.clear for r in sel if r.clear is not None]
            if clear:
                line += " (away from the thresholds: " + _pr(_total(clear)).strip() + ")"
            sure = [r.confident for r in sel if r.confident is not None]
            if sure:
                line += (f" (confidence >= {CONFIDENT_INTERRUPTION}: "
                         + _pr(_total(sure)).strip() + ")")
            missed = [m for r in sel if r.misses is not None for m in r.misses]
            if clear:
                line += "; missed (near a threshold/clear): " + ", ".join(
                    f"{cause} {sum(m == (cause, False) for m in missed)}/"
                    f"{sum(m == (cause, True) for m in missed)}" for cause in MISS_CAUSES)
                falses = [f for r in sel if r.falses is not None for f in r.falses]
                line += (f"; wrong found ones near a threshold's bout/others "
                         f"{sum(near for _, near in falses)}/"
                         f"{sum(not near for _, near in falses)}, by their true bout "
                         "(near a threshold/clear): " + ", ".join(
                             f"{label} {sum(f == (label, True) for f in falses)}/"
                             f"{sum(f == (label, False) for f in falses)}"
                             for label in sorted({label for label, _ in falses})))
            rated = [x for r in sel if r.rated is not None for x in r.rated]
            line += (f"; confidence AUC {auc([(c, ok) for c, _, ok in rated]):.3f} (bout-only, "
                     f"session 8: {auc([(b, ok) for _, b, ok in rated]):.3f})")
        line += f"; analyze CPU {statistics.fmean(r.analyze_s_per_min for r in sel):.2f} s/min"
        print(line)


def _total(tallies: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    return (sum(t[0] for t in tallies), sum(t[1] for t in tallies),
            sum(t[2] for t in tallies))


def live_check(approach: str, audio: np.ndarray) -> tuple[float, float, float, float]:
    """The live one-microphone pipeline on ``audio`` in 100 ms blocks with one BLAS thread:
    CPU share of one core of the whole pipeline, of activity-only on the same audio, the
    median and largest decision lag (s)."""
    from threadpoolctl import threadpool_limits

    from live_attune.session.config import layout_for, single_mic_layout
    from live_attune.session.pipeline import ChannelPipeline

    def cpu(pipe: Any) -> tuple[float, list[float]]:
        lags, spent = [], 0.0
        for i in range(0, len(audio), 1600):
            t = time.process_time()
            pipe.process(audio[None, i:i + 1600])
            spent += time.process_time() - t
            heard = min(len(audio), i + 1600) / SAMPLE_RATE
            if heard > 3.0 and isinstance(pipe, SingleMicPipeline):
                lags.append(heard - pipe.decided_s)
        return spent / (len(audio) / SAMPLE_RATE), lags

    options = SingleMicOptions(voices=approach)
    with threadpool_limits(limits=1, user_api="blas"):
        SingleMicPipeline(single_mic_layout(), options=options).process(audio[None, :48000])
        base, _ = cpu(ChannelPipeline(layout_for(1, None, "x")))
        whole, lags = cpu(SingleMicPipeline(single_mic_layout(), options=options))
    return whole, base, statistics.median(lags) if lags else 0.0, max(lags, default=0.0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1-3", help="default generator seeds")
    ap.add_argument("--hard-seeds", default="1-8", help="hard generator seeds")
    ap.add_argument("--approaches", default=",".join(APPROACHES))
    ap.add_argument("--no-live", action="store_true")
    ap.add_argument("--only-live", action="store_true")
    ap.add_argument("--bouts", action="store_true", help="also each true bout against the "
                    "measured one: where the difference comes from (bout_errors)")
    ap.add_argument("--oracle-overlap", action="store_true", help="the encoder's second "
                    "voice taken from the truth, not the pitch (generator files): what "
                    "the rest of the path makes of overlaps known exactly")
    ap.add_argument("--switch-penalty", type=float, default=None, help="the encoder's hold "
                    "on a change of voice inside a run of speech (0: none, the rule before "
                    "session 18); default: SingleMicConfig's")
    ap.add_argument("--speech", default="", help="speech_on:speech_off, or none (the "
                    "windows' VAD alone); default: SingleMicOptions'")
    args = ap.parse_args()
    approaches = args.approaches.split(",")
    from live_attune.speakers.encoder import load_weights

    load_weights()  # once, outside the measured cost
    rows: list[Row] = []
    if not args.only_live:
        per_file(args, approaches, rows)
    if not args.no_live:
        audio = np.concatenate([generated(s, hard=True)[0] for s in (1, 2)])
        print(f"\nlive, {len(audio) / SAMPLE_RATE:.0f} s in 100 ms blocks, one BLAS thread "
              "(bars: attribution <= 15 % of a core, decision lag <= 1.5 s)")
        for approach in approaches:
            whole, base, lag_med, lag_max = live_check(approach, audio)
            print(f"{approach:10s} pipeline {100 * whole:5.1f} % of a core (activity-only "
                  f"{100 * base:4.1f} %: attribution adds {100 * (whole - base):4.1f} %); "
                  f"decision lag median {lag_med:.2f} s, max {lag_max:.2f} s")


def per_file(args: argparse.Namespace, approaches: list[str], rows: list[Row]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        files: list[tuple[str, str, Any]] = [
            *(("default", f"seed {s}", lambda s=s: generated(s)) for s in seed_list(args.seeds)),
            *(("hard", f"seed {s}", lambda s=s: generated(s, hard=True))
              for s in seed_list(args.hard_seeds)),
            *(("real", name, lambda name=name, ref=ref: (
                _mono(real_wav(name)), rttm(REAL / ref), None))
              for name, ref in REAL_FILES.items())]
        costed: set[str] = set()
        for data, name, make in files:
            audio, ref, truth = make()
            for approach in approaches:
                rows.append(run_file(data, name, audio, ref, truth,
                                     options_of(approach, args.speech), Path(tmp),
                                     cost=data not in costed,
                                     oracle=args.oracle_overlap and approach == "encoder",
                                     penalty=args.switch_penalty))
                print_rows(rows[-1:])
            costed.add(data)
    print()
    print_rows(rows)
    print_summary(rows)
    if args.bouts:
        for data, approach in sorted({(r.data, r.approach) for r in rows if r.bouts}):
            print_bout_errors([e for r in rows if r.data == data and r.approach == approach
                               for e in r.bouts or ()], f"{data} {approach}")


def options_of(approach: str, speech: str) -> SingleMicOptions:
    """The options for ``approach`` with ``--speech``'s thresholds ("" keeps the default)."""
    if not speech:
        return SingleMicOptions(voices=approach)
    if speech == "none":
        return SingleMicOptions(voices=approach, speech_on=None, speech_off=None)
    on, off = (float(x) for x in speech.split(":"))
    return SingleMicOptions(voices=approach, speech_on=on, speech_off=off)


def _mono(path: Path) -> np.ndarray:
    from live_attune.audio.decode import read_all

    mono: np.ndarray = read_all(path)[0]
    return mono


if __name__ == "__main__":
    main()
