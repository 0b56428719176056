"""espeak-ng, run by the generator, leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from live_attune.synth.voices import THERAPIST_VOICE, speak


def test_speaking_makes_no_sound_server_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for where in ("PULSE_SERVER", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"):  # libpulse's own
        monkeypatch.delenv(where, raising=False)  # places, else it writes there, not HOME
    before = set(Path("/tmp").glob("pulse-*"))
    audio = speak(THERAPIST_VOICE, f"nothing is left in {tmp_path.name}")
    assert len(audio) > 1600
    assert list(home.rglob("*")) == []  # libpulse put ~/.config/pulse/*-runtime here
    assert set(Path("/tmp").glob("pulse-*")) <= before
