"""Ground truth for generated conversations, and writing a rendered conversation to disk.

Speech is measured on each speaker's clean track: 10 ms frames no more than 25 dB under the
voice's speech level (quieter ones sink under a 20 dB SNR room's noise). ``label`` then
applies METRICS.md's rules to those true intervals — segments, bouts, backchannels,
interruptions, turns, switch gaps, response latency, long silences, talk share — with an
implementation of its own, independent of the engine in ``live_attune/core``: what the rules
say happened, whatever the script meant to happen. ``truth_segments`` (the bridging and
dropping alone) is kept for the script-labelled default conversations.
"""

from __future__ import annotations

import itertools
import json
import math
import statistics
import wave
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from live_attune.core.audio_facts import HOP, SAMPLE_RATE
from live_attune.core.frames import true_runs
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.synth.render import MixConfig, render
from live_attune.synth.scenario import Conversation, TruthEvent, TruthTurn
from live_attune.synth.voices import audible

Span = tuple[int, int]  # [start, end) in integer milliseconds


@dataclass(frozen=True, kw_only=True)
class Rules:
    """METRICS.md's thresholds, restated here on purpose (not ``core.MetricsConfig``)."""

    min_pause_s: float = 0.25  # § Activity: a speaker's shorter gaps are bridged
    min_speech_s: float = 0.10  # § Activity: shorter segments are dropped
    bridge_s: float = 0.5  # § Overlaps: a bout goes on across shorter own silences
    backchannel_max_s: float = 1.0  # § Overlaps: a bout with less summed speech is short
    floor_min_s: float = 1.0  # § Overlaps: the holder's speech before an interruption
    terminal_s: float = 0.25  # § Overlaps: onsets this near the end of the holder's speech
    yield_within_s: float = 2.0  # § Overlaps: a successful interruption's yield
    patient_wait_s: float = 1.5  # § Turns: a patient response latency
    long_silence_s: float = 3.0  # § Turns: nobody speaks this long

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{f.name} must be a positive number of seconds, got {value!r}")

    def ms(self, name: str) -> int:
        return _ms(getattr(self, f"{name}_s"))


@dataclass(frozen=True, slots=True)
class JudgedBout:
    """One bout of a non-holder and what the rules made of it."""

    at_s: float
    by: str
    of: str  # the holder it was judged against
    speech_s: float  # summed speech
    label: str  # one of BOUT_LABELS
    margin_s: float  # distance of the deciding quantities from their thresholds


BOUT_LABELS = ("backchannel", "turn_start", "interruption", "unsuccessful_interruption",
               "takes_floor", "overlap")


@dataclass(frozen=True, slots=True)
class LongSilence:
    start_s: float
    end_s: float
    before: str | None
    after: str | None


@dataclass(frozen=True, kw_only=True)
class Labels:
    """What METRICS.md's rules make of a set of per-speaker speech intervals."""

    segments: dict[str, tuple[tuple[float, float], ...]]
    talk_time_s: dict[str, float]
    talk_share: dict[str, float]
    turns: tuple[TruthTurn, ...]
    interruptions: tuple[TruthEvent, ...]
    backchannels: tuple[TruthEvent, ...]
    switch_gaps_s: tuple[float, ...]
    response_latencies_s: tuple[float, ...]  # switch gaps before therapist after client
    long_silences: tuple[LongSilence, ...]
    bouts: tuple[JudgedBout, ...]  # every non-holder bout, with its label and margin
    patient_wait_s: float

    @property
    def latency_median_s(self) -> float | None:
        return statistics.median(self.response_latencies_s) if self.response_latencies_s else None

    @property
    def latency_mean_s(self) -> float | None:
        return statistics.fmean(self.response_latencies_s) if self.response_latencies_s else None

    @property
    def patient_share(self) -> float | None:
        """Share of responses that waited at least patient_wait (METRICS.md § Turns)."""
        lat = self.response_latencies_s
        if not lat:
            return None
        return sum(1 for x in lat if _ms(x) >= _ms(self.patient_wait_s)) / len(lat)


