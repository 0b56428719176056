"""Run a real live server (replaying a file) on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from live_attune.audio.replay import FileReplaySource
from live_attune.server.app import ServeOptions, run_live, serve_reports, ws_url
from live_attune.server.session import LiveSession
from live_attune.session.config import layout_for

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@dataclass
class Running:
    url: str
    thread: threading.Thread
    out_dir: Path
    result: dict[str, LiveSession] = field(default_factory=dict)
    control: dict[str, object] = field(default_factory=dict)  # the loop and its stop event

    @property
    def ws(self) -> str:
        return ws_url(self.url)

    def stop(self) -> None:
        """End the session now (as Ctrl-C would): it finishes and saves what it has."""
        loop, stop = self.control["loop"], self.control["stop"]
        if self.thread.is_alive() and not loop.is_closed():  # type: ignore[attr-defined]
            # the loop may close in between: then the session has ended anyway
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)  # type: ignore[attr-defined]

    def wait(self, timeout: float = 120) -> LiveSession:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the live session did not end"
        return self.result["session"]


# With --lan the tests serve on this loopback address as if it were the LAN's: never on a
# real network address.
LAN_ADDRESS = "127.0.0.2"


def start(audio: Path, out_dir: Path, *, speed: float | None = 4.0, lan: bool = False,
          asr: bool | object = False, store: Path | None = None, prosody: bool = False,
          recorder: object = None) -> Running:
    """``asr``: True for the real worker (Whisper), or any ASR worker factory."""
    ready: dict[str, object] = {}
    got = threading.Event()
    result: dict[str, LiveSession] = {}
    control: dict[str, object] = {}

    def main() -> None:
        async def go() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            control.update(loop=loop, stop=stop)
            fut: asyncio.Future[str] = loop.create_future()
            fut.add_done_callback(lambda f: (ready.setdefault("url", f.result()), got.set()))
            source = FileReplaySource(audio, speed=speed)
            options = ServeOptions(port=0, lan=lan, open_browser=False, store=store,
                                   extra_roots=(("/fixtures/", FIXTURES),),
                                   lan_address=LAN_ADDRESS)
            factory = None if asr is False else asr
            if asr is True:
                from live_attune.asr.worker import AsrWorker

                factory = AsrWorker
            result["session"] = await run_live(source, layout_for(source.channels, None, "x"),
                                               options, out_dir=out_dir, ready=fut,
                                               asr=factory, prosody=prosody,
                                               recorder=recorder,  # type: ignore[arg-type]
                                               stop=stop)
        asyncio.run(go())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert got.wait(30), "the server did not start"
    return Running(str(ready["url"]), thread, out_dir, result, control)


Visit = Callable[[Running], Awaitable[Any]]


@dataclass
class SharedRun:
    """One live session that several clients visited at once, each visit's result kept for
    its own test (a replay to its end is paid once, not once per test)."""

    running: Running
    session: LiveSession
    results: dict[str, Any]  # a visit's result, or the exception it raised

    def __getitem__(self, visit: str) -> Any:
        result = self.results[visit]
        if isinstance(result, BaseException):
            raise result  # the test that reads this visit fails with the visit's error
        return result


def share_run(audio: Path, out_dir: Path, visits: dict[str, Visit], *,
              speed: float = 8.0) -> SharedRun:
    """Start a live session and run every visit concurrently from its start; when all are
    done (each reads on to the session's end, or has stopped), the session has ended."""
    running = start(audio, out_dir, speed=speed)

    async def visit_all() -> dict[str, Any]:
        done = await asyncio.gather(*(v(running) for v in visits.values()),
                                    return_exceptions=True)
        return dict(zip(visits, done, strict=True))

    try:
        results = asyncio.run(visit_all())
    except BaseException:
        running.stop()
        raise
    return SharedRun(running, running.wait(), results)


@dataclass
class ReportServer:
    url: str
    loop: asyncio.AbstractEventLoop
    stop: asyncio.Event
    thread: threading.Thread

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(30)


def start_reports(store: Path, *, lan: bool = False) -> ReportServer:
    """``live-attune sessions serve`` in a background thread (no live session)."""
    box: dict[str, object] = {}
    got = threading.Event()

    def main() -> None:
        async def go() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            fut: asyncio.Future[str] = loop.create_future()
            fut.add_done_callback(lambda f: (box.update(url=f.result(), loop=loop, stop=stop),
                                             got.set()))
            await serve_reports(ServeOptions(port=0, lan=lan, open_browser=False, store=store,
                                             lan_address=LAN_ADDRESS), ready=fut, stop=stop)
        asyncio.run(go())

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert got.wait(30), "the report server did not start"
    return ReportServer(str(box["url"]), box["loop"], box["stop"], thread)  # type: ignore[arg-type]
