"""The server answers only to its own names (issue 14): a page whose domain is rebound to
127.0.0.1 (DNS rebinding), a wrong port, a duplicate or missing Host header are refused
with a plain 4xx and one log line; the CSP and the websocket Origin check come from the
server's own addresses; API errors name no file. Real server, raw sockets on 127.0.0.1."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from live_attune.store import default_store_path
from tests.server.conftest import LAN_ADDRESS, ReportServer, start_reports
from tests.server.test_api import store_one

WS_HANDSHAKE = ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")


def raw(port: int, path: str, headers: str, address: str = "127.0.0.1", method: str = "GET"
        ) -> tuple[int, dict[str, str], bytes]:
    """One request written by hand (``headers``: CRLF-terminated lines, Host included or
    not); the status, headers and body of the answer."""
    with socket.create_connection((address, port), timeout=10) as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\n{headers}\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            data += chunk
            if not chunk or (b" 101 " in data.split(b"\r\n", 1)[0] and b"\r\n\r\n" in data):
                break
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), fields, body


@pytest.fixture
def server(short_conversation: dict[str, Path]) -> Iterator[ReportServer]:
    store_one(short_conversation["stereo"])
    running = start_reports(default_store_path())
    yield running
    running.close()


def port_of(server: ReportServer) -> int:
    return int(urlsplit(server.url).port or 0)


def test_only_its_own_host_names_are_served(server: ReportServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = port_of(server)
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert raw(port, "/api/sessions", f"Host: {good}\r\n")[0] == 200, good
        assert raw(port, "/ws", f"Host: {good}\r\n{WS_HANDSHAKE}")[0] == 101, good
    caplog.clear()
    bad_hosts = (f"Host: attacker.example:{port}\r\n",  # DNS rebinding
                 f"Host: 127.0.0.1:{port + 1}\r\n",  # wrong port
                 "Host: 127.0.0.1\r\n",  # no port
                 f"Host: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n",  # duplicate
                 f"Host: 127.0.0.1:{port}\r\nHost: attacker.example:{port}\r\n",
                 "")  # missing
    for bad in bad_hosts:
        for path, extra in (("/", ""), ("/reports.html", ""), ("/api/sessions", ""),
                            (f"/api/sessions/{'x' * 8}", ""),
                            ("/ws", WS_HANDSHAKE + f"Origin: http://attacker.example:{port}\r\n")):
            status, _, body = raw(port, path, bad + extra)
            assert status == 421, (bad, path, status)
            assert b"session" not in body and b"attacker" not in body
    refusals = [r for r in caplog.records if "is not this server" in r.getMessage()]
    assert len(refusals) == 5 * len(bad_hosts)
    assert all(r.levelno == logging.WARNING and "\n" not in r.getMessage() for r in refusals)
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_the_csp_comes_from_the_server_not_the_request(server: ReportServer) -> None:
    port = port_of(server)
    policies = {raw(port, "/", f"Host: {h}\r\n")[1]["Content-Security-Policy"]
                for h in (f"127.0.0.1:{port}", f"localhost:{port}")}
    assert len(policies) == 1
    (policy,) = policies
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src"))
    assert connect == f"connect-src 'self' ws://127.0.0.1:{port} ws://localhost:{port}"
    status, headers, _ = raw(port, "/", f"Host: attacker.example:{port}\r\n")
    assert status == 421 and "attacker" not in json.dumps(headers)


def test_a_websocket_origin_must_be_this_server(server: ReportServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    port = port_of(server)
    host = f"Host: 127.0.0.1:{port}\r\n{WS_HANDSHAKE}"
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert raw(port, "/ws", f"{host}Origin: {origin}\r\n")[0] == 101, origin
    for origin in (f"http://attacker.example:{port}", f"https://127.0.0.1:{port}",
                   f"http://127.0.0.1:{port + 1}", "null"):
        assert raw(port, "/ws", f"{host}Origin: {origin}\r\n")[0] == 403, origin
    two = f"{host}Origin: http://127.0.0.1:{port}\r\nOrigin: http://attacker.example\r\n"
    assert raw(port, "/ws", two)[0] == 403
    assert not [r for r in caplog.records if r.exc_info]


def test_only_get_and_only_paths(server: ReportServer) -> None:
    """The dashboard, its API and the websocket only GET: any other method is 405 (it was
    served: POST /api/sessions listed the sessions); "//ws" is not a URL naming a host ws
    (it served the dashboard)."""
    port = port_of(server)
    host = f"Host: 127.0.0.1:{port}\r\n"
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE", "HEAD", "PATCH"):
        status, headers, body = raw(port, "/api/sessions", host, method=method)
        assert (status, headers.get("Allow")) == (405, "GET"), method
        assert b"sessions" not in body
    assert raw(port, "/api/sessions", host)[0] == 200
    for path in ("//ws", "//ws?token=x", "//api/sessions", "//127.0.0.1/reports.html"):
        assert raw(port, path, host)[0] == 404, path


def test_a_report_that_takes_too_long_is_answered_busy(
        server: ReportServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Past API_TIMEOUT_S a report request gets 503 and one log line (it was closed without
    a word when the handshake's 10 s ran out: many reports at once on a slow machine)."""
    from live_attune.server import http

    port = port_of(server)
    host = f"Host: 127.0.0.1:{port}\r\n"
    sid = json.loads(raw(port, "/api/sessions", host)[2])["sessions"][0]["id"]
    monkeypatch.setattr(http, "API_TIMEOUT_S", 0.001)  # shorter than any real build
    status, _, body = raw(port, f"/api/sessions/{sid}/report", host)
    assert (status, body) == (503, b"busy: try again in a moment\n")
    assert sum("said busy" in r.getMessage() for r in caplog.records) == 1
    monkeypatch.setattr(http, "API_TIMEOUT_S", 20.0)
    assert raw(port, f"/api/sessions/{sid}/report", host)[0] == 200


