"""HTTP side of the live server: the dashboard's static files, the Host, the token and the
Origin.

Every request must name this server in its Host header: one of the addresses it listens on
(``127.0.0.1:PORT``, ``localhost:PORT``, with ``--lan`` the LAN address it printed), fixed
when it starts. Anything else is refused with 421 before anything is read: a web page whose
domain an attacker rebinds to 127.0.0.1 (DNS rebinding) gets nothing. The Content-Security-
Policy and the websocket Origin check come from the same fixed list, never from the request.

Binds 127.0.0.1 unless ``--lan``. Every websocket and API request (what holds a session's
numbers and words) must carry the random token made when the server starts, in its query
(``?token=...``): the printed URL has it (opened in the browser, with ``--lan`` shown as a QR
code), and the pages pass it on from their own address. On 127.0.0.1 too: any program or
other user of this computer can reach 127.0.0.1, and the API serves every stored session
(clinical files are readable by the user alone). The dashboard's own files (its HTML, style
and script, the same for everyone) need no token, and no cookie carries it: a cookie set by
127.0.0.1 is sent to every port there, another user's server included. ``--lan`` is plain
HTTP, so it never carries what was said (``Access.words`` is False): see hub.py, and the API
below.
"""

from __future__ import annotations

import asyncio
import email.utils
import hmac
import ipaddress
import json
import logging
import mimetypes
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from live_attune.server.messages import SAVED_WHERE_LAN
from live_attune.store.db import SessionRow

log = logging.getLogger("live_attune.server")
WS_PATH = "/ws"
FORBIDDEN_TEXT = ("missing or wrong token: open the address live-attune printed when it "
                  "started (it carries a key)\n")
API_TIMEOUT_S = 20.0  # a store read or report build answered within this, else 503
API_WORKERS = 2  # store reads and report builds at once
BUSY_TEXT = "busy: try again in a moment\n"
API_PATH = "/api/"
# The report is one self-contained page: its own inline style and SVG, nothing else at all.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
              "form-action 'none'; frame-ancestors 'self'")
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".json": "application/json",
         ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}
TEXT = "text/plain; charset=utf-8"
WORDS_WITHHELD = ("The transcript is not sent over the network (--lan); open the report on "
                  "the machine that recorded the session to read it.")


@dataclass(frozen=True, kw_only=True)
class Access:
    """Who may connect, fixed when the server starts: the ``addresses`` it listens on at
    ``port``; ``token``: required of every request (the server always makes one; None only
    where a test builds an Access by hand); ``words`` is False when no transcript text may
    leave through the API (--lan)."""

    root: Path
    addresses: tuple[str, ...]
    port: int
    token: str | None = None
    words: bool = True
    extra_roots: tuple[tuple[str, Path], ...] = ()  # (url prefix, folder), e.g. test fixtures
    store: Path | None = None  # the session store behind /api/sessions (the report view)
    refusals: RefusalLog = field(default_factory=lambda: RefusalLog(), compare=False)

    @cached_property
    def hosts(self) -> frozenset[str]:
        """The Host values this server answers to (lower case; a loopback address also
        answers as ``localhost``)."""
        hosts: set[str] = set()
        for address in self.addresses:
            ip = ipaddress.ip_address(address)
            hosts.add(f"[{ip.compressed}]:{self.port}" if ip.version == 6
                      else f"{ip}:{self.port}")
            if ip.is_loopback:
                hosts.add(f"localhost:{self.port}")
        return frozenset(hosts)

    @cached_property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{h}" for h in self.hosts)

    @cached_property
    def policy(self) -> str:
        return csp(self.hosts)


def csp(hosts: Iterable[str]) -> str:
    """Everything from this server only; websockets to its own addresses only."""
    sockets = " ".join(f"ws://{h}" for h in sorted(hosts))
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self' {sockets}; base-uri 'none'; form-action 'none'; "
            "frame-ancestors 'none'")


