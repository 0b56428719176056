"""The hard script (``ScenarioConfig.hard()``): what it does is told in scenario.py.

Every clip is measured when it is made: its audible 10 ms frames against the voice's fixed
speech level (voices.speech_level), on the same frame grid as the track it is placed in, so
the script can put a bout's summed speech or a holder's floor time *at* a threshold. The
truth is not taken from here: ``make_hard`` renders the tracks and hands what is audible on
them to truth.label.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from live_attune.core.audio_facts import HOP, SAMPLE_RATE
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.synth.scenario import (
    CLIENT_LINES,
    ROLES,
    THERAPIST_LINES,
    Conversation,
    Intent,
    ScenarioConfig,
    _cut,
    _other,
    place_clips,
)
from live_attune.synth.truth import Rules, label, segments, speech_activity
from live_attune.synth.voices import (
    CLIENT_VOICE,
    THERAPIST_VOICE,
    Voice,
    audible,
    speak,
    speech_level,
)

RULES = Rules()  # the thresholds events are placed at (METRICS.md's defaults)
FRAME_S = HOP / SAMPLE_RATE
FIRST_WORDS = ("no", "wait", "but", "sorry", "well", "hang on", "actually")
OBJECTIONS = ("I don't think so", "that is not what I meant", "it was not like that at all",
              "can I just say something", "I did try to tell her", "that is not fair")
BACKCHANNEL_WORDS = ("mm hmm", "yeah", "right", "okay", "I see", "sure", "uh huh", "mm")
LONG_PAIRS = (("mm hmm", "I see"), ("uh huh", "exactly"), ("okay", "I see"),
              ("mm hmm", "okay"), ("right", "exactly"))  # two words of >= 1.1 s together
OPENERS = ("yeah", "okay", "right", "mm", "well")
AVAILABLE_S = 0.6  # a speaker's next clip starts this long after their last audible frame
RETORT_S = 1.5  # ... and an interruption this long after (no instant ping-pong)


@dataclass(frozen=True, slots=True)
class _Clip:
    """One utterance's audio (whole 10 ms frames) and its audible runs, in clip seconds."""

    text: str
    audio: np.ndarray
    runs: tuple[tuple[float, float], ...]

    @property
    def lead_s(self) -> float:
        return self.runs[0][0]

    @property
    def end_s(self) -> float:
        return self.runs[-1][1]

    def spans(self) -> list[tuple[float, float]]:
        """Its METRICS.md segments, in clip seconds."""
        return [(s / 1000, e / 1000) for s, e in segments(self.runs, RULES)]

    def speech_s(self) -> float:
        return sum(e - s for s, e in self.spans())