def speech_activity(track: np.ndarray, level: float | None = None
                    ) -> list[tuple[float, float]]:
    """``(start_s, end_s)`` runs of audible 10 ms frames of one speaker's clean track."""
    return [(s * HOP / SAMPLE_RATE, e * HOP / SAMPLE_RATE)
            for s, e in true_runs(audible(track, level))]


def conversation_labels(conv: Conversation, rules: Rules | None = None) -> Labels:
    """The rules' labels of a conversation, from what was rendered on each track."""
    levels = conv.levels or {}
    return label({r: speech_activity(t, levels.get(r)) for r, t in conv.tracks.items()}, rules)


def truth_segments(conv: Conversation, *, min_pause_s: float = 0.25,
                   min_speech_s: float = 0.10) -> list[tuple[str, float, float]]:
    """``(speaker, start_s, end_s)`` of each speech segment, sorted by start."""
    out = []
    for speaker, track in conv.tracks.items():
        for start, end in true_runs(audible(track)):
            out.append((speaker, start * HOP / SAMPLE_RATE, end * HOP / SAMPLE_RATE))
    merged = []
    for speaker in conv.tracks:
        mine = [(s, e) for who, s, e in out if who == speaker]
        for s, e in _bridge(sorted(mine), min_pause_s):
            if e - s >= min_speech_s:
                merged.append((speaker, s, e))
    return sorted(merged, key=lambda x: x[1])


