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
# A dashboard sends nothing but an occasional ping: a connection that sends more than
# MESSAGES_BURST at once, or more than MESSAGES_PER_S for long, is closed (1008). A flood
# answered message by message, each logged, once held the event loop and the live
# pipeline behind it (blocks dropped); now it costs a few dozen replies and three lines.
MESSAGES_PER_S = 5.0
MESSAGES_BURST = 20
LOGGED_REJECTIONS = 3  # per connection; the rest are counted in one line at its end


@dataclass(frozen=True, slots=True)
class Outgoing:
    kind: str
    text: str
    born: float  # time.monotonic() of the audio block (or moment) this message reports on


@dataclass
class MessageBudget:
    """A token bucket: ``take`` is False once a client has sent more than ``burst`` at once
    or more than ``per_s`` a second for long."""

    per_s: float = MESSAGES_PER_S
    burst: float = MESSAGES_BURST
    tokens: float = MESSAGES_BURST
    last: float = field(default_factory=time.monotonic)

    def take(self, now: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.per_s)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass(eq=False)  # identity semantics: outboxes live in a set
class Outbox:
    """One dashboard's pending messages."""

    max_events: int = 256
    latest: dict[str, Outgoing] = field(default_factory=dict)
    events: deque[Outgoing] = field(default_factory=deque)
    dropped: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    budget: MessageBudget = field(default_factory=MessageBudget)
    rejected: int = 0  # this dashboard's messages refused

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
                if not box.budget.take(time.monotonic()):
                    log.warning("closed a dashboard connection: it sent messages faster "
                                "than a dashboard does (over %d at once or %g a second)",
                                MESSAGES_BURST, MESSAGES_PER_S)
                    await connection.close(1008, "too many messages")
                    break
                self._receive(box, data)
        except ConnectionClosed:
            pass
        finally:
            self.outboxes.discard(box)
            sender.cancel()
            if box.rejected > LOGGED_REJECTIONS:
                log.warning("rejected %d more messages from that dashboard",
                            box.rejected - LOGGED_REJECTIONS)

    def _receive(self, box: Outbox, data: str | bytes) -> None:
        try:
            parse_client_message(data)
        except MessageError as exc:
            self.rejected_messages += 1
            box.rejected += 1
            if box.rejected <= LOGGED_REJECTIONS:
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