class _Hard:
    """Places clips one by one and keeps, per speaker, what is audible where (seconds)."""

    def __init__(self, seed: int, cfg: ScenarioConfig, voices: dict[str, Voice]) -> None:
        self.rng = random.Random(f"hard-{seed}")
        self.cfg = cfg
        self.voices = voices
        self.levels = {r: speech_level(v) for r, v in voices.items()}
        self.clips: list[tuple[str, np.ndarray, float, str, str]] = []  # who, audio, start..
        self.raw: dict[str, list[tuple[float, float]]] = {r: [] for r in ROLES}
        self.intents: list[Intent] = []

    # -- random draws ---------------------------------------------------------------------

    def near(self, threshold: float) -> float:
        """Just below or just above ``threshold`` (20-80 ms: two to eight frames)."""
        return threshold + self.rng.choice((-1, 1)) * self.rng.uniform(0.02, 0.08)

    def at_edge(self) -> bool:
        return self.rng.random() < self.cfg.p_near_threshold

    def phrase_pause(self) -> float:
        """A pause inside a phrase: bridged, at min_pause, a short or a longer break."""
        kind = self.rng.randrange(4)
        return (self.rng.uniform(0.10, 0.22), self.near(RULES.min_pause_s),
                self.rng.uniform(0.3, 0.45), self.rng.uniform(0.55, 0.9))[kind]

    def own_pause(self) -> float:
        """A holder's pause between two sentences of one turn."""
        if self.rng.random() < self.cfg.p_long_silence:
            return self.near(RULES.long_silence_s) if self.at_edge() else self.rng.uniform(3.2, 4.5)
        return self.near(RULES.bridge_s) if self.at_edge() else self.rng.uniform(0.4, 1.8)

    def switch_gap(self) -> float:
        """Silence between one turn's end and the next one's start."""
        if self.rng.random() < self.cfg.p_long_silence:
            return self.near(RULES.long_silence_s) if self.at_edge() else self.rng.uniform(3.2, 5.0)
        if self.at_edge():
            return self.near(RULES.patient_wait_s)
        return self.rng.choice((self.rng.uniform(0.05, 0.6), self.rng.uniform(0.05, 0.6),
                                self.rng.uniform(0.6, 1.4), self.rng.uniform(1.6, 2.8)))

    # -- clips ----------------------------------------------------------------------------

    def clip(self, speaker: str, pieces: Sequence[str], gaps: Sequence[float]) -> _Clip:
        """``pieces`` spoken separately and joined so that the audible silence between two
        pieces is ``gaps[i]`` (the inaudible ends of each piece are counted in)."""
        voice, level = self.voices[speaker], self.levels[speaker]
        parts = [speak(voice, p) for p in pieces]
        out = [parts[0]]
        for gap, part in zip(gaps, parts[1:], strict=True):
            edge = _quiet_tail_s(out[-1], level) + _quiet_head_s(part, level)
            out += [np.zeros(max(0, round((gap - edge) * SAMPLE_RATE)), np.float32), part]
        return self.measure(speaker, " ".join(pieces), np.concatenate(out))

    def measure(self, speaker: str, text: str, audio: np.ndarray) -> _Clip:
        pad = -len(audio) % HOP
        audio = np.concatenate([audio, np.zeros(pad, np.float32)]).astype(np.float32)
        runs = tuple(speech_activity(audio, self.levels[speaker]))
        if not runs:
            raise ValueError(f"nothing audible in {text!r}")
        return _Clip(text, audio, runs)

    def cut(self, speaker: str, clip: _Clip, at_s: float) -> _Clip:
        """The clip up to ``at_s`` (clip seconds): the speaker stops mid-word."""
        return self.measure(speaker, clip.text, _cut(clip.audio, at_s))

    def cut_to_speech(self, speaker: str, clip: _Clip, speech_s: float) -> _Clip:
        """The clip cut where its summed segment speech reaches ``speech_s`` (±10 ms)."""
        when = _reaches(clip.spans(), speech_s)
        if when is None:
            return clip
        best = clip
        for extra in (0.0, 0.01, 0.02, 0.03):  # the 20 ms fade can silence the last frame
            best = self.cut(speaker, clip, when + extra)
            if best.speech_s() >= speech_s - 0.005:
                break
        return best

    def place(self, speaker: str, clip: _Clip, speech_at_s: float, kind: str) -> float:
        """Put ``clip`` so that its first audible frame is at ``speech_at_s`` (on the 10 ms
        grid); return the absolute end of its last audible frame."""
        frame = round(speech_at_s / FRAME_S) - round(clip.lead_s / FRAME_S)
        start = frame * FRAME_S
        if self.raw[speaker] and start < self.raw[speaker][-1][1]:
            raise RuntimeError(f"{speaker}'s clip at {start:.2f} s overlaps their own speech")
        self.clips.append((speaker, clip.audio, start, clip.text, kind))
        self.raw[speaker] += [(round((start + s) / FRAME_S) * FRAME_S,
                               round((start + e) / FRAME_S) * FRAME_S) for s, e in clip.runs]
        return self.raw[speaker][-1][1]

    def free_from(self, speaker: str, after_s: float = AVAILABLE_S) -> float:
        """When ``speaker`` may start a new clip: ``after_s`` after their last audible frame."""
        return self.raw[speaker][-1][1] + after_s if self.raw[speaker] else 0.0

    # -- utterances -----------------------------------------------------------------------

    def sentence(self, speaker: str) -> str:
        lines = THERAPIST_LINES if speaker == THERAPIST else CLIENT_LINES
        text = self.rng.choice(lines)
        if self.rng.random() < 0.5:
            text = f"{text} and {self.rng.choice(lines).lower()}"
        return text

    def turn_clip(self, speaker: str, opener: bool = False) -> _Clip:
        """A turn: a sentence, perhaps with a pause in its first phrase, perhaps opened by
        "yeah" and a pause, perhaps followed by a pause and another sentence."""
        pieces, gaps = self._first_phrase(self.sentence(speaker))
        if opener:
            pieces.insert(0, self.rng.choice(OPENERS))
            gaps.insert(0, self.rng.uniform(0.3, 0.9))
        if self.rng.random() < self.cfg.p_pause:
            pieces.append(self.sentence(speaker))
            gaps.append(self.own_pause())
        return self.clip(speaker, pieces, gaps)

    def _first_phrase(self, text: str) -> tuple[list[str], list[float]]:
        words = text.split()
        if self.rng.random() >= self.cfg.p_first_pause:
            return [text], []
        k = self.rng.randint(1, 3)
        return [" ".join(words[:k]), " ".join(words[k:])], [self.phrase_pause()]

    def objection(self, speaker: str, then: str | None) -> _Clip:
        """ "No, — I don't think so" (a pause after the first word, often), then ``then``."""
        first, rest = self.rng.choice(FIRST_WORDS), self.rng.choice(OBJECTIONS)
        if self.rng.random() < self.cfg.p_first_pause:
            pieces, gaps = [first, rest], [self.rng.uniform(0.2, 0.45)]
        else:
            pieces, gaps = [f"{first} {rest}"], []
        if then is not None:
            pieces.append(then)
            gaps.append(self.rng.uniform(0.1, 0.3))
        return self.clip(speaker, pieces, gaps)

    def backchannel_clip(self, speaker: str) -> _Clip:
        """One word or two; two are bridged, one bout, on either side of bridge, or two
        bouts; now and then cut to just under or over backchannel_max of summed speech."""
        if self.at_edge():
            pair = self.rng.choice(LONG_PAIRS)
            clip = self.clip(speaker, pair, [self.rng.uniform(0.26, 0.45)])
            return self.cut_to_speech(speaker, clip, self.near(RULES.backchannel_max_s))
        if self.rng.random() < 0.55:
            return self.clip(speaker, [self.rng.choice(BACKCHANNEL_WORDS)], [])
        words = [self.rng.choice(BACKCHANNEL_WORDS) for _ in range(2)]
        gap = self.rng.choice((self.rng.uniform(0.1, 0.22), self.rng.uniform(0.26, 0.45),
                               self.near(RULES.bridge_s), self.rng.uniform(0.6, 0.9)))
        return self.clip(speaker, words, [gap])


