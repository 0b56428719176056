"""Serve the dashboard and run a live session: ``live-attune live`` and ``demo``."""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import signal
import socket
import sys
import webbrowser
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve

from live_attune.errors import UsageError
from live_attune.paths import dashboard_dir
from live_attune.server.http import WS_PATH, Access, process_request
from live_attune.server.hub import Hub
from live_attune.server.session import LiveSession
from live_attune.session.config import Layout, PipelineConfig, SingleMicOptions
from live_attune.session.live import AsrWorkerFactory, BlockSource, InputCheck, LiveSetup
from live_attune.store.recorder import SessionRecorder

log = logging.getLogger("live_attune.server")
T = TypeVar("T")
MAX_MESSAGE_BYTES = 4096  # dashboards only send pings; bigger frames close the connection
OPEN_TIMEOUT_S = 30.0  # the opening handshake, the report view's HTTP answers included
# (http.API_TIMEOUT_S answers a slow one with 503 before this closes it without a word)


@dataclass(frozen=True, kw_only=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8765
    lan: bool = False
    open_browser: bool = True
    linger: bool = False  # keep serving after the source ends, until Ctrl-C
    root: Path | None = None
    extra_roots: tuple[tuple[str, Path], ...] = ()
    store: Path | None = None  # the session store the report view reads
    page: str = ""  # which page the printed URL opens ("" = the live view)
    lan_address: str | None = None  # with --lan; None: this machine's, found at start


async def run_live(source: BlockSource, layout: Layout, options: ServeOptions, *,
                   config: PipelineConfig | None = None, out_dir: Path | None = None,
                   ready: asyncio.Future[str] | None = None,
                   asr: AsrWorkerFactory | None = None,
                   recorder: SessionRecorder | None = None,
                   prosody: bool = False, check: InputCheck | None = None,
                   single_mic: SingleMicOptions | None = None,
                   stop: asyncio.Event | None = None, keep_transcript: bool = True
                   ) -> LiveSession:
    """Serve the dashboard while ``source`` plays through the pipeline; save at the end.
    The session ends early when ``stop`` is set (Ctrl-C and SIGTERM set it too)."""
    # --lan is plain HTTP: the transcript never goes over it (hub.py).
    hub = Hub(words=not options.lan)
    session = LiveSession(LiveSetup(layout=layout, source=source, config=config,
                                    single_mic=single_mic, asr=asr, prosody=prosody,
                                    recorder=recorder, check=check, out_dir=out_dir,
                                    keep_transcript=keep_transcript), hub)

    async def handler(connection: ServerConnection) -> None:
        await session.hub.serve(connection, session.snapshot())

    stop = stop or asyncio.Event()
    _on_signals(stop)
    async with _server(handler, options, ready):
        await session.run(stop)
        if options.linger and not stop.is_set():
            print("\nThe session has ended; the dashboard stays up until Ctrl-C.")
            await stop.wait()
    return session


async def serve_reports(options: ServeOptions, ready: asyncio.Future[str] | None = None,
                        stop: asyncio.Event | None = None) -> None:
    """Serve the dashboard's report view of past sessions (no live session) until Ctrl-C
    (or until ``stop`` is set)."""
    async def handler(connection: ServerConnection) -> None:
        await connection.close(1000, "no live session")

    if stop is None:
        stop = asyncio.Event()
        _on_signals(stop)
    async with _server(handler, replace(options, page=options.page or "reports.html"), ready):
        await stop.wait()


async def serve_calibration(options: ServeOptions,
                               run: Callable[[Callable[[dict[str, Any]], None]], T],
                               ready: asyncio.Future[str] | None = None) -> T:
    """Serve the calibration view while ``run(publish)`` (the wizard) runs on a thread;
    return what it returned (or raise what it raised). Each published dict becomes a
    ``calibration`` message; a new dashboard gets the latest one first."""
    from live_attune.server.messages import encode, envelope

    hub, latest = Hub(), {"text": encode(envelope(
        "calibration", step="waiting", prompt="Starting…", seconds_left=0.0, levels_db=[],
        clipping=[], lines=[], profile=None, channels=[]))}
    loop = asyncio.get_running_loop()

    def publish(progress: dict[str, Any]) -> None:
        text = encode(envelope("calibration", **progress))
        loop.call_soon_threadsafe(_deliver, text)

    def _deliver(text: str) -> None:
        latest["text"] = text
        hub.publish("calibration", text)

    async def handler(connection: ServerConnection) -> None:
        await hub.serve(connection, latest["text"])

    page = replace(options, page=options.page or "calibration.html")
    async with _server(handler, page, ready):
        result = await asyncio.to_thread(run, publish)
        await asyncio.sleep(0.3)  # let dashboards receive the results
    return result


@asynccontextmanager
async def _server(handler: Callable[[ServerConnection], Awaitable[None]],
                  options: ServeOptions, ready: asyncio.Future[str] | None
                  ) -> AsyncIterator[None]:
    """Listen on 127.0.0.1 (with --lan also on the LAN address, the same port) and serve.

    The sockets are bound first so that the port, and with it every Host name the server
    answers to, is known before the first request (``Access``: the DNS-rebinding guard).
    """
    token = secrets.token_urlsafe(16)  # on 127.0.0.1 too: other users and programs reach it
    addresses = _addresses(options)
    sockets = _bind(addresses, options.port)
    port = int(sockets[0].getsockname()[1])
    access = Access(root=options.root or dashboard_dir(), addresses=addresses, port=port,
                    token=token, words=not options.lan, extra_roots=options.extra_roots,
                    store=options.store)
    async with AsyncExitStack() as stack:
        for sock in sockets:
            await stack.enter_async_context(serve(
                handler, sock=sock, max_size=MAX_MESSAGE_BYTES, ping_interval=20,
                ping_timeout=20, open_timeout=OPEN_TIMEOUT_S,
                process_request=functools.partial(process_request, access)))
        url = _url(options, addresses[0], port, token)
        _announce(url, options)
        if ready is not None:
            ready.set_result(url)
        yield


def _addresses(options: ServeOptions) -> tuple[str, ...]:
    """Where to listen: ``options.host``; with --lan first the LAN address (the printed
    URL's), never every interface."""
    if not options.lan:
        return (options.host,)
    lan = options.lan_address or _lan_address()
    return (lan,) if lan == options.host else (lan, options.host)


def _bind(addresses: tuple[str, ...], port: int) -> list[socket.socket]:
    """One bound socket per address, all on one port (the first one's when ``port`` is 0);
    asyncio starts listening on them."""
    sockets: list[socket.socket] = []
    address = addresses[0]
    try:
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((address, port))
            port = sock.getsockname()[1]
    except OSError as exc:
        for sock in sockets:
            sock.close()
        raise UsageError(f"cannot serve the dashboard on {address}:{port} "
                         f"({exc.strerror}); choose another --port") from None
    return sockets


def _url(options: ServeOptions, address: str, port: int, token: str | None) -> str:
    host = f"[{address}]" if ":" in address else address
    query = "" if token is None else f"?token={token}"
    return f"http://{host}:{port}/{options.page}{query}"


def _announce(url: str, options: ServeOptions) -> None:
    print(f"Dashboard: {url}", flush=True)
    if options.lan:
        import segno

        print("Scan to open it on a tablet on this network:")
        segno.make(url, error="m").terminal(compact=True, out=sys.stdout)
        print("Over the network (plain HTTP) dashboards get the measures only: the transcript "
              "is not sent; it is in the session's report on this machine.", flush=True)
    if options.open_browser:
        webbrowser.open(url)


def _lan_address() -> str:
    """This machine's address on the local network, found without sending anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # TEST-NET: connect() on UDP sends no packet
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            return


def ws_url(http_url: str) -> str:
    """The websocket of the server whose page is ``http_url`` (any of its pages), with the
    page's query (its token)."""
    parts = urlsplit(http_url)
    return f"ws://{parts.netloc}{WS_PATH}" + (f"?{parts.query}" if parts.query else "")


def address(http_url: str, path: str) -> str:
    """``path`` (a page or API path, with or without a query) on the server whose page is
    ``http_url``, carrying that page's token."""
    parts = urlsplit(http_url)
    token = parse_qs(parts.query).get("token", [""])[0]
    path, _, query = path.lstrip("/").partition("?")
    query = "&".join(q for q in (query, f"token={token}" if token else "") if q)
    return f"http://{parts.netloc}/{path}" + (f"?{query}" if query else "")
