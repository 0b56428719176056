"""kill -9 during a live session loses at most the last 2 s (issue 7), and the next start
offers recovery (issue 9). A real ``live-attune demo`` process in real time, a real
websockets client watching its progress, a real SQLite file afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from websockets.asyncio.client import connect

from live_attune.analyze import analyze_file
from live_attune.commands import demo_path
from live_attune.server.app import ws_url
from live_attune.store import Store

RUN_S = 9.0  # of real time before the kill


def start_demo(home: Path) -> tuple[subprocess.Popen[str], str]:
    env = os.environ | {"LIVE_ATTUNE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "live_attune.cli", "demo", "--speed", "1", "--no-browser",
         "--no-transcribe", "--port", "0", "--exit-at-end", "--client", "C-9"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("Dashboard: "):
            return proc, line.split(" ", 1)[1].strip()
    proc.kill()
    raise AssertionError("the demo did not start")


async def watch_then_kill(url: str, proc: subprocess.Popen[str]) -> float:
    """Follow status messages; SIGKILL right after one arrives; return its at_s."""
    seen = 0.0
    async with connect(ws_url(url)) as ws:
        end = time.monotonic() + RUN_S
        async for raw in ws:
            msg = json.loads(raw)
            status = msg.get("status") if msg["type"] == "snapshot" else (
                msg if msg["type"] == "status" else None)
            if status:
                seen = status["at_s"]
                if time.monotonic() >= end:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
    proc.wait(10)
    return seen


def test_kill_9_loses_at_most_two_seconds(private_data_dir: Path) -> None:
    proc, url = start_demo(private_data_dir)
    try:
        processed_s = asyncio.run(watch_then_kill(url, proc))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL and processed_s > 5.0
    env = os.environ | {"LIVE_ATTUNE_HOME": str(private_data_dir)}
    listed = subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "list"],
                            capture_output=True, text=True, env=env, check=True).stdout
    assert "interrupted" in listed and "sessions recover" in listed
    # the next start offers recovery
    again = subprocess.run([sys.executable, "-m", "live_attune.cli", "demo", "--speed", "0",
                            "--exit-at-end", "--no-browser", "--no-transcribe", "--no-prosody",
                            "--port", "0"], capture_output=True, text=True, env=env,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert "stopped unexpectedly; recover it with: live-attune sessions recover" in again.stdout
    done = subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "recover",
                           "all"], capture_output=True, text=True, env=env, check=True)
    assert "recovered" in done.stdout
    with Store(private_data_dir / "sessions.sqlite") as store:
        interrupted = [r for r in store.list() if r.state == "recovered"]
        assert len(interrupted) == 1
        data = store.result(interrupted[0].id)
    recovered_s = data["duration_s"]
    print(f"processed {processed_s:.2f} s before the kill; recovered {recovered_s:.2f} s")
    # What the process had already processed, less at most 2 s, is in the store.
    assert recovered_s >= processed_s - 2.0, (recovered_s, processed_s)
    # And it is right: every segment the offline analysis closes well before that point.
    offline = analyze_file(demo_path()).history.segments
    stored = {(s["speaker"], s["start_s"], s["end_s"]) for s in data["segments"]}
    expected = {(s.speaker, s.start_s, s.end_s) for s in offline if s.end_s < recovered_s - 0.5}
    assert expected and expected <= stored
    assert data["session"]["label"] == "C-9" and data["session"]["state"] == "recovered"
    report = subprocess.run([sys.executable, "-m", "live_attune.cli", "report", "last",
                             "--format", "html", "--out", str(private_data_dir / "r")],
                            capture_output=True, text=True, env=env, check=True)
    assert "wrote" in report.stdout
