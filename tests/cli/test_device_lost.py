"""The microphone goes away mid-session and comes back (issue 9), through the real capture
path: ALSA's file plugin reads a FIFO whose feeder stops for a few seconds, so PortAudio
delivers nothing — what a pulled USB cable looks like to the program."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from websockets.asyncio.client import connect

from live_attune.audio.decode import read_all
from live_attune.server.app import ws_url
from tests.cli.test_live_capture import ASOUNDRC, dashboard_url, start_live

PAUSE_S = 5.0


def feed_with_a_pause(fifo: Path, pcm: np.ndarray, pause_at: int, paused: threading.Event
                      ) -> None:
    """Real time; at sample ``pause_at`` stop writing for PAUSE_S (the FIFO stays open)."""
    block, i = 1600, 0
    while i < len(pcm):
        try:
            with fifo.open("wb", buffering=0) as f:
                start, sent = time.monotonic(), 0
                while i < len(pcm):
                    if i >= pause_at and not paused.is_set():
                        paused.set()
                        time.sleep(PAUSE_S)
                        start, sent = time.monotonic(), 0
                    f.write(pcm[i:i + block].tobytes())
                    i, sent = i + block, sent + block
                    time.sleep(max(0.0, start + sent / 16000 - time.monotonic()))
        except BrokenPipeError:  # the stream was closed (lost) and is being reopened
            continue


async def watch(url: str, seconds: float) -> list[dict]:  # type: ignore[type-arg]
    out = []
    async with connect(url) as ws:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
            except TimeoutError:
                continue
            message = json.loads(raw)
            if message["type"] == "status":
                out.append(message)
    return out


@pytest.mark.slow
def test_lost_microphone_is_reported_and_capture_resumes(short_conversation: dict[str, Path],
                                                        tmp_path: Path) -> None:
    audio = read_all(short_conversation["stereo"])[:, : 16000 * 20]
    pcm = np.ascontiguousarray(audio.T, np.float32)
    fifo = tmp_path / "capture.fifo"
    import os

    os.mkfifo(fifo)
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(infile=fifo))
    paused = threading.Event()
    threading.Thread(target=feed_with_a_pause, args=(fifo, pcm, 16000 * 8, paused),
                     daemon=True).start()
    proc = start_live(tmp_path, "--no-transcribe", "--no-prosody", "--out",
                      str(tmp_path / "session"))
    try:
        url = dashboard_url(proc)
        statuses = asyncio.run(watch(ws_url(url), 26.0))
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    states = [s["state"] for s in statuses]
    lost = states.index("lost")
    assert "running" in states[lost:], states  # capture resumed
    session = json.loads((tmp_path / "session" / "session.json").read_text())
    gaps = [m for m in session["missing_audio"] if m["what"] == "audio"]
    assert len(gaps) == 1
    assert PAUSE_S - 1.0 <= gaps[0]["missing_s"] <= PAUSE_S + 3.0
    assert 6.0 <= gaps[0]["at_s"] <= 10.0  # where the audio stopped, in session time
    print(f"microphone lost at {gaps[0]['at_s']:.1f} s of audio for "
          f"{gaps[0]['missing_s']:.1f} s; feeder paused {PAUSE_S} s")
