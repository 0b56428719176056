"""Live capture with sounddevice: the callback copies each block into a bounded queue.

The callback does nothing else (no VAD, no logging, no locks beyond the queue's own): if the
consumer falls behind, the newest block is dropped and counted in ``overflows``, and the
next block that gets through carries the samples lost before it, which ``blocks()`` yields
as a ``DeviceBack`` (the session records them as missing audio, not as silence); the
driver's own input overflows are counted in ``driver_overflows``. Nothing is silent.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator
from dataclasses import dataclass
from time import monotonic, sleep
from types import TracebackType
from typing import Any

import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.errors import DeviceError


@dataclass(frozen=True, kw_only=True)
class CaptureConfig:
    device: int | str | None = None  # sounddevice index or name; None: the default input
    channels: int = 2
    block_s: float = 0.1  # 100 ms blocks
    queue_blocks: int = 100  # 10 s of buffering before blocks are dropped

    def __post_init__(self) -> None:
        if self.channels < 1:
            raise ValueError("channels must be >= 1")
        if not 0.005 <= self.block_s <= 1.0:
            raise ValueError("block_s must be between 5 ms and 1 s")
        if self.queue_blocks < 1:
            raise ValueError("queue_blocks must be >= 1")


@dataclass(frozen=True, slots=True)
class DeviceLost:
    """Yielded instead of a block when the input stops (and every ``retry_s`` while lost)."""

    since: float  # time.monotonic() when it was lost


@dataclass(frozen=True, slots=True)
class DeviceBack:
    """Yielded when audio flows again; ``missing_s`` of audio never arrived, for ``reason``
    (as the session's missing audio records it)."""

    missing_s: float
    reason: str = "microphone lost"


DROPPED = "audio dropped: the computer fell behind"  # DeviceBack.reason for dropped blocks


class MicSource:
    """A started input stream; iterate ``blocks()`` for ``(channels, n)`` float32 arrays."""

    def __init__(self, config: CaptureConfig) -> None:
        self.config = config
        self.overflows = 0  # blocks dropped because the queue was full
        self.driver_overflows = 0  # blocks the driver reported as overflowed
        # arrival, block, samples dropped just before it
        self._queue: queue.Queue[tuple[float, np.ndarray, int]] = queue.Queue(
            maxsize=config.queue_blocks)
        self._lost_frames = 0  # samples dropped since the last block that got through
        self._stream: Any = None
        self._closing = False

    def __enter__(self) -> MicSource:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        import sounddevice as sd

        device = resolve_device(self.config.device, self.config.channels)
        try:
            self._stream = sd.InputStream(
                device=device, channels=self.config.channels, samplerate=SAMPLE_RATE,
                dtype="float32", blocksize=int(self.config.block_s * SAMPLE_RATE),
                callback=self._callback)
            self._stream.start()
        except sd.PortAudioError as exc:
            raise DeviceError(f"cannot open input device {device!r}: {exc}") from exc

    def stop(self) -> None:
        self._closing = True
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    @property
    def description(self) -> str:
        return f"input device {self.config.device if self.config.device is not None else 'default'}"

    def blocks(self, timeout_s: float = 2.0
               ) -> Iterator[tuple[float, np.ndarray | DeviceBack]]:
        """Yield ``(arrival time.monotonic(), block)`` as blocks arrive, with a
        ``DeviceBack`` before a block that blocks were dropped before (``DROPPED``)."""
        while True:
            try:
                arrival, block, lost = self._queue.get(timeout=timeout_s)
            except queue.Empty:
                if self._closing:
                    return
                if self._stream is None or not self._stream.active:
                    raise DeviceError("the input stream stopped") from None
                raise DeviceError("the input device stopped delivering audio") from None
            if lost:
                yield arrival, DeviceBack(lost / SAMPLE_RATE, DROPPED)
            yield arrival, block

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        # Runs on the audio thread: copy and hand off, nothing else.
        if status.input_overflow:
            self.driver_overflows += 1
        try:
            self._queue.put_nowait((monotonic(), indata.T.copy(), self._lost_frames))
            self._lost_frames = 0
        except queue.Full:
            self.overflows += 1
            self._lost_frames += frames


class ResilientMic:
    """A microphone that may go away and come back (a USB cable, a Bluetooth headset).

    The first open must succeed (a missing device is a clear error at start). After that,
    when the device stops delivering audio for ``stall_s`` or its stream fails, ``blocks()``
    yields ``DeviceLost`` (again every ``retry_s`` while lost, so the session can keep its
    status current), closes the stream and tries to open it again every ``retry_s``; when
    audio flows again it yields ``DeviceBack`` with the time that never arrived. Nothing is
    made up: the gap is missing audio, not silence.
    """

    def __init__(self, config: CaptureConfig, *, stall_s: float = 2.0,
                 retry_s: float = 1.0) -> None:
        self.config = config
        self.stall_s = stall_s
        self.retry_s = retry_s
        self.losses = 0
        self._mic = MicSource(config)
        self._dropped = [0, 0]  # overflows of streams already closed
        self._closing = False

    @property
    def overflows(self) -> int:
        return self._dropped[0] + self._mic.overflows

    @property
    def driver_overflows(self) -> int:
        return self._dropped[1] + self._mic.driver_overflows

    @property
    def description(self) -> str:
        return self._mic.description

    def __enter__(self) -> ResilientMic:
        self._mic.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._closing = True
        self._mic.stop()

    def blocks(self) -> Iterator[tuple[float, np.ndarray | DeviceLost | DeviceBack]]:
        last = monotonic()
        while not self._closing:
            with contextlib.suppress(DeviceError):
                for arrival, block in self._mic.blocks(timeout_s=self.stall_s):
                    last = arrival
                    yield arrival, block
            if self._closing:
                return
            yield from self._reopen(last)

    def _reopen(self, last_block: float) -> Iterator[tuple[float, DeviceLost | DeviceBack]]:
        """Audio stopped after the block that arrived at ``last_block``."""
        lost_at = last_block
        self.losses += 1
        yield monotonic(), DeviceLost(lost_at)  # tell the session first: closing takes a while
        self._dropped[0] += self._mic.overflows
        self._dropped[1] += self._mic.driver_overflows
        self._mic.stop()
        while not self._closing:
            sleep(self.retry_s)
            mic = MicSource(self.config)
            try:
                mic.start()
            except DeviceError:
                yield monotonic(), DeviceLost(lost_at)
                continue
            self._mic = mic
            now = monotonic()
            yield now, DeviceBack(now - lost_at)
            return


def resolve_device(device: int | str | None, channels: int) -> int | str | None:
    """Check that ``device`` exists and has ``channels`` inputs; else say, in one line, what
    to plug in or check and what there is."""
    import sounddevice as sd

    try:
        info = sd.query_devices(device, kind="input" if device is None else None)
    except (ValueError, sd.PortAudioError):
        raise DeviceError(_no_device(device)) from None
    if info["max_input_channels"] < channels:
        raise DeviceError(f"device {info['name']!r} has {info['max_input_channels']} input "
                          f"channel(s), {channels} needed; available: {list_inputs()} "
                          f"(`live-attune devices` lists them)")
    return device


# What to check when there is no input, in the words a clinician needs (issue 19).
NO_INPUT_CHECK = ("plug in a microphone or audio interface and check that it is switched on "
                  "and that this user may use audio devices")
DEMO_HINT = "`live-attune demo` shows the dashboard without one"
NO_INPUT = (f"no microphone found: {NO_INPUT_CHECK}, then `live-attune devices` should list "
            f"it; {DEMO_HINT}")


def _no_device(device: int | str | None) -> str:
    if not input_devices():
        return NO_INPUT if device is None else f"no input device {device!r}: {NO_INPUT}"
    if device is None:
        return (f"no default input device; available: {list_inputs()} "
                "(choose one with --device NUMBER)")
    return f"no input device {device!r}; available: {list_inputs()} (`live-attune devices`)"


@dataclass(frozen=True)
class InputDevice:
    """One audio input PortAudio offers (``live-attune devices``)."""

    index: int
    name: str
    channels: int
    default: bool


def input_devices() -> list[InputDevice]:
    """The inputs there are (none when PortAudio finds no device)."""
    import sounddevice as sd

    try:
        default = int(sd.default.device[0])
        found = sd.query_devices()
    except sd.PortAudioError:
        return []
    return [InputDevice(i, str(d["name"]), int(d["max_input_channels"]), i == default)
            for i, d in enumerate(found) if d["max_input_channels"] > 0]


def device_name(device: int | str | None) -> str | None:
    """The name PortAudio gives ``device`` (None: the default input), if it exists."""
    import sounddevice as sd

    try:
        return str(sd.query_devices(device, kind="input" if device is None else None)["name"])
    except (ValueError, sd.PortAudioError):
        return None if device is None else str(device)


def list_inputs() -> str:
    names = [f"{d.index}: {d.name} ({d.channels} ch)" for d in input_devices()]
    return "; ".join(names) or "none"
