"""Video calls through the real capture path (issue 21): two ALSA ``file`` capture devices,
each reading a FIFO that a feeder fills on its own clock, captured by two sounddevice
streams in a separate process (``audio/call.py``), then measured by the offline pipeline.

The world: a generated conversation. The client's side reaches the computer as the call's
audio: its track resampled by +PPM (a polyphase resampler: the call device's clock runs
fast, so it holds more samples for the same seconds) and fed at 16 kHz × (1 + PPM). The
microphone hears the therapist and the client's voice played by the speakers: a room
response whose direct sound comes ``ECHO_MS`` late at ``ECHO_DB``. Each side opens and ends
with a marker chirp (up on the microphone, down on the call) at the same moment of the world:
where they land in the captured channels says how far apart the two clocks ended up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

from bench.alsa_rig import feed
from calibration.call import echo_of
from calibration.profile import Profile, dumps, load
from live_attune.audio.call import CALL_LOST, MIC_LOST, CallPairer, ClockFit, Hole, SincResampler
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.session.config import PipelineConfig
from live_attune.session.offline import analyze_file
from live_attune.session.output import session_dict
from live_attune.speakers.channels import ChannelMap
from live_attune.synth import ScenarioConfig, make_conversation
from live_attune.synth.truth import speech_activity, write_wav

ECHO_MS, ECHO_DB = 120.0, -12.0
LEAD_S = 4.0  # silence + marker before the conversation, and after it
MARKER_S = 0.1
ASOUNDRC = """pcm.therapist_mic {{ type file; slave.pcm "null"; file "/dev/null";
  infile "{mic}"; format "raw" }}
pcm.call_monitor {{ type file; slave.pcm "null"; file "/dev/null";
  infile "{call}"; format "raw" }}
pcm.another_mic {{ type file; slave.pcm "null"; file "/dev/null"; infile "/dev/null";
  format "raw" }}
"""


# -- the world --------------------------------------------------------------------------


def chirp(up: bool) -> np.ndarray:
    t = np.arange(int(MARKER_S * SAMPLE_RATE)) / SAMPLE_RATE
    f0, f1 = (400.0, 3000.0) if up else (3000.0, 400.0)
    wave = scipy.signal.chirp(t, f0, MARKER_S, f1) * np.hanning(len(t))
    return (0.3 * wave).astype(np.float32)


def marked(track: np.ndarray, up: bool) -> np.ndarray:
    """``track`` between LEAD_S of lead-in and lead-out, each holding a marker at its middle."""
    lead = np.zeros(int(LEAD_S * SAMPLE_RATE), np.float32)
    mark = chirp(up)
    at = len(lead) // 2
    head, tail = lead.copy(), lead.copy()
    head[at:at + len(mark)] = mark
    tail[at:at + len(mark)] = mark
    return np.concatenate([head, track.astype(np.float32), tail])


def echo_path(rng: np.random.Generator) -> np.ndarray:
    """Speakers to microphone: the direct sound ECHO_MS late at ECHO_DB, then a room's
    decaying tail (RT60 0.3 s, 6 dB under the direct sound)."""
    delay = round(ECHO_MS * SAMPLE_RATE / 1000)
    t = np.arange(int(0.3 * SAMPLE_RATE)) / SAMPLE_RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / 0.3)
    gain = 10 ** (ECHO_DB / 20)
    tail *= gain * 10 ** (-6 / 20) / np.sqrt(np.sum(tail**2))
    ir = np.zeros(delay + 40 + len(t))
    ir[delay] = gain
    ir[delay + 40:] = tail  # first reflections 2.5 ms after the direct sound
    return ir


@dataclass(frozen=True)
class World:
    mic: np.ndarray  # what the microphone hears, at 16 kHz of the world
    call: np.ndarray  # the call's audio as its device samples it (16 kHz × (1 + ppm))
    conv_s: float  # the conversation's length
    ppm: float
    truth: dict[str, list[tuple[float, float]]]  # who speaks when (conversation time)


def make_world(turns: int, ppm: float, seed: int = 7) -> World:
    conv = make_conversation(seed, ScenarioConfig(turns=turns))
    rng = np.random.default_rng(seed)
    therapist = 10 ** (-22 / 20) * conv.tracks[THERAPIST] / _rms(conv.tracks[THERAPIST])
    client = 10 ** (-22 / 20) * conv.tracks[CLIENT] / _rms(conv.tracks[CLIENT])
    call_world = marked(client, up=False)
    echo = scipy.signal.fftconvolve(call_world, echo_path(rng))[:len(call_world)]
    mic = marked(therapist, up=True) + echo + 10 ** (-60 / 20) * rng.standard_normal(
        len(call_world))
    # The call device's clock runs ppm fast: 1e6 + ppm samples where the world has 1e6.
    up, down = int(1_000_000 + ppm), 1_000_000
    call = scipy.signal.resample_poly(call_world, up, down) if ppm else call_world
    truth = {r: speech_activity(t) for r, t in conv.tracks.items()}
    return World(mic.astype(np.float32), np.asarray(call, np.float32), conv.duration_s, ppm,
                 truth)


def _rms(x: np.ndarray) -> float:
    loud = x[np.abs(x) > 1e-3]
    return float(np.sqrt(np.mean(loud**2)))


# -- the devices ------------------------------------------------------------------------


CAPTURE = """
import sys, numpy as np
from live_attune.audio.call import CallConfig, CallSource, find_call_input, find_input
from live_attune.audio.capture import DeviceBack
need, out = int(sys.argv[1]), sys.argv[2]
mic, call = find_input("therapist", "microphone"), find_call_input(None)
got, missing = [], 0.0
with CallSource(CallConfig(queue_blocks=2000), mic, call) as source:
    for _, block in source.blocks():
        if isinstance(block, DeviceBack):
            missing += block.missing_s
        elif isinstance(block, np.ndarray):
            got.append(block)
            if sum(b.shape[1] for b in got) >= need:
                break
    ratio = source.pairer.ratio
    overflows = source.overflows
