"""``calibrate --call``: a video call's two sides, and the echo of the call in the microphone.

The protocol: the room quiet, the therapist speaking, then the call's audio alone (the
client speaking, or any speech played through the call). Both sides' levels come from
calibration/measure.py. The echo: over the call-only step, the microphone is cross-
correlated with the call's audio at lags up to ``MAX_ECHO_MS``; the best lag is the echo's
delay, and the direct path's gain there its level. A peak of normalised correlation under
``MIN_ECHO_CORR`` is no echo (headphones).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from calibration.measure import ChannelLevels, measure, vad_flags
from calibration.procedure import Calibration, Step
from calibration.profile import Profile
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.speakers.channels import ChannelMap

if TYPE_CHECKING:
    from calibration.wizard import Publish

MAX_ECHO_MS = 350.0  # the 20-300 ms, with room
MIN_ECHO_CORR = 0.1
SLIP_MS = 5.0


@dataclass(frozen=True, slots=True)
class Echo:
    delay_ms: float
    level_db: float  # the direct path: the call's voice in the microphone, relative
    correlation: float  # normalised, at the delay


CHANNEL_NAMES = ("your microphone", "the call")  # the meters in the calibration view


def run_call_wizard(*, mic: int | str | None, call: int | str | None, out: Path,
                    step_s: float, prompt: bool, publish: Publish | None = None
                    ) -> Calibration:
    """Record the call protocol from both devices (paired as a live session pairs them);
    ``publish``: progress and results to the calibration view (calibrate --dashboard)."""
    from calibration.procedure import save
    from calibration.wizard import audio_only, publish_done, record
    from live_attune.audio.call import CallConfig, CallSource, find_call_input, find_input

    mic_in, call_in = find_input(mic, "microphone"), find_call_input(call)
    steps = {}
    with CallSource(CallConfig(), mic_in, call_in) as source:
        blocks = audio_only(source.blocks())
        for step in call_protocol(step_s):
            print(f"\n{step.prompt} ({step.seconds:.0f} s)")
            if prompt:
                input("Press Enter to start ")
            steps[step.name] = record(blocks, step, publish, CHANNEL_NAMES)
    cal = calibrate_call(steps, mic=mic_in.name, call=call_in.name)
    save(cal, out)
    publish_done(cal, out, publish)
    return cal


def call_protocol(step_s: float = 8.0) -> tuple[Step, ...]:
    return (Step("quiet", "Please stay silent, with nothing playing: measuring the room", step_s),
            Step(THERAPIST, "You: please speak normally (introduce yourself)", step_s),
            Step(CLIENT, "The call: have the client speak (or play any speech through the "
                         "call) while you stay silent", step_s))


def echo_of(mic: np.ndarray, call: np.ndarray) -> Echo | None:
    """The call's voice in the microphone: ``mic`` and ``call`` (1-D, same clock) over a
    stretch where only the call speaks. None: no echo found (headphones).

    The delay is the best lag over the whole stretch; the level the median, over 1 s
    windows, of the direct path's gain at each window's own best lag within ``SLIP_MS`` of
    it (two devices' clocks are steered together, so the lag may slip by a few samples).
    """
    lags = int(MAX_ECHO_MS * SAMPLE_RATE / 1000)
    xcorr = _xcorr(mic, call, lags)
    lag = int(np.argmax(np.abs(xcorr)))
    energy = float(np.sum(call.astype(np.float64) ** 2))
    mic_energy = float(np.sum(mic.astype(np.float64) ** 2))
    if energy <= 0 or mic_energy <= 0:
        return None
    norm = float(abs(xcorr[lag]) / np.sqrt(energy * mic_energy))
    if norm < MIN_ECHO_CORR:
        return None
    slip = int(SLIP_MS * SAMPLE_RATE / 1000)
    gains = []
    for at in range(lags, len(call) - SAMPLE_RATE, SAMPLE_RATE):
        ref = call[at - lag - slip:at - lag + SAMPLE_RATE + slip]  # mic[at..] vs call earlier
        part = mic[at:at + SAMPLE_RATE]
        e = float(np.sum(call[at - lag:at - lag + SAMPLE_RATE].astype(np.float64) ** 2))
        if e > 0.05 * energy * SAMPLE_RATE / len(call):  # the call speaks in this window
            local = np.correlate(part.astype(np.float64), ref.astype(np.float64), "valid")
            gains.append(float(np.max(np.abs(local))) / e)
    gain = float(np.median(gains)) if gains else abs(float(xcorr[lag])) / energy
    return Echo(1000 * lag / SAMPLE_RATE, 20 * float(np.log10(gain)), norm)


def _xcorr(mic: np.ndarray, call: np.ndarray, lags: int) -> np.ndarray:
    """``sum(mic[t] * call[t - lag])`` for lag 0..lags."""
    size = 1 << (2 * len(mic) - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(mic, size) * np.conj(np.fft.rfft(call, size)), size)
    out: np.ndarray = corr[:lags + 1]
    return out


def calibrate_call(steps: dict[str, np.ndarray], *, mic: str, call: str) -> Calibration:
    """Measure the three steps (each ``(2, n)``: microphone, call) and make a profile."""
    audio = np.concatenate([steps["quiet"], steps[THERAPIST], steps[CLIENT]], axis=1)
    m = measure(audio, vad_flags(audio))
    echo = echo_of(steps[CLIENT][0], steps[CLIENT][1])
    profile = Profile(
        channels=ChannelMap(roles=(THERAPIST, CLIENT)), device=mic, call_device=call,
        noise_floor_dbfs=_all(c.noise_floor_dbfs for c in m.channels),
        speech_dbfs=_all(c.speech_dbfs for c in m.channels),
        snr_db=_all(c.snr_db for c in m.channels),
        echo_db=None if echo is None else echo.level_db,
        echo_delay_ms=None if echo is None else echo.delay_ms,
        calibrated=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return Calibration(m, profile, None, tuple(call_report(m.channels, echo, mic, call)))


def call_report(channels: Sequence[ChannelLevels], echo: Echo | None, mic: str, call: str
                ) -> list[str]:
    lines = [f"your microphone: {mic}; the call's audio: {call}"]
    for who, c in zip(("you", "the call"), channels, strict=True):
        speech = "none heard" if c.speech_dbfs is None else f"{c.speech_dbfs:.0f} dBFS"
        lines.append(f"{who}: speech {speech}, room {_db(c.noise_floor_dbfs)}")
    if echo is None:
        lines.append("echo: none (headphones?): the call's voice does not reach your "
                     "microphone")
    else:
        lines.append(f"echo: the call's voice reaches your microphone {echo.delay_ms:.0f} ms "
                     f"late at {echo.level_db:.0f} dB (speakers); the session tells it from "
                     "you (headphones avoid it)")
    return lines


def _db(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} dBFS"


def _all(values: object) -> tuple[float, ...] | None:
    vals = list(values)  # type: ignore[call-overload]
    return None if any(v is None for v in vals) else tuple(float(v) for v in vals)
