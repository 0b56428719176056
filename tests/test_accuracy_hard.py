"""The accuracy bar on hard conversations (issue 15): ScenarioConfig.hard() scripts in the hard
room (MixConfig.hard: voices up to ±6 dB apart, bleed -8 to -20 dB through per-pair
reverberant paths, noise), scored against truth labelled by METRICS.md's rules from the
rendered speech (synth/truth.py). Numbers: bench/bench_accuracy_hard.py.

Three groups:
* the bar of tests/test_accuracy.py on the events *away from* the thresholds (margin >=
  0.1 s, twice the ±50 ms onset target), in the plain room and, since the crosstalk model
  (issue 17, speakers/crosstalk.py) keeps both voices in overlap, in the hard room;
* today's numbers in the hard room over all events, at the thresholds included, as
  regression floors (no bar: a ±50 ms onset error decides an event 20-80 ms from a threshold);
* the engine fed the true segments against the rules labeller, event for event.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench.bench_accuracy_hard import CLEAR_S, Pooled, RunScore, pool, render_hard, score
from live_attune.core.conversation import replay_segments
from live_attune.core.events import Segment
from live_attune.session.offline import analyze_file
from live_attune.synth import ScenarioConfig
from live_attune.synth.truth import conversation_labels
from tests.conftest import scripted

HARD_SEEDS = tuple(range(1, 11))

def _runs(root: Path, room: str) -> list[RunScore]:
    out = []
    for seed in HARD_SEEDS:
        paths = render_hard(root, seed, room=room)
        truth: dict[str, Any] = json.loads(paths["truth"].read_text())
        out.append(score(truth, analyze_file(paths["stereo"], prosody=False)))
    return out


@pytest.fixture(scope="module")
def hard_room(synth_dir: Path) -> list[RunScore]:
    return _runs(synth_dir, "hard")


@pytest.fixture(scope="module")
def hard(hard_room: list[RunScore]) -> Pooled:
    return pool(hard_room)


def _report(p: Pooled) -> None:
    ci, cb, i, b = p.clear_interruptions, p.clear_backchannels, p.interruptions, p.backchannels
    print(f"clear (margin >= {CLEAR_S} s): interruptions {ci.truth} true, precision "
          f"{ci.precision:.2f}, recall {ci.recall:.2f}; backchannels {cb.truth} true, precision "
          f"{cb.precision:.2f}, recall {cb.recall:.2f}, {p.clear_backchannels_as_interruptions}"
          f" as interruptions. all: interruptions precision {i.precision:.2f}, recall "
          f"{i.recall:.2f}; backchannels precision {b.precision:.2f}, recall {b.recall:.2f}; "
          f"talk share error max {100 * p.talk_share_error_max:.2f} pp; latency median error "
          f"max {p.latency_median_error_max_s:.3f} s")


# -- the bar, away from the thresholds -------------------------------------------------------

@pytest.mark.slow
def test_hard_scripts_in_the_plain_room_meet_the_bar_away_from_thresholds(synth_dir: Path
                                                                          ) -> None:
    """The control: the same scripts, equal voices, one room, -14 dB bleed. What fails below
    in the hard room is the room's doing, not the script's."""
    p = pool(_runs(synth_dir, "plain"))
    _report(p)
    ci, cb = p.clear_interruptions, p.clear_backchannels
    assert ci.truth >= 25 and cb.truth >= 25
    assert (ci.precision or 0) >= 0.9 and (ci.recall or 0) >= 0.9
    assert (cb.recall or 0) >= 0.8 and p.clear_backchannels_as_interruptions == 0
    assert p.talk_share_error_max <= 0.02
    assert p.latency_median_error_max_s <= 0.15


@pytest.mark.slow
def test_hard_room_outcome_and_backchannel_recall_meet_the_bar(hard: Pooled) -> None:
    _report(hard)
    assert hard.clear_interruptions.truth >= 25 and hard.clear_backchannels.truth >= 25
    assert hard.outcome_right >= 0.9 * hard.interruptions.matched
    assert (hard.clear_backchannels.recall or 0) >= 0.8


@pytest.mark.slow
def test_hard_room_interruption_precision(hard: Pooled) -> None:
    assert (hard.clear_interruptions.precision or 0) >= 0.9  # level gate 0.84, model 0.97


@pytest.mark.slow
def test_hard_room_interruption_recall(hard: Pooled) -> None:
    assert (hard.clear_interruptions.recall or 0) >= 0.9  # level gate 0.75, model 1.00


@pytest.mark.slow
def test_hard_room_backchannels_never_interruptions(hard: Pooled) -> None:
    assert hard.clear_backchannels_as_interruptions == 0  # level gate 1, model 0


@pytest.mark.slow
def test_hard_room_talk_share_within_2_points(hard: Pooled) -> None:
    assert hard.talk_share_error_max <= 0.02  # level gate 3.21 pp (seed 2), model 0.8 pp


@pytest.mark.slow
def test_hard_room_response_latency_median(hard: Pooled) -> None:
    assert hard.latency_median_error_max_s <= 0.15  # level gate 1.13 s (seed 2), model 0.05 s


# -- today's numbers as floors ---------------------------------------------------------------

@pytest.mark.slow
def test_hard_room_does_not_regress(hard: Pooled) -> None:
    """Floors a little under today's numbers (seeds 1-10, hard room; about two events of
    slack, one event being 1.4 pp of recall): all events, at the thresholds included.
    Issue 17's bars (interruptions P/R >= 0.92, backchannels >= 0.90, none counted as
    interruptions) are not all met yet: with onsets under another voice placed 2 dB over
    the bleed's running 0.8 quantile (session 8), measured 0.97/0.93 (66 of 71), 0.96/0.97
    and 1 (session 7: 0.97/0.915, 0.97/0.97, 1; session 6: 0.89/0.96, 1.00/0.88, 3;
    bench/bench_gate.py)."""
    _report(hard)
    i, b, ci, cb = (hard.interruptions, hard.backchannels, hard.clear_interruptions,
                    hard.clear_backchannels)
    assert i.truth >= 60 and b.truth >= 60
    assert (i.precision or 0) >= 0.93 and (i.recall or 0) >= 0.90  # today 0.97, 0.93
    assert (b.precision or 0) >= 0.93 and (b.recall or 0) >= 0.93  # today 0.96, 0.97
    assert hard.backchannels_as_interruptions <= 2  # today 1
    assert (ci.precision or 0) >= 0.95 and (ci.recall or 0) >= 0.95  # today 1.00, 1.00
    assert (cb.precision or 0) >= 0.95  # today 1.00
    assert hard.talk_share_error_max <= 0.01  # today 0.44 pp
    assert hard.latency_median_error_mean_s <= 0.35


# -- the engine on the true speech ------------------------------------------------------------

@pytest.mark.parametrize("seed", HARD_SEEDS)
def test_engine_on_the_true_speech_agrees_with_the_rules(seed: int) -> None:
    """Two implementations of METRICS.md, one live and one offline, on the same intervals."""
    conv = scripted(seed, ScenarioConfig.hard())
    labels = conversation_labels(conv)
    segments = sorted((Segment(r, s, e) for r, spans in labels.segments.items()
                       for s, e in spans), key=lambda x: x.start_s)
    history = replay_segments(("therapist", "client"), segments, end_s=conv.duration_s,
                              sample_rate=16_000).history
    assert [(round(e.at_s, 2), e.by, e.successful) for e in history.interruptions] == [
        (e.at_s, e.by, e.successful) for e in labels.interruptions]
    assert [(round(e.at_s, 2), e.by) for e in history.backchannels] == [
        (e.at_s, e.by) for e in labels.backchannels]
    assert [(t.speaker, round(t.start_s, 2), round(t.end_s, 2)) for t in history.turns] == [
        (t.speaker, t.start_s, t.end_s) for t in labels.turns]