async def process_request(access: Access, connection: ServerConnection,
                          request: Request) -> Response | None:
    """Authorise every request; serve files and the store's API; let /ws handshakes through.

    Store reads and report builds run on a worker thread: the event loop keeps serving the
    live session meanwhile.
    """
    # the dashboard, its API and the websocket only GET (older websockets refused other
    # methods itself, and its Request had no method)
    if getattr(request, "method", "GET") != "GET":
        response = connection.respond(HTTPStatus.METHOD_NOT_ALLOWED, "only GET\n")
        response.headers["Allow"] = "GET"
        return response
    if request.path.startswith("//"):  # urlsplit would read "//ws" as a host named ws
        return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
    url = urlsplit(request.path)
    refused = _refusal(access, connection, request, url.path, url.query)
    if refused is not None:
        return refused
    if url.path == WS_PATH:
        return None
    if url.path.startswith(API_PATH):
        response = await _api_in_time(access, connection, url.path[len(API_PATH):])
    else:
        response = _static(access, url.path)
    return response


class ApiWorkers:
    """The threads that read the store and build reports: API_WORKERS of them, their own
    (a pile of report builds never takes the threads the live session's end needs), and at
    most as many requests again waiting; more are told busy at once."""

    def __init__(self) -> None:
        self.pool = ThreadPoolExecutor(API_WORKERS, thread_name_prefix="live-attune-api")
        self.asked = 0  # requests running or waiting (read and written on the event loop)


_WORKERS = ApiWorkers()


async def _api_in_time(access: Access, connection: ServerConnection, path: str) -> Response:
    """``_api`` on a worker thread, answered within API_TIMEOUT_S (the handshake's own limit,
    app.OPEN_TIMEOUT_S, is longer): past it, or with too many already asked, a 503 and one
    log line instead of a connection closed without a word (many reports asked for at once
    on a slow machine)."""
    if _WORKERS.asked >= 2 * API_WORKERS:
        access.refusals.warn("the report view is busy (%d requests): refused %s",
                             _WORKERS.asked, path[:100])
        return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, BUSY_TEXT)
    _WORKERS.asked += 1
    try:
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(_WORKERS.pool, _api, access, path),
                                      API_TIMEOUT_S)
    except TimeoutError:
        log.warning("the report view took over %g s to answer %s: said busy", API_TIMEOUT_S,
                    path[:100])
        return connection.respond(HTTPStatus.SERVICE_UNAVAILABLE, BUSY_TEXT)
    finally:
        _WORKERS.asked -= 1


@dataclass
class RefusalLog:
    """Refused requests are logged one line each up to ``per_minute`` a minute; past that
    they are counted, and the count is one line when the next minute's first is logged (a
    peer retrying without the token once wrote a line a request without end)."""

    per_minute: int = 60
    minute_start: float = float("-inf")
    logged: int = 0
    unlogged: int = 0

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        if now - self.minute_start >= 60:
            if self.unlogged:
                log.warning("refused %d more requests in the minute before (not logged one "
                            "by one)", self.unlogged)
            self.minute_start, self.logged, self.unlogged = now, 0, 0
        if self.logged < self.per_minute:
            self.logged += 1
            log.warning(message, *args)
        else:
            self.unlogged += 1


def _refusal(access: Access, connection: ServerConnection, request: Request, path: str,
             query: str) -> Response | None:
    """A plain 4xx for a request that does not name this server, lacks the token, or is a
    websocket from another origin; None when it may go on. Each refusal is one log line
    (``RefusalLog``: at most 60 a minute, the rest counted)."""
    warn = access.refusals.warn
    hosts = request.headers.get_all("Host")
    if len(hosts) != 1 or hosts[0].lower() not in access.hosts:
        warn("refused %s from %s: Host %s is not this server", path[:100], _peer(connection),
             ", ".join(repr(h[:100]) for h in hosts) or "missing")
        return connection.respond(HTTPStatus.MISDIRECTED_REQUEST, "not this server\n")
    keyed = path == WS_PATH or path.startswith(API_PATH)  # the data; the page's files are not
    if keyed and access.token is not None and not _token_ok(access.token, query):
        warn("refused %s from %s: missing or wrong token", path[:100], _peer(connection))
        return connection.respond(HTTPStatus.FORBIDDEN, FORBIDDEN_TEXT)
    origins = request.headers.get_all("Origin")
    if path == WS_PATH and origins and (len(origins) > 1 or origins[0] not in access.origins):
        warn("refused a websocket from origin %s", ", ".join(repr(o[:100]) for o in origins))
        return connection.respond(HTTPStatus.FORBIDDEN, "origin not allowed\n")
    return None