def write(conv: Conversation, out_dir: Path, mix: MixConfig | None = None) -> dict[str, Path]:
    """Write ``stereo.wav``, ``mono.wav`` and ``truth.json``; return their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stereo, mono = render(conv, mix)
    paths = {"stereo": out_dir / "stereo.wav", "mono": out_dir / "mono.wav",
             "truth": out_dir / "truth.json"}
    write_wav(paths["stereo"], stereo)
    write_wav(paths["mono"], mono)
    paths["truth"].write_text(json.dumps(truth_dict(conv, mix or MixConfig()), indent=1))
    return paths


def truth_dict(conv: Conversation, mix: MixConfig) -> dict[str, object]:
    """The truth file: by the rules for a conversation with voice levels (the hard one),
    by the script for the default one (built so that the two agree)."""
    if conv.levels is not None:
        return _rules_truth(conv, mix)
    segs = truth_segments(conv)
    talk = {r: sum(e - s for who, s, e in segs if who == r) for r in conv.tracks}
    total = sum(talk.values())
    return {
        "seed": conv.seed,
        "duration_s": conv.duration_s,
        "mix": asdict(mix),
        "segments": [{"speaker": w, "start_s": s, "end_s": e} for w, s, e in segs],
        "talk_time_s": talk,
        "talk_share": {r: v / total for r, v in talk.items()},
        "turns": [asdict(t) for t in conv.turns],
        "interruptions": [asdict(e) for e in conv.interruptions],
        "backchannels": [asdict(e) for e in conv.backchannels],
        "response_latencies_s": response_latencies(conv),
        "utterances": [asdict(u) for u in conv.utterances],
    }


def _rules_truth(conv: Conversation, mix: MixConfig) -> dict[str, object]:
    lab = conversation_labels(conv)
    segs = sorted(((r, s, e) for r, spans in lab.segments.items() for s, e in spans),
                  key=lambda x: x[1])
    return {
        "seed": conv.seed,
        "duration_s": conv.duration_s,
        "mix": asdict(mix),
        "labelled_by": "rules",  # METRICS.md applied to the rendered speech (synth/truth.py)
        "segments": [{"speaker": w, "start_s": s, "end_s": e} for w, s, e in segs],
        "talk_time_s": lab.talk_time_s,
        "talk_share": lab.talk_share,
        "turns": [asdict(t) for t in lab.turns],
        "interruptions": [asdict(e) for e in lab.interruptions],
        "backchannels": [asdict(e) for e in lab.backchannels],
        "switch_gaps_s": list(lab.switch_gaps_s),
        "response_latencies_s": list(lab.response_latencies_s),
        "long_silences": [asdict(s) for s in lab.long_silences],
        "bouts": [asdict(b) for b in lab.bouts],  # every non-holder bout: label and margin
        "intents": [asdict(i) for i in conv.intents],  # what the script meant, for comparison
        "utterances": [asdict(u) for u in conv.utterances],
    }


def response_latencies(conv: Conversation) -> list[float]:
    """Switch gaps before therapist turns that follow client turns (METRICS.md)."""
    pairs = zip(conv.turns, conv.turns[1:], strict=False)
    return [b.start_s - a.end_s for a, b in pairs
            if a.speaker == CLIENT and b.speaker == THERAPIST]


def write_wav(path: Path, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    """16-bit PCM WAV of ``(channels, n)`` float audio."""
    pcm = (np.clip(audio, -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[0])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.T.tobytes())


def _bridge(spans: list[tuple[float, float]], min_gap: float) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in spans:
        if out and s - out[-1][1] < min_gap:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


# -- METRICS.md's rules, applied offline to true speech intervals -----------------------------
#
# Theory of operation. This is the expectation the engine is tested against, so it shares no
# code with live_attune/core: it reads the whole conversation at once (the engine decides
# live, without look-ahead) and works on integer milliseconds, so each threshold's edge is one
# exact comparison. Two speakers; per speaker, frames of audible speech become segments
# (METRICS.md § Activity), segments become bouts (§ Overlaps), and the floor is walked from
# the first speaker's onset, one bout of the non-holder at a time:
#
# * a bout shorter than backchannel_max (summed speech) never takes the floor: it is a
#   backchannel if the holder is speaking when it ends, or speaks again before the bout's
#   speaker takes the floor; otherwise it is where that speaker's next turn starts;
# * a long bout takes the floor at the first instant, from the moment its speech reaches
#   backchannel_max, at which the holder is silent, provided the bout has not ended by then
#   (its speaker's silence reached bridge); else its speaker stopped first and the holder kept
#   the floor;
# * it is an interruption if, at its onset, the holder was speaking, had spoken floor_min of
#   the current turn, and had more than terminal left of that segment; it is successful if the
#   holder's last speech before the floor changed hands ended within yield_within of the onset
#   (an interruption that takes the floor later is counted, not successful);
# * a bout that starts in the holder's silence, while the holder then speaks again before the
#   bout reaches backchannel_max, is a contest: it takes the floor (from its onset) only if it
#   reaches backchannel_max before the holder's renewed speech does;
# * a turn can start before the floor changes hands (at the new holder's onset, or at their
#   "yeah" before it): a bout of the old holder that began before the change is judged against
#   the new turn, but it is neither an interruption nor a contest — when it began, the new
#   holder did not hold the floor yet.
#
# Where METRICS.md leaves a choice, the reading taken: "within the last terminal" includes the
# edge; the holder's "speech" at an onset is the segment covering it; "A stops" is the end of
# A's last speech before the floor changed hands.


def label(activity: Mapping[str, Sequence[tuple[float, float]]],
          rules: Rules | None = None) -> Labels:
    """METRICS.md's labels of per-speaker speech intervals (seconds; raw, before bridging)."""
    r = rules or Rules()
    segs = {who: segments(spans, r) for who, spans in activity.items()}
    talking = [who for who, spans in segs.items() if spans]
    if len(talking) > 2:
        raise ValueError(f"the labeller takes two speakers, got {len(talking)}")
    floor = _Floor(segs, r)
    if talking:
        floor.walk(talking)
    talk = {who: sum(e - s for s, e in spans) for who, spans in segs.items()}
    total = sum(talk.values())
    turns = tuple(TruthTurn(w, _s(a), _s(b)) for w, a, b in floor.turns)
    gaps = [(p.speaker, n.speaker, _ms(n.start_s) - _ms(p.end_s))
            for p, n in itertools.pairwise(turns)]
    return Labels(
        segments={w: tuple((_s(a), _s(b)) for a, b in spans) for w, spans in segs.items()},
        talk_time_s={w: _s(v) for w, v in talk.items()},
        talk_share={w: v / total if total else 0.0 for w, v in talk.items()},
        turns=turns,
        interruptions=tuple(floor.interruptions),
        backchannels=tuple(floor.backchannels),
        switch_gaps_s=tuple(_s(g) for _, _, g in gaps),
        response_latencies_s=tuple(_s(g) for p, n, g in gaps
                                   if p == CLIENT and n == THERAPIST),
        long_silences=_long_silences(segs, r.ms("long_silence")),
        bouts=tuple(sorted(floor.bouts, key=lambda b: b.at_s)),
        patient_wait_s=r.patient_wait_s,
    )


