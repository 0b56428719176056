"""Every METRICS.md threshold at its edge: scripted activity one sample either side of it.

Each scripted time is derived from the config, and every test runs with the default config
and with one whose thresholds are all x1.3, so a rule is tested wherever its threshold is
set (a threshold scaled where core reads it, or a comparison made strict or loose, fails
here; ``scripts/mutate_thresholds.py`` checks that). Core imposes no frame step: frames may
have any length and time is the sample index. The script's frames change activity exactly at
each scripted sample and are cut to at most one VAD frame (512 samples, what the pipeline
feeds), so one sample is the finest edge and the engine is driven as it streams live.
"""

from __future__ import annotations

import re
from dataclasses import fields
from itertools import pairwise
from pathlib import Path

import pytest

from live_attune.core import (
    ActivityFrame,
    Backchannel,
    ConversationEngine,
    FloorChange,
    Interruption,
    LongSilence,
    MetricsConfig,
    Pause,
    Segment,
    SessionMetrics,
    Turn,
)
from live_attune.core.events import Event

RATE = 16_000  # samples per second, as the pipeline feeds the engine
VAD_FRAME = 512  # samples: the longest frame the script feeds
T, C = "therapist", "client"
SPEAKERS = (T, C)
METRICS_MD = Path(__file__).resolve().parents[3] / "shared" / "METRICS.md"

DEFAULT = MetricsConfig()
SCALED = MetricsConfig(  # every threshold x1.3, written as exact decimals
    min_pause_s=0.325, min_speech_s=0.13, window_s=390.0, patient_wait_s=1.95,
    long_silence_s=3.9, monologue_cue_s=78.0, backchannel_max_s=1.3, floor_min_s=1.3,
    terminal_s=0.325, yield_within_s=2.6, bridge_s=0.65)
CONFIGS = pytest.mark.parametrize("cfg", [DEFAULT, SCALED], ids=["default", "x1.3"])
Script = dict[str, list[tuple[int, int]]]


def n(seconds: float) -> int:
    """Seconds → samples, rounded as core converts its thresholds."""
    return round(seconds * RATE)


def s(samples: int) -> float:
    """Samples → seconds, as the events carry them."""
    return samples / RATE


def frames(script: Script, end: int, cuts: tuple[int, ...] = ()) -> list[ActivityFrame]:
    """Frames over [0, end) that change activity exactly at the scripted samples.

    ``cuts``: more samples at which a frame must end (to look at the engine there).
    """
    cuts = {0, end, *cuts, *range(0, end, VAD_FRAME)}
    cuts |= {t for spans in script.values() for span in spans for t in span if 0 < t < end}
    out = []
    for a, b in pairwise(sorted(cuts)):
        active = tuple(any(x <= a < y for x, y in script.get(sp, [])) for sp in SPEAKERS)
        out.append(ActivityFrame(a, b, active))
    return out


def run(script: Script, cfg: MetricsConfig, end: int | None = None
        ) -> tuple[list[Event], SessionMetrics]:
    """Stream the script frame by frame; every event and the final measures."""
    if end is None:  # silence after the last speech, for every timer to come due
        end = max(b for spans in script.values() for _, b in spans) + n(5.0)
    engine = ConversationEngine(SPEAKERS, sample_rate=RATE, config=cfg)
    events: list[Event] = []
    for frame in frames(script, end):
        engine.feed([frame])
        events += engine.events_received()
    metrics = engine.finish()
    return events + engine.events_received(), metrics


def of(kind: type, events: list[Event]) -> list[Event]:
    return [e for e in events if isinstance(e, kind)]


def changes(events: list[Event]) -> list[tuple[str, float, str | None, float | None]]:
    return [(e.speaker, e.at_s, e.previous, e.switch_gap_s) for e in of(FloorChange, events)]


# -- the config -------------------------------------------------------------------------------


def test_defaults_are_the_numbers_of_metrics_md() -> None:
    """Each `name = N s` of METRICS.md is the default of ``name_s``, and nothing else is."""
    documented = {f"{name}_s": float(value) for name, value in
                  re.findall(r"`(\w+) = ([\d.]+) s`", METRICS_MD.read_text())}
    defaults = {f.name: getattr(DEFAULT, f.name) for f in fields(MetricsConfig)}
    assert defaults == documented
    assert defaults["bridge_s"] == 0.5