def test_api_errors_name_no_file(short_conversation: dict[str, Path], tmp_path: Path,
                                 private_data_dir: Path) -> None:
    server = start_reports(default_store_path())  # an empty store
    port = port_of(server)
    try:
        status, _, body = raw(port, "/api/sessions/nope", f"Host: 127.0.0.1:{port}\r\n")
    finally:
        server.close()
    assert status == 404
    assert json.loads(body) == {"error": "no such session, or it has no result yet"}
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    server = start_reports(broken)
    try:
        answers = [raw(port_of(server), path, f"Host: 127.0.0.1:{port_of(server)}\r\n")
                   for path in ("/api/sessions", "/api/sessions/last")]
    finally:
        server.close()
    for status, _, body in answers:
        assert status == 503 and json.loads(body) == {"error": "the session store cannot be read"}
        assert b"/" not in body and b"sqlite" not in body


def test_lan_token_cookie_lets_the_page_load_its_assets(short_conversation: dict[str, Path]
                                                        ) -> None:
    server = start_reports(default_store_path(), lan=True)
    url = urlsplit(server.url)
    port, lan = int(url.port or 0), str(url.hostname)
    try:
        assert lan == LAN_ADDRESS
        status, headers, _ = raw(port, f"/reports.html?{url.query}", f"Host: {lan}:{port}\r\n",
                                 address=lan)
        assert status == 200
        cookie = headers["Set-Cookie"]
        pair, *attributes = cookie.split("; ")
        assert pair.startswith(f"live_attune_{port}=") and pair.endswith(url.query[6:])
        assert {"Path=/", "HttpOnly", "SameSite=Strict"} == set(attributes)
        name, token = pair.split("=", 1)
        for host in (f"{lan}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"):
            for path in ("/style.css", "/reports.js", "/api/sessions"):
                assert raw(port, path, f"Host: {host}\r\nCookie: a=b; {pair}\r\n",
                           address=lan)[0] == 200, (host, path)
                assert raw(port, path, f"Host: {host}\r\n", address=lan)[0] == 403
                assert raw(port, path, f"Host: {host}\r\nCookie: {name}={token[:-1]}x\r\n",
                           address=lan)[0] == 403
            assert raw(port, "/ws", f"Host: {host}\r\nCookie: {pair}\r\n{WS_HANDSHAKE}"
                       f"Origin: http://{host}\r\n", address=lan)[0] == 101
        assert raw(port, "/style.css", f"Host: attacker.example:{port}\r\nCookie: {pair}\r\n",
                   address=lan)[0] == 421
        assert raw(port, "/style.css", f"Host: {lan}:{port}\r\nCookie: {pair}\r\n")[0] == 200
        with pytest.raises(ConnectionRefusedError):  # not every interface: just those two
            socket.create_connection(("127.0.0.3", port), timeout=5).close()
    finally:
        server.close()