def make_hard(seed: int, cfg: ScenarioConfig, voices: dict[str, Voice] | None = None
              ) -> Conversation:
    """Script and render a hard conversation; its truth is labelled by the rules."""
    b = _Hard(seed, cfg, voices or {THERAPIST: THERAPIST_VOICE, CLIENT: CLIENT_VOICE})
    speaker, at = THERAPIST, 0.6
    clip = b.turn_clip(speaker)
    for _ in range(cfg.turns):
        other = _other(speaker)
        taken = _interruption(b, speaker, clip, at) if b.rng.random() < cfg.p_interrupt else None
        if taken is not None:
            speaker, (at, clip) = other, taken
            continue
        end = b.place(speaker, clip, at, "speech")
        _overlay(b, speaker, clip, at)
        speaker, at = other, _next_start(b, speaker, other, end)
        clip = b.turn_clip(speaker, opener=b.rng.random() < cfg.p_opener)
    b.place(speaker, clip, at, "speech")
    return _assemble(b, seed)


def _interruption(b: _Hard, holder: str, clip: _Clip, at: float) -> tuple[float, _Clip] | None:
    """The other speaker comes in once the holder has spoken ``floor`` and overlaps them by
    0.3-1.5 s before the holder stops; at most one of the two is placed at its threshold
    (floor_min, terminal). None if it does not fit."""
    other = _other(holder)
    edge = b.rng.choice(("floor", "terminal")) if b.at_edge() else None
    for _ in range(6):
        floor = b.near(RULES.floor_min_s) if edge == "floor" else b.rng.uniform(1.2, 3.0)
        overlap = b.near(RULES.terminal_s) if edge == "terminal" else b.rng.uniform(0.3, 1.5)
        # the holder speaks on past the onset (no accidental terminal onset before a pause)
        onset_clip = _onset_in_speech(clip, floor, min(overlap, 0.35) + 0.05)
        if onset_clip is not None and onset_clip + overlap + 0.2 <= clip.end_s:
            break
    else:
        return None
    onset = at + onset_clip - clip.lead_s
    if onset < b.free_from(other, RETORT_S):
        return None
    b.place(holder, b.cut(holder, clip, onset_clip + overlap), at, "speech")
    b.intents.append(Intent(_grid(onset), other, holder, "interruption"))
    return onset, b.objection(other, then=b.sentence(other))


def _overlay(b: _Hard, holder: str, clip: _Clip, at: float) -> None:
    """A failed interruption or a backchannel by the other speaker over the placed turn."""
    # p_failed_interrupt is per turn; this turn was not interrupted (p_interrupt)
    if b.rng.random() < b.cfg.p_failed_interrupt / max(1e-9, 1 - b.cfg.p_interrupt):
        _failed_interruption(b, holder, clip, at)
    elif b.rng.random() < b.cfg.p_backchannel:
        _backchannel(b, holder, clip, at)