def test_the_scaled_config_is_every_default_times_1_3() -> None:
    for f in fields(MetricsConfig):
        assert getattr(SCALED, f.name) == pytest.approx(getattr(DEFAULT, f.name) * 1.3)


# -- § Activity -------------------------------------------------------------------------------


@CONFIGS
@pytest.mark.parametrize("short", [1, 0], ids=["below", "at"])
def test_min_pause_gaps_below_it_are_bridged(cfg: MetricsConfig, short: int) -> None:
    a = n(2.0)
    b = a + n(cfg.min_pause_s) - short
    events, _ = run({T: [(0, a), (b, b + n(2.0))]}, cfg)
    if short:
        assert of(Segment, events) == [Segment(T, 0.0, s(b + n(2.0)))]
        assert of(Pause, events) == []
    else:
        assert of(Segment, events) == [Segment(T, 0.0, s(a)), Segment(T, s(b), s(b + n(2.0)))]
        assert of(Pause, events) == [Pause(T, s(a), s(b))]


@CONFIGS
@pytest.mark.parametrize("short", [1, 0], ids=["below", "at"])
def test_min_speech_shorter_segments_are_dropped(cfg: MetricsConfig, short: int) -> None:
    burst = n(cfg.min_speech_s) - short
    a = n(3.0)
    events, m = run({T: [(0, n(2.0)), (a, a + burst)]}, cfg)
    kept = [] if short else [Segment(T, s(a), s(a + burst))]
    assert of(Segment, events) == [Segment(T, 0.0, 2.0), *kept]
    assert m.talk_time_s[T] == pytest.approx(2.0 + (0 if short else s(burst)))


@CONFIGS
@pytest.mark.parametrize("inside", [0, 1], ids=["ends-at-window-start", "one-sample-inside"])
def test_rolling_share_counts_only_the_last_window(cfg: MetricsConfig, inside: int) -> None:
    end = n(cfg.window_s) + n(20.0)
    lo = end - n(cfg.window_s)  # the window's first sample
    _, m = run({T: [(0, lo + inside)], C: [(n(30.0), end)]}, cfg, end=end)
    talk = end - n(30.0)  # the client's, all inside the window
    assert m.rolling_talk_share[T] == pytest.approx(inside / (inside + talk))
    assert m.rolling_talk_share[C] == pytest.approx(talk / (inside + talk))


# -- § Turns and silences ---------------------------------------------------------------------


@CONFIGS
@pytest.mark.parametrize(("extra", "patient"), [(-1, 0.0), (0, 1.0), (1, 1.0)],
                         ids=["below", "at", "above"])
def test_patient_wait_share_of_responses(cfg: MetricsConfig, extra: int, patient: float) -> None:
    stop = n(3.0)
    gap = n(cfg.patient_wait_s) + extra
    events, m = run({C: [(0, stop)], T: [(stop + gap, stop + gap + n(3.0))]}, cfg)
    assert changes(events)[-1] == (T, s(stop + gap), C, s(gap))
    assert (m.response_latency.count, m.response_latency.median_s) == (1, s(gap))
    assert m.response_latency.share_patient == patient


@CONFIGS
@pytest.mark.parametrize("extra", [-1, 0, 1], ids=["below", "at", "above"])
def test_long_silence_from_its_threshold(cfg: MetricsConfig, extra: int) -> None:
    stop = n(2.0)
    start = stop + n(cfg.long_silence_s) + extra
    events, m = run({T: [(0, stop)], C: [(start, start + n(3.0))]}, cfg)
    expected = [] if extra < 0 else [LongSilence(s(stop), s(start), T, C)]
    assert of(LongSilence, events) == expected
    assert m.long_silences == len(expected)


@CONFIGS
@pytest.mark.parametrize("short", [1, 0], ids=["below", "at"])
def test_monologue_cue_from_its_threshold(cfg: MetricsConfig, short: int) -> None:
    now = n(cfg.monologue_cue_s) - short
    engine = ConversationEngine(SPEAKERS, sample_rate=RATE, config=cfg)
    engine.feed(frames({T: [(0, now)]}, now))
    live = engine.snapshot()
    assert (live.floor_holder, live.current_turn_s) == (T, s(now))
    assert live.monologue_cue is not bool(short)