np.save(out, np.concatenate(got, axis=1))
print(ratio, missing, overflows, mic.name, call.name)
"""


@dataclass(frozen=True)
class Captured:
    audio: np.ndarray  # (2, n): therapist (microphone), client (call on the mic's clock)
    ratio: float
    missing_s: float
    overflows: int
    names: tuple[str, str]


def capture(world: World, tmp: Path, speed: float) -> Captured:
    """Play ``world`` through the two devices at ``speed`` × real time; capture it."""
    fifos = tmp / "mic.fifo", tmp / "call.fifo"
    for fifo in fifos:
        os.mkfifo(fifo)
    (tmp / ".asoundrc").write_text(ASOUNDRC.format(mic=fifos[0], call=fifos[1]))
    epoch = time.monotonic() + 1.0
    rates = SAMPLE_RATE * speed, SAMPLE_RATE * (1 + world.ppm * 1e-6) * speed
    stop = threading.Event()
    for fifo, pcm, rate in zip(fifos, (world.mic, world.call), rates, strict=True):
        threading.Thread(target=feed, args=(fifo, pcm, rate, epoch, stop), daemon=True).start()
    need = len(world.mic) - int(1.5 * SAMPLE_RATE)  # (what the probes lost at the start)
    env = {**os.environ, "HOME": str(tmp)}
    try:
        done = subprocess.run([sys.executable, "-c", CAPTURE, str(need),
                               str(tmp / "got.npy")], env=env, capture_output=True, text=True,
                              timeout=60 + 2 * len(world.mic) / SAMPLE_RATE / speed)
    finally:
        stop.set()
    assert done.returncode == 0, done.stderr
    ratio, missing, overflows, *names = done.stdout.split()
    return Captured(np.load(tmp / "got.npy"), float(ratio), float(missing), int(overflows),
                    (names[0], names[1]))


# -- measuring --------------------------------------------------------------------------


def marker_at(channel: np.ndarray, up: bool, lo: int, hi: int) -> float:
    """Where the marker starts in ``channel[lo:hi]`` (samples from the channel's start)."""
    lo = max(0, lo)
    corr = scipy.signal.correlate(channel[lo:hi], chirp(up), mode="valid")
    return float(lo + np.argmax(corr))


def alignment_ms(audio: np.ndarray) -> tuple[float, float]:
    """(call − microphone) marker offset at the start and at the end, in ms. The capture
    starts up to 2 s into the lead-in (the probes) and stops 1.5 s before the end."""
    n, lead = audio.shape[1], int(LEAD_S * SAMPLE_RATE)
    first = int(marker_at(audio[0], True, 0, lead))
    last = int(marker_at(audio[0], True, n - lead - 2 * SAMPLE_RATE, n))
    out = []
    for at in (first, last):
        call = marker_at(audio[1], False, at - SAMPLE_RATE // 2, at + SAMPLE_RATE // 2)
        out.append(1000 * (call - at) / SAMPLE_RATE)
    return out[0], out[1]


def analyse(audio: np.ndarray, tmp: Path) -> dict:  # type: ignore[type-arg]
    path = tmp / "captured.wav"
    write_wav(path, audio)
    result = analyze_file(path, channel_map=ChannelMap(roles=(THERAPIST, CLIENT)),
                          config=PipelineConfig(), prosody=False)
    return session_dict(result)


def conversation_offset_s(audio: np.ndarray) -> float:
    """Where the conversation starts in the captured audio (after its marker's lead-in)."""
    lead = int(LEAD_S * SAMPLE_RATE)
    return (marker_at(audio[0], True, 0, lead) - lead // 2) / SAMPLE_RATE + LEAD_S


def echo_share(session: dict, world: World, offset_s: float) -> float:  # type: ignore[type-arg]
    """Therapist speech found where the therapist was silent and the client spoke, as a
    share of all talk found."""
    step = 0.01
    n = int((world.conv_s + 2 * LEAD_S) / step) + 1

    def mask(spans: list[tuple[float, float]], shift: float) -> np.ndarray:
        m = np.zeros(n, bool)
        for s, e in spans:
            m[max(0, int((s + shift) / step)):max(0, int((e + shift) / step))] = True
        return m

    segs = session["segments"]
    found = {r: mask([(s["start_s"], s["end_s"]) for s in segs if s["speaker"] == r], 0.0)
             for r in (THERAPIST, CLIENT)}
    # truth is in conversation time; give the therapist's silence 0.3 s of slack each side
    spoke = mask([(s - 0.3, e + 0.3) for s, e in world.truth[THERAPIST]], offset_s)
    client = mask(world.truth[CLIENT], offset_s)
    echo = found[THERAPIST] & ~spoke & client
    return float(echo.sum() / max(1, found[THERAPIST].sum() + found[CLIENT].sum()))


def truth_share(world: World) -> float:
    talk = {r: sum(e - s for s, e in world.truth[r]) for r in (THERAPIST, CLIENT)}
    return talk[THERAPIST] / (talk[THERAPIST] + talk[CLIENT])


def check_session(world: World, got: Captured, tmp: Path) -> dict[str, float]:
    start_ms, end_ms = alignment_ms(got.audio)
    session = analyse(got.audio, tmp)
    share = session["metrics"]["talk_share"][THERAPIST]
    measured = {"start_ms": start_ms, "end_ms": end_ms, "ratio_ppm": (got.ratio - 1) * 1e6,
                "share_error_pp": 100 * (share - truth_share(world)),
                "echo_share": echo_share(session, world, conversation_offset_s(got.audio)),
                "missing_s": got.missing_s, "overflows": got.overflows}
    print(json.dumps(measured))
    return measured


# -- tests ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_short_call_with_a_fast_clock_stays_aligned(tmp_path: Path) -> None:
    """80 s, the call's clock 1500 ppm fast (120 ms of drift uncorrected), at 4× real time
    (~30 s): the markers stay within 20 ms, the talk share within 1.5 pp. The echo bound
    is 2 % here (measured 0.4 % and 1.2 % in two runs: the crosstalk model learns the echo
    path over the first minute); the issue's 1 % is checked over 20 minutes below."""
    world = make_world(turns=12, ppm=1500.0)
    got = capture(world, tmp_path, speed=4.0)
    assert got.names == ("therapist_mic", "call_monitor")  # the monitor found by name
    m = check_session(world, got, tmp_path)
    assert abs(m["ratio_ppm"] - 1500) < 300
    assert abs(m["end_ms"]) <= 20.0 and abs(m["start_ms"]) <= 20.0
    assert m["missing_s"] == 0.0 and m["overflows"] == 0
    assert abs(m["share_error_pp"]) <= 1.5
    assert m["echo_share"] <= 0.02


@pytest.mark.slow
def test_twenty_minute_call_meets_the_issue_bars(tmp_path: Path) -> None:
    """Issue 21's bars: 20 minutes, +100 ppm, 120 ms echo at -12 dB: within 20 ms at the
    start and after 20 minutes, talk share within 1.5 pp, echo ≤ 1 % of talk time."""
    world = make_world(turns=170, ppm=100.0, seed=11)
    assert world.conv_s >= 20 * 60, world.conv_s
    got = capture(world, tmp_path, speed=4.0)
    m = check_session(world, got, tmp_path)
    assert abs(m["start_ms"]) <= 20.0 and abs(m["end_ms"]) <= 20.0
    assert abs(m["share_error_pp"]) <= 1.5
    assert m["echo_share"] <= 0.01
    assert m["missing_s"] == 0.0


# -- the parts, without devices ---------------------------------------------------------


def test_clock_fit_finds_a_rate_under_jitter() -> None:
    fit, rng = ClockFit(), np.random.default_rng(1)
    rate = SAMPLE_RATE * (1 + 300e-6)
    for k in range(6000):  # 10 minutes of 100 ms blocks, 10 ms of callback jitter
        fit.add(k * 1600, 50.0 + k * 1600 / rate + rng.normal(0, 0.01), 1600)
    assert abs(1 / fit.period_s / SAMPLE_RATE - 1 - 300e-6) < 5e-6
    assert abs(fit.index_at(50.0 + 600.0) - 600.0 * rate) < 0.002 * SAMPLE_RATE


def test_the_sinc_resampler_keeps_speech_frequencies() -> None:
    t = np.arange(4000)
    for freq in (200.0, 3000.0, 6000.0):
        x = np.sin(2 * np.pi * freq * t / SAMPLE_RATE).astype(np.float32)
        pos = np.linspace(100.3, 3800.7, 2000)
        want = np.sin(2 * np.pi * freq * pos / SAMPLE_RATE)
        assert np.max(np.abs(SincResampler().at(x, pos) - want)) < 0.01, freq


def test_a_dropped_block_is_missing_audio_not_silence() -> None:
    pairer = CallPairer(1600)
    out = []
    for k in range(60):
        t = 10.0 + k * 0.1
        if k != 30:  # the microphone's block 30 was dropped (queue full)
            out += pairer.feed(0, k * 1600, t, np.full(1600, 0.1, np.float32))
        out += pairer.feed(1, k * 1600, t + 0.003, np.full(1600, 0.2, np.float32))
    holes = [o for o in out if isinstance(o, Hole)]
    assert [(h.missing_s, h.reason) for h in holes] == [(0.1, MIC_LOST)]
    paired = np.concatenate([o for o in out if not isinstance(o, Hole)], axis=1)
    assert np.allclose(paired[0], 0.1) and np.allclose(paired[1], 0.2, atol=1e-3)


def test_a_hole_in_the_call_is_missing_audio_said_to_be_the_call_s() -> None:
    pairer = CallPairer(1600)
    out = []
    for k in range(60):
        t = 10.0 + k * 0.1
        out += pairer.feed(0, k * 1600, t, np.full(1600, 0.1, np.float32))
        if k != 30:  # the call's block 30 was dropped
            out += pairer.feed(1, k * 1600, t + 0.003, np.full(1600, 0.2, np.float32))
    holes = [o for o in out if isinstance(o, Hole)]
    assert holes and {h.reason for h in holes} == {CALL_LOST}
    assert 0.1 <= sum(h.missing_s for h in holes) <= 0.2  # the block, and the resampler's reach


def test_names_pick_devices_and_say_what_does_not_fit(tmp_path: Path) -> None:
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(mic="/dev/null", call="/dev/null"))
    probe = ("import sys\nfrom live_attune.audio.call import find_call_input, find_input\n"
             "from live_attune.errors import DeviceError\n"
             "for q in sys.argv[1:]:\n"
             "    try:\n        print(find_input(q, 'microphone').name)\n"
             "    except DeviceError as e:\n        print('error:', e)\n"
             "print(find_call_input(None).name)\n")
    done = subprocess.run([sys.executable, "-c", probe, "THERAPIST", "mic", "1", "nothing"],
                          env={**os.environ, "HOME": str(tmp_path)}, capture_output=True,
                          text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert lines[0] == "therapist_mic"  # any case
    assert lines[1].startswith("error: 2 inputs match 'mic' for the microphone: 0: "
                               "therapist_mic; 2: another_mic")
    assert lines[2] == "call_monitor"  # by number
    assert lines[3].startswith("error: no microphone matches 'nothing'; available: 0: "
                               "therapist_mic; 1: call_monitor; 2: another_mic")
    assert lines[4] == "call_monitor"  # the monitor by default


def test_live_call_with_no_such_call_device_says_so_in_one_line(tmp_path: Path) -> None:
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(mic="/dev/null", call="/dev/null"))
    env = {**os.environ, "HOME": str(tmp_path), "LIVE_ATTUNE_HOME": str(tmp_path / "data")}
    done = subprocess.run([sys.executable, "-m", "live_attune.cli", "live", "--call",
                           "--device", "therapist", "--call-device", "zoom", "--no-browser",
                           "--no-store"], env=env, capture_output=True, text=True, timeout=60)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 4
    assert len(lines) == 1 and "no call audio input matches 'zoom'; available: 0: " \
        "therapist_mic; 1: call_monitor; 2: another_mic" in lines[0]


# -- calibrate --call -------------------------------------------------------------------


def test_the_echo_is_found_at_its_delay_and_level() -> None:
    from live_attune.audio.decode import read_all
    from live_attune.commands import demo_path

    rng = np.random.default_rng(3)
    client = read_all(demo_path())[1]  # the bundled demo's client channel: real speech
    call = (0.1 * client / _rms(client))[10 * SAMPLE_RATE:18 * SAMPLE_RATE]
    noise = 10 ** (-60 / 20) * rng.standard_normal(len(call))
    speakers = scipy.signal.fftconvolve(call, echo_path(rng))[:len(call)] + noise
    echo = echo_of(speakers.astype(np.float32), call.astype(np.float32))
    assert echo is not None
    assert abs(echo.delay_ms - ECHO_MS) <= 1.0 and abs(echo.level_db - ECHO_DB) <= 1.5
    assert echo_of(noise.astype(np.float32), call.astype(np.float32)) is None  # headphones


@pytest.mark.slow
def test_calibrate_call_saves_both_sides_and_the_echo(tmp_path: Path) -> None:
    """The protocol through the two devices: 6 s quiet, 6 s therapist, 12 s call only,
    followed in the calibration view (--dashboard): each step, both sides' meters by name,
    the results."""
    import asyncio

    import jsonschema

    from live_attune.server.app import ws_url
    from live_attune.server.messages import SCHEMAS
    from tests.calibration.test_calibrate_cli import collect

    conv = make_conversation(5, ScenarioConfig(turns=6))
    quiet = np.zeros(6 * SAMPLE_RATE)
    therapist = 0.08 * conv.tracks[THERAPIST][:6 * SAMPLE_RATE] / _rms(conv.tracks[THERAPIST])
    client = 0.08 * conv.tracks[CLIENT] / _rms(conv.tracks[CLIENT])
    client = client[np.argmax(np.abs(client) > 1e-3):][:12 * SAMPLE_RATE]
    call = np.concatenate([quiet, np.zeros(len(therapist)), client])
    rng = np.random.default_rng(2)
    mic = (np.concatenate([quiet, therapist, np.zeros(len(client))])
           + scipy.signal.fftconvolve(call, echo_path(rng))[:len(call)]
           + 10 ** (-65 / 20) * rng.standard_normal(len(call)))
    world = World(mic.astype(np.float32), call.astype(np.float32), 0.0, 0.0, {})
    fifos = tmp_path / "mic.fifo", tmp_path / "call.fifo"
    for fifo in fifos:
        os.mkfifo(fifo)
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(mic=fifos[0], call=fifos[1]))
    stop, epoch = threading.Event(), time.monotonic() + 1.0
    for fifo, pcm in zip(fifos, (world.mic, world.call), strict=True):
        threading.Thread(target=feed, args=(fifo, pcm, 2.0 * SAMPLE_RATE, epoch, stop),
                         daemon=True).start()
    out = tmp_path / "call.toml"
    env = {**os.environ, "HOME": str(tmp_path), "LIVE_ATTUNE_HOME": str(tmp_path / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "live_attune.cli", "calibrate", "--call",
                             "--device", "therapist", "--step-seconds", "6", "--no-prompt",
                             "--out", str(out), "--dashboard", "--no-browser", "--port", "0"],
                            env={**env, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = next(line.split(" ", 1)[1].strip() for line in proc.stdout
                   if line.startswith("Dashboard: "))
        messages = asyncio.run(collect(ws_url(url)))
        rest, err = proc.communicate(timeout=120)
    finally:
        stop.set()
        proc.kill() if proc.poll() is None else None
    assert proc.returncode == 0, err
    for m in messages:
        jsonschema.validate(m, SCHEMAS["calibration"])
    assert {"quiet", "therapist", "client", "done"} <= {m["step"] for m in messages}
    meters = [m for m in messages if m["step"] in ("quiet", "therapist", "client")]
    assert meters and all(m["channels"] == ["your microphone", "the call"] for m in meters)
    assert messages[-1]["profile"] == str(out)
    assert any(line.startswith("echo: the call's voice reaches") for line in messages[-1]["lines"])
    profile = load(out)
    assert profile.device == "therapist_mic" and profile.call_device == "call_monitor"
    assert profile.channels.roles == (THERAPIST, CLIENT)
    assert profile.echo_delay_ms is not None and abs(profile.echo_delay_ms - ECHO_MS) <= 5
    assert profile.echo_db is not None and abs(profile.echo_db - ECHO_DB) <= 2
    assert "echo: the call's voice reaches your microphone" in rest


def test_a_call_profile_seeds_the_crosstalk_model() -> None:
    from calibration.profile import parse
    from live_attune.commands import call_crosstalk

    profile = parse({"version": 1, "channels": ["therapist", "client"], "echo_db": -14.5,
                     "echo_delay_ms": 118.0, "call_device": "monitor"}, "test")
    crosstalk = call_crosstalk(profile)
    assert crosstalk.bleed_db == -14.5 and crosstalk.delay_ms == 118.0
    old = parse({"version": 1, "channels": ["therapist", "client"]}, "old")  # still loads
    assert old.echo_db is None and call_crosstalk(old).delay_ms == 0.0


@pytest.mark.slow
def test_live_call_serves_the_call_as_the_clients_channel(tmp_path: Path) -> None:
    """`live --call` end to end: the snapshot says it is a video call, the profile is
    checked against both devices (made with the call audio from another device: the status
    line says so), and the saved session has both people talking."""
    import asyncio
    import signal

    from websockets.asyncio.client import connect

    from live_attune.server.app import ws_url

    world = make_world(turns=8, ppm=100.0)
    fifos = tmp_path / "mic.fifo", tmp_path / "call.fifo"
    for fifo in fifos:
        os.mkfifo(fifo)
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(mic=fifos[0], call=fifos[1]))
    stop, epoch = threading.Event(), time.monotonic() + 1.0
    rates = 2.0 * SAMPLE_RATE, 2.0 * SAMPLE_RATE * (1 + world.ppm * 1e-6)
    for fifo, pcm, rate in zip(fifos, (world.mic, world.call), rates, strict=True):
        threading.Thread(target=feed, args=(fifo, pcm, rate, epoch, stop), daemon=True).start()
    env = {**os.environ, "HOME": str(tmp_path), "LIVE_ATTUNE_HOME": str(tmp_path / "data")}
    profile = tmp_path / "call.toml"
    profile.write_text(dumps(Profile(channels=ChannelMap(roles=(THERAPIST, CLIENT)),
                                     device="therapist_mic", call_device="another_mic")))
    proc = subprocess.Popen([sys.executable, "-m", "live_attune.cli", "live", "--call",
                             "--device", "therapist", "--call-device", "call_monitor",
                             "--profile", str(profile), "--no-browser", "--port", "0",
                             "--no-transcribe", "--no-store", "--out", str(tmp_path / "out")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    warnings: set[str] = set()

    async def watch(url: str) -> str:
        async with connect(url) as ws:
            snapshot = json.loads(await ws.recv())
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "status":
                    warnings.update(message["warnings"])
                if message["type"] == "metrics" and message["at_s"] >= world.conv_s:
                    break
        return str(snapshot["session"]["source"])

    try:
        assert proc.stdout is not None
        url = next(line.split(" ", 1)[1].strip() for line in proc.stdout
                   if line.startswith("Dashboard: "))
        source = asyncio.run(asyncio.wait_for(watch(ws_url(url)), 120))
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        stop.set()
    assert proc.returncode == 0, err
    assert source == "video call: your microphone (therapist_mic) + call audio (call_monitor)"
    assert warnings == {"the profile was made with the call audio from 'another_mic', the "
                        "call audio is 'call_monitor': calibrate again"}
    saved = json.loads((tmp_path / "out" / "session.json").read_text())
    share = saved["metrics"]["talk_share"][THERAPIST]
    assert abs(100 * (share - truth_share(world))) <= 3.0  # a short session: 3 pp


@pytest.mark.slow
def test_an_hour_with_a_wandering_clock_stays_within_20_ms() -> None:
    """Sans I/O, one hour: the call's clock goes from +100 to +130 ppm (warming up), both
    streams' capture times jitter by 10 ms, the call starts 0.3 s late. After the hour the
    channels are within 20 ms (cross-correlation of the last 20 s; measured 3.8 ms)."""
    rng = np.random.default_rng(0)
    hour, block = 3600.0, 1600

    def world(t: np.ndarray) -> np.ndarray:  # a chirping, swelling tone: one best lag
        return (np.sin(2 * np.pi * (300 * t + 50 * np.sin(0.7 * t)))
                * (1 + 0.5 * np.sin(0.13 * t))).astype(np.float32)

    starts = np.arange(0, int(hour * SAMPLE_RATE * 1.00013) + block, block)
    rates = SAMPLE_RATE * (1 + 1e-6 * (100 + 30 * starts / SAMPLE_RATE / hour))
    call_at = np.concatenate([[0.0], np.cumsum(block / rates)])  # world time of each block
    pairer, tail, mic_i, call_k = CallPairer(block), [], 0, 0
    while mic_i + block <= hour * SAMPLE_RATE:
        mic_t = mic_i / SAMPLE_RATE
        if call_at[call_k] + 0.3 < mic_t:
            t = call_at[call_k] + np.arange(block) / rates[call_k]
            out = pairer.feed(1, call_k * block, 0.3 + call_at[call_k] + rng.normal(0, 0.01),
                              world(t + 0.3))
            call_k += 1
        else:
            out = pairer.feed(0, mic_i, mic_t + rng.normal(0, 0.01),
                              world(mic_t + np.arange(block) / SAMPLE_RATE))
            mic_i += block
        assert not any(isinstance(o, Hole) for o in out)
        if mic_i > (hour - 20) * SAMPLE_RATE:
            tail += out
    end = np.concatenate(tail, axis=1)
    corr = np.correlate(end[0, 4000:-4000], end[1], "valid")
    assert abs(int(np.argmax(corr)) - 4000) <= 0.020 * SAMPLE_RATE