def _failed_interruption(b: _Hard, holder: str, clip: _Clip, at: float) -> None:
    """An attempt of about backchannel_max or more that stops while the holder talks on."""
    other = _other(holder)
    attempt = b.objection(other, then=None)
    length = b.near(RULES.backchannel_max_s) if b.at_edge() else b.rng.uniform(1.15, 2.0)
    attempt = b.cut_to_speech(other, attempt, length)
    span = attempt.end_s - attempt.lead_s
    edge = b.at_edge()
    for _ in range(6):
        floor = b.near(RULES.floor_min_s) if edge else b.rng.uniform(1.2, 5.0)
        # the holder talks through it and on past its bout's end: they keep the floor
        onset_clip = _onset_in_speech(clip, floor, span + RULES.bridge_s + 0.15)
        if onset_clip is None or onset_clip + span + 0.8 > clip.end_s:
            continue
        onset = at + onset_clip - clip.lead_s
        if onset >= b.free_from(other):
            b.place(other, attempt, onset, "failed_interruption")
            b.intents.append(Intent(_grid(onset), other, holder, "failed_interruption"))
            return


def _backchannel(b: _Hard, holder: str, clip: _Clip, at: float) -> None:
    """A backchannel in the holder's speech, or in one of their pauses (they go on after)."""
    other = _other(holder)
    bc = b.backchannel_clip(other)
    spans = [(at + s - clip.lead_s, at + e - clip.lead_s) for s, e in clip.spans()]
    pauses = [(e, s2) for (_, e), (s2, _) in itertools.pairwise(spans)
              if s2 - e >= 0.45]
    if pauses and b.rng.random() < 0.5:
        onset = b.rng.choice(pauses)[0] + b.rng.uniform(0.05, 0.2)
    else:
        onset = spans[0][0] + b.rng.uniform(0.3, max(0.31, spans[-1][1] - spans[0][0] - 1.5))
    stop = onset + bc.end_s - bc.lead_s
    if onset >= b.free_from(other) and stop + 0.3 <= spans[-1][1]:
        b.place(other, bc, onset, "backchannel")
        b.intents.append(Intent(_grid(onset), other, holder, "backchannel"))


def _next_start(b: _Hard, holder: str, other: str, end: float) -> float:
    """Where the next turn's speech starts: in overlap with the holder's end (about
    terminal), or after a switch gap; never before the next speaker is free."""
    if b.rng.random() < b.cfg.p_overlap_start:
        early = b.near(RULES.terminal_s) if b.at_edge() else b.rng.uniform(0.05, 0.2)
        if end - early >= b.free_from(other):
            b.intents.append(Intent(_grid(end - early), other, holder, "overlap_start"))
            return end - early
    return max(end + b.switch_gap(), b.free_from(other))


def _assemble(b: _Hard, seed: int) -> Conversation:
    """The tracks as placed, and the rules' truth from what is audible on them."""
    tracks, placed, n = place_clips(b.clips)
    levels = dict(b.levels)
    truth = label({r: speech_activity(t, levels[r]) for r, t in tracks.items()}, RULES)
    return Conversation(placed, tracks, list(truth.turns), list(truth.interruptions),
                        list(truth.backchannels), n / SAMPLE_RATE, seed, levels=levels,
                        intents=tuple(sorted(b.intents, key=lambda i: i.at_s)))


def _reaches(spans: Sequence[tuple[float, float]], need_s: float) -> float | None:
    """The instant the summed speech of ``spans`` reaches ``need_s``, or None."""
    total = 0.0
    for s, e in spans:
        if total + (e - s) >= need_s:
            return s + need_s - total
        total += e - s
    return None


def _onset_in_speech(clip: _Clip, floor_s: float, ahead_s: float) -> float | None:
    """The clip time at which its speech reaches ``floor_s``, if the segment it falls in
    goes on for at least ``ahead_s`` more; else None."""
    at = _reaches(clip.spans(), floor_s)
    if at is None:
        return None
    covering = next(((s, e) for s, e in clip.spans() if s <= at < e), None)
    return at if covering is not None and covering[1] - at >= ahead_s else None


def _quiet_head_s(audio: np.ndarray, level: float) -> float:
    flags = audible(audio, level)
    return float(np.argmax(flags)) * FRAME_S if flags.any() else 0.0


def _quiet_tail_s(audio: np.ndarray, level: float) -> float:
    flags = audible(audio, level)[::-1]
    return float(np.argmax(flags)) * FRAME_S if flags.any() else 0.0


def _grid(t: float) -> float:
    return round(t, 2)  # the 10 ms grid, without float noise
