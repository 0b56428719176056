"""``--lan`` in a real headless Chromium (issue 14): the page opened from its printed URL
(with the token) renders, every asset loads, the websocket delivers; and nothing that was
said goes over the network, neither on the websocket nor through the report view's API.

The "LAN address" is 127.0.0.2 (tests/server/conftest.py): no real network is touched.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser
from websockets.asyncio.client import connect

from live_attune.core.events import Transcript
from live_attune.session.output import config_dict, session_dict
from live_attune.store import NewSession, Store, default_store_path
from tests.conftest import analysed
from tests.server.conftest import LAN_ADDRESS, start

SECRET = "zebra-secret"  # in every utterance's text: it must never reach a LAN client


class WordyAsr:
    """An ASR worker that "transcribes" each utterance at once, as ``SECRET N``: the live
    session has words to withhold without running Whisper."""

    def __init__(self, on_result: Callable[[Transcript], None]) -> None:
        self.on_result, self.done = on_result, 0
        self.missing: list[Any] = []

    def warm_up(self) -> None:
        pass

    def submit(self, span: Any, audio: Any, ended_at: float) -> None:
        self.done += 1
        self.on_result(Transcript(span.speaker, span.start_s, span.end_s,
                                  f"{SECRET} {self.done}", behaviour="other"))

    def status(self) -> dict[str, Any]:
        return {"enabled": True, "done": self.done, "dropped": 0}

    def close(self, timeout_s: float = 30.0) -> None:
        pass


def store_with_words(audio: Path) -> str:
    """A stored session whose transcript says SECRET."""
    result = analysed(audio)
    data = session_dict(result) | {"transcript": [asdict(Transcript(
        "client", 1.0, 2.0, f"{SECRET} stored", behaviour=None))]}
    new = NewSession(kind="analyze", source=str(audio), mode=result.layout.mode,
                     speakers=result.layout.speakers, config=config_dict(result.config))
    with Store() as store:
        store.create(new, state="complete")
        store.save_result(new.id, data, state="complete")
        assert SECRET in json.dumps(store.result(new.id))
    return new.id


async def frames(url: str) -> list[str]:
    """Every raw frame a LAN dashboard receives, to the session's end."""
    out: list[str] = []
    async with connect(url) as ws:
        async for raw in ws:
            out.append(str(raw))
            if json.loads(raw)["type"] == "end":
                break
    return out


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.slow
def test_lan_page_loads_with_its_token_and_gets_no_words(browser: Browser,
                                                         short_conversation: dict[str, Path],
                                                         tmp_path: Path) -> None:
    stored = store_with_words(short_conversation["stereo"])
    # (the session must outlast the page's loading and settings by the 3 s the clock is
    # watched, on a busy machine too: 58 s at 4x)
    running = start(short_conversation["stereo"], tmp_path, speed=4.0, lan=True,
                    asr=WordyAsr, store=default_store_path())
    page_url = running.url
    assert urlsplit(page_url).hostname == LAN_ADDRESS and "?token=" in page_url
    # The report view's API (while the session runs) hands out no words either.
    token = page_url.partition("?")[2]
    base = page_url.partition("?")[0]
    status, body = get(f"{base}api/sessions/{stored}?{token}")
    assert status == 200 and json.loads(body)["transcript"] == [] and SECRET.encode() not in body
    status, body = get(f"{base}api/sessions/{stored}/report?{token}")
    assert status == 200 and SECRET.encode() not in body
    assert b"not sent over the network" in body
    heard: list[list[str]] = []
    listener = threading.Thread(target=lambda: heard.append(asyncio.run(frames(running.ws))))
    listener.start()
    responses: list[tuple[str, int]] = []
    sockets: list[str] = []
    page = browser.new_page()
    page.on("response", lambda r: responses.append((r.url, r.status)))
    page.on("websocket", lambda ws: ws.on("framereceived",
                                          lambda f: sockets.append(str(f))))
    page.goto(page_url)
    page.wait_for_function("window.liveAttune.state.metrics !== null", timeout=30_000)
    assert page.inner_text("#conn") == "connected"
    assert page.evaluate("window.liveAttune.state.session.words") is False
    page.click("#settings-toggle")
    page.check("#show-transcript")
    page.click("#settings menu button")
    page.click("#glance-toggle")  # the transcript is part of "all measures"
    assert page.is_visible("#transcript-withheld")
    clocks = {page.inner_text("#elapsed")}
    for _ in range(10):
        time.sleep(0.3)
        clocks.add(page.inner_text("#elapsed"))
    assert len(clocks) > 2  # the live view follows the session
    assert page.evaluate("window.liveAttune.state.errors") == []
    # The report view, from the live view's link: list, then one session's detail.
    page.goto(page.evaluate("document.getElementById('reports-link').href"))
    page.wait_for_selector(f'#sessions li[data-id="{stored}"]')
    page.close()
    listener.join(120)
    session = running.wait()
    loaded = {urlsplit(u).path: s for u, s in responses}
    assert {"/", "/style.css", "/app.js", "/reports.html", "/reports.js",
            "/api/sessions"} <= set(loaded), loaded
    assert all(s == 200 for s in loaded.values()), responses
    assert not any(urlsplit(u).query for u, _ in responses if u.endswith((".css", ".js")))
    assert all(urlsplit(u).hostname == LAN_ADDRESS for u, _ in responses)
    assert sockets and heard and heard[0]
    # The session had words (the ASR made them, session.json keeps them), none went out.
    assert session.asr_status()["done"] > 3
    assert SECRET in (tmp_path / "session.json").read_text()
    for frame in sockets + heard[0]:
        assert SECRET not in frame and json.loads(frame)["type"] != "transcript"