def segments(spans: Sequence[tuple[float, float]], rules: Rules | None = None) -> list[Span]:
    """METRICS.md § Activity: gaps < min_pause bridged, then segments < min_speech dropped."""
    r = rules or Rules()
    out: list[list[int]] = []
    for s, e in sorted((_ms(a), _ms(b)) for a, b in spans):
        if out and s - out[-1][1] < r.ms("min_pause"):
            out[-1][1] = max(out[-1][1], e)
        elif e > s:
            out.append([s, e])
    return [(s, e) for s, e in out if e - s >= r.ms("min_speech")]


@dataclass(frozen=True, slots=True)
class _Bout:
    """A speaker's speech from an onset across own silences < bridge (METRICS.md § Overlaps)."""

    speaker: str
    pieces: tuple[Span, ...]

    @property
    def onset(self) -> int:
        return self.pieces[0][0]

    @property
    def end(self) -> int:
        return self.pieces[-1][1]

    def long_at(self, need: int) -> int | None:
        """The instant its summed speech reaches ``need`` ms, or None if it never does."""
        return _reaches(self.pieces, need)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Change:
    """The floor changes hands (ms)."""

    end: int  # the old holder's turn ends: their last speech before the change
    start: int  # the new turn starts
    since: int  # the old holder's bouts against the new turn begin at or after this
    taken: int  # the instant the floor changed hands


