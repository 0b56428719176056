"""A video call as two streams: the therapist's microphone and the call's audio output.

Two devices have two clocks. Each stream's callback copies its block, with the index of its
first sample and PortAudio's capture time, into one bounded queue shared by both (overflows
counted per stream; a dropped block leaves a hole in that stream's index). One consumer
(``CallSource.blocks``) pairs them:

* ``ClockFit``: per stream, a least-squares line of capture time against sample index,
  forgetting slowly (``FIT_MEMORY_S``) so that a clock that warms up is followed. Its slope
  is that device's true sample period; jitter in callback times averages out.
* ``CallPairer``: the microphone is the session's clock. For each microphone sample it finds
  the call-stream position captured at the same moment (both lines), and resamples the call
  stream there with a windowed-sinc interpolator (``SincResampler``). The step between
  positions is the ratio of the two fitted rates, steered (at most ``STEER_MAX_PPM``) towards
  the fitted position, so the channels never drift apart nor jump.
* A hole in either stream (a block dropped, a driver overflow) makes the microphone blocks it
  touches missing audio (``DeviceLost``/``DeviceBack``, as a lost microphone is): nothing is
  filled in.

Device choice (``find_input``): by number, or by a case-insensitive part of the name, one
clear line when none or several match. The call side defaults to the output's monitor: a
PortAudio input whose name says "monitor", else (Linux) the default sink's "Monitor of …"
source of PulseAudio or PipeWire, opened through the ``pulse`` device with ``PULSE_SOURCE``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
from collections import deque
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from time import monotonic, sleep
from types import TracebackType
from typing import Any

import numpy as np

from live_attune.audio.capture import DeviceBack, DeviceLost, InputDevice, input_devices
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.errors import DeviceError

MIC, CALL = 0, 1  # stream ids; the session's channels: therapist (mic), client (call)
FIT_MEMORY_S = 900.0  # the clock fits forget with this time constant (15 min of audio)
MIN_SLOPE_SPAN_S = 20.0  # a fit's slope is trusted once its points span this much audio
MAX_RATIO_PPM = 5000.0  # clocks further apart than this are not believed (a bad fit)
STEER_S = 4.0  # a position error is worked off over this much audio ...
STEER_MAX_PPM = 500.0  # ... at most this fast (no audible pitch change)
RESEAT_S = 0.25  # a position error this large is a jump (start, a hole), not drift
WAIT_S = 2.0  # a stream silent this long is lost
MAX_HELD_S = 30  # call audio held ahead of the microphone at most
KEEP_S = 1  # ... and behind it: a jump back (the fits settling at the start) finds it


@dataclass(frozen=True, kw_only=True)
class CallConfig:
    mic: int | str | None = None  # the therapist's microphone; None: the default input
    call: int | str | None = None  # the call's audio; None: the output's monitor
    block_s: float = 0.1
    queue_blocks: int = 200  # both streams together: 10 s of buffering
    stall_s: float = WAIT_S
    retry_s: float = 1.0

    def __post_init__(self) -> None:
        if not 0.005 <= self.block_s <= 1.0:
            raise ValueError("block_s must be between 5 ms and 1 s")
        if self.queue_blocks < 2:
            raise ValueError("queue_blocks must be >= 2")


# -- clocks -----------------------------------------------------------------------------


class ClockFit:
    """Capture time (s) against sample index for one stream: an exponentially weighted
    least-squares line, updated per block with Welford's centred sums (an hour's indices
    squared would swamp a float64 otherwise)."""

    def __init__(self, memory_s: float = FIT_MEMORY_S) -> None:
        self.memory_samples = memory_s * SAMPLE_RATE
        self.weight = 0.0
        self.mean_n = self.mean_t = 0.0
        self.c_nn = self.c_nt = 0.0
        self.first_n: int | None = None
        self.last_n = 0

    def add(self, index: int, time_s: float, samples: int) -> None:
        keep = float(np.exp(-samples / self.memory_samples))
        self.first_n = index if self.first_n is None else self.first_n
        self.last_n = index
        weight = keep * self.weight + 1.0
        dn, dt = index - self.mean_n, time_s - self.mean_t
        share = keep * self.weight / weight
        self.c_nn = keep * self.c_nn + share * dn * dn
        self.c_nt = keep * self.c_nt + share * dn * dt
        self.mean_n += dn / weight
        self.mean_t += dt / weight
        self.weight = weight

    @property
    def ready(self) -> bool:
        return self.first_n is not None

    @property
    def period_s(self) -> float:
        """Seconds (of the capture clock) per sample, as fitted; nominal until two blocks
        apart (or if the capture times are useless: all equal)."""
        if self.c_nn <= 0 or not self.c_nt > 0:
            return 1.0 / SAMPLE_RATE
        return self.c_nt / self.c_nn

    @property
    def settled(self) -> bool:
        """Long enough to tell the rate: a few seconds of jittery callbacks cannot tell
        100 ppm, so the ratio stays 1 until both fits span ``MIN_SLOPE_SPAN_S``."""
        return (self.first_n is not None
                and self.last_n - self.first_n >= MIN_SLOPE_SPAN_S * SAMPLE_RATE)

    def time_of(self, index: float) -> float:
        return self.mean_t + (index - self.mean_n) * self.period_s

    def index_at(self, time_s: float) -> float:
        return self.mean_n + (time_s - self.mean_t) / self.period_s


# -- resampling -------------------------------------------------------------------------


class SincResampler:
    """Values of a signal at fractional sample positions: a Kaiser-windowed sinc of
    ``2 * HALF`` taps from a table of ``PHASES`` fractional offsets, cut off at 0.45 of the
    sample rate (7.2 kHz): within 0.3 % up to 6 kHz (tests/audio/test_call.py), so speech
    loses nothing the VAD or ASR use."""

    HALF = 16
    PHASES = 512

    def __init__(self) -> None:
        taps = np.arange(-self.HALF + 1, self.HALF + 1)  # offsets of the taps from floor(p)
        frac = np.arange(self.PHASES + 1) / self.PHASES
        x = taps[None, :] - frac[:, None]  # (phases + 1, taps): tap position minus p
        window = np.kaiser(2 * self.HALF + 1, 8.0)
        w = np.interp(x, np.arange(-self.HALF, self.HALF + 1), window)
        table = 0.9 * np.sinc(0.9 * x) * w
        self.table = (table / table.sum(axis=1, keepdims=True)).astype(np.float32)
        self.taps = taps

    def at(self, signal: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``signal`` (float32, NaN where missing) at ``positions`` (float64, relative to
        signal[0]; each within [HALF - 1, len - HALF - 1]). NaN where any tap was missing."""
        base = np.floor(positions).astype(np.int64)
        phase = np.rint((positions - base) * self.PHASES).astype(np.int64)
        samples = signal[base[:, None] + self.taps[None, :]]  # (n, taps)
        out: np.ndarray = np.einsum("ij,ij->i", samples, self.table[phase])
        return out.astype(np.float32)


