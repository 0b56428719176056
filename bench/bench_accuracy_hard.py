"""Accuracy of `analyze --no-transcribe` (stereo) on hard generator conversations, scored
against truth labelled by METRICS.md's rules (synth/truth.py), not by the script.

    python bench/bench_accuracy_hard.py [--seeds 1-8] [--turns 28] [--room hard|plain|dry]
                                        [--no-noise] [--out DIR]

Per seed and pooled: talk share error, interruption precision/recall (same speaker, ±0.5 s)
and outcome, backchannel precision/recall, true backchannels counted as interruptions, and
the response-latency median error; then how often the rules relabelled what the script meant.
``--room plain`` renders the same hard scripts in the default room (equal voices, one
shared reverb, -14 dB bleed, 20 dB SNR): what the script costs, apart from the room;
``--room dry``: each microphone hears only its own talker, no room, no noise (the VAD and the
engine alone).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from live_attune.session.offline import analyze_file
from live_attune.session.result import SessionResult
from live_attune.synth import MixConfig, ScenarioConfig, make_conversation
from live_attune.synth.truth import write

TOLERANCE_S = 0.5  # an event matches truth within ±0.5 s, by the same speaker
CLEAR_S = 0.1  # a truth event this far from every threshold survives ±50 ms onset error
HARD_SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)


class _Event(Protocol):
    @property
    def at_s(self) -> float: ...
    @property
    def by(self) -> str: ...


def render_hard(root: Path, seed: int, *, turns: int = 28, room: str = "hard",
                noise: bool = True) -> dict[str, Path]:
    """Render (once: cached under ``root``) hard conversation ``seed``; its paths."""
    out = root / f"hard{seed}-{turns}-{room}{'' if noise else '-quiet'}"
    paths = {"stereo": out / "stereo.wav", "mono": out / "mono.wav",
             "truth": out / "truth.json"}
    if paths["truth"].exists():
        return paths
    conv = make_conversation(seed, ScenarioConfig.hard(turns))
    mix = {"hard": MixConfig.hard(seed, noise=noise), "plain": MixConfig(seed=seed),
           "dry": MixConfig(seed=seed, bleed_db=-200.0, wet_db=-200.0, snr_db=None)}[room]
    if not noise:
        mix = replace(mix, snr_db=None)
    return write(conv, out, mix)


@dataclass(frozen=True, slots=True)
class Tally:
    truth: int
    found: int
    matched: int

    @property
    def precision(self) -> float | None:
        return self.matched / self.found if self.found else None

    @property
    def recall(self) -> float | None:
        return self.matched / self.truth if self.truth else None

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.truth + other.truth, self.found + other.found,
                     self.matched + other.matched)


@dataclass(frozen=True, kw_only=True)
class RunScore:
    seed: int
    talk_share_error: float  # largest |measured - true| over the speakers, as a fraction
    interruptions: Tally
    outcome_right: int  # matched interruptions whose successful/unsuccessful is right
    backchannels: Tally
    backchannels_as_interruptions: int  # true backchannels matched by found interruptions
    latency_median_truth_s: float | None
    latency_median_found_s: float | None
    clear_interruptions: Tally  # only truth events with margin >= CLEAR_S (see clear_tally)
    clear_backchannels: Tally
    clear_backchannels_as_interruptions: int

    @property
    def latency_median_error_s(self) -> float | None:
        if self.latency_median_truth_s is None or self.latency_median_found_s is None:
            return None
        return abs(self.latency_median_found_s - self.latency_median_truth_s)


def matched_pairs(truth: Sequence[dict[str, Any]], found: Iterable[_Event]
                  ) -> list[tuple[dict[str, Any], Any]]:
    """Greedy one-to-one matching of events by speaker and time (nearest first)."""
    free = list(found)
    pairs = []
    for t in truth:
        near = [f for f in free if f.by == t["by"] and abs(f.at_s - t["at_s"]) <= TOLERANCE_S]
        if near:
            best = min(near, key=lambda f: abs(f.at_s - t["at_s"]))
            free.remove(best)
            pairs.append((t, best))
    return pairs


def clear_tally(truth: dict[str, Any], kind: str, found: Sequence[_Event]) -> Tally:
    """Precision and recall on the events away from the thresholds: truth events with a
    margin of at least CLEAR_S; a found event that matches a bout near a threshold (whatever
    the rules made of it) is left out of the precision instead of counting as false."""
    clear = [t for t in truth[kind] if t["margin_s"] >= CLEAR_S]
    pairs = matched_pairs(clear, found)
    hit = {id(f) for _, f in pairs}
    near = [b for b in truth["bouts"] if b["margin_s"] < CLEAR_S]
    excused = matched_pairs(near, [f for f in found if id(f) not in hit])
    return Tally(len(clear), len(found) - len(excused), len(pairs))


def score(truth: dict[str, Any], result: SessionResult) -> RunScore:
    """One rendered conversation's analysis against its truth file."""
    found_i, found_b = result.history.interruptions, result.history.backchannels
    pairs_i = matched_pairs(truth["interruptions"], found_i)
    lat = truth["response_latencies_s"]
    return RunScore(
        seed=truth["seed"],
        talk_share_error=max(abs((result.metrics.talk_share[s] or 0.0) - v)
                             for s, v in truth["talk_share"].items()),
        interruptions=Tally(len(truth["interruptions"]), len(found_i), len(pairs_i)),
        outcome_right=sum(1 for t, f in pairs_i if f.successful == t["successful"]),
        backchannels=Tally(len(truth["backchannels"]), len(found_b),
                           len(matched_pairs(truth["backchannels"], found_b))),
        backchannels_as_interruptions=len(matched_pairs(truth["backchannels"], found_i)),
        latency_median_truth_s=statistics.median(lat) if lat else None,
        latency_median_found_s=result.metrics.response_latency.median_s,
        clear_interruptions=clear_tally(truth, "interruptions", found_i),
        clear_backchannels=clear_tally(truth, "backchannels", found_b),
        clear_backchannels_as_interruptions=len(matched_pairs(
            [t for t in truth["backchannels"] if t["margin_s"] >= CLEAR_S], found_i)),
    )


