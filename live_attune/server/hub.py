"""Fan-out to dashboards without backpressure on the pipeline.

Each connected dashboard has its own outbox and sender task. Publishing never waits: the
newest ``metrics`` and ``status`` replace older unsent ones (a slow dashboard just sees fewer
updates), and events queue up to ``max_events`` (the oldest are dropped and counted). A slow
or stalled client therefore costs the pipeline nothing but a dictionary update.

A hub made with ``words=False`` (``--lan``: plain HTTP on a shared network) never sends what
was said: messages of ``WORD_TYPES`` are not published and the snapshot goes without them,
to every dashboard alike (a dashboard's peer address is no proof that it sits on this
machine).
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections import deque
from dataclasses import dataclass, field

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from live_attune.server.messages import (
    WORD_TYPES,
    MessageError,
    encode,
    envelope,
    parse_client_message,
    without_words,
)

log = logging.getLogger("live_attune.server")
COALESCED = ("metrics", "status", "calibration")  # only the newest unsent one matters


@dataclass(frozen=True, slots=True)
class Outgoing:
    kind: str
    text: str
    born: float  # time.monotonic() of the audio block (or moment) this message reports on


@dataclass(eq=False)  # identity semantics: outboxes live in a set
class Outbox:
    """One dashboard's pending messages."""

    max_events: int = 256
    latest: dict[str, Outgoing] = field(default_factory=dict)
    events: deque[Outgoing] = field(default_factory=deque)
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, out: Outgoing) -> None:
        if out.kind in COALESCED:
            self.latest[out.kind] = out
        else:
            if len(self.events) >= self.max_events:
                self.events.popleft()
                self.dropped += 1
            self.events.append(out)
        self.wake.set()

    def take(self) -> Outgoing | None:
        if self.events:
            return self.events.popleft()
        if self.latest:
            return self.latest.pop(next(iter(self.latest)))
        return None


class SendLatency:
    """Audio block arrival → websocket message sent, for every message sent (seconds)."""

    def __init__(self, keep: int = 20_000) -> None:
        self.samples: deque[float] = deque(maxlen=keep)

    def __call__(self, out: Outgoing, sent: float) -> None:
        if out.kind in ("metrics", "floor", "interruption", "backchannel", "long_silence"):
            self.samples.append(sent - out.born)

    def p95_ms(self) -> float | None:
        if len(self.samples) < 20:
            return None
        return statistics.quantiles(self.samples, n=20)[-1] * 1000


class Hub:
    """The set of connected dashboards; ``publish`` is synchronous and never blocks."""

    def __init__(self, *, words: bool = True) -> None:
        self.words = words  # False: no transcript text leaves through this hub
        self.outboxes: set[Outbox] = set()
        self.rejected_messages = 0
        self.send_latency = SendLatency()

    @property
    def clients(self) -> int:
        return len(self.outboxes)

    def publish(self, kind: str, text: str, born: float | None = None) -> None:
        if not self.words and kind in WORD_TYPES:
            return
        out = Outgoing(kind, text, time.monotonic() if born is None else born)
        for box in self.outboxes:
            box.put(out)

    async def serve(self, connection: ServerConnection, snapshot: str) -> None:
        """Run one dashboard's connection: snapshot first, then its outbox; answer pings."""
        box = Outbox()
        await connection.send(snapshot if self.words else without_words(snapshot))
        self.outboxes.add(box)
        sender = asyncio.create_task(self._send_loop(connection, box))
        try:
            async for data in connection:
                self._receive(box, data)
        except ConnectionClosed:
            pass
        finally:
            self.outboxes.discard(box)
            sender.cancel()

    def _receive(self, box: Outbox, data: str | bytes) -> None:
        try:
            parse_client_message(data)
        except MessageError as exc:
            self.rejected_messages += 1
            log.warning("rejected a dashboard message: %s", exc)
            box.put(Outgoing("error", encode(envelope("error", message=str(exc))),
                             time.monotonic()))
            return
        box.put(Outgoing("pong", encode(envelope("pong")), time.monotonic()))

    async def _send_loop(self, connection: ServerConnection, box: Outbox) -> None:
        try:
            while True:
                await box.wake.wait()
                box.wake.clear()
                while (out := box.take()) is not None:
                    await connection.send(out.text)
                    self.send_latency(out, time.monotonic())
        except ConnectionClosed:
            return
