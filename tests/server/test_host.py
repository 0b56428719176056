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
from urllib.parse import parse_qs, urlsplit

import pytest

from live_attune.store import default_store_path
from tests.server.conftest import LAN_ADDRESS, ReportServer, start_reports
from tests.server.test_api import store_one

WS_HANDSHAKE = ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")


def raw(port: int, path: str, headers: str, address: str = "127.0.0.1", method: str = "GET",
        token: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request written by hand (``headers``: CRLF-terminated lines, Host included or
    not; ``token``: the server's key, added to the path's query); the status, headers and
    body of the answer."""
    if token is not None:
        path += ("&" if "?" in path else "?") + f"token={token}"
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


def key(server: ReportServer) -> str:
    """The token the server printed in its URL (every request needs it)."""
    return parse_qs(urlsplit(server.url).query)["token"][0]


def test_only_its_own_host_names_are_served(server: ReportServer,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port, k = port_of(server), key(server)
    for good in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        assert raw(port, "/api/sessions", f"Host: {good}\r\n", token=k)[0] == 200, good
        assert raw(port, "/ws", f"Host: {good}\r\n{WS_HANDSHAKE}", token=k)[0] == 101, good
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
    policies = {raw(port, "/", f"Host: {h}\r\n", token=key(server))[1]["Content-Security-Policy"]
                for h in (f"127.0.0.1:{port}", f"localhost:{port}")}
    assert len(policies) == 1
    (policy,) = policies
    connect = next(d for d in policy.split("; ") if d.startswith("connect-src"))
    assert connect == f"connect-src 'self' ws://127.0.0.1:{port} ws://localhost:{port}"
    status, headers, _ = raw(port, "/", f"Host: attacker.example:{port}\r\n")
    assert status == 421 and "attacker" not in json.dumps(headers)


def test_a_websocket_origin_must_be_this_server(server: ReportServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    port, k = port_of(server), key(server)
    host = f"Host: 127.0.0.1:{port}\r\n{WS_HANDSHAKE}"
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
        assert raw(port, "/ws", f"{host}Origin: {origin}\r\n", token=k)[0] == 101, origin
    for origin in (f"http://attacker.example:{port}", f"https://127.0.0.1:{port}",
                   f"http://127.0.0.1:{port + 1}", "null"):
        status, _, body = raw(port, "/ws", f"{host}Origin: {origin}\r\n", token=k)
        assert (status, body) == (403, b"origin not allowed\n"), origin
    two = f"{host}Origin: http://127.0.0.1:{port}\r\nOrigin: http://attacker.example\r\n"
    assert raw(port, "/ws", two, token=k)[:3:2] == (403, b"origin not allowed\n")
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
    assert raw(port, "/api/sessions", host, token=key(server))[0] == 200
    for path in ("//ws", "//ws?token=x", "//api/sessions", "//127.0.0.1/reports.html"):
        assert raw(port, path, host)[0] == 404, path


def test_a_report_that_takes_too_long_is_answered_busy(
        server: ReportServer, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Past API_TIMEOUT_S a report request gets 503 and one log line (it was closed without
    a word when the handshake's 10 s ran out: many reports at once on a slow machine)."""
    from live_attune.server import http

    port, k = port_of(server), key(server)
    host = f"Host: 127.0.0.1:{port}\r\n"
    sid = json.loads(raw(port, "/api/sessions", host, token=k)[2])["sessions"][0]["id"]
    monkeypatch.setattr(http, "API_TIMEOUT_S", 0.001)  # shorter than any real build
    status, _, body = raw(port, f"/api/sessions/{sid}/report", host, token=k)
    assert (status, body) == (503, b"busy: try again in a moment\n")
    assert sum("said busy" in r.getMessage() for r in caplog.records) == 1
    monkeypatch.setattr(http, "API_TIMEOUT_S", 20.0)
    assert raw(port, f"/api/sessions/{sid}/report", host, token=k)[0] == 200


def test_many_reports_at_once_are_answered_each(server: ReportServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """Twelve report requests at once: API_WORKERS build, as many again wait, the rest are
    told busy at once; every request gets an answer (12 at once once got 18 of 30 closed
    without a word)."""
    from concurrent.futures import ThreadPoolExecutor

    port, k = port_of(server), key(server)
    host = f"Host: 127.0.0.1:{port}\r\n"
    sid = json.loads(raw(port, "/api/sessions", host, token=k)[2])["sessions"][0]["id"]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: raw(port, f"/api/sessions/{sid}/report", host,
                                              token=k), range(12)))
    statuses = sorted(a[0] for a in answers)
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 2, statuses
    assert all(a[2] == b"busy: try again in a moment\n" for a in answers if a[0] == 503)
    assert statuses.count(503) == sum("is busy" in r.getMessage() for r in caplog.records)