# -- pairing ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Hole:
    """Microphone audio the session will not get (the call side, or the microphone itself,
    had a hole there)."""

    missing_s: float
    reason: str  # which side, in the words missing audio is recorded with


MIC_LOST = "microphone audio lost"
CALL_LOST = "call audio lost"


class CallPairer:
    """Sans-I/O pairing of the two streams: ``feed`` timed blocks of either, get back the
    session's two-channel blocks (therapist = microphone, client = call audio resampled to
    the microphone's clock) and ``Hole`` s, in microphone order.
    """

    def __init__(self, block: int) -> None:
        self.block = block
        self.fits = (ClockFit(), ClockFit())
        self.next_index = [0, 0]  # per stream: the index the next block should start at
        self.started = [False, False]
        self._pending: deque[tuple[int, np.ndarray]] = deque()  # microphone blocks waiting
        self._call = np.zeros(0, np.float32)  # call samples held, NaN where missing
        self._call_base = 0  # call index of _call[0]
        self._pos: float | None = None  # call position of the next microphone sample
        self._resampler = SincResampler()
        self._paired = False  # a block has been paired (before that: pre-roll)
        self.step = 1.0  # call samples per microphone sample in the last block paired

    @property
    def ratio(self) -> float:
        """Call samples per microphone sample, from the two fits (1 until both settle;
        clocks further apart than ``MAX_RATIO_PPM`` are a bad fit, not believed)."""
        mic, call = self.fits
        if not (mic.settled and call.settled):
            return 1.0
        ratio = mic.period_s / call.period_s
        return ratio if abs(ratio - 1.0) <= MAX_RATIO_PPM * 1e-6 else 1.0

    def feed(self, stream: int, index: int, time_s: float, block: np.ndarray
             ) -> list[np.ndarray | Hole]:
        """One block of ``stream`` (mono float32) whose first sample has stream index
        ``index`` (holes before it are blocks lost) and was captured at ``time_s``."""
        n = len(block)
        lost = index - self.next_index[stream] if self.started[stream] else 0
        self.started[stream] = True
        self.next_index[stream] = index + n
        self.fits[stream].add(index, time_s, n)
        out: list[np.ndarray | Hole] = []
        if stream == CALL:
            self._hold_call(index, block, lost)
        else:
            if lost > 0:
                out.append(Hole(lost / SAMPLE_RATE, MIC_LOST))
            self._pending.append((index, block))
        return out + self._pair()

    def flush(self) -> list[np.ndarray | Hole]:
        """At the end: microphone blocks the call stream never covered are missing."""
        missing = sum(len(b) for _, b in self._pending)
        self._pending.clear()
        return [Hole(missing / SAMPLE_RATE, CALL_LOST)] if missing else []

    def _hold_call(self, index: int, block: np.ndarray, lost: int) -> None:
        if not len(self._call):
            self._call_base = index - max(lost, 0)
        gap = np.full(max(lost, 0), np.nan, np.float32)
        self._call = np.concatenate([self._call, gap, block.astype(np.float32)])

    def _pair(self) -> list[np.ndarray | Hole]:
        out: list[np.ndarray | Hole] = []
        while self._pending and self.started[CALL]:
            index, mic = self._pending[0]
            positions, step = self._positions(index, len(mic))
            half = SincResampler.HALF
            if positions[-1] + half + 1 > self._call_base + len(self._call):
                break  # the call stream has not caught up yet
            self._pending.popleft()
            self._pos, positions = float(positions[-1]), positions[:-1]
            self.step = step
            rel = positions - self._call_base
            if rel[0] < half - 1:
                # Before the call stream began: pre-roll, the session starts when both run.
                # Later: the call audio for it is gone (the position went back), missing.
                if self._paired:
                    out.append(Hole(len(mic) / SAMPLE_RATE, CALL_LOST))
                continue
            call = self._resampler.at(self._call, rel)
            self._drop_call_before(int(rel[-1]) - half - KEEP_S * SAMPLE_RATE)
            self._paired = True
            if np.isnan(call).any():
                out.append(Hole(len(mic) / SAMPLE_RATE, CALL_LOST))
                continue
            out.append(np.stack([mic.astype(np.float32), call]))
        return out

    def _positions(self, index: int, n: int) -> tuple[np.ndarray, float]:
        """Call positions of microphone samples ``index .. index + n``, steered towards
        where the clock fits put them, and the step between them (committed by the caller
        once the call audio is there)."""
        mic_fit, call_fit = self.fits
        target = call_fit.index_at(mic_fit.time_of(index))
        start = self._pos
        if start is None or abs(target - start) > RESEAT_S * SAMPLE_RATE:
            start = target
        limit = STEER_MAX_PPM * 1e-6
        step = self.ratio + min(limit, max(-limit, (target - start) / (STEER_S * SAMPLE_RATE)))
        return start + step * np.arange(n + 1), step

    def _drop_call_before(self, rel: int) -> None:
        rel = max(rel, len(self._call) - MAX_HELD_S * SAMPLE_RATE)  # a stalled microphone
        if rel > 0:
            self._call = self._call[rel:]
            self._call_base += rel