class _Floor:
    """The floor walk over two speakers' segments (the one owner of its lists)."""

    def __init__(self, segs: dict[str, list[Span]], r: Rules) -> None:
        self.segs = segs
        self.th = {n: r.ms(n) for n in ("bridge", "backchannel_max", "floor_min", "terminal",
                                        "yield_within", "min_pause")}
        self.turns: list[tuple[str, int, int]] = []
        self.interruptions: list[TruthEvent] = []
        self.backchannels: list[TruthEvent] = []
        self.bouts: list[JudgedBout] = []
        self.pending: list[tuple[_Bout, str, int]] = []  # short, ended in the holder's silence

    def walk(self, talking: list[str]) -> None:
        holder = min(talking, key=lambda w: self.segs[w][0][0])  # the first to speak
        start = self.segs[holder][0][0]
        other = next((w for w in talking if w != holder), None)
        since = taken = start  # the non-holder's bouts begin at or after since
        while other is not None:
            bout = self._next_bout(other, since)
            if bout is None:
                break
            self._resolve_pending(holder, bout.onset)
            change = self._judge(holder, start, taken, bout)
            if change is None:
                since = bout.end
                continue
            self.turns.append((holder, start, change.end))
            holder, other, start = other, holder, change.start
            since, taken = change.since, change.taken
        self._resolve_pending(holder, None)
        self.turns.append((holder, start, self.segs[holder][-1][1]))

    def _next_bout(self, speaker: str, since: int) -> _Bout | None:
        pieces: list[Span] = []
        for s, e in self.segs[speaker]:
            if s < since:
                continue
            if pieces and s - pieces[-1][1] >= self.th["bridge"]:
                break
            pieces.append((s, e))
        return _Bout(speaker, tuple(pieces)) if pieces else None

    def _judge(self, holder: str, start: int, taken: int, bout: _Bout) -> _Change | None:
        """One bout against the holder, whose turn began at ``start`` and who has held the
        floor since ``taken``: None if the holder keeps it, else the change of floor."""
        mine = self.segs[holder]
        at_onset = _covering(mine, bout.onset)
        long_at = bout.long_at(self.th["backchannel_max"])
        if long_at is None:
            self._short(holder, bout)
            return None
        held = bout.onset > taken  # else it began before (or as) the holder took the floor
        if held and at_onset is None and self._wins_contest(mine, bout, long_at):
            return self._take(bout, _last_end(mine, bout.onset), since=bout.onset, at=long_at)
        speaking = _covering(mine, long_at)
        take = long_at if speaking is None else speaking[1]
        interrupts = (held and at_onset is not None
                      and _speech(mine, start, bout.onset) >= self.th["floor_min"]
                      and at_onset[1] - bout.onset > self.th["terminal"])
        margin = self._long_margin(holder, start, bout)
        if take >= bout.end + self.th["bridge"]:  # it ended first: the holder keeps the floor
            self._resolve_pending(holder, bout.end)
            if interrupts:
                self._interruption(bout, holder, False, margin)
            else:
                self._note(bout, holder, "overlap", margin)
            return None
        self._resolve_pending(holder, take)
        stop = _last_end(mine, take)
        if interrupts:
            taken_in = stop - bout.onset
            margin = min(margin, abs(taken_in - self.th["yield_within"]))
            self._interruption(bout, holder, taken_in <= self.th["yield_within"], margin)
        else:
            self._note(bout, holder, "takes_floor", margin)
        return self._take(bout, stop, since=take, at=take)

    def _note(self, bout: _Bout, holder: str, label: str, margin: int) -> None:
        self.bouts.append(JudgedBout(_s(bout.onset), bout.speaker, holder,
                                     _s(sum(e - s for s, e in bout.pieces)), label, _s(margin)))

    def _interruption(self, bout: _Bout, holder: str, ok: bool, margin: int) -> None:
        self._note(bout, holder, "interruption" if ok else "unsuccessful_interruption", margin)
        self.interruptions.append(TruthEvent(_s(bout.onset), bout.speaker, holder, ok,
                                             _s(margin)))

    def _backchannel(self, bout: _Bout, holder: str, margin: int) -> None:
        self._note(bout, holder, "backchannel", margin)
        self.backchannels.append(TruthEvent(_s(bout.onset), bout.speaker, holder,
                                            margin_s=_s(margin)))

    def _bout_margin(self, bout: _Bout) -> int:
        """Distance of the bout's own quantities from their thresholds: its summed speech
        from backchannel_max, each silence in or around it from bridge (and, inside it, from
        min_pause: a silence measured shorter would be bridged into speech)."""
        th, mine = self.th, self.segs[bout.speaker]
        speech = sum(e - s for s, e in bout.pieces)
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(bout.pieces)]
        around = [s - bout.end for s, _ in mine if s >= bout.end][:1]
        around += [bout.onset - e for _, e in mine if e <= bout.onset][-1:]
        return min([abs(speech - th["backchannel_max"])]
                   + [abs(g - th["bridge"]) for g in gaps + around]
                   + [abs(g - th["min_pause"]) for g in gaps])

    def _long_margin(self, holder: str, start: int, bout: _Bout) -> int:
        """The bout's margin, and the holder's: how near the onset is to the holder's speech
        starting or stopping, to floor_min of holder speech, and to terminal."""
        mine = self.segs[holder]
        out = [self._bout_margin(bout)]
        out += [min(abs(bout.onset - x) for s, e in mine for x in (s, e))]
        covering = _covering(mine, bout.onset)
        if covering is not None:
            out.append(abs(_speech(mine, start, bout.onset) - self.th["floor_min"]))
            out.append(abs(covering[1] - bout.onset - self.th["terminal"]))
        return min(out)

    def _wins_contest(self, mine: list[Span], bout: _Bout, long_at: int) -> bool:
        """The bout began in the holder's silence: does it reach backchannel_max before the
        holder's renewed speech does? (No renewed speech: no contest, the ordinary path.)"""
        renewed = [(max(s, bout.onset), e) for s, e in mine if e > bout.onset and s <= long_at]
        if not renewed:
            return False
        held = [(s, e) for s, e in mine if s >= renewed[0][0]]
        held_long = _reaches(held, self.th["backchannel_max"])
        return held_long is None or long_at < held_long

    def _short(self, holder: str, bout: _Bout) -> None:
        self._resolve_pending(holder, bout.end)
        margin = self._bout_margin(bout)
        if _speaking_until(self.segs[holder], bout.end):
            self._backchannel(bout, holder, margin)
        else:
            self.pending.append((bout, holder, margin))

    def _take(self, bout: _Bout, stop: int, *, since: int, at: int) -> _Change:
        """The bout's speaker takes the floor at ``at``; their turn starts at their earliest
        pending short bout (a "yeah" before the answer) or at this bout's onset."""
        new_start = self.pending[0][0].onset if self.pending else bout.onset
        for short, holder, margin in self.pending:
            self._note(short, holder, "turn_start", margin)
        self.pending.clear()
        return _Change(end=stop, start=new_start, since=since, taken=at)

    def _resolve_pending(self, holder: str, until: int | None) -> None:
        """Pending short bouts are backchannels once the holder speaks again (or at the end:
        nobody took the floor from the holder)."""
        if not self.pending:
            return
        after = self.pending[-1][0].end
        if until is None or any(after <= s < until for s, _ in self.segs[holder]):
            for bout, _, margin in self.pending:
                self._backchannel(bout, holder, margin)
            self.pending.clear()


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _s(ms: int) -> float:
    return ms / 1000


