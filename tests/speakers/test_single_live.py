"""Live single-microphone attribution (issues 3 and 18): decisions within ~1 s of speech,
revised when the session ends; the final output uses the revised decisions. The pipeline's
default is the learned voice encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from bench.bench_single_mic import generator
from live_attune.session.config import single_mic_layout
from live_attune.session.single_mic import SingleMicPipeline
from live_attune.speakers.single import FRAME_S


@pytest.mark.slow
def test_decisions_within_about_a_second_then_revised() -> None:
    audio, ref = generator(2)
    pipe = SingleMicPipeline(single_mic_layout())
    lags = []
    for i in range(0, len(audio), 1600):  # 100 ms blocks, as the microphone delivers them
        pipe.process(audio[None, i:i + 1600])
        heard_s = min(len(audio), i + 1600) / 16000
        decided_s = pipe._emitted * FRAME_S
        if heard_s > 3.0:
            lags.append(heard_s - decided_s)
    print(f"decision lag: median {np.median(lags):.2f} s, max {max(lags):.2f} s")
    # README: within ~1 s; the bar is 1.5 s (issue 18). Measured with the encoder: median
    # 0.86 s, max 1.08 s (spectral: 0.81 s, 1.03 s); deterministic: sample counts, not clocks
    assert max(lags) <= 1.1
    live_share = pipe.snapshot().talk_share["therapist"]
    metrics, _ = pipe.finish()
    hyp = Annotation()
    for seg in pipe.history.segments:
        hyp[Segment(seg.start_s, seg.end_s)] = seg.speaker
    der = DiarizationErrorRate(collar=0.25)(ref, hyp, uem=ref.get_timeline().extent())
    true_share = ref.label_duration("therapist") / sum(ref.label_duration(w)
                                                       for w in ref.labels())
    print(f"live therapist share {live_share:.3f}, revised {metrics.talk_share['therapist']:.3f}"
          f", true {true_share:.3f}; revised DER {100 * der:.1f} %")
    assert der <= 0.06  # as offline (measured 2.4 %; spectral 2.7 %)
    # README: talk-share error ≤ 1.7 pp (measured 0.2 pp revised, 0.5 pp provisional;
    # spectral 0.4 and 2.7 pp)
    assert metrics.talk_share["therapist"] == pytest.approx(true_share, abs=0.017)
    assert live_share == pytest.approx(true_share, abs=0.04)  # provisional, then revised


@pytest.mark.slow
def test_a_live_session_on_one_microphone_saves_the_revised_decisions(
        tmp_path: Path) -> None:
    """Through the live session (server, store journal): session.json is the revised
    attribution, with a confidence per run of speech."""
    import asyncio
    import json

    import jsonschema

    from live_attune.audio.replay import FileReplaySource
    from live_attune.server.app import ServeOptions, run_live
    from live_attune.session.output import schema
    from live_attune.synth.truth import write_wav

    audio, ref = generator(1)
    (tmp_path / "in").mkdir()
    write_wav(tmp_path / "in" / "mono.wav", audio[None])
    source = FileReplaySource(tmp_path / "in" / "mono.wav", speed=None)
    session = asyncio.run(run_live(source, single_mic_layout(),  # type: ignore[arg-type]
                                   ServeOptions(port=0, open_browser=False),
                                   out_dir=tmp_path))
    saved = json.loads((tmp_path / "session.json").read_text())
    jsonschema.validate(saved, schema())
    assert saved["mode"] == "single-mic" and saved["speakers"] == ["therapist", "client"]
    assert saved["attribution"] and all(0 <= a["confidence"] <= 1
                                        for a in saved["attribution"])
    hyp = Annotation()
    for seg in saved["segments"]:
        hyp[Segment(seg["start_s"], seg["end_s"])] = seg["speaker"]
    der = DiarizationErrorRate(collar=0.25)(ref, hyp, uem=ref.get_timeline().extent())
    print(f"live session, revised DER {100 * der:.1f} %")
    assert der <= 0.06  # as offline (measured 1.9 %)
    assert session.pipeline.history.segments  # the revised engine replaced the live one
    # one microphone: marked in session.json, on the dashboard and in the report (issue 14)
    marks = {"talk_share": "estimated", "interruptions": "not reliable on one microphone",
             "backchannels": "not reliable on one microphone"}
    assert saved["reliability"] == marks
    assert json.loads(session.snapshot())["session"]["reliability"] == marks
    from live_attune.report import build_html

    page = build_html(saved)
    # the report's plain words (issue 20): interruptions by outcome, "listening sounds"
    assert page.count('<tr class="unreliable"><th>Came in while the other spoke') == 2
    assert '<tr class="unreliable"><th>Listening sounds (mm-hm)' in page
    assert '<tr class="unreliable"><th>Share of the talk' in page
    assert page.count("not reliable on one microphone") >= 3


@pytest.mark.slow
def test_while_a_one_microphone_session_runs_its_counts_are_recounted(
        tmp_path: Path, short_conversation: dict[str, Path]) -> None:
    """Live decisions give each moment one voice, so live they find no interruption (hard
    seeds 41-52: 0 of 100) and the dashboard showed "0 · 0" all session. A real client
    on 127.0.0.1 (the 58 s conversation at 4x): the snapshot says the counts are recounted
    every half minute; the metrics say to when (0 before the first recount, whose counts
    they then are); the end message gives the finished session's reliability, and the last
    metrics are the revision's; every message as its schema says; the store journals the
    newest recount."""
    import asyncio
    import contextlib
    import json

    import jsonschema
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    from live_attune.audio.replay import FileReplaySource
    from live_attune.core.quality import NOT_RELIABLE_ONE_MIC, RECOUNTED_LIVE
    from live_attune.server.app import ServeOptions, run_live, ws_url
    from live_attune.server.messages import SCHEMAS
    from live_attune.session.config import PipelineConfig
    from live_attune.session.output import config_dict
    from live_attune.store import NewSession, SessionRecorder, Store, default_store_path

    async def go() -> list[dict]:  # type: ignore[type-arg]
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[str] = loop.create_future()
        source = FileReplaySource(short_conversation["mono"], speed=4.0)
        recorder = SessionRecorder(default_store_path(), NewSession(
            kind="live", source="test", mode="single-mic", speakers=("therapist", "client"),
            config=config_dict(PipelineConfig())))
        live = asyncio.create_task(run_live(source, single_mic_layout(),  # type: ignore[arg-type]
                                            ServeOptions(port=0, open_browser=False),
                                            out_dir=tmp_path, ready=ready, recorder=recorder))
        seen = []
        async with connect(ws_url(await ready)) as ws:
            async for raw in ws:
                seen.append(json.loads(raw))
                if seen[-1]["type"] == "end":
                    break
            # the hub sends queued events (the end among them) before the latest metrics
            with contextlib.suppress(TimeoutError, ConnectionClosed):
                while True:
                    seen.append(json.loads(await asyncio.wait_for(ws.recv(), 2.0)))
        await live
        return seen

    seen = asyncio.run(go())
    for m in seen:
        jsonschema.validate(m, SCHEMAS[m["type"]])
    counts = {"interruptions", "backchannels"}
    assert seen[0]["type"] == "snapshot" and seen[0]["session"]["ended"] is None
    assert {k: v for k, v in seen[0]["session"]["reliability"].items() if k in counts} == {
        "interruptions": RECOUNTED_LIVE, "backchannels": RECOUNTED_LIVE}
    end_at = next(i for i, m in enumerate(seen) if m["type"] == "end")
    running = [m for m in seen[:end_at] if m["type"] == "metrics"]
    if running[-1]["counted_to_s"] is None:  # the finished session's, published before end
        running.pop()
    first = [m for m in running if m["at_s"] < 25.0]
    assert first and all(m["counted_to_s"] == 0.0 for m in first)
    assert all(sum(m["interruptions_by"].values()) == 0 for m in first)  # none shown yet
    later = [m for m in running if m["at_s"] > 35.0]
    assert later and all(29.5 <= m["counted_to_s"] <= m["at_s"] for m in later)
    end = seen[end_at]
    assert end["reliability"] == {"talk_share": "estimated",
                                  "interruptions": NOT_RELIABLE_ONE_MIC,
                                  "backchannels": NOT_RELIABLE_ONE_MIC}
    final = [m for m in seen if m["type"] == "metrics"][-1]
    saved = json.loads((tmp_path / "session.json").read_text())
    assert final["interruptions_by"] == saved["metrics"]["interruptions_by"]
    assert final["counted_to_s"] is None
    with Store(read_only=True) as store:  # the newest recount kept for a recovery
        (row,) = store.list()
        recount = store.journal(row.id).recount
    assert recount is not None
    assert running[-1]["counted_to_s"] - 0.001 <= recount[0] <= 58.0  # (taken after it?)
    assert recount[1] and {s for s, _, _ in recount[1]} <= {"therapist", "client"}
    assert sum(final["interruptions_by"].values()) >= 1


def test_live_windows_are_described_as_offline_with_each_frame_computed_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from calibration.measure import vad_flags
    from live_attune.audio.vad import WINDOW
    from live_attune.speakers import single, single_live

    audio, _ = generator(3)
    audio = audio[: 16000 * 60]
    flags = vad_flags(audio[None])[0]
    cfg = single.SingleMicConfig(voices="spectral")
    centres, feats, means, _ = single._windows(audio, flags, cfg)
    frames_computed = []

    def counted(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = single.block_features(samples)
        frames_computed.append(len(out[0]))
        return out

    monkeypatch.setattr(single_live, "block_features", counted)
    live = single_live.SpectralAttributor(("therapist", "client"), cfg)
    for i in range(0, len(audio), 1600):
        live.feed(audio[i:i + 1600], flags[: (i + 1600) // WINDOW])
    assert sum(frames_computed) <= len(audio) // 160  # each 10 ms frame once, not 3 times
    got = np.array([w.centre_s for w in live.windows])
    assert len(got) >= len(centres) - 3
    np.testing.assert_allclose(got, centres[: len(got)])
    np.testing.assert_allclose(np.stack([w.feature for w in live.windows]),
                               feats[: len(got)], atol=0.05)
    np.testing.assert_allclose(np.stack([w.mfcc_mean for w in live.windows]),
                               means[: len(got)], atol=0.5)
