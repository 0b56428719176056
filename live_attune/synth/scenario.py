"""A scripted conversation and its ground truth, in the terms of METRICS.md.

Default (``ScenarioConfig()``): every event is placed so that it is unambiguous under the
METRICS.md definitions: interruptions start at least 1.5 s into the holder's speech and at
least 0.5 s before the holder stops; successful ones make the holder stop 0.5–1.5 s after the
onset; unsuccessful ones last 1.3 s or more and end at least 1 s before the holder does;
backchannels are at most 0.8 s long and fall well inside the holder's speech. Its truth is the
script's (the rules labeller in truth.py agrees with it on the test seeds).

Hard (``ScenarioConfig.hard()``, synth/hard.py): as hard as people are. Interruptions overlap
the holder by 0.3–1.5 s, and the interrupter's first word is often followed by a 0.2–0.45 s
pause ("No, — I don't think so"); backchannels are sometimes two words ("mm-hm … yeah") and
fall in the holder's pauses as well as their speech; first phrases have pauses in them; turns
start in overlap and after every kind of gap. A share of the events is placed *at* the
thresholds — just below and just above floor_min, terminal, backchannel_max (summed bout
speech), bridge, min_pause, patient_wait and long_silence — the rest away from them. Rendered
with ``MixConfig.hard(seed)`` (render.py): voices up to ±6 dB apart, every talker-to-mic pair
its own reverberant path, bleed -8 to -20 dB, noise. Its truth is **not** the script: the
rules of METRICS.md are applied (truth.py, independently of live_attune/core) to the audible
extent of every rendered word, so an event the rules would not call an interruption is not
labelled one, whatever the script meant; the script's intentions are kept as ``intents``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from live_attune.core.audio_facts import HOP_S, SAMPLE_RATE
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.synth.voices import CLIENT_VOICE, THERAPIST_VOICE, Voice, audible, speak

THERAPIST_LINES = (
    "It sounds like this week has been really hard for you",
    "What would you like to talk about today",
    "So you felt that nobody was really listening to you",
    "How did you feel when your sister said that",
    "You are wondering whether you can keep going like this",
    "Tell me more about what happened at work on Monday",
    "It seems that part of you wants to change and part of you is afraid",
    "What do you notice in your body when you think about it",
    "You have been carrying a lot on your own for a long time",
    "Have you been sleeping any better since we last met",
)
CLIENT_LINES = (
    "I just feel tired all the time and I do not know why",
    "My manager keeps asking me to stay late and I never say no",
    "I tried to talk to my partner about it but we ended up arguing again",
    "Sometimes I think I am making too much of it",
    "Last night I could not sleep at all so I went for a long walk",
    "I want things to be different but I keep doing the same thing",
    "When my mother calls I feel like a child again",
    "I wrote down what I was thinking like you suggested",
    "It was better on the weekend because I saw some old friends",
    "I am not sure that I can explain it very well",
)
BACKCHANNELS = ("mm hmm", "yeah", "right", "okay", "I see", "sure")
ATTEMPTS = ("but that is not what I meant", "well I am not so sure about that",
            "sorry can I just say something")
ROLES = (THERAPIST, CLIENT)


@dataclass(frozen=True, kw_only=True)
class ScenarioConfig:
    """Shape of a generated conversation (probabilities per turn)."""

    turns: int = 24
    p_backchannel: float = 0.35
    p_interrupt: float = 0.2
    p_failed_interrupt: float = 0.2
    p_long_silence: float = 0.10
    p_pause: float = 0.25
    difficulty: str = "default"  # "hard": synth/hard.py, truth by the rules
    # Used by the hard script only:
    p_near_threshold: float = 0.4  # an event's timing or length is placed at a threshold
    p_overlap_start: float = 0.15  # the next speaker starts before the holder has stopped
    p_first_pause: float = 0.4  # a pause inside a first phrase / after an interrupter's word
    p_opener: float = 0.1  # a turn opens with "yeah" and a pause before the answer

    def __post_init__(self) -> None:
        if self.difficulty not in ("default", "hard"):
            raise ValueError(f"difficulty is 'default' or 'hard', got {self.difficulty!r}")
        if self.turns < 1:
            raise ValueError(f"turns must be at least 1, got {self.turns}")
        for name, value in vars(self).items():
            if name.startswith("p_") and not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} is a probability, got {value!r}")

    @classmethod
    def hard(cls, turns: int = 28) -> ScenarioConfig:
        """The hard conversation (see the module docstring)."""
        return cls(turns=turns, difficulty="hard", p_backchannel=0.4, p_interrupt=0.22,
                   p_failed_interrupt=0.16, p_long_silence=0.12, p_pause=0.3)


@dataclass(frozen=True, slots=True)
class Placed:
    """One utterance: who, what, and where its (trimmed) audio starts and ends."""

    speaker: str
    text: str
    start_s: float
    end_s: float
    kind: str  # "speech", "backchannel", "interruption", "failed_interruption"


@dataclass(frozen=True, slots=True)
class Intent:
    """What the hard script meant to happen (its truth is what the rules make of it)."""

    at_s: float
    by: str
    of: str
    kind: str  # "interruption", "failed_interruption", "backchannel", "overlap_start"


@dataclass(frozen=True, slots=True)
class TruthEvent:
    at_s: float
    by: str
    of: str
    successful: bool | None = None
    # How far the quantities that decided it lie from their thresholds (rules truth only):
    # under ~0.1 s a ±50 ms measuring error can change the label.
    margin_s: float | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class TruthTurn:
    speaker: str
    start_s: float
    end_s: float


@dataclass(slots=True)
class Conversation:
    """The script with its clean per-speaker tracks and its ground truth."""

    utterances: list[Placed]
    tracks: dict[str, np.ndarray]  # clean mono speech per role, float32, 16 kHz
    turns: list[TruthTurn]
    interruptions: list[TruthEvent]
    backchannels: list[TruthEvent]
    duration_s: float
    seed: int
    # Reference speech level per role for measuring true speech (the hard generator's, so that
    # its truth is labelled by METRICS.md's rules); None: the default, script-labelled truth.
    levels: dict[str, float] | None = None
    intents: tuple[Intent, ...] = ()  # the hard script's intentions, for comparison only


class _Builder:
    def __init__(self, seed: int, voices: dict[str, Voice]) -> None:
        self.rng = random.Random(seed)
        self.voices = voices
        self.clips: list[tuple[str, np.ndarray, float, str, str]] = []  # speaker, audio, start..
        self.turns: list[TruthTurn] = []
        self.interruptions: list[TruthEvent] = []
        self.backchannels: list[TruthEvent] = []

    def say(self, speaker: str, text: str, at_s: float, kind: str,
            cut_s: float | None = None) -> float:
        audio = speak(self.voices[speaker], text)
        if cut_s is not None:
            audio = _cut(audio, cut_s)
        self.clips.append((speaker, audio, at_s, text, kind))
        return at_s + len(audio) / SAMPLE_RATE

    def line(self, speaker: str, min_s: float = 0.0, solid_s: float = 0.0) -> tuple[str, float]:
        """One sentence, or two joined by "and" (2.5-8 s) half of the time.

        ``solid_s``: the first that many seconds hold no silence of 0.2 s or more, so an
        interruption's first second is one speech segment, as its truth assumes.
        """
        lines = THERAPIST_LINES if speaker == THERAPIST else CLIENT_LINES
        for _ in range(200):
            text = self.rng.choice(lines)
            if self.rng.random() < 0.5:
                text = f"{text} and {self.rng.choice(lines).lower()}"
            audio = speak(self.voices[speaker], text)
            dur = len(audio) / SAMPLE_RATE
            if dur >= min_s and _longest_gap_s(audio[: int(solid_s * SAMPLE_RATE)]) < 0.1:
                return text, dur
        raise ValueError(f"no line of {min_s} s for {speaker}")

    def short(self, speaker: str, options: tuple[str, ...], lo: float, hi: float) -> str:
        fits = [t for t in options if lo <= len(speak(self.voices[speaker], t)) / SAMPLE_RATE <= hi
                and _longest_gap_s(speak(self.voices[speaker], t)) < 0.2]
        if not fits:
            raise ValueError(f"no phrase between {lo} and {hi} s for {speaker}")
        return self.rng.choice(fits)


def make_default(seed: int, cfg: ScenarioConfig, voices: dict[str, Voice] | None = None
                 ) -> Conversation:
    """Script, render and annotate one default conversation (deterministic for a seed); the
    hard one is synth/hard.py's (``synth.make_conversation`` chooses by ``difficulty``)."""
    b = _Builder(seed, voices or {THERAPIST: THERAPIST_VOICE, CLIENT: CLIENT_VOICE})
    speaker, t, turn_start = THERAPIST, 0.6, 0.6
    calm = True  # no overlay events in the turn right after an interruption
    for _ in range(cfg.turns):
        other = _other(speaker)
        text, dur = b.line(speaker, min_s=2.5, solid_s=1.6 if calm else 0.0)
        r = b.rng.random()
        if not calm and r < cfg.p_interrupt and dur >= 3.2:
            onset, end = _interrupt(b, speaker, text, dur, t)
            b.turns.append(TruthTurn(speaker, turn_start, end))
            speaker, t, turn_start, calm = other, onset, onset, True
            continue
        end = b.say(speaker, text, t, "speech")
        if not calm and r < cfg.p_interrupt + cfg.p_failed_interrupt and dur >= 4.5:
            _failed_interrupt(b, speaker, t, end)
        elif not calm and b.rng.random() < cfg.p_backchannel and dur >= 2.8:
            _backchannel(b, speaker, t, end)
        if b.rng.random() < cfg.p_pause:  # the same speaker goes on after a pause
            more, _ = b.line(speaker)
            end = b.say(speaker, more, end + b.rng.uniform(0.45, 1.6), "speech")
        long_silence = b.rng.random() < cfg.p_long_silence
        gap = b.rng.uniform(3.4, 5.0) if long_silence else b.rng.uniform(0.15, 2.4)
        b.turns.append(TruthTurn(speaker, turn_start, end))
        speaker, t, calm = other, end + gap, False
        turn_start = t
    if t == turn_start and calm and b.turns:  # the last turn was taken by an interruption
        text, _ = b.line(speaker, min_s=2.5, solid_s=1.6)
        b.turns.append(TruthTurn(speaker, t, b.say(speaker, text, t, "speech")))
    return _assemble(b, seed)