# -- capture ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CallInput:
    """A device as PortAudio opens it, and (Linux) the PulseAudio/PipeWire source to ask
    its ``pulse`` device for."""

    device: int
    name: str
    pulse_source: str | None = None


class TimedStream:
    """One input stream whose callback puts ``(stream, first index, capture time, block)``
    into a queue it shares with the other stream."""

    def __init__(self, stream_id: int, device: CallInput, block: int,
                 out: queue.Queue[tuple[int, int, float, np.ndarray]]) -> None:
        self.stream_id = stream_id
        self.device = device
        self.block = block
        self.overflows = 0  # blocks dropped because the queue was full
        self.driver_overflows = 0
        self._index = 0  # every sample the driver delivered, dropped ones included
        self._out = out
        self._stream: Any = None

    def start(self) -> None:
        import sounddevice as sd

        with _pulse_source(self.device.pulse_source):
            try:
                self._stream = sd.InputStream(
                    device=self.device.device, channels=1, samplerate=SAMPLE_RATE,
                    dtype="float32", blocksize=self.block, callback=self._callback)
                self._stream.start()
            except sd.PortAudioError as exc:
                raise DeviceError(f"cannot open {self.device.name!r}: {exc}") from exc

    def stop(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream.close()
            self._stream = None

    def _callback(self, indata: np.ndarray, frames: int, time: Any, status: Any) -> None:
        # Runs on the audio thread: copy and hand off, nothing else.
        if status.input_overflow:
            self.driver_overflows += 1
        index, self._index = self._index, self._index + frames
        # PortAudio's capture time of the first sample (0 where a host API gives none).
        at = time.inputBufferAdcTime or time.currentTime or monotonic()
        try:
            self._out.put_nowait((self.stream_id, index, at, indata[:, 0].copy()))
        except queue.Full:
            self.overflows += 1


@contextlib.contextmanager
def _pulse_source(source: str | None) -> Iterator[None]:
    """PULSE_SOURCE while PortAudio opens the ``pulse`` device: libpulse reads it when the
    stream connects, so only this stream records from ``source``."""
    if source is None:
        yield
        return
    before = os.environ.get("PULSE_SOURCE")
    os.environ["PULSE_SOURCE"] = source
    try:
        yield
    finally:
        if before is None:
            del os.environ["PULSE_SOURCE"]
        else:
            os.environ["PULSE_SOURCE"] = before


class CallSource:
    """The session's ``BlockSource`` for a video call: ``(2, n)`` blocks (therapist =
    microphone, client = call audio on the microphone's clock), ``DeviceLost`` /
    ``DeviceBack`` around holes and while either device is gone (both are reopened)."""

    def __init__(self, config: CallConfig, mic: CallInput, call: CallInput) -> None:
        self.config = config
        self.devices = (mic, call)
        self.block = int(config.block_s * SAMPLE_RATE)
        self.losses = 0
        self.pairer = CallPairer(self.block)
        self._queue: queue.Queue[tuple[int, int, float, np.ndarray]] = queue.Queue(
            maxsize=config.queue_blocks)
        self._streams = self._new_streams()
        self._dropped = [0, 0]  # overflows of streams already closed
        self._closing = False

    @property
    def overflows(self) -> int:
        return self._dropped[0] + sum(s.overflows for s in self._streams)

    @property
    def driver_overflows(self) -> int:
        return self._dropped[1] + sum(s.driver_overflows for s in self._streams)

    @property
    def description(self) -> str:
        mic, call = self.devices
        return f"video call: your microphone ({mic.name}) + call audio ({call.name})"

    def __enter__(self) -> CallSource:
        self._start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._closing = True
        self._stop()

    def blocks(self) -> Iterator[tuple[float, np.ndarray | DeviceLost | DeviceBack]]:
        while not self._closing:
            last = yield from self._paired()
            if self._closing:
                return
            yield from self._reopen(last)

    def _paired(self) -> Generator[tuple[float, np.ndarray | DeviceLost | DeviceBack], None,
                                   float]:
        """Blocks until a stream stalls for ``stall_s``; returns when the last block came."""
        heard = [monotonic(), monotonic()]
        while not self._closing:
            try:
                stream, index, at, block = self._queue.get(timeout=self.config.retry_s)
            except queue.Empty:
                stream = -1
            now = monotonic()
            if stream >= 0:
                heard[stream] = now
                for item in self.pairer.feed(stream, index, at, block):
                    yield from _as_blocks(now, item)
            if now - min(heard) > self.config.stall_s:
                return min(heard)
        return monotonic()

    def _reopen(self, last: float) -> Iterator[tuple[float, DeviceLost | DeviceBack]]:
        self.losses += 1
        yield monotonic(), DeviceLost(last)
        self._stop()
        while not self._closing:
            sleep(self.config.retry_s)
            self._streams = self._new_streams()
            try:
                self._start()
            except DeviceError:
                self._stop()
                yield monotonic(), DeviceLost(last)
                continue
            now = monotonic()
            yield now, DeviceBack(now - last, "a call device stopped; both were reopened")
            return

    def _new_streams(self) -> tuple[TimedStream, TimedStream]:
        return (TimedStream(MIC, self.devices[MIC], self.block, self._queue),
                TimedStream(CALL, self.devices[CALL], self.block, self._queue))

    def _start(self) -> None:
        self.pairer = CallPairer(self.block)  # new streams: indices and clocks start afresh
        for stream in self._streams:
            stream.start()

    def _stop(self) -> None:
        for stream in self._streams:
            self._dropped[0] += stream.overflows
            self._dropped[1] += stream.driver_overflows
            stream.overflows = stream.driver_overflows = 0
            stream.stop()
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()


def _as_blocks(now: float, item: np.ndarray | Hole
               ) -> Iterator[tuple[float, np.ndarray | DeviceLost | DeviceBack]]:
    if isinstance(item, Hole):
        yield now, DeviceLost(now - item.missing_s)
        yield now, DeviceBack(item.missing_s, item.reason)
    else:
        yield now, item


# -- which devices ----------------------------------------------------------------------


def find_input(query: int | str | None, what: str) -> CallInput:
    """The input ``query`` names: a number, or a case-insensitive part of one input's name
    (an exact name wins over parts); None: the default input. One line if none or several
    match."""
    inputs = input_devices()
    if query is None:
        default = [d for d in inputs if d.default]
        if not default:
            raise DeviceError(f"no default {what}; choose one with --device NAME or NUMBER; "
                              f"available: {_listing(inputs)}")
        return CallInput(default[0].index, default[0].name)
    if isinstance(query, int) or query.isdigit():
        found = [d for d in inputs if d.index == int(query)]
    else:
        found = _matching(inputs, query)
    if len(found) == 1:
        return CallInput(found[0].index, found[0].name)
    if not found:
        raise DeviceError(f"no {what} matches {query!r}; available: {_listing(inputs)}")
    raise DeviceError(f"{len(found)} inputs match {query!r} for the {what}: "
                      f"{_listing(found)}; give more of the name or its number")


def _matching(inputs: list[InputDevice], query: str) -> list[InputDevice]:
    exact = [d for d in inputs if d.name.lower() == query.lower()]
    return exact or [d for d in inputs if query.lower() in d.name.lower()]


def _listing(inputs: list[InputDevice]) -> str:
    return "; ".join(f"{d.index}: {d.name}" for d in inputs) or "none"


def find_call_input(query: int | str | None) -> CallInput:
    """The call's audio: ``query`` as ``find_input`` reads it, or among PulseAudio/PipeWire
    sources (Linux); None: the output's monitor."""
    inputs = input_devices()
    if query is not None:
        with contextlib.suppress(DeviceError):
            return find_input(query, "call audio input")
        if isinstance(query, str) and not query.isdigit():
            sources = [s for s in pulse_sources() if query.lower() in s[1].lower()
                       or query.lower() in s[0].lower()]
            if len(sources) == 1:
                return _through_pulse(inputs, *sources[0])
        return find_input(query, "call audio input")  # raises its one line
    monitors = _matching(inputs, "monitor")
    if len(monitors) == 1:
        return CallInput(monitors[0].index, monitors[0].name)
    if len(monitors) > 1:
        raise DeviceError(f"{len(monitors)} monitor inputs could be the call's audio: "
                          f"{_listing(monitors)}; choose one with --call-device NAME")
    default = default_monitor()
    if default is None:
        raise DeviceError(
            "no call audio found: on Linux this needs PulseAudio or PipeWire (their "
            "'Monitor of …' source); on macOS a loopback device such as BlackHole, on "
            "Windows WASAPI loopback; choose it with --call-device NAME; available: "
            f"{_listing(inputs)}")
    return _through_pulse(inputs, *default)


def _through_pulse(inputs: list[InputDevice], source: str, description: str) -> CallInput:
    pulse = [d for d in inputs if d.name.lower() in ("pulse", "pipewire")]
    if not pulse:
        raise DeviceError(f"the call's audio is the source {description!r}, but PortAudio "
                          "has no 'pulse' device to open it with (install the ALSA pulse "
                          f"plugin, e.g. pipewire-alsa); available: {_listing(inputs)}")
    return CallInput(pulse[0].index, description, pulse_source=source)


def pulse_sources() -> list[tuple[str, str]]:
    """``(name, description)`` of every PulseAudio/PipeWire source (none without pactl)."""
    text = _pactl("list", "sources")
    out, name = [], None
    for line in text.splitlines():
        key, _, value = line.strip().partition(": ")
        if key == "Name":
            name = value
        elif key == "Description" and name is not None:
            out.append((name, value))
            name = None
    return out


def default_monitor() -> tuple[str, str] | None:
    """The default sink's monitor source (what the computer plays), if there is one."""
    sink = _pactl("get-default-sink").strip()
    monitors = [s for s in pulse_sources() if s[0].endswith(".monitor")]
    for name, description in monitors:
        if name == f"{sink}.monitor":
            return name, description
    return monitors[0] if len(monitors) == 1 else None


def _pactl(*args: str) -> str:
    if not sys.platform.startswith("linux"):
        return ""
    try:
        done = subprocess.run(["pactl", *args], capture_output=True, text=True, timeout=5,
                              env={**os.environ, "LC_ALL": "C"}, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""
