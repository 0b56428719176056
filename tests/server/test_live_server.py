"""A real live server on 127.0.0.1 replaying a generator conversation; real clients."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import urllib.request
from pathlib import Path

import jsonschema
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from live_attune.server.messages import SCHEMAS
from live_attune.session.offline import analyze_file
from live_attune.session.output import schema, session_dict
from tests.server.conftest import Running, start


async def collect(url: str, *, until: str = "end", limit_s: float = 120) -> list[dict]:  # type: ignore[type-arg]
    out = []
    async with connect(url) as ws:
        deadline = time.monotonic() + limit_s
        async for raw in ws:
            message = json.loads(raw)
            message["_t"] = time.monotonic()
            out.append(message)
            if message["type"] == until or time.monotonic() > deadline:
                break
    return out


def test_snapshot_first_then_valid_messages_at_most_4_hz(live_server: Running) -> None:
    messages = asyncio.run(collect(live_server.ws))
    assert messages[0]["type"] == "snapshot"
    for m in messages:
        jsonschema.validate({k: v for k, v in m.items() if k != "_t"}, SCHEMAS[m["type"]])
    times = [m["_t"] for m in messages if m["type"] == "metrics"]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) > 20
    assert sorted(gaps)[len(gaps) // 20] >= 0.2  # 95 % of gaps ≥ 0.2 s: ≤ 4 Hz (+ jitter)
    kinds = {m["type"] for m in messages}
    assert {"floor", "interruption", "status", "end"} <= kinds
    session = live_server.wait()
    assert session.saved_to is not None and session.saved_to.exists()


def test_live_equals_offline_on_the_same_file(conversation: dict[str, Path], tmp_path: Path
                                              ) -> None:
    running = start(conversation["stereo"], tmp_path, speed=None)
    running.wait()
    live = json.loads((tmp_path / "session.json").read_text())
    jsonschema.validate(live, schema())
    offline = session_dict(analyze_file(conversation["stereo"]))
    assert live["segments"] == offline["segments"]
    assert live["metrics"] == offline["metrics"]


def test_twenty_dashboards_at_once(live_server: Running) -> None:
    async def many() -> list[list[dict]]:  # type: ignore[type-arg]
        return await asyncio.gather(*(collect(live_server.ws) for _ in range(20)))

    results = asyncio.run(many())
    session = live_server.wait()
    finals = [r[-1] for r in results]
    assert all(f["type"] == "end" for f in finals)
    counts = {sum(1 for m in r if m["type"] == "interruption") for r in results}
    assert counts == {len(session.pipeline.history.interruptions)}


def test_reconnect_gets_a_fresh_snapshot(live_server: Running) -> None:
    async def twice() -> tuple[dict, dict]:  # type: ignore[type-arg]
        async with connect(live_server.ws) as ws:
            first = json.loads(await ws.recv())
        await asyncio.sleep(2.0)
        async with connect(live_server.ws) as ws:
            second = json.loads(await ws.recv())
        return first, second

    first, second = asyncio.run(twice())
    assert first["type"] == second["type"] == "snapshot"
    assert second["metrics"]["at_s"] > (first["metrics"] or {"at_s": 0})["at_s"]


def test_bad_client_messages_get_errors_and_change_nothing(live_server: Running) -> None:
    async def abuse() -> list[dict]:  # type: ignore[type-arg]
        async with connect(live_server.ws) as ws:
            for bad in ("{", "[]", '{"v":1,"type":"stop"}', '{"v":9,"type":"ping"}'):
                await ws.send(bad)
            await ws.send('{"v":1,"type":"ping"}')
            replies = []
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] in ("error", "pong"):
                    replies.append(m)
                if m["type"] == "pong":
                    return replies
        return replies

    replies = asyncio.run(abuse())
    assert [r["type"] for r in replies] == ["error"] * 4 + ["pong"]
    messages = asyncio.run(collect(live_server.ws))
    assert messages[-1]["type"] == "end"


def test_oversized_frame_closes_only_that_client(live_server: Running) -> None:
    async def big() -> int | None:
        async with connect(live_server.ws) as ws:
            await ws.recv()
            await ws.send("x" * 100_000)
            try:
                async for _ in ws:
                    pass
            except Exception:  # the close code is what matters
                pass
            return ws.close_code

    assert asyncio.run(big()) == 1009  # message too big
    assert asyncio.run(collect(live_server.ws))[-1]["type"] == "end"


def test_a_stalled_client_does_not_slow_the_session(short_conversation: dict[str, Path],
                                                    tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=None)

    async def stall_and_watch() -> float:
        # This client reads one frame, then stops reading: its socket buffers fill up.
        stalled = await connect(running.ws, max_queue=1, close_timeout=0.5)
        t = time.monotonic()
        messages = await collect(running.ws)
        elapsed = time.monotonic() - t
        assert messages[-1]["type"] == "end"
        await stalled.close()
        return elapsed

    # 58 s of audio as fast as possible: under a second here without the stalled client.
    assert asyncio.run(stall_and_watch()) < 5.0
    running.wait()


def test_security_headers_and_no_external_references(live_server: Running) -> None:
    with urllib.request.urlopen(live_server.url) as response:
        html = response.read().decode()
        policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    assert "http" not in html.replace(live_server.url, "")
    root = Path(__file__).resolve().parents[2] / "dashboard"
    for f in root.iterdir():
        assert "://" not in f.read_text().replace('"ws://"', ""), f
    asyncio.run(collect(live_server.ws))


def test_path_traversal_is_refused(live_server: Running) -> None:
    for path in ("../pyproject.toml", "%2e%2e/pyproject.toml", "fixtures/../../README.md"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(live_server.url + path)
        assert err.value.code == 404
    asyncio.run(collect(live_server.ws))


def test_wrong_origin_is_refused(live_server: Running) -> None:
    async def evil() -> None:
        async with connect(live_server.ws, origin="http://evil.example"):  # type: ignore[arg-type]
            pass

    with pytest.raises(InvalidStatus) as err:
        asyncio.run(evil())
    assert err.value.response.status_code == 403
    asyncio.run(collect(live_server.ws))


def test_lan_mode_needs_the_token(short_conversation: dict[str, Path], tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=16.0, lan=True)
    assert "token=" in running.url
    good = running.ws.replace(running.url.split(":")[1].strip("/"), "127.0.0.1")
    bad = good.split("?")[0] + "?token=wrong"

    async def try_bad() -> None:
        async with connect(bad):
            pass

    with pytest.raises(InvalidStatus) as err:
        asyncio.run(try_bad())
    assert err.value.response.status_code == 403
    with pytest.raises(urllib.error.HTTPError) as page:
        urllib.request.urlopen(good.replace("ws://", "http://").replace("/ws?", "/?").split("?")[0])
    assert page.value.code == 403
    assert asyncio.run(collect(good))[-1]["type"] == "end"
    running.wait()


@pytest.mark.slow
def test_live_transcripts_and_language_reach_the_dashboard(short_conversation: dict[str, Path],
                                                           tmp_path: Path) -> None:
    running = start(short_conversation["stereo"], tmp_path, speed=4.0, asr=True)
    messages = asyncio.run(collect(running.ws))
    session = running.wait()
    lines = [m for m in messages if m["type"] == "transcript"]
    for m in lines:
        jsonschema.validate({k: v for k, v in m.items() if k != "_t"}, SCHEMAS["transcript"])
    assert len(lines) >= 5
    assert any(m["behaviour"] for m in lines if m["speaker"] == "therapist")
    for m in lines:  # each word timed, inside its utterance, in session time
        assert m["words"], m
        assert all(m["start_s"] <= w["start_s"] <= w["end_s"] <= m["end_s"] + 1e-6
                   for w in m["words"])
    last = [m for m in messages if m["type"] == "metrics"][-1]
    assert last["language"]["therapist_wpm"] > 60
    saved = json.loads((tmp_path / "session.json").read_text())
    assert saved["transcript"] and saved["metrics"]["language"]["miti"]["questions"] >= 0
    status = session.asr_status()
    assert status["dropped"] == 0 and status["done"] >= len(lines)


def test_a_busy_port_is_a_clear_usage_error(live_server: Running, tmp_path: Path) -> None:
    from live_attune.errors import UsageError
    from live_attune.server.app import ServeOptions, run_live
    from live_attune.session.config import layout_for

    port = int(live_server.url.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(UsageError, match="choose another --port"):
        asyncio.run(run_live(object(), layout_for(2, None, "x"),  # type: ignore[arg-type]
                             ServeOptions(port=port, open_browser=False)))
    asyncio.run(collect(live_server.ws))


@pytest.mark.slow
def test_live_prosody_reaches_the_dashboard_and_equals_offline(
        conversation: dict[str, Path], tmp_path: Path) -> None:
    running = start(conversation["stereo"], tmp_path, speed=4.0, prosody=True)
    messages = asyncio.run(collect(running.ws))
    session = running.wait()
    prosody = [m for m in messages if m["type"] == "prosody"]
    for m in prosody:
        jsonschema.validate({k: v for k, v in m.items() if k != "_t"}, SCHEMAS["prosody"])
    turns = session.pipeline.history.turns
    assert len(prosody) >= len(turns) - 1  # the last turn closes as the session ends
    assert any(m["rate_ratio"] is not None for m in prosody)  # a baseline was learned
    status = [m for m in messages if m["type"] == "status"][-1]
    assert status["prosody"]["dropped_blocks"] == 0
    live = json.loads((tmp_path / "session.json").read_text())
    offline = session_dict(analyze_file(conversation["stereo"]))
    assert live["prosody"]["turns"] == offline["prosody"]["turns"]
    assert live["prosody"]["entrainment"] == offline["prosody"]["entrainment"]
