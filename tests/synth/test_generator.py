"""The generators: the default one unchanged and agreeing with the rules labeller; the hard
one deterministic, labelled from what it rendered, with events on both sides of every
threshold; the hard room's paths."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from live_attune.synth import MixConfig, ScenarioConfig, make_conversation, render
from live_attune.synth.render import ROLES
from live_attune.synth.scenario import Conversation, TruthEvent
from live_attune.synth.truth import (
    Labels,
    Rules,
    conversation_labels,
    response_latencies,
    speech_activity,
    truth_dict,
)
from tests.conftest import BRIEF, BRIEF_SEED, load_truth, scripted

HARD_SEEDS = (1, 2, 3, 4, 5, 6, 7, 8)
RULES = Rules()


@pytest.fixture(scope="module")
def hard() -> list[tuple[Conversation, Labels]]:
    out = []
    for seed in HARD_SEEDS:
        conv = scripted(seed, ScenarioConfig.hard())
        out.append((conv, conversation_labels(conv)))
    return out


def _same(a: list[TruthEvent], b: tuple[TruthEvent, ...]) -> bool:
    """Same events by speaker and outcome, onsets within 50 ms (script times are clip
    edges, the labeller's are audible 10 ms frames)."""
    return len(a) == len(b) and all(
        x.by == y.by and x.successful == y.successful and abs(x.at_s - y.at_s) <= 0.05
        for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(("seed", "turns"), [(1, 24), (2, 24), (3, 24), (4, 24), (5, 24),
                                             (6, 24), (14, 10)])
def test_default_script_and_the_rules_agree(seed: int, turns: int) -> None:
    """The default script places every event away from the thresholds, so the independent
    rules labeller must find exactly the events the script meant."""
    conv = scripted(seed, ScenarioConfig(turns=turns))
    labels = conversation_labels(conv)
    assert _same(conv.interruptions, labels.interruptions)
    assert _same(conv.backchannels, labels.backchannels)
    assert labels.response_latencies_s == pytest.approx(response_latencies(conv), abs=0.05)
    assert conv.levels is None and "labelled_by" not in truth_dict(conv, MixConfig(seed=seed))


def test_the_brief_conversation_has_what_the_live_tests_say(
        brief_conversation: dict[str, Path]) -> None:
    """tests/conftest.py's brief conversation, which the live-server and dashboard tests
    replay to its end: both speakers, an interruption that takes the floor, a backchannel and
    a long silence (METRICS.md: 3 s) between turns, in under 25 s; the rules agree."""
    truth = load_truth(brief_conversation)
    assert truth["duration_s"] < 25
    assert min(truth["talk_time_s"].values()) > 3 and len(truth["talk_time_s"]) == 2
    assert [e["successful"] for e in truth["interruptions"]] == [True]
    assert len(truth["backchannels"]) == 1
    turns = truth["turns"]
    assert [t["speaker"] for t in turns] == ["therapist", "client"] * 2
    assert max(b["start_s"] - a["end_s"] for a, b in itertools.pairwise(turns)) > 3.0 + 1
    conv = scripted(BRIEF_SEED, BRIEF)
    labels = conversation_labels(conv)
    assert _same(conv.interruptions, labels.interruptions)
    assert _same(conv.backchannels, labels.backchannels)


def test_hard_conversation_is_deterministic() -> None:
    a, b = (make_conversation(3, ScenarioConfig.hard(turns=8)) for _ in range(2))
    assert all(np.array_equal(a.tracks[r], b.tracks[r]) for r in ROLES)
    assert a.turns == b.turns and a.interruptions == b.interruptions
    assert a.intents == b.intents


@pytest.mark.slow
def test_hard_truth_is_the_rules_on_what_was_rendered(hard: list[tuple[Conversation, Labels]]
                                                      ) -> None:
    for conv, labels in hard:
        assert tuple(conv.turns) == labels.turns
        assert tuple(conv.interruptions) == labels.interruptions
        assert tuple(conv.backchannels) == labels.backchannels
        truth = truth_dict(conv, MixConfig.hard(conv.seed))
        assert truth["labelled_by"] == "rules"
        assert len(truth["interruptions"]) == len(labels.interruptions)
    # what the script meant is not what the rules say: both ways, somewhere
    kinds = {(i.kind, _labelled(i.at_s, i.by, labels)) for conv, labels in hard
             for i in conv.intents}
    assert {("interruption", "interruption"), ("interruption", "nothing"),
            ("backchannel", "backchannel"), ("backchannel", "interruption"),
            ("failed_interruption", "interruption"), ("failed_interruption", "backchannel"),
            ("overlap_start", "nothing"), ("overlap_start", "interruption")} <= kinds


def _labelled(at_s: float, by: str, labels: Labels) -> str:
    if any(e.by == by and abs(e.at_s - at_s) <= 0.03 for e in labels.interruptions):
        return "interruption"
    if any(e.by == by and abs(e.at_s - at_s) <= 0.03 for e in labels.backchannels):
        return "backchannel"
    return "nothing"


def _gaps(spans: list[tuple[float, float]]) -> Iterator[float]:
    return (b[0] - a[1] for a, b in itertools.pairwise(sorted(spans)))


def _overlaps(conv: Conversation, labels: Labels) -> Iterator[tuple[float, float]]:
    """(holder's speech in the turn so far, holder's speech left in that segment) at the
    onset of every long bout that came in while the holder was speaking."""
    for bout in labels.bouts:
        if bout.speech_s < RULES.backchannel_max_s:
            continue
        mine = labels.segments[bout.of]
        covering = [(s, e) for s, e in mine if s <= bout.at_s < e]
        turn = [t for t in labels.turns if t.speaker == bout.of and t.start_s <= bout.at_s]
        if covering and turn:
            start = turn[-1].start_s
            held = sum(max(0.0, min(e, bout.at_s) - max(s, start)) for s, e in mine)
            yield held, covering[0][1] - bout.at_s


def _quantities(conv: Conversation, labels: Labels) -> dict[str, list[float]]:
    overlaps = list(_overlaps(conv, labels))
    raw = {r: speech_activity(t, (conv.levels or {}).get(r)) for r, t in conv.tracks.items()}
    everyone = [span for spans in labels.segments.values() for span in spans]
    union_gaps = []
    reach = None
    for s, e in sorted(everyone):
        if reach is not None and s > reach:
            union_gaps.append(s - reach)
        reach = e if reach is None else max(reach, e)
    return {
        "floor_min": [h for h, _ in overlaps],
        "terminal": [left for _, left in overlaps],
        "backchannel_max": [b.speech_s for b in labels.bouts],
        "bridge": [g for spans in labels.segments.values() for g in _gaps(list(spans))],
        "min_pause": [g for spans in raw.values() for g in _gaps(spans)],
        "patient_wait": list(labels.switch_gaps_s),
        "long_silence": union_gaps,
    }


def test_hard_events_sit_on_both_sides_of_every_threshold(
        hard: list[tuple[Conversation, Labels]]) -> None:
    """Within 80 ms below and above each threshold, measured on the rendered speech."""
    pooled: dict[str, list[float]] = {}
    for conv, labels in hard:
        for name, values in _quantities(conv, labels).items():
            pooled.setdefault(name, []).extend(values)
    for name, values in pooled.items():
        edge = getattr(RULES, f"{name}_s")
        below = sum(1 for v in values if edge - 0.08 <= v < edge - 1e-9)
        above = sum(1 for v in values if edge - 1e-9 <= v <= edge + 0.08)
        print(f"{name} {edge} s: {below} just below, {above} at or just above")
        assert below >= 2 and above >= 2, name


def test_hard_interruptions_overlap_and_pause_like_people(
        hard: list[tuple[Conversation, Labels]]) -> None:
    yields, first_word_pauses = [], 0
    for _, labels in hard:
        for event in labels.interruptions:
            holder = labels.segments[event.of]
            yields.append(max(e for s, e in holder if s <= event.at_s) - event.at_s)
            mine = [(s, e) for s, e in labels.segments[event.by] if s >= event.at_s][:2]
            if len(mine) == 2 and mine[0][1] - mine[0][0] < 0.7:  # "No, — I don't ..."
                first_word_pauses += 0.2 <= mine[1][0] - mine[0][1] <= 0.5
    assert min(yields) < 0.4 and max(yields) > 1.2  # the holder talks on 0.3-1.5 s
    assert first_word_pauses >= 3
    two_word = sum(1 for _, labels in hard for b in labels.backchannels
                   if _pieces_within_bridge(labels, b) >= 2)
    assert two_word >= 3  # "mm-hm … yeah"


def _pieces_within_bridge(labels: Labels, event: TruthEvent) -> int:
    mine = [(s, e) for s, e in labels.segments[event.by] if s >= event.at_s]
    count = 1
    for a, b in itertools.pairwise(mine):
        if b[0] - a[1] >= RULES.bridge_s:
            break
        count += 1
    return count


def test_hard_mix_ranges() -> None:
    for seed in range(50):
        mix = MixConfig.hard(seed)
        assert mix.paths is not None and mix.snr_db is not None
        assert abs(mix.voice_db[0] - mix.voice_db[1]) <= 6.0
        assert all(-20.0 <= db <= -8.0 for db in mix.paths.bleed_db)
        assert MixConfig.hard(seed, noise=False).snr_db is None
        assert MixConfig.hard(seed, noise=False).paths == mix.paths


def test_each_microphone_hears_a_talker_through_its_own_path() -> None:
    """An impulse from the therapist: each microphone shows it at its own delay, the client's
    at the bleed level; the tails that follow are different noise."""
    n = 16_000
    track = np.zeros(n, np.float32)
    track[8000] = 1.0
    conv = Conversation([], {"therapist": track, "client": np.zeros(n, np.float32)}, [], [],
                        [], 1.0, 0)
    mix = MixConfig.hard(5, noise=False)
    assert mix.paths is not None
    stereo, mono = render(conv, mix)
    own, far = int(np.argmax(np.abs(stereo[0]))), int(np.argmax(np.abs(stereo[1])))
    assert own - 8000 == round(mix.paths.own_delay_ms[0] * 16)
    assert far - 8000 == round(mix.paths.far_delay_ms[1] * 16)
    level_db = 20 * np.log10(abs(stereo[1][far]) / abs(stereo[0][own]))
    assert level_db == pytest.approx(mix.paths.bleed_db[1], abs=0.01)
    tail0, tail1 = stereo[0][own + 200: own + 2000], stereo[1][far + 200: far + 2000]
    assert abs(np.corrcoef(tail0, tail1)[0, 1]) < 0.2
    assert int(np.argmax(np.abs(mono[0]))) - 8000 == round(mix.paths.table_delay_ms[0] * 16)


def test_scenario_config_is_validated() -> None:
    with pytest.raises(ValueError, match="difficulty"):
        ScenarioConfig(difficulty="nightmare")
    with pytest.raises(ValueError, match="p_interrupt"):
        ScenarioConfig(p_interrupt=1.5)
    assert ScenarioConfig.hard(turns=5).turns == 5
