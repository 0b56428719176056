"""No microphone (issue 19, item 6): `live-attune devices` lists the inputs, or says there
are none and exits 4 (an audio device problem); `live` without one says in one line what to
plug in or check and suggests `live-attune demo`. Real PortAudio over ALSA: an .asoundrc
whose default capture is a file (one input), or an ALSA configuration whose only device is
a card that is not there (no input). (It sits with the dashboard tests because the
dashboard's issue asked for it; its home is tests/cli/.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.cli.test_live_capture import alsa_home

NO_CARD = "pcm.absent { type hw card 99 }\n"  # an ALSA world with no usable input


def run(home: Path, *args: str, alsa_config: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "LIVE_ATTUNE_HOME": str(home / "data")}
    if alsa_config is not None:
        env["ALSA_CONFIG_PATH"] = str(alsa_config)
    return subprocess.run([sys.executable, "-m", "live_attune.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_devices_lists_the_inputs(tmp_path: Path) -> None:
    home = alsa_home(tmp_path, np.zeros((2, 1600), np.float32), paced=False)
    proc = run(home, "devices")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("audio inputs") and "--device" in lines[0]
    assert lines[1].strip().startswith("0: default") and lines[1].endswith("(default)")


def test_no_input_is_said_in_plain_words(tmp_path: Path) -> None:
    config = tmp_path / "alsa.conf"
    config.write_text(NO_CARD)
    proc = run(tmp_path, "devices", alsa_config=config)
    assert proc.returncode == 4
    assert proc.stdout == ""
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("live-attune")]
    assert line.startswith("live-attune: error: no audio input found: plug in a microphone")
    assert "`live-attune demo`" in line
    proc = run(tmp_path, "live", "--no-browser", "--port", "0", alsa_config=config)
    assert proc.returncode == 4
    (line,) = [x for x in proc.stderr.splitlines() if x.startswith("live-attune")]
    assert line.startswith("live-attune: error: no microphone found: plug in a microphone")
    assert "`live-attune devices`" in line and "`live-attune demo`" in line
    assert "None" not in line and "available: none" not in line