@dataclass(frozen=True, kw_only=True)
class Pooled:
    """All runs together: event counts summed, errors as their maximum and mean."""

    runs: int
    talk_share_error_max: float
    talk_share_error_mean: float
    interruptions: Tally
    outcome_right: int
    backchannels: Tally
    backchannels_as_interruptions: int
    latency_median_error_max_s: float
    latency_median_error_mean_s: float
    clear_interruptions: Tally
    clear_backchannels: Tally
    clear_backchannels_as_interruptions: int


def pool(scores: Sequence[RunScore]) -> Pooled:
    share = [s.talk_share_error for s in scores]
    lat = [e for s in scores if (e := s.latency_median_error_s) is not None]
    return Pooled(
        runs=len(scores),
        talk_share_error_max=max(share),
        talk_share_error_mean=statistics.fmean(share),
        interruptions=sum((s.interruptions for s in scores), Tally(0, 0, 0)),
        outcome_right=sum(s.outcome_right for s in scores),
        backchannels=sum((s.backchannels for s in scores), Tally(0, 0, 0)),
        backchannels_as_interruptions=sum(s.backchannels_as_interruptions for s in scores),
        latency_median_error_max_s=max(lat, default=float("nan")),
        latency_median_error_mean_s=statistics.fmean(lat) if lat else float("nan"),
        clear_interruptions=sum((s.clear_interruptions for s in scores), Tally(0, 0, 0)),
        clear_backchannels=sum((s.clear_backchannels for s in scores), Tally(0, 0, 0)),
        clear_backchannels_as_interruptions=sum(s.clear_backchannels_as_interruptions
                                                for s in scores),
    )