def test_api_errors_name_no_file(short_conversation: dict[str, Path], tmp_path: Path,
                                 private_data_dir: Path) -> None:
    server = start_reports(default_store_path())  # an empty store
    port = port_of(server)
    try:
        status, _, body = raw(port, "/api/sessions/nope", f"Host: 127.0.0.1:{port}\r\n",
                              token=key(server))
    finally:
        server.close()
    assert status == 404
    assert json.loads(body) == {"error": "no such session, or it has no result yet"}
    broken = tmp_path / "broken.sqlite"
    broken.write_bytes(b"this is not a database" * 100)
    server = start_reports(broken)
    try:
        answers = [raw(port_of(server), path, f"Host: 127.0.0.1:{port_of(server)}\r\n",
                       token=key(server))
                   for path in ("/api/sessions", "/api/sessions/last")]
    finally:
        server.close()
    for status, _, body in answers:
        assert status == 503 and json.loads(body) == {"error": "the session store cannot be read"}
        assert b"/" not in body and b"sqlite" not in body


def test_lan_data_needs_the_token_and_no_cookie_carries_it(short_conversation: dict[str, Path]
                                                            ) -> None:
    """With --lan the token in the query opens the data (API, websocket) on every name the
    server answers to; the page's own files need none; no cookie is set (one set by an
    address goes to every port there) and none is read."""
    server = start_reports(default_store_path(), lan=True)
    url = urlsplit(server.url)
    port, lan = int(url.port or 0), str(url.hostname)
    token = parse_qs(url.query)["token"][0]
    try:
        assert lan == LAN_ADDRESS
        status, headers, _ = raw(port, f"/reports.html?{url.query}", f"Host: {lan}:{port}\r\n",
                                 address=lan)
        assert status == 200 and "Set-Cookie" not in headers
        for host in (f"{lan}:{port}", f"127.0.0.1:{port}", f"localhost:{port}"):
            for path in ("/style.css", "/reports.js", "/index.html"):
                assert raw(port, path, f"Host: {host}\r\n", address=lan)[0] == 200, (host, path)
            assert raw(port, "/api/sessions", f"Host: {host}\r\n", address=lan,
                       token=token)[0] == 200
            assert raw(port, "/api/sessions", f"Host: {host}\r\n", address=lan)[0] == 403
            assert raw(port, "/api/sessions", f"Host: {host}\r\n", address=lan,
                       token=token[:-1] + "x")[0] == 403
            assert raw(port, "/api/sessions", f"Host: {host}\r\nCookie: "
                       f"live_attune_{port}={token}\r\n", address=lan)[0] == 403
            assert raw(port, "/ws", f"Host: {host}\r\n{WS_HANDSHAKE}Origin: http://{host}\r\n",
                       address=lan, token=token)[0] == 101
            assert raw(port, "/ws", f"Host: {host}\r\n{WS_HANDSHAKE}Origin: http://{host}\r\n",
                       address=lan)[0] == 403
        assert raw(port, "/style.css", f"Host: attacker.example:{port}\r\n",
                   address=lan)[0] == 421
        assert raw(port, "/api/sessions", f"Host: {lan}:{port}\r\n", token=token)[0] == 200
        with pytest.raises(ConnectionRefusedError):  # not every interface: just those two
            socket.create_connection(("127.0.0.3", port), timeout=5).close()
    finally:
        server.close()


def test_refusals_are_logged_sixty_a_minute_and_the_rest_counted(
        server: ReportServer, caplog: pytest.LogCaptureFixture) -> None:
    """A peer that keeps asking without the key (it once wrote a line a request, without
    end): 60 lines a minute, then one line with the count of the rest."""
    from live_attune.server.http import RefusalLog

    caplog.set_level(logging.WARNING, logger="live_attune.server")
    port = port_of(server)
    for _ in range(70):
        assert raw(port, "/api/sessions", f"Host: 127.0.0.1:{port}\r\n")[0] == 403
    lines = [r.getMessage() for r in caplog.records]
    assert sum("missing or wrong token" in m for m in lines) == 60
    later = RefusalLog(per_minute=2)
    for _ in range(5):
        later.warn("refused %s", "x")
    later.minute_start -= 60  # a minute on
    later.warn("refused %s", "y")
    lines = [r.getMessage() for r in caplog.records]
    assert lines[-2:] == ["refused 3 more requests in the minute before (not logged one by "
                          "one)", "refused y"]
