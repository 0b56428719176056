"""`live-attune calibrate`: from a file, and live through ALSA capture with the dashboard
view following (real subprocess, real websockets client)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import jsonschema
import numpy as np
import pytest
from websockets.asyncio.client import connect

from calibration.profile import load
from live_attune.server.app import ws_url
from live_attune.server.messages import SCHEMAS
from live_attune.synth.truth import write_wav
from tests.calibration.test_measure import protocol_recording
from tests.cli.test_live_capture import alsa_home


def run(*args: str | Path, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ} | ({"HOME": str(home)} if home else {})
    return subprocess.run([sys.executable, "-m", "live_attune.cli", "calibrate",
                           *map(str, args)], capture_output=True, text=True, timeout=300,
                          env=env)


@pytest.mark.slow
def test_from_file_in_both_channel_orders(conversation: dict[str, Path], tmp_path: Path
                                          ) -> None:
    from live_attune.audio.decode import read_all

    stereo = read_all(conversation["stereo"])
    write_wav(tmp_path / "swapped.wav", stereo[::-1])
    for wav, roles in ((conversation["stereo"], ("therapist", "client")),
                       (tmp_path / "swapped.wav", ("client", "therapist"))):
        out = tmp_path / f"{wav.stem}.toml"
        proc = run("--from-file", wav, "--out", out, "--enrol")
        assert proc.returncode == 0, proc.stderr
        assert "SNR 20 dB: good" in proc.stdout or "SNR 21 dB: good" in proc.stdout
        profile = load(out)
        assert profile.channels.roles == roles
        assert profile.noise_floor_dbfs == pytest.approx((-42.0, -42.0), abs=1.0)
        assert profile.voice is not None and profile.voice.exists()
        assert "quality" in proc.stdout
    # and analyze uses it: the swapped file with its profile gives the original's shares
    a = subprocess.run([sys.executable, "-m", "live_attune.cli", "analyze",
                        str(tmp_path / "swapped.wav"), "--profile",
                        str(tmp_path / "swapped.toml"), "--no-transcribe", "--quiet",
                        "--no-store", "--out", str(tmp_path / "a")], capture_output=True,
                       text=True, timeout=300)
    assert a.returncode == 0, a.stderr
    truth = json.loads(conversation["truth"].read_text())
    got = json.loads((tmp_path / "a" / "session.json").read_text())["metrics"]["talk_share"]
    assert got["therapist"] == pytest.approx(truth["talk_share"]["therapist"], abs=0.03)


def test_a_bad_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.wav"
    bad.write_text("not audio")
    proc = run("--from-file", bad, "--out", tmp_path / "p.toml")
    assert proc.returncode == 3
    assert len([line for line in proc.stderr.splitlines() if line]) == 1


@pytest.mark.slow
def test_live_wizard_through_alsa_with_the_dashboard(tmp_path: Path) -> None:
    """3 s steps at 2x real time: silence, the therapist, the client, from a FIFO."""
    audio = protocol_recording(floors=(-50.0, -56.0), bleeds=(-12.0, -16.0))
    # The recording: 5 s of room, the therapist from 5 s, the client from ~14 s. The wizard
    # takes 3 s per step, so lay the parts on that grid: room, therapist, client (longer).
    s = 16_000
    frames = audio[:, : audio.shape[1] // 1600 * 1600].reshape(2, -1, 1600)
    power = 10 * np.log10(np.mean(frames.astype(np.float64) ** 2, axis=2) + 1e-12)
    client = int(np.argmax((power[1] > -40) & (power[1] > power[0] + 6))) * 1600
    pcm = np.concatenate([audio[:, :4 * s], audio[:, 5 * s:8 * s], audio[:, client:]], axis=1)
    home = alsa_home(tmp_path, pcm)
    out = tmp_path / "mic.toml"
    env = {**os.environ, "HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "live_attune.cli", "calibrate", "--no-prompt",
                             "--step-seconds", "3", "--device", "default", "--out", str(out),
                             "--dashboard", "--no-browser", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    try:
        url = next(line.split(" ", 1)[1].strip() for line in proc.stdout
                   if line.startswith("Dashboard: "))
        assert urlsplit(url).path == "/calibration.html" and "token=" in urlsplit(url).query
        messages = asyncio.run(collect(ws_url(url)))
        rest_out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # (ended by now unless the test failed: no capture left running)
    assert proc.returncode == 0, err
    for m in messages:
        jsonschema.validate(m, SCHEMAS["calibration"])
    steps = [m["step"] for m in messages]
    assert {"quiet", "therapist", "client", "done"} <= set(steps)
    assert messages[-1]["profile"] == str(out) and messages[-1]["lines"]
    assert all(len(m["levels_db"]) == 2 and m["channels"] == ["channel 1", "channel 2"]
               for m in messages if m["step"] not in ("waiting", "done"))
    profile = load(out)
    assert profile.device == "default"
    assert profile.channels.roles == ("therapist", "client")
    assert profile.noise_floor_dbfs == pytest.approx((-50.0, -56.0), abs=1.0)
    assert "saved the profile" in rest_out


async def collect(url: str, limit_s: float = 90) -> list[dict]:  # type: ignore[type-arg]
    out = []
    deadline = time.monotonic() + limit_s
    async with connect(url) as ws:
        async for raw in ws:
            out.append(json.loads(raw))
            if out[-1]["step"] == "done" or time.monotonic() > deadline:
                break
    return out


def test_a_missing_device_lists_the_devices(tmp_path: Path) -> None:
    home = alsa_home(tmp_path, np.zeros((2, 1600), np.float32), paced=False)
    proc = run("--device", "no-such-mic", "--no-prompt", home=home)
    assert proc.returncode == 4
    assert "no input device 'no-such-mic'; available: 0: default" in proc.stderr


def test_a_calibration_that_cannot_tell_the_channels_apart_saves_nothing(tmp_path: Path
                                                                        ) -> None:
    """Only the therapist's microphone carries speech (the client's is unplugged: room
    noise only). Before: a profile ["therapist", "ignore"] was written and exit 0."""
    audio = protocol_recording(floors=(-50.0, -56.0), bleeds=(-12.0, -16.0))
    rng = np.random.default_rng(7)
    audio[1] = (rng.standard_normal(audio.shape[1]) * 10 ** (-56 / 20)).astype(np.float32)
    write_wav(tmp_path / "one_sided.wav", audio)
    out = tmp_path / "profile.toml"
    proc = run("--from-file", tmp_path / "one_sided.wav", "--out", out)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "could not tell which channel is whose" in lines[0]
    assert "no profile was saved" in lines[0] and "calibrate again" in lines[0]
    assert not out.exists() and list(tmp_path.glob("*.toml")) == []
