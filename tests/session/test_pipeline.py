"""session/pipeline.py: one factory, one interface for both pipelines (style item 13)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import AudioInfo
from live_attune.session.config import Layout, SingleMicOptions, layout_for, single_mic_layout
from live_attune.session.pipeline import ChannelPipeline, Pipeline, make_pipeline
from live_attune.session.result import SessionResult
from live_attune.session.single_mic import SingleMicPipeline
from live_attune.speakers.voiceprint import VoicePrintError


def test_one_factory_for_every_layout() -> None:
    assert isinstance(make_pipeline(layout_for(2, None, "x")), ChannelPipeline)
    assert isinstance(make_pipeline(layout_for(1, None, "x")), ChannelPipeline)  # activity
    assert isinstance(make_pipeline(single_mic_layout()), SingleMicPipeline)


@pytest.mark.parametrize("layout", [layout_for(2, None, "x"), single_mic_layout()],
                         ids=["channels", "single-mic"])
def test_both_pipelines_answer_through_the_protocol(layout: Layout) -> None:
    pipeline: Pipeline = make_pipeline(layout)
    rng = np.random.default_rng(0)
    block = (0.001 * rng.standard_normal((pipeline.layout.input_channels, 16_000))
             ).astype(np.float32)  # 1 s of faint noise: no speech
    for _ in range(3):
        assert pipeline.process(block) == []
    assert pipeline.snapshot().speakers == pipeline.layout.speakers
    assert pipeline.last_levels_db.shape == (len(pipeline.layout.speakers),)
    metrics, _ = pipeline.finish()
    assert pipeline.frames > 0 and metrics.at_s == pytest.approx(pipeline.processed_s)
    assert pipeline.history.segments == [] and pipeline.open_segments_s() == {}
    assert pipeline.attribution == ()


def test_a_voice_print_that_cannot_be_read_fails_when_the_pipeline_is_made(
        tmp_path: Path) -> None:
    with pytest.raises(VoicePrintError):
        make_pipeline(single_mic_layout(),
                      single_mic=SingleMicOptions(voice_print=tmp_path / "none.npz"))


def test_a_session_result_is_built_by_keyword_only() -> None:
    pipeline = make_pipeline(layout_for(2, None, "x"))
    metrics, _ = pipeline.finish()
    info = AudioInfo("x", 2, 16_000, 0.0, "live")
    with pytest.raises(TypeError):
        SessionResult(info, pipeline.layout, pipeline.config, metrics,  # type: ignore[call-arg]
                      pipeline.history, 0.0)  # positional on purpose: refused


def test_two_channels_score_every_whole_window_up_to_the_last(
        brief_conversation: dict[str, Path]) -> None:
    """Speech running to the file's end is scored to its last whole 32 ms window: the gate's
    decision on the VAD's owed flags is kept at ``finish`` (it was dropped: one window short)."""
    from live_attune.audio.decode import read_all
    from live_attune.audio.vad import WINDOW

    truth = json.loads(brief_conversation["truth"].read_text())
    alone = next(s for s in truth["segments"] if s["end_s"] - s["start_s"] > 2.0
                 and not any(o is not s and o["start_s"] < s["end_s"] - 0.5
                             and o["end_s"] > s["start_s"] + 1.0 for o in truth["segments"]))
    audio, rate = read_all(brief_conversation["stereo"]), 16_000
    cut_at = int((alone["start_s"] + 1.5) * rate) + 100  # mid-word, not on a window edge
    pipeline = ChannelPipeline(layout_for(2, None, "x"))
    for start in range(0, cut_at, 4_000):
        pipeline.process(audio[:, start:min(start + 4_000, cut_at)])
    pipeline.finish()
    assert pipeline.frames == cut_at // WINDOW
    last = max(pipeline.history.segments, key=lambda s: s.end_s)
    assert last.speaker == alone["speaker"]
    assert last.end_s == pytest.approx(cut_at // WINDOW * WINDOW / rate, abs=1e-6)
