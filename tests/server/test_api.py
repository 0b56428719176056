"""The store's HTTP API behind the report view: real server on 127.0.0.1, real store file."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from live_attune.server.app import address
from live_attune.server.http import REPORT_CSP
from live_attune.server.messages import SAVED_WHERE_LAN
from live_attune.session.output import config_dict, session_dict
from live_attune.store import NewSession, Store, default_store_path
from tests.conftest import analysed
from tests.server.conftest import start, start_reports


def store_one(audio: Path, label: str = "C-4") -> str:
    result = analysed(audio, prosody=True)
    new = NewSession(kind="analyze", source=str(audio), mode=result.layout.mode,
                     speakers=result.layout.speakers, config=config_dict(result.config),
                     label=label)
    with Store() as store:
        store.create(new, state="complete")
        store.save_result(new.id, session_dict(result), state="complete")
    return new.id


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_sessions_and_reports_are_served(short_conversation: dict[str, Path],
                                         tmp_path: Path) -> None:
    sid = store_one(short_conversation["stereo"])
    server = start_reports(default_store_path())
    assert urlsplit(server.url).path == "/reports.html"
    status, _, body = get(address(server.url, "api/sessions"))
    listing: dict[str, Any] = json.loads(body)
    assert status == 200 and [r["id"] for r in listing["sessions"]] == [sid]
    assert listing["sessions"][0]["label"] == "C-4"
    status, _, body = get(address(server.url, f"api/sessions/{sid}"))
    with Store() as store:
        assert json.loads(body) == store.result(sid)
    status, headers, body = get(address(server.url, f"api/sessions/{sid}/report"))
    assert status == 200 and headers["Content-Security-Policy"] == REPORT_CSP
    assert b"Session report" in body and b"http" not in body
    status, _, body = get(address(server.url, "api/sessions/nope"))
    assert status == 404 and json.loads(body)["error"] == "no such session, or it has no result yet"
    for bad in ("api/sessions/x/y/z", "api/other", f"api/sessions/{sid}/nothing"):
        assert get(address(server.url, bad))[0] == 404
    server.close()


def test_every_request_for_data_needs_the_token_on_127_0_0_1_too(
        short_conversation: dict[str, Path], tmp_path: Path) -> None:
    """Any program or other user of this computer reaches 127.0.0.1: without the key the
    server printed, no stored session, no report, no live websocket (it once served them
    all); the dashboard's own files are the same for everyone and need none, and no cookie
    carries the key (a cookie of 127.0.0.1 goes to every port there)."""
    sid = store_one(short_conversation["stereo"])
    server = start_reports(default_store_path())
    plain = server.url.partition("?")[0].removesuffix("reports.html")
    port = urlsplit(server.url).port
    try:
        for path in ("api/sessions", f"api/sessions/{sid}", f"api/sessions/{sid}/report"):
            status, _, body = get(plain + path)
            assert status == 403 and body.startswith(b"missing or wrong token"), path
            assert get(plain + path + "?token=wrong")[0] == 403
            assert get(address(server.url, path))[0] == 200, path
        for path in ("reports.html", "index.html", "app.js", "style.css"):
            status, headers, _ = get(plain + path)
            assert status == 200 and "Set-Cookie" not in headers, path
        assert "Set-Cookie" not in get(server.url)[1]
        handshake = (f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n")
        with socket.create_connection(("127.0.0.1", port or 0), timeout=10) as sock:
            sock.sendall(handshake.encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 403")
    finally:
        server.close()


def test_the_api_needs_the_lan_token(short_conversation: dict[str, Path],
                                     tmp_path: Path) -> None:
    sid = store_one(short_conversation["stereo"])
    server = start_reports(default_store_path(), lan=True)
    page, _, query = server.url.partition("?")
    base = page.removesuffix("reports.html")
    assert get(base + "api/sessions")[0] == 403
    assert get(address(server.url, "api/sessions"))[0] == 200
    # over the network never a path: the audio file's names the user's folders (and often
    # the client); the session is otherwise whole, the transcript withheld
    status, _, body = get(base + f"api/sessions/{sid}?" + query)
    data = json.loads(body)
    assert status == 200 and data["source"]["path"] == SAVED_WHERE_LAN
    assert str(short_conversation["stereo"].parent).encode() not in body
    assert data["transcript"] == [] and data["segments"]
    report = get(base + f"api/sessions/{sid}/report?" + query)[2]
    assert short_conversation["stereo"].name.encode() not in report
    server.close()


def test_a_live_session_serves_the_store_too(short_conversation: dict[str, Path],
                                            tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=8.0,
                    store=default_store_path())
    assert get(address(running.url, "api/sessions"))[0] == 200
    running.stop()  # (the replay's end is not this test's)
    running.wait()


def test_without_a_store_there_is_no_api(short_conversation: dict[str, Path],
                                         tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=8.0)
    assert get(address(running.url, "api/sessions"))[0] == 404
    running.stop()  # (the replay's end is not this test's)
    running.wait()