def _interrupt(b: _Builder, holder: str, text: str, dur: float, t: float) -> tuple[float, float]:
    """The holder is cut off by the other speaker; returns (onset, holder's end)."""
    onset = t + b.rng.uniform(1.5, dur - 1.6)
    yield_after = b.rng.uniform(0.5, 1.4)
    end = b.say(holder, text, t, "speech", cut_s=onset - t + yield_after)
    b.interruptions.append(TruthEvent(onset, _other(holder), holder, True))
    return onset, end


def _failed_interrupt(b: _Builder, holder: str, t: float, end: float) -> None:
    who = _other(holder)
    text = b.short(who, ATTEMPTS, 1.3, 2.2)
    dur = len(speak(b.voices[who], text)) / SAMPLE_RATE
    latest = end - dur - 1.0
    if latest <= t + 1.5:
        return
    onset = b.rng.uniform(t + 1.5, latest)
    b.say(who, text, onset, "failed_interruption")
    b.interruptions.append(TruthEvent(onset, who, holder, False))


def _backchannel(b: _Builder, holder: str, t: float, end: float) -> None:
    who = _other(holder)
    text = b.short(who, BACKCHANNELS, 0.15, 0.8)
    onset = b.rng.uniform(t + 0.8, end - 1.7)
    if onset <= t + 0.5:
        return
    b.say(who, text, onset, "backchannel")
    b.backchannels.append(TruthEvent(onset, who, holder))


