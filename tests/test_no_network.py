"""No network, no file outside the data directory, --out and the temporary directory
(issue 14): the real commands under a syscall trace, third-party runtimes included.

Each command runs under ``strace -f`` (every thread and child: onnxruntime's uploader,
CTranslate2, numba, Chromium), with ``HOME`` and ``TMPDIR`` pointed at folders of the test's
own, for longer than onnxruntime's deferred telemetry upload (~9.5 s after a model loads).
The trace is read whole — nothing is sampled — and the test fails on any connection, DNS
query or bind that is not on the loopback, and on any file or folder created or written
outside the allowed places. Before the fix, the VAD's onnxruntime looked up
``mobile.events.data.microsoft.com`` and wrote ``~/.cache/Microsoft/DeveloperTools``;
Chromium wrote ``~/.config/chromium/Crash Reports``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

STRACE = shutil.which("strace")
TRACED = ("%network,openat,open,creat,mkdir,mkdirat,rename,renameat,renameat2,link,linkat,"
          "symlink,symlinkat,truncate")
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")
INET = re.compile(r'sa_family=AF_INET6?, .*?(?:inet_addr|inet_pton)\((?:AF_INET6, )?"([^"]+)"')
PORT = re.compile(r"sin6?_port=htons\((\d+)\)")
QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
# Not session data: Python's bytecode cache beside installed code, POSIX semaphores (joblib),
# /proc knobs Chromium sets on its own processes, and the null device.
HARMLESS = (re.compile(r"/__pycache__/[^/]+\.pyc(\.\d+)?$"), re.compile(r"^/dev/shm/sem\."),
            re.compile(r"^/proc/"), re.compile(r"^/dev/null$"))


@dataclass(frozen=True)
class Places:
    home: Path
    tmp: Path
    data: Path
    out: Path
    cwd: Path

    def allowed(self, path: str) -> bool:
        if any(p.search(path) for p in HARMLESS):
            return True
        resolved = Path(path) if path.startswith("/") else self.cwd / path
        return any(resolved.is_relative_to(root) for root in (self.tmp, self.data, self.out))


@pytest.fixture
def places() -> Iterator[Places]:
    # A short root: Chromium's sockets live under TMPDIR, and a Unix socket path is limited
    # to 107 bytes (pytest's tmp_path is too deep for the PDF printer's zygote).
    root = Path(tempfile.mkdtemp(prefix="la-"))
    made = Places(*(root / name for name in ("home", "tmp", "data", "out", "cwd")))
    for folder in (made.home, made.tmp, made.cwd):  # --out and the data dir: the tool makes them
        folder.mkdir()
    yield made
    shutil.rmtree(root, ignore_errors=True)


def traced(places: Places, *args: str, timeout_s: float = 600, also: str = "",
           options: tuple[str, ...] = ()) -> tuple[int, str, list[str]]:
    """Run ``live-attune ARGS`` under strace; return (exit code, stderr, trace lines).
    ``also``: more syscalls to trace (",write,..."); ``options``: more strace options."""
    assert STRACE, "strace is needed (scripts/setup.sh --test installs it)"
    trace_dir = places.tmp.parent / "trace"
    trace_dir.mkdir(exist_ok=True)
    for old in trace_dir.iterdir():
        old.unlink()
    env = {**os.environ, "HOME": str(places.home), "TMPDIR": str(places.tmp),
           "LIVE_ATTUNE_HOME": str(places.data), "XDG_CACHE_HOME": str(places.home / ".cache"),
           "XDG_CONFIG_HOME": str(places.home / ".config")}
    for key in ("MPLCONFIGDIR", "NUMBA_CACHE_DIR", "ORT_DISABLE_TELEMETRY"):
        env.pop(key, None)  # the tool must set what it needs itself
    cmd = [STRACE, "-f", "-ff", "-qq", *options, "-e", f"trace={TRACED}{also}", "-o",
           str(trace_dir / "t"),
           sys.executable, "-m", "live_attune.cli", *args]
    done = subprocess.run(cmd, env=env, cwd=places.cwd, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    lines = [line for f in sorted(trace_dir.iterdir()) for line in f.read_text().splitlines()]
    return done.returncode, done.stderr, lines


# With strace -yy every socket is annotated: ``23<UDPv6:[[fd00::2]:58288->[2001:db8::1]:443]>``
UDP_FD = re.compile(r"^connect\(\d+<UDP")
PEER = re.compile(r"->\[?([0-9A-Fa-f:.]+?)\]?:(\d+)\]?>")
SENDS = ("sendto(", "sendmsg(", "sendmmsg(", "write(", "writev(")


def network_violations(lines: list[str]) -> list[str]:
    """DNS queries, name-service lookups, and connections, binds or datagrams that are not on
    the loopback. A ``connect()`` on a UDP socket sends nothing (the kernel only picks a
    source address: Chromium does this once to 2001:4860:4860::8888 port 443 to learn whether
    IPv6 is routable); what is then *sent* on it shows its peer in strace's ``-yy`` socket
    annotation and is counted."""
    bad = []
    for line in lines:
        peer = PEER.search(line) if line.startswith(SENDS) else None
        if peer and not _loopback(peer.group(1)):
            bad.append(line)  # a datagram or stream data to a non-loopback peer
            continue
        if not line.startswith(("connect(", "sendto(", "sendmsg(", "sendmmsg(", "bind(")):
            continue
        port = PORT.search(line)
        if port and port.group(1) == "53":
            bad.append(line)  # a DNS query, to whatever server
            continue
        if "nscd" in line:
            bad.append(line)  # a name lookup through the name service cache
            continue
        if UDP_FD.match(line):
            continue  # a UDP route probe: nothing leaves until something is sent (above)
        addr = INET.search(line)
        if addr and not _loopback(addr.group(1)):
            bad.append(line)
    return bad


def _loopback(ip: str) -> bool:
    return ip.startswith("127.") or ip in ("::1", "::ffff:127.0.0.1")


def write_violations(lines: list[str], places: Places) -> list[str]:
    bad = []
    for line in lines:
        name = line.split("(", 1)[0]
        if name in ("open", "openat", "creat"):
            if name != "creat" and not WRITE_FLAGS.search(line):
                continue
            paths = QUOTED.findall(line)[:1]
        elif name in ("mkdir", "mkdirat", "truncate"):
            paths = QUOTED.findall(line)[:1]
        elif name in ("rename", "renameat", "renameat2", "link", "linkat", "symlink",
                      "symlinkat"):
            paths = QUOTED.findall(line)[-1:]  # where the new name is made
        else:
            continue
        if " = -1 " in line:
            continue  # refused: nothing was written
        bad += [line for p in paths if not places.allowed(p)]
    return bad


def check(places: Places, lines: list[str]) -> None:
    assert lines, "strace recorded nothing"
    assert network_violations(lines) == []
    assert write_violations(lines, places) == []
    assert list(places.home.rglob("*")) == [], "something wrote into the home directory"
    assert not (places.home / ".cache" / "Microsoft").exists()


def test_the_checker_sees_what_it_must() -> None:
    """The parser itself: the very lines strace printed before the fix are caught."""
    places = Places(Path("/h"), Path("/t"), Path("/d"), Path("/o"), Path("/c"))
    dns = ('connect(8, {sa_family=AF_INET, sin_port=htons(53), '
           'sin_addr=inet_addr("10.255.255.53")}, 16) = 0')
    far = ('connect(9, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), '
           'inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = 0')
    local = ('connect(6, {sa_family=AF_INET, sin_port=htons(8765), '
             'sin_addr=inet_addr("127.0.0.1")}, 16) = 0')
    assert network_violations([dns, far, local]) == [dns, far]
    # Chromium's route probe (a UDP connect, strace -yy) sends nothing; a datagram after it,
    # or a TCP connect to the same address, is counted
    probe = far.replace("connect(9,", "connect(23<UDPv6:[5123]>,")
    assert network_violations([probe]) == []
    sent = ('sendto(23<UDPv6:[[fd00::2]:58288->[2001:4860:4860::8888]:443]>, "x", 1, 0, '
            'NULL, 0) = 1')
    assert network_violations([probe, sent]) == [sent]
    tcp = far.replace("connect(9,", "connect(23<TCPv6:[5124]>,")
    assert network_violations([tcp]) == [tcp]
    netlink = 'sendto(27<NETLINK:[ROUTE:11286]>, "\\20\\0", 112, 0, NULL, 0) = 112'
    assert network_violations([netlink]) == []
    home = ('openat(AT_FDCWD, "/h/.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid", '
            'O_WRONLY|O_CREAT|O_TRUNC, 0666) = 7')
    rel = 'openat(AT_FDCWD, "report.html", O_WRONLY|O_CREAT, 0666) = 3'
    ok = ['openat(AT_FDCWD, "/d/sessions.db", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 5',
          'openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3',
          'mkdir("/h/.config", 0700) = -1 EACCES (Permission denied)',
          'rename("/o/session.json.tmp", "/o/session.json") = 0']
    moved = 'rename("/d/x.tmp", "/h/x") = 0'
    assert write_violations([home, rel, *ok, moved], places) == [home, rel, moved]


@pytest.mark.slow
def test_demo_with_transcription_talks_to_nobody_and_writes_nowhere_else(
        places: Places) -> None:
    # speed 8: ~27 s of replay after the models load, well past the 9.5 s upload delay
    rc, err, lines = traced(places, "demo", "--speed", "8", "--exit-at-end", "--no-browser",
                            "--port", "0", "--out", str(places.out), options=("-yy",))
    assert rc == 0, err
    assert (places.out / "session.json").is_file()
    check(places, lines)


@pytest.mark.slow
def test_analyze_and_a_pdf_report_talk_to_nobody_and_write_nowhere_else(
        places: Places) -> None:
    from live_attune.commands import demo_path

    rc, err, lines = traced(places, "analyze", str(demo_path()), "--out", str(places.out),
                            "--quiet", options=("-yy",))
    assert rc == 0, err
    check(places, lines)
    rc, err, lines = traced(places, "report", "last", "--format", "html,pdf", "--out",
                            str(places.out), options=("-yy",))
    assert rc == 0, err
    assert list(places.out.glob("*.pdf")), "no PDF was printed"
    check(places, lines)


def test_an_earlier_runs_telemetry_folder_is_removed_and_nothing_else(tmp_path: Path) -> None:
    home = tmp_path / "home"
    old = home / ".cache" / "Microsoft" / "DeveloperTools" / ".onnxruntime"
    old.mkdir(parents=True)
    (old / "deviceid").write_text("0f1e2d")
    (old / "onnxruntime.db").write_bytes(b"SQLite format 3\x00queued events")
    neighbour = home / ".cache" / "Microsoft" / "other-tool.json"
    neighbour.write_text("{}")
    env = {**os.environ, "HOME": str(home), "LIVE_ATTUNE_HOME": str(tmp_path / "data")}
    first = subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "list"],
                           env=env, capture_output=True, text=True, check=False)
    assert first.returncode == 0, first.stderr
    assert not old.exists() and neighbour.read_text() == "{}"
    assert "removed" in first.stderr and ".onnxruntime" in first.stderr
    again = subprocess.run([sys.executable, "-m", "live_attune.cli", "sessions", "list"],
                           env=env, capture_output=True, text=True, check=False)
    assert "removed" not in again.stderr


def test_onnxruntime_telemetry_is_forced_off_in_every_importer() -> None:
    """Even a user's ORT_DISABLE_TELEMETRY=0 does not switch it back on."""
    code = ("import os; import live_attune; print(os.environ['ORT_DISABLE_TELEMETRY'])")
    env = {**os.environ, "ORT_DISABLE_TELEMETRY": "0"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "1"


def test_a_home_that_cannot_be_read_is_not_an_error(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe: `sudo` keeping HOME=/root for another user made every command a traceback
    (the old telemetry folder's check raised PermissionError). As root the mode 000 below
    would not stop the check, so the refusal is made where the check asks."""
    from live_attune import _runtime

    def refused(self: Path) -> bool:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "is_dir", refused)
    assert _runtime.remove_old_onnxruntime_telemetry(tmp_path) is None
    monkeypatch.undo()
    home = tmp_path / "locked"
    home.mkdir(mode=0)
    env = {**os.environ, "HOME": str(home), "LIVE_ATTUNE_HOME": str(tmp_path / "data")}
    proc = subprocess.run([sys.executable, "-m", "live_attune", "--version"], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
