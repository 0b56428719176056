"""One microphone per person: role maps, and bleed rejected while overlap is kept."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.errors import ChannelMapError
from live_attune.session.config import layout_for
from live_attune.session.pipeline import ChannelPipeline
from live_attune.speakers.channels import ChannelMap, CrosstalkConfig, CrosstalkGate, attribute
from live_attune.synth import MixConfig
from tests.conftest import load_truth, render_seed


def test_parse_and_speakers() -> None:
    cmap = ChannelMap.parse("client, ignore ,therapist")
    assert cmap.speakers == ("client", "therapist")
    assert cmap.channel_indices == (0, 2)


@pytest.mark.parametrize(("text", "message"), [
    ("therapist,therapist", "twice"), ("therapist,bob", "unknown role"), ("ignore", "no speaker"),
])
def test_bad_maps(text: str, message: str) -> None:
    with pytest.raises(ChannelMapError, match=message):
        ChannelMap.parse(text)


def test_map_must_fit_channel_count() -> None:
    with pytest.raises(ChannelMapError, match=r"names 2 roles .* has 6 channels"):
        ChannelMap.parse("therapist,client").check(6, "x.wav")


def test_six_channels_need_a_map() -> None:
    with pytest.raises(ChannelMapError, match="--channels therapist,client,ignore"):
        layout_for(6, None, "x.wav")


def test_bleed_is_rejected_and_overlap_kept() -> None:
    vad = np.ones((2, 3), bool)
    own = np.array([[-20.0, -20.0, -34.0], [-34.0, -22.0, -20.0]])
    out = attribute(vad, own, own, margin_db=6.0)
    assert out.tolist() == [[True, True, False], [False, True, True]]


def test_gate_streaming_equals_batch() -> None:
    rng = np.random.default_rng(1)
    flags = rng.random((2, 500)) > 0.3
    power = rng.random((2, 500)) ** 4
    cfg = CrosstalkConfig()
    batch = CrosstalkGate(2, cfg)
    whole = np.concatenate([batch.push(flags, power), batch.flush()], axis=1)
    gate = CrosstalkGate(2, cfg)
    parts = [gate.push(flags[:, i:i + 37], power[:, i:i + 37]) for i in range(0, 500, 37)]
    streamed = np.concatenate([*parts, gate.flush()], axis=1)
    assert np.array_equal(streamed, whole)


def _talk_share_error(path: Path, truth: dict) -> float:  # type: ignore[type-arg]
    pipeline = ChannelPipeline(layout_for(2, None, str(path)))
    pipeline.process(read_all(path))
    metrics, _ = pipeline.finish()
    return max(abs(metrics.talk_share[r] - truth["talk_share"][r]) for r in truth["talk_share"])


@pytest.mark.parametrize("bleed_db", [-10.0, -14.0, -20.0])
def test_crosstalk_levels_keep_talk_share(synth_dir: Path, bleed_db: float) -> None:
    paths = render_seed(synth_dir / f"bleed{bleed_db:g}", 3, MixConfig(bleed_db=bleed_db, seed=3))
    error = _talk_share_error(paths["stereo"], load_truth(paths))
    print(f"bleed {bleed_db} dB: talk share error {100 * error:.2f} pp")
    assert error <= 0.02


def test_real_overlap_counts_for_both(conversation: dict[str, Path]) -> None:
    truth = load_truth(conversation)
    spans = {r: [(s["start_s"], s["end_s"]) for s in truth["segments"] if s["speaker"] == r]
             for r in ("therapist", "client")}
    true_overlap = sum(max(0.0, min(e1, e2) - max(s1, s2))
                       for s1, e1 in spans["therapist"] for s2, e2 in spans["client"])
    pipeline = ChannelPipeline(layout_for(2, None, "x"))
    pipeline.process(read_all(conversation["stereo"]))
    metrics, _ = pipeline.finish()
    print(f"overlap: truth {true_overlap:.2f} s, measured {metrics.overlap_s:.2f} s")
    assert true_overlap > 3.0
    assert metrics.overlap_s == pytest.approx(true_overlap, abs=0.6)