def test_latency_is_reported_as_median_and_mean() -> None:
    # Three responses after 0.2, 0.3 and 1.6 s: median 0.3 s, mean 0.7 s.
    script = {C: [(0, n(2.0)), (n(4.5), n(6.5)), (n(9.5), n(11.5))],
              T: [(n(2.2), n(4.0)), (n(6.8), n(9.0)), (n(13.1), n(15.0))]}
    _, m = run(script, DEFAULT)
    lat = m.response_latency
    assert lat.count == 3
    assert lat.median_s == pytest.approx(0.3)
    assert lat.mean_s == pytest.approx(0.7)
    assert lat.share_patient == pytest.approx(1 / 3)


# -- § Overlaps: bouts, backchannels, interruptions ----------------------------------------


def holder_and_bout(cfg: MetricsConfig, pieces: list[int], gap: int) -> Script:
    """The therapist holds the floor for 20 s; the client's pieces of speech start at 5 s."""
    spans, at = [], n(5.0)
    for length in pieces:
        spans.append((at, at + length))
        at += length + gap
    return {T: [(0, n(20.0))], C: spans}


@CONFIGS
@pytest.mark.parametrize("split", [False, True], ids=["one-segment", "two-segments"])
@pytest.mark.parametrize("short", [1, 0], ids=["below", "at"])
def test_backchannel_max_of_summed_speech(cfg: MetricsConfig, split: bool, short: int) -> None:
    total = n(cfg.backchannel_max_s) - short
    pieces = [total // 2, total - total // 2] if split else [total]
    gap = (n(cfg.min_pause_s) + n(cfg.bridge_s)) // 2  # a segment gap inside one bout
    events, _ = run(holder_and_bout(cfg, pieces, gap), cfg)
    if short:
        assert of(Backchannel, events) == [Backchannel(5.0, C, T, s(total))]
        assert of(Interruption, events) == []
    else:
        assert of(Backchannel, events) == []
        assert of(Interruption, events) == [Interruption(5.0, C, T, False)]
    assert changes(events) == [(T, 0.0, None, None)]


@CONFIGS
@pytest.mark.parametrize("short", [1, 0], ids=["below", "at"])
def test_bridge_groups_a_bout(cfg: MetricsConfig, short: int) -> None:
    piece = n(cfg.backchannel_max_s * 0.6)  # each piece short, the two together long
    gap = n(cfg.bridge_s) - short
    events, _ = run(holder_and_bout(cfg, [piece, piece], gap), cfg)
    if short:
        assert of(Interruption, events) == [Interruption(5.0, C, T, False)]
        assert of(Backchannel, events) == []
    else:
        second = n(5.0) + piece + gap
        assert of(Backchannel, events) == [Backchannel(5.0, C, T, s(piece)),
                                           Backchannel(s(second), C, T, s(piece))]
        assert of(Interruption, events) == []
    assert changes(events) == [(T, 0.0, None, None)]


@CONFIGS
@pytest.mark.parametrize("short", [1, 0], ids=["below", "at"])
@pytest.mark.parametrize("paused", [False, True], ids=["one-segment", "after-a-pause"])
def test_floor_min_of_the_holder_s_speech(cfg: MetricsConfig, short: int, paused: bool) -> None:
    floor = n(cfg.floor_min_s)
    pause = n(cfg.bridge_s) if paused else 0
    first = floor // 2 if paused else n(20.0)
    onset = floor + pause - short  # the holder has spoken floor - short samples by then
    holder = [(0, first), (first + pause, n(20.0))] if paused else [(0, n(20.0))]
    events, _ = run({T: holder, C: [(onset, onset + n(3.0))]}, cfg)
    expected = [] if short else [Interruption(s(onset), C, T, False)]
    assert of(Interruption, events) == expected
    assert of(Backchannel, events) == []  # a long bout: overlap, never a backchannel
    assert changes(events) == [(T, 0.0, None, None)]


@CONFIGS
@pytest.mark.parametrize("early", [1, 0], ids=["before-terminal", "at-terminal"])
def test_terminal_onsets_do_not_interrupt(cfg: MetricsConfig, early: int) -> None:
    stop = n(5.0)
    onset = stop - n(cfg.terminal_s) - early
    events, _ = run({T: [(0, stop)], C: [(onset, stop + n(3.0))]}, cfg)
    expected = [Interruption(s(onset), C, T, True)] if early else []
    assert of(Interruption, events) == expected
    assert changes(events)[-1] == (C, s(onset), T, s(onset - stop))


@CONFIGS
@pytest.mark.parametrize("late", [0, 1], ids=["at", "above"])
def test_yield_within_decides_success(cfg: MetricsConfig, late: int) -> None:
    onset = n(5.0)
    stop = onset + n(cfg.yield_within_s) + late
    events, m = run({T: [(0, stop)], C: [(onset, stop + n(3.0))]}, cfg)
    assert of(Interruption, events) == [Interruption(5.0, C, T, not late)]
    assert changes(events)[-1] == (C, 5.0, T, s(onset - stop))
    assert m.successful_interruptions_by[C] == (0 if late else 1)
    assert m.unsuccessful_interruptions_by[C] == late


def test_metrics_md_examples_of_bouts() -> None:
    # "mm-hm … yeah" (0.5 s + 0.35 s of speech) stays a backchannel.
    events, _ = run({T: [(0, n(20.0))], C: [(n(5.0), n(5.5)), (n(5.8), n(6.15))]}, DEFAULT)
    assert of(Backchannel, events) == [Backchannel(5.0, C, T, s(n(0.85)))]
    assert of(Interruption, events) == []
    # "No, — I don't think so" is an interruption, timed at "No"; the therapist yields.
    script = {T: [(0, n(7.0))], C: [(n(5.0), n(5.3)), (n(5.7), n(9.0))]}
    events, _ = run(script, DEFAULT)
    assert of(Interruption, events) == [Interruption(5.0, C, T, True)]
    assert [(t.speaker, t.start_s, t.end_s) for t in of(Turn, events)] == [(T, 0.0, 7.0),
                                                                            (C, 5.0, 9.0)]
    assert of(Pause, events) == [Pause(C, 5.3, 5.7)]


@CONFIGS
def test_a_bout_is_decided_once_its_silence_reaches_bridge(cfg: MetricsConfig) -> None:
    """Streaming: a short bout is decided with the first frame past the sample at which its
    silence reaches ``bridge`` (an onset at that very sample would go first), not later."""
    end = n(5.0) + n(cfg.backchannel_max_s) // 2
    decided = end + n(cfg.bridge_s)  # the silence reaches bridge at this sample
    engine = ConversationEngine(SPEAKERS, sample_rate=RATE, config=cfg)
    script = {T: [(0, n(20.0))], C: [(n(5.0), end)]}
    seen: list[Event] = []
    for frame in frames(script, n(20.0), cuts=(decided, decided + 1)):
        engine.feed([frame])
        seen += engine.events_received()
        # Up to that sample an onset could still continue the bout; once it has passed, no.
        expected = [Backchannel(5.0, C, T, s(end - n(5.0)))] if frame.end > decided else []
        assert of(Backchannel, seen) == expected


@CONFIGS
def test_a_long_bout_takes_the_floor_when_it_reaches_backchannel_max(cfg: MetricsConfig) -> None:
    """A reply in the holder's silence, with a hesitation: the turn changes as the reply's
    summed speech reaches backchannel_max, and starts at its first word."""
    stop, start = n(3.0), n(3.5)
    piece, gap = n(cfg.backchannel_max_s) // 2, n(cfg.bridge_s) - 1
    long_at = start + piece + gap + (n(cfg.backchannel_max_s) - piece)
    engine = ConversationEngine(SPEAKERS, sample_rate=RATE, config=cfg)
    script = {T: [(0, stop)], C: [(start, start + piece), (start + piece + gap, n(9.0))]}
    for frame in frames(script, n(10.0), cuts=(long_at, long_at + 1)):
        engine.feed([frame])
        if frame.end >= stop:
            assert engine.snapshot().floor_holder == (C if frame.end > long_at else T)
    final = engine.finish()
    assert final.turns == 2
    assert engine.history.floor_changes[-1] == FloorChange(C, s(start), T, s(start - stop))
    assert engine.history.pauses == [Pause(C, s(start + piece), s(start + piece + gap))]
