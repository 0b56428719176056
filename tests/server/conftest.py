"""Run a real live server (replaying a file) on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


@pytest.fixture
def live_server(short_conversation: dict[str, Path], tmp_path: Path) -> Iterator[Running]:
    running = start(short_conversation["stereo"], tmp_path / "saved", speed=8.0)
    yield running
    running.stop()  # the tests using it are done with the replay: don't wait for its end
    running.wait()


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
