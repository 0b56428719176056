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
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from websockets.asyncio.server import ServerConnection, serve

from calibration.check import ProfileCheck
from live_attune.errors import UsageError
from live_attune.paths import dashboard_dir
from live_attune.pipeline import Layout, PipelineConfig
from live_attune.server.http import WS_PATH, Access, process_request
from live_attune.server.hub import Hub
from live_attune.server.session import AsrWorkerFactory, BlockSource, LiveSession
from live_attune.store.recorder import SessionRecorder

log = logging.getLogger("live_attune.server")
MAX_MESSAGE_BYTES = 4096  # dashboards only send pings; bigger frames close the connection


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


async def run_live(source: BlockSource, layout: Layout, options: ServeOptions, *,
                   config: PipelineConfig | None = None, out_dir: Path | None = None,
                   ready: asyncio.Future[str] | None = None,
                   asr: AsrWorkerFactory | None = None,
                   recorder: SessionRecorder | None = None,
                   prosody: bool = False, check: ProfileCheck | None = None,
                   single_mic: dict[str, Any] | None = None) -> LiveSession:
    """Serve the dashboard while ``source`` plays through the pipeline; save at the end."""
    session = LiveSession(source, layout, Hub(), config=config, out_dir=out_dir, asr=asr,
                          recorder=recorder, prosody=prosody, check=check,
                          single_mic=single_mic)

    async def handler(connection: ServerConnection) -> None:
        await session.hub.serve(connection, session.snapshot())

    stop = asyncio.Event()
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


async def serve_calibration(options: ServeOptions, run: Callable[[Callable[[dict[str, Any]],
                                                                         None]], object],
                            ready: asyncio.Future[str] | None = None) -> object:
    """Serve the calibration view while ``run(publish)`` (the wizard) runs on a thread;
    return what it returned (or raise what it raised). Each published dict becomes a
    ``calibration`` message; a new dashboard gets the latest one first."""
    from live_attune.server.messages import encode, envelope

    hub, latest = Hub(), {"text": encode(envelope(
        "calibration", step="waiting", prompt="Starting…", seconds_left=0.0, levels_db=[],
        clipping=[], lines=[], profile=None))}
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
    token = secrets.token_urlsafe(16) if options.lan else None
    access = Access(root=options.root or dashboard_dir(), token=token,
                    extra_roots=options.extra_roots, store=options.store)
    host = "0.0.0.0" if options.lan else options.host
    try:
        server_cm = await serve(handler, host, options.port, max_size=MAX_MESSAGE_BYTES,
                                process_request=functools.partial(process_request, access),
                                ping_interval=20, ping_timeout=20)
    except OSError as exc:
        raise UsageError(f"cannot serve the dashboard on {host}:{options.port} "
                         f"({exc.strerror}); choose another --port") from None
    async with server_cm as server:
        port = server.sockets[0].getsockname()[1]
        url = _url(options, port, token)
        _announce(url, options)
        if ready is not None:
            ready.set_result(url)
        yield


def _url(options: ServeOptions, port: int, token: str | None) -> str:
    if token is None:
        return f"http://{options.host}:{port}/{options.page}"
    return f"http://{_lan_address()}:{port}/{options.page}?token={token}"


def _announce(url: str, options: ServeOptions) -> None:
    print(f"Dashboard: {url}", flush=True)
    if options.lan:
        import segno

        print("Scan to open it on a tablet on this network:")
        segno.make(url, error="m").terminal(compact=True, out=sys.stdout)
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
    base, _, query = http_url.partition("?")
    return base.replace("http://", "ws://").rstrip("/") + WS_PATH + (f"?{query}" if query else "")
