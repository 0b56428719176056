"""What analyze says of a file too short to measure and of one with nobody speaking (a
probe, session 19: 30 ms of audio was stored as a 0.0 s session; a silent file read "1
speakers told apart by voice ... the first person to speak is taken as the therapist")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.errors import AudioInputError
from live_attune.session.config import SingleMicOptions
from live_attune.session.offline import analyze_file
from live_attune.synth.truth import write_wav


def test_under_one_frame_of_audio_is_unreadable_input(tmp_path: Path) -> None:
    path = tmp_path / "short.wav"
    write_wav(path, np.full((1, 480), 0.1, np.float32))  # 30 ms
    with pytest.raises(AudioInputError, match="30 ms of audio, too short to measure"):
        analyze_file(path, single_mic=SingleMicOptions(), prosody=False)


def test_a_silent_file_says_there_was_nobody_to_tell_apart(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    write_wav(path, np.zeros((1, 16_000 * 5), np.float32))
    for speakers in (None, 3):
        result = analyze_file(path, single_mic=SingleMicOptions(speakers=speakers),
                              prosody=False)
        assert "no speech detected" in result.notes
        assert "single microphone: no voices to tell apart" in result.notes
        assert not any("told apart by voice" in n or "first person" in n
                       for n in result.notes)