def _covering(spans: list[Span], t: int) -> Span | None:
    """The segment in which the speaker is speaking at ``t``."""
    return next(((s, e) for s, e in spans if s <= t < e), None)


def _speaking_until(spans: list[Span], t: int) -> bool:
    """Was the speaker speaking up to the instant ``t``?"""
    return any(s < t <= e for s, e in spans)


def _last_end(spans: list[Span], t: int) -> int:
    """The end of the speaker's last speech at or before ``t``."""
    return max(min(e, t) for s, e in spans if s < t)


def _speech(spans: list[Span], a: int, b: int) -> int:
    """Summed speech inside ``[a, b)``."""
    return sum(max(0, min(e, b) - max(s, a)) for s, e in spans)


def _reaches(spans: Sequence[Span], need: int) -> int | None:
    """The instant the summed speech of ``spans`` reaches ``need``, or None."""
    total = 0
    for s, e in spans:
        if total + (e - s) >= need:
            return s + need - total
        total += e - s
    return None


def _long_silences(segs: dict[str, list[Span]], least: int) -> tuple[LongSilence, ...]:
    """Stretches of at least ``least`` ms in which nobody speaks, between speech."""
    spans = sorted((s, e, w) for w, mine in segs.items() for s, e in mine)
    out = []
    reach, last = None, None  # end of speech so far, and whose it is
    for s, e, who in spans:
        if reach is not None and s - reach >= least:
            out.append(LongSilence(_s(reach), _s(s), last, who))
        if reach is None or e >= reach:
            reach, last = e, who
    return tuple(out)