Clip = tuple[str, np.ndarray, float, str, str]  # speaker, audio, start (s), text, kind


def place_clips(clips: list[Clip]) -> tuple[dict[str, np.ndarray], list[Placed], int]:
    """Mix the clips onto one track per role (1 s of silence after the last); return the
    tracks, what was placed in time order, and the length in samples."""
    duration = max(start + len(a) / SAMPLE_RATE for _, a, start, _, _ in clips) + 1.0
    n = round(duration * SAMPLE_RATE)
    tracks = {r: np.zeros(n, np.float32) for r in ROLES}
    placed = []
    for speaker, audio, start, text, kind in clips:
        i = round(start * SAMPLE_RATE)
        tracks[speaker][i: i + len(audio)] += audio
        placed.append(Placed(speaker, text, i / SAMPLE_RATE, (i + len(audio)) / SAMPLE_RATE, kind))
    placed.sort(key=lambda p: p.start_s)
    return tracks, placed, n


def _assemble(b: _Builder, seed: int) -> Conversation:
    tracks, placed, n = place_clips(b.clips)
    return Conversation(placed, tracks, b.turns, sorted(b.interruptions, key=lambda e: e.at_s),
                        sorted(b.backchannels, key=lambda e: e.at_s), n / SAMPLE_RATE, seed)


def _cut(audio: np.ndarray, keep_s: float) -> np.ndarray:
    """Keep the first ``keep_s`` seconds, with a 20 ms fade so the cut does not click."""
    keep = int(keep_s * SAMPLE_RATE)
    out = audio[:keep].copy()
    fade = min(len(out), int(0.02 * SAMPLE_RATE))
    out[len(out) - fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return out


def _longest_gap_s(audio: np.ndarray) -> float:
    """Longest run of inaudible 10 ms frames inside ``audio``."""
    longest = run = 0
    for q in (~audible(audio)).tolist():
        run = run + 1 if q else 0
        longest = max(longest, run)
    return longest * HOP_S


def _other(speaker: str) -> str:
    return CLIENT if speaker == THERAPIST else THERAPIST
