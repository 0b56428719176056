"""session/offline.py holds no whole recording in memory; what it measures is unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.audio.decode import read_all
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import Segment, Turn
from live_attune.prosody import ProsodyResult, ProsodyTracker
from live_attune.session.config import SingleMicOptions
from live_attune.session.offline import analyze_file
from live_attune.session.result import SessionResult


def prosody_from_memory(audio: np.ndarray, result: SessionResult) -> ProsodyResult:
    """One microphone's prosody from the whole file held in memory, in 10 s steps, the
    channel measured once per speaker (how analyze measured it before it decoded the file
    a second time, and before its frames were measured once as they stream)."""
    roles = result.layout.speakers
    tracker = ProsodyTracker(roles)
    both: list[Segment | Turn] = [*result.history.segments, *result.history.turns]
    events = sorted(both, key=lambda e: (e.end_s, isinstance(e, Turn)))
    step, i = SAMPLE_RATE * 10, 0
    for start in range(0, len(audio), step):
        tracker.feed(np.repeat(audio[None, start:start + step], len(roles), axis=0))
        ready = []
        while i < len(events) and events[i].end_s <= (start + step) / SAMPLE_RATE - 1.0:
            ready.append(events[i])
            i += 1
        tracker.events(ready)
    tracker.events(events[i:])
    return tracker.finish()


@pytest.mark.slow
def test_one_microphone_prosody_measured_once_equals_the_kept_audio(shared_data: Path
                                                                     ) -> None:
    """A real two-person recording (AMI, 30 s, mono): the per-turn prosody analyze gives —
    the one channel's frames measured once as its blocks come, summarised per turn after
    the revision — is the one from the audio kept whole, each speaker measured apart."""
    path = shared_data / "conversations/ami/dev00.wav"
    result = analyze_file(path, single_mic=SingleMicOptions())
    assert result.prosody is not None and result.prosody.turns
    expected = prosody_from_memory(read_all(path)[0], result)
    assert repr(result.prosody) == repr(expected)  # every number (NaN included) the same


HEAVY_MODULES = ("numba", "librosa", "scipy.signal", "scipy.optimize", "scipy.ndimage",
                 "sklearn", "torch")


def test_a_two_microphone_analysis_imports_no_heavy_module(
        brief_conversation: dict[str, Path]) -> None:
    """What a module imports at its top every process pays for: scipy.signal alone added
    ~50 MB to every analyze (a 10-minute session's peak 144 -> 194 MB). A fresh process
    runs the CLI's analyze of a stereo conversation and lists what it imported."""
    import subprocess
    import sys

    code = ("import sys; from live_attune.cli import main; "
            f"assert main(['analyze', {str(brief_conversation['stereo'])!r}, '--no-store', "
            "'--quiet', '--no-transcribe']) == 0; "
            f"print([m for m in {HEAVY_MODULES!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, timeout=300)
    assert done.stdout.strip().splitlines()[-1] == "[]"
