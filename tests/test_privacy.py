"""Privacy (issue 9): a live run talks to nobody but its own local server, writes no audio
unless asked, and `sessions delete` leaves no trace."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import wave
from pathlib import Path

import pytest

AUDIO_SUFFIXES = {".wav", ".raw", ".pcm", ".flac", ".ogg", ".opus", ".mp3", ".m4a"}


def sockets_of(pid: int) -> list[tuple[str, str, str]]:
    """(protocol, local, remote) of every socket the process holds, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    out = []
    for proto in ("tcp", "tcp6", "udp", "udp6"):
        try:
            lines = Path(f"/proc/{pid}/net/{proto}").read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if cols[9] in inodes:
                out.append((proto, _addr(cols[1]), _addr(cols[2])))
    return out


def _addr(hexaddr: str) -> str:
    host, port = hexaddr.split(":")
    if len(host) == 8:
        ip = ".".join(str(int(host[i:i + 2], 16)) for i in (6, 4, 2, 0))
    else:  # IPv6, as /proc prints it: 4 little-endian words
        words = [host[i:i + 8] for i in range(0, 32, 8)]
        raw = b"".join(bytes.fromhex(w)[::-1] for w in words)
        ip = "::1" if raw == bytes(15) + b"\x01" else ("::" if raw == bytes(16) else raw.hex())
    return f"{ip}:{int(port, 16)}"


def run_demo(home: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str],
                                                   set[tuple[str, str, str]]]:
    # Any HTTP(S) attempt would go to this proxy on port 9 and show up below.
    env = {**os.environ, "LIVE_ATTUNE_HOME": str(home), "HOME": str(home),
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
           "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
    proc = subprocess.Popen([sys.executable, "-m", "live_attune.cli", "demo", "--speed", "8",
                             "--exit-at-end", "--no-browser", "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=home)
    seen: set[tuple[str, str, str]] = set()
    while proc.poll() is None:
        try:
            seen.update(sockets_of(proc.pid))
        except (FileNotFoundError, ProcessLookupError):
            break
        time.sleep(0.05)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), seen


def check_local_only(seen: set[tuple[str, str, str]]) -> None:
    assert seen, "the sampler saw no socket at all (the server's must be there)"
    for proto, local, remote in seen:
        assert proto.startswith("tcp"), (proto, local, remote)  # no UDP: no DNS lookups
        assert local.startswith(("127.0.0.1:", "::1:")), local
        assert remote.split(":")[0] in ("0.0.0.0", "127.0.0.1", "::", "::1"), remote
        assert not remote.endswith(":9"), "something tried to reach the network"


def audio_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES]


@pytest.mark.slow
def test_a_live_run_with_transcription_talks_to_nobody(tmp_path: Path) -> None:
    result, seen = run_demo(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "transcribed" in result.stdout
    check_local_only(seen)
    assert audio_files(tmp_path) == []


def test_no_audio_without_keep_audio_and_delete_leaves_no_trace(tmp_path: Path) -> None:
    result, seen = run_demo(tmp_path, "--no-transcribe", "--client", "ZEBRA-7")
    assert result.returncode == 0, result.stderr
    check_local_only(seen)
    assert audio_files(tmp_path) == []
    kept, _ = run_demo(tmp_path, "--no-transcribe", "--client", "ZEBRA-7", "--keep-audio")
    assert kept.returncode == 0, kept.stderr
    wavs = audio_files(tmp_path)
    assert len(wavs) == 1 and wavs[0].parent == tmp_path / "audio"
    with wave.open(str(wavs[0])) as w:
        assert w.getnchannels() == 2 and w.getframerate() == 16_000
        assert abs(w.getnframes() / 16_000 - 214.5) < 1.0
    env = {**os.environ, "LIVE_ATTUNE_HOME": str(tmp_path)}
    ids = [line.split()[0] for line in subprocess.run(
        [sys.executable, "-m", "live_attune.cli", "sessions", "list"], env=env,
        capture_output=True, text=True, check=True).stdout.splitlines()[1:] if line.strip()]
    assert len(ids) == 2
    for sid in ids:
        subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "delete", sid,
                        "--yes"], env=env, capture_output=True, text=True, check=True)
    assert audio_files(tmp_path) == []
    for f in tmp_path.rglob("*"):
        if f.is_file() and "__pycache__" not in f.parts:
            data = f.read_bytes()
            for sid in ids:
                assert sid.encode() not in data, (f, sid)
            assert b"ZEBRA-7" not in data, f


def test_the_socket_sampler_sees_what_it_must() -> None:
    """The check above can fail: a process that opens a UDP socket towards the outside and
    a TCP connection is seen, with its addresses."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    code = ("import socket, time; u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
            "u.connect(('192.0.2.1', 53)); t = socket.create_connection(('127.0.0.1', "
            f"{port})); print('ok', flush=True); time.sleep(3)")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ok"
    seen = set(sockets_of(proc.pid))
    proc.kill()
    listener.close()
    assert any(p == "udp" and r == "192.0.2.1:53" for p, _, r in seen)
    assert any(p == "tcp" and r == f"127.0.0.1:{port}" for p, _, r in seen)
    with pytest.raises(AssertionError):
        check_local_only(seen)