def _api(access: Access, path: str) -> Response:
    """``/api/sessions`` (list), ``/api/sessions/ID`` (session.json), ``.../ID/report``.

    Errors are generic ("no such session"): the store's path and the reason stay in this
    server's log. Without ``access.words`` (--lan) a session comes without its transcript.
    """
    parts = [p for p in path.split("/") if p]
    if (access.store is None or not parts or parts[0] != "sessions" or len(parts) > 3
            or (len(parts) == 3 and parts[2] != "report")):
        return _response(access, HTTPStatus.NOT_FOUND, b"not found\n", TEXT)
    body = _read_store(access.store, parts[1] if len(parts) > 1 else None)
    if isinstance(body, ApiError):
        data = json.dumps({"error": body.message}).encode()
        return _response(access, body.status, data, TYPES[".json"])
    if len(parts) > 1 and not access.words:
        body = _without_words(body)
    if len(parts) == 3:
        from live_attune.report import build_html

        page = build_html(body)
        return _response(access, HTTPStatus.OK, page.encode(), TYPES[".html"], REPORT_CSP)
    return _response(access, HTTPStatus.OK, json.dumps(body).encode(), TYPES[".json"])


@dataclass(frozen=True, slots=True)
class ApiError:
    """What the API tells a client about a failed read: never a path or a reason."""

    status: HTTPStatus
    message: str


def _read_store(path: Path, ref: str | None) -> dict[str, Any] | ApiError:
    """The listing (``ref`` None) or one session's session.json, or a generic error (the
    detail goes to this server's log only)."""
    from live_attune.errors import StoreError
    from live_attune.store import Store

    unreadable = ApiError(HTTPStatus.SERVICE_UNAVAILABLE, "the session store cannot be read")
    try:
        store = Store(path, read_only=True)  # the report view only reads
    except StoreError as exc:
        log.warning("the report view cannot open the session store: %s", exc)
        return unreadable
    with store:
        try:
            rows = store.list()
        except StoreError as exc:
            log.warning("the report view cannot list the sessions: %s", exc)
            return unreadable
        if ref is None:
            return {"sessions": [_listed(r) for r in rows]}
        try:
            return store.result(store.get(ref).id)
        except StoreError as exc:
            log.warning("the report view asked for session %r: %s", ref[:100], exc)
            return ApiError(HTTPStatus.NOT_FOUND, "no such session, or it has no result yet")


def _without_words(result: dict[str, Any]) -> dict[str, Any]:
    """session.json less what was said and where its audio came from (a path names the
    user's folders, often the client: never sent over --lan): the form the store keeps for
    --no-transcript, with a note saying why (the report shows it)."""
    source = result.get("source")
    hidden = {"source": source | {"path": SAVED_WHERE_LAN}} if isinstance(source, dict) else {}
    return result | hidden | {"transcript": [],
                              "notes": [*(result.get("notes") or []), WORDS_WITHHELD]}


def _listed(row: SessionRow) -> dict[str, object]:
    return {"id": row.id, "started_at": row.started_at, "label": row.label, "kind": row.kind,
            "state": row.state, "duration_s": row.duration_s, "speakers": list(row.speakers)}


def _peer(connection: ServerConnection) -> str:
    try:
        return str(connection.remote_address[0])
    except (TypeError, IndexError):
        return "?"


def _query_token(query: str) -> str:
    return parse_qs(query).get("token", [""])[0]


def _token_ok(token: str, query: str) -> bool:
    """The token in the request's query, compared in constant time."""
    return hmac.compare_digest(_query_token(query).encode(), token.encode())


def _static(access: Access, path: str) -> Response:
    file = _resolve(access, path)
    if file is None:
        return _response(access, HTTPStatus.NOT_FOUND, b"not found\n", TEXT)
    kind = TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "text/plain"
    return _response(access, HTTPStatus.OK, file.read_bytes(), kind)


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


def _response(access: Access, status: HTTPStatus, body: bytes, kind: str,
              policy: str | None = None) -> Response:
    headers = Headers([
        ("Date", email.utils.formatdate(usegmt=True)),
        ("Content-Type", kind),
        ("Content-Length", str(len(body))),
        ("Content-Security-Policy", policy or access.policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("Connection", "close"),
    ])
    return Response(status.value, status.phrase, headers, body)
