"""`live-attune live` through the real capture path: sounddevice → PortAudio → ALSA's file
plugin reading a raw PCM file (bit-exact), the pipeline, the websocket server; Ctrl-C saves."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect

from live_attune.audio.decode import read_all
from live_attune.server.app import ws_url
from live_attune.session.offline import analyze_file
from live_attune.session.output import session_dict

ASOUNDRC = ('pcm.!default {{ type asym; playback.pcm "null"; capture.pcm {{ type file; '
            'slave.pcm "null"; file "/dev/null"; infile "{infile}"; format "raw" }} }}\n')


def alsa_home(tmp: Path, audio: np.ndarray, *, paced: bool = True) -> Path:
    """A HOME whose .asoundrc makes the default capture device play ``audio``.

    ALSA's null device is not clocked, so for a paced capture the plugin reads a FIFO that a
    feeder thread fills at 2x real time (reopening it whenever PortAudio probes the device).
    """
    pcm = np.ascontiguousarray(audio.T, np.float32)  # interleaved float32, 16 kHz
    infile = tmp / ("capture.fifo" if paced else "capture.raw")
    if paced:
        os.mkfifo(infile)
        threading.Thread(target=feed, args=(infile, pcm, 2.0), daemon=True).start()
    else:
        pcm.tofile(infile)
    (tmp / ".asoundrc").write_text(ASOUNDRC.format(infile=infile))
    return tmp


def feed(fifo: Path, pcm: np.ndarray, speed: float) -> None:
    block = 1600  # 100 ms
    i = 0
    while i < len(pcm):
        try:
            with fifo.open("wb", buffering=0) as f:
                start, sent = time.monotonic(), 0
                while i < len(pcm):
                    f.write(pcm[i:i + block].tobytes())
                    i, sent = i + block, sent + block
                    time.sleep(max(0.0, start + sent / 16000 / speed - time.monotonic()))
        except BrokenPipeError:  # PortAudio probed the device and closed it again
            continue


async def wait_until(url: str, audio_s: float) -> dict:  # type: ignore[type-arg]
    async with connect(url) as ws:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] == "metrics" and message["at_s"] >= audio_s:
                return message
    raise AssertionError("the live session stopped early")


def start_live(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "HOME": str(home), "LIVE_ATTUNE_HOME": str(home / "data"),
           "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "live_attune.cli", "live", "--no-browser",
                             "--port", "0", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def dashboard_url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("Dashboard: "):
            return line.split(" ", 1)[1].strip()
    raise AssertionError(proc.stderr.read() if proc.stderr else "no dashboard URL")


@pytest.mark.slow
def test_live_capture_then_ctrl_c_saves_what_offline_analysis_finds(
        short_conversation: dict[str, Path], tmp_path: Path) -> None:
    audio = read_all(short_conversation["stereo"])
    proc = start_live(alsa_home(tmp_path, audio), "--out", str(tmp_path / "session"),
                      "--no-transcribe")
    try:
        url = dashboard_url(proc)
        asyncio.run(asyncio.wait_for(wait_until(ws_url(url), audio.shape[1] / 16000 + 1), 120))
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "saved" in out
    # (ALSA's null device is unclocked: after the FIFO's end it floods silence, and the
    # blocks it drops then are counted; what was captured before must be exact.)
    live = json.loads((tmp_path / "session" / "session.json").read_text())
    offline = session_dict(analyze_file(short_conversation["stereo"]))
    # Bit-exact capture: the same segments and events; the live one ran on past the end.
    assert live["segments"] == offline["segments"]
    for key in ("interruptions", "backchannels", "talk_time_s", "response_latency_s"):
        assert live["metrics"][key] == offline["metrics"][key], key


@pytest.mark.slow
def test_a_live_input_whose_two_channels_are_one_microphone_says_so(
        short_conversation: dict[str, Path], tmp_path: Path) -> None:
    """A probe (session 19): a mono microphone seen as stereo reads as two people each
    overlapping the other throughout. After 30 s the session says so (status line and
    session.json's notes); it goes on."""
    from live_attune.audio.same import ONE_MICROPHONE_LIVE, ONE_MICROPHONE_NOTE

    mono = read_all(short_conversation["mono"])[:, :16000 * 32]
    proc = start_live(alsa_home(tmp_path, np.concatenate([mono, mono])), "--out",
                      str(tmp_path / "session"), "--no-transcribe", "--no-prosody")
    try:
        url = dashboard_url(proc)
        asyncio.run(asyncio.wait_for(wait_until(ws_url(url), 31.0), 120))
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    live = json.loads((tmp_path / "session" / "session.json").read_text())
    assert ONE_MICROPHONE_NOTE in live["notes"]  # said in the past; "stop" only live
    assert ONE_MICROPHONE_LIVE not in live["notes"]


def test_missing_device_lists_the_devices_there_are(tmp_path: Path) -> None:
    home = alsa_home(tmp_path, np.zeros((2, 1600), np.float32), paced=False)
    proc = start_live(home, "--device", "no-such-microphone")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "no input device 'no-such-microphone'" in lines[0]
    assert "available: 0: default" in lines[0]


def test_live_reads_the_device_from_the_profile(tmp_path: Path) -> None:
    home = alsa_home(tmp_path, np.zeros((2, 1600), np.float32), paced=False)
    profile = tmp_path / "mic.toml"
    profile.write_text('version = 1\ndevice = "room-mic"\nchannels = ["therapist", "client"]\n')
    proc = start_live(home, "--profile", str(profile))
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 4
    assert "no input device 'room-mic'" in err
