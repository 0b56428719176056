"""A crashing ASR or prosody worker is restarted; the metrics do not notice (issue 9)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from live_attune.prosody.tracker import ProsodyTracker
from live_attune.session.offline import analyze_file
from live_attune.session.output import session_dict
from tests.conftest import analysed
from tests.server.conftest import start


class FailOnce:
    """Wraps a function; its ``n``-th call raises (a fault injected into the real worker)."""

    def __init__(self, fn: object, n: int) -> None:
        self.fn, self.n, self.calls = fn, n, 0

    def __call__(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        if self.calls == self.n:
            raise RuntimeError("injected fault")
        return self.fn(*args, **kwargs)  # type: ignore[operator]


@pytest.mark.slow
def test_prosody_worker_crash_is_survived(conversation: dict[str, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    real = ProsodyTracker.feed
    faulty = FailOnce(real, 100)
    monkeypatch.setattr(ProsodyTracker, "feed", lambda self, block: faulty(self, block))
    running = start(conversation["stereo"], tmp_path, speed=None, prosody=True)
    session = running.wait()
    assert faulty.calls > 100
    assert session.prosody_status()["restarts"] == 1
    live = json.loads((tmp_path / "session.json").read_text())
    offline = session_dict(analysed(conversation["stereo"]))
    assert live["segments"] == offline["segments"]  # the metrics path never noticed
    assert live["metrics"] == offline["metrics"]
    gaps = [m for m in live["missing_audio"] if m["what"] == "prosody"]
    assert len(gaps) == 1 and gaps[0]["missing_s"] == pytest.approx(0.1, abs=0.01)
    assert len(live["prosody"]["turns"]) == len(live["turns"])  # every turn still measured


@pytest.mark.slow
def test_asr_worker_crash_is_survived(short_conversation: dict[str, Path], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import live_attune.asr.worker as worker

    faulty = FailOnce(worker.transcribe_short, 3)  # the warm-up is call 1
    monkeypatch.setattr(worker, "transcribe_short", faulty)
    running = start(short_conversation["stereo"], tmp_path, speed=4.0, asr=True)
    session = running.wait()
    status = session.asr_status()
    assert status["restarts"] == 1 and status["done"] >= 4
    live = json.loads((tmp_path / "session.json").read_text())
    gaps = [m for m in live["missing_audio"] if m["what"] == "asr"]
    assert len(gaps) == 1 and "injected fault" in gaps[0]["reason"]
    assert len(live["transcript"]) >= 4  # transcription went on after the restart
    offline = session_dict(analyze_file(short_conversation["stereo"], prosody=False))
    assert live["metrics"]["talk_time_s"] == offline["metrics"]["talk_time_s"]