def intents_vs_rules(truth: dict[str, Any]) -> Counter[tuple[str, str]]:
    """(what the script meant, what the rules labelled at that time ±30 ms) counts."""
    rules = ([("interruption" if e["successful"] else "unsuccessful", e)
              for e in truth["interruptions"]]
             + [("backchannel", e) for e in truth["backchannels"]])
    out: Counter[tuple[str, str]] = Counter()
    for intent in truth.get("intents", []):
        got = next((k for k, e in rules if e["by"] == intent["by"]
                    and abs(e["at_s"] - intent["at_s"]) <= 0.03), "nothing")
        out[(intent["kind"], got)] += 1
    return out


def _f(x: float | None, digits: int = 2) -> str:
    return "  n/a" if x is None else f"{x:.{digits}f}"


def print_table(scores: Sequence[RunScore]) -> None:
    print("seed  share err   int truth/found/hit  P     R    outcome  bc truth/found/hit  "
          "P     R    bc→int  latency median truth/found")
    for s in scores:
        i, b = s.interruptions, s.backchannels
        print(f"{s.seed:4d}  {100 * s.talk_share_error:6.2f} pp  {i.truth:5d}/{i.found:3d}/"
              f"{i.matched:3d}      {_f(i.precision)}  {_f(i.recall)}  {s.outcome_right:3d}"
              f"      {b.truth:5d}/{b.found:3d}/{b.matched:3d}     {_f(b.precision)}  "
              f"{_f(b.recall)}  {s.backchannels_as_interruptions:4d}    "
              f"{_f(s.latency_median_truth_s, 3)} / {_f(s.latency_median_found_s, 3)}")
    p = pool(scores)
    i, b = p.interruptions, p.backchannels
    print(f"pooled over {p.runs}: talk share error max {100 * p.talk_share_error_max:.2f} pp, "
          f"mean {100 * p.talk_share_error_mean:.2f} pp; interruptions {i.truth} true, "
          f"{i.found} found, {i.matched} matched: precision {_f(i.precision)}, recall "
          f"{_f(i.recall)}, outcome right {p.outcome_right}/{i.matched}; backchannels "
          f"{b.truth} true, {b.found} found, {b.matched} matched: precision "
          f"{_f(b.precision)}, recall {_f(b.recall)}; {p.backchannels_as_interruptions} "
          f"backchannels counted as interruptions; latency median error max "
          f"{p.latency_median_error_max_s:.3f} s, mean {p.latency_median_error_mean_s:.3f} s")
    ci, cb = p.clear_interruptions, p.clear_backchannels
    print(f"away from thresholds (margin >= {CLEAR_S} s): interruptions {ci.truth} true, "
          f"precision {_f(ci.precision)}, recall {_f(ci.recall)}; backchannels {cb.truth} "
          f"true, precision {_f(cb.precision)}, recall {_f(cb.recall)}, "
          f"{p.clear_backchannels_as_interruptions} counted as interruptions")


def seed_list(text: str) -> tuple[int, ...]:
    """Generator seeds from "1-8", "1,3,5" or "" (none), each once, in order."""
    if not text:
        return ()
    if "-" in text:
        lo, hi = (int(x) for x in text.split("-"))
        if lo > hi:
            raise ValueError(f"seeds {text}: the range runs backwards")
        return tuple(range(lo, hi + 1))
    return tuple(dict.fromkeys(int(x) for x in text.split(",")))


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seed_list, default=HARD_SEEDS, help="1-8 or 1,3,5")
    ap.add_argument("--turns", type=int, default=28)
    ap.add_argument("--room", choices=("hard", "plain", "dry"), default="hard")
    ap.add_argument("--no-noise", action="store_true")
    ap.add_argument("--out", type=Path, default=None, help="keep the renderings here")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.out or Path(tmp)
        scores, relabelled = [], Counter[tuple[str, str]]()
        for seed in args.seeds:
            paths = render_hard(root, seed, turns=args.turns, room=args.room,
                                noise=not args.no_noise)
            truth = json.loads(paths["truth"].read_text())
            scores.append(score(truth, analyze_file(paths["stereo"], prosody=False)))
            relabelled += intents_vs_rules(truth)
    print_table(scores)
    print("script intent → rules label:", ", ".join(
        f"{k[0]}→{k[1]} {v}" for k, v in sorted(relabelled.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
