"""HTTP side of the live server: the dashboard's static files, the token and the Origin.

Binds 127.0.0.1 unless ``--lan``; with ``--lan`` every request (page, script and websocket)
must carry ``?token=...`` (random, printed and shown as a QR code), and a websocket whose
Origin is not this server is refused. Every page is sent with a Content-Security-Policy
that allows nothing outside this server.
"""

from __future__ import annotations

import asyncio
import email.utils
import hmac
import json
import logging
import mimetypes
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from live_attune.store.db import SessionRow

log = logging.getLogger("live_attune.server")
WS_PATH = "/ws"
API_PATH = "/api/"
# The report is one self-contained page: its own inline style and SVG, nothing else at all.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'self'")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


@dataclass(frozen=True, kw_only=True)
class Access:
    """Who may connect: ``token`` is None on 127.0.0.1, required with --lan."""

    root: Path
    token: str | None = None
    extra_roots: tuple[tuple[str, Path], ...] = ()  # (url prefix, folder), e.g. test fixtures
    store: Path | None = None  # the session store behind /api/sessions (the report view)


def csp(host: str) -> str:
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' ws://{host}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


async def process_request(access: Access, connection: ServerConnection,
                          request: Request) -> Response | None:
    """Authorise every request; serve files and the store's API; let /ws handshakes through.

    Store reads and report builds run on a worker thread: the event loop keeps serving the
    live session meanwhile.
    """
    url = urlsplit(request.path)
    if access.token is not None and not _token_ok(access.token, url.query):
        log.warning("refused %s from %s: missing or wrong token", url.path,
                    _peer(connection))
        return _plain(connection, HTTPStatus.FORBIDDEN, "missing or wrong token\n")
    if url.path == WS_PATH:
        origin = request.headers.get("Origin")
        host = request.headers.get("Host", "")
        if origin is not None and origin not in (f"http://{host}", f"https://{host}"):
            log.warning("refused a websocket from origin %r", origin)
            return _plain(connection, HTTPStatus.FORBIDDEN, "origin not allowed\n")
        return None
    host = request.headers.get("Host", "")
    if url.path.startswith(API_PATH):
        return await asyncio.to_thread(_api, access, url.path[len(API_PATH):], host)
    return _static(access, url.path, host)


def _api(access: Access, path: str, host: str) -> Response:
    """``/api/sessions`` (list), ``/api/sessions/ID`` (session.json), ``.../ID/report``."""
    from live_attune.errors import LiveAttuneError
    from live_attune.report import build_html
    from live_attune.store import Store

    parts = [p for p in path.split("/") if p]
    if access.store is None or not parts or parts[0] != "sessions" or len(parts) > 3:
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", host)
    try:
        with Store(access.store) as store:
            if len(parts) == 1:
                body: object = {"sessions": [_listed(r) for r in store.list()]}
            else:
                body = store.result(store.get(parts[1]).id)
    except LiveAttuneError as exc:
        return _response(HTTPStatus.NOT_FOUND, json.dumps({"error": str(exc)}).encode(),
                         TYPES[".json"], host)
    if len(parts) == 3 and parts[2] == "report":
        page = build_html(body)  # type: ignore[arg-type]
        return _response(HTTPStatus.OK, page.encode(), TYPES[".html"], host, REPORT_CSP)
    if len(parts) == 3:
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", host)
    return _response(HTTPStatus.OK, json.dumps(body).encode(), TYPES[".json"], host)


def _listed(row: SessionRow) -> dict[str, object]:
    return {"id": row.id, "started_at": row.started_at, "label": row.label, "kind": row.kind,
            "state": row.state, "duration_s": row.duration_s, "speakers": list(row.speakers)}


def _peer(connection: ServerConnection) -> str:
    try:
        return str(connection.remote_address[0])
    except (TypeError, IndexError):
        return "?"


def _token_ok(token: str, query: str) -> bool:
    given = parse_qs(query).get("token", [""])[0]
    return hmac.compare_digest(given.encode(), token.encode())


def _static(access: Access, path: str, host: str) -> Response:
    file = _resolve(access, path)
    if file is None:
        return _response(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8", host)
    kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "text/plain"
    return _response(HTTPStatus.OK, file.read_bytes(), kind, host)


def _resolve(access: Access, path: str) -> Path | None:
    root, rel = access.root, path.lstrip("/") or "index.html"
    for prefix, folder in access.extra_roots:
        if path.startswith(prefix):
            root, rel = folder, path[len(prefix):].lstrip("/")
    try:
        file = (root / rel).resolve()
    except (OSError, ValueError):
        return None
    if not file.is_relative_to(root.resolve()) or not file.is_file():
        return None
    return file


def _response(status: HTTPStatus, body: bytes, kind: str, host: str,
              policy: str | None = None) -> Response:
    headers = Headers([
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Content-Type", kind),
        ("Content-Length", str(len(body))),
        ("Content-Security-Policy", policy or csp(host)),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
    ])
    return Response(status.value, status.phrase, headers, body)


def _plain(connection: ServerConnection, status: HTTPStatus, text: str) -> Response:
    return connection.respond(status, text)
