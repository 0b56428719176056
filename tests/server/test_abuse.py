"""Websocket abuse during a live session (issue 9): everything hostile is rejected and
logged, and the pipeline's output is exactly what it would have been."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from live_attune.server.hub import LOGGED_REJECTIONS, MESSAGES_BURST
from live_attune.session.offline import analyze_file
from live_attune.session.output import session_dict
from tests.server.conftest import start


async def abuse(good: str) -> dict[str, int]:
    base = good.split("?")[0]
    counts = {"cycles": 0, "refused_token": 0, "refused_origin": 0, "errors": 0,
              "closed_big": 0, "closed_flood": 0}
    for _ in range(200):  # connect, read the snapshot, go away
        async with connect(good) as ws:
            assert json.loads(await ws.recv())["type"] == "snapshot"
        counts["cycles"] += 1
    for url, origin, key in ((base + "?token=wrong", None, "refused_token"),
                             (base, None, "refused_token"),
                             (good, "http://evil.example", "refused_origin")):
        with pytest.raises(InvalidStatus) as err:
            async with connect(url, origin=origin):  # type: ignore[arg-type]
                pass
        assert err.value.response.status_code == 403
        counts[key] += 1
    async with connect(good) as ws:
        for bad in ("{", "[1,2]", "null", '{"v":1}', '{"v":1,"type":"shutdown"}',
                    '{"v":"1","type":"ping"}', b"\xff\xfe", "😀" * 100):
            await ws.send(bad)
        async for raw in ws:
            m = json.loads(raw)
            if m["type"] == "error":
                counts["errors"] += 1
                if counts["errors"] == 8:
                    break
    async with connect(good) as ws:
        await ws.recv()
        await ws.send("x" * 50_000)
        try:
            async for _ in ws:
                pass
        except Exception:
            pass
        counts["closed_big"] += ws.close_code == 1009
    async with connect(good) as ws:  # a flood: as many messages as it can, never reading
        await ws.recv()
        with contextlib.suppress(ConnectionClosed):
            for i in range(5000):
                await ws.send('{"v":1,"type":"ping"}' if i % 2 else "[1,2,3]")
        replies = 0
        with contextlib.suppress(ConnectionClosed):
            async for raw in ws:
                replies += json.loads(raw)["type"] in ("pong", "error")
        # closed as a policy violation after the burst a dashboard never needs (a few more
        # where the loop was held up for a moment and the budget refilled meanwhile)
        counts["closed_flood"] += ws.close_code == 1008 and replies <= MESSAGES_BURST + 5
    return counts


@pytest.mark.slow
def test_abuse_is_rejected_logged_and_changes_nothing(conversation: dict[str, Path],
                                                      tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture
                                                      ) -> None:
    caplog.set_level(logging.WARNING, logger="live_attune.server")
    running = start(conversation["stereo"], tmp_path, speed=4.0, lan=True)
    good = running.ws.replace(running.url.split(":")[1].strip("/"), "127.0.0.1")
    counts = asyncio.run(abuse(good))
    session = running.wait(timeout=300)
    assert counts == {"cycles": 200, "refused_token": 2, "refused_origin": 1, "errors": 8,
                      "closed_big": 1, "closed_flood": 1}
    logged = [r.getMessage() for r in caplog.records]
    assert sum("wrong token" in m for m in logged) == 2
    assert sum("origin 'http://evil.example'" in m for m in logged) == 1
    # a few lines a connection, the rest counted in one (a flood once wrote 450,000 lines)
    assert sum("rejected a dashboard message" in m for m in logged) == 2 * LOGGED_REJECTIONS
    assert "rejected 5 more messages from that dashboard" in logged
    assert sum("faster than a dashboard does" in m for m in logged) == 1
    assert session.hub.clients == 0  # nobody left behind
    live = json.loads((tmp_path / "session.json").read_text())
    offline = session_dict(analyze_file(conversation["stereo"], prosody=False))
    assert live["segments"] == offline["segments"] and live["metrics"] == offline["metrics"]
    assert session.source.overflows == 0
