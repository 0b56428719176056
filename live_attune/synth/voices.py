"""espeak-ng speech at 16 kHz, trimmed to its first and last audible sample."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_attune.audio.decode import read_all
from live_attune.core.audio_facts import HOP
from live_attune.errors import LiveAttuneError

SILENCE_FLOOR = 10 ** (-50 / 20)  # |x| below -50 dBFS counts as silence when trimming
AUDIBLE_DB = -25.0  # 10 ms frames this far below a voice's active level count as silence


@dataclass(frozen=True, slots=True)
class Voice:
    """An espeak-ng voice: name+variant, pitch (0-99) and speed (words per minute)."""

    name: str
    pitch: int
    speed_wpm: int


THERAPIST_VOICE = Voice("en-us+f3", 62, 165)
CLIENT_VOICE = Voice("en-gb+m3", 32, 160)


@functools.lru_cache(maxsize=4096)
def speak(voice: Voice, text: str) -> np.ndarray:
    """``text`` spoken by ``voice``: float32 mono at 16 kHz, silence trimmed at both ends."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise LiveAttuneError("espeak-ng is not installed (Debian package espeak-ng)")
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "u.wav"
        cmd = [exe, "-v", voice.name, "-p", str(voice.pitch), "-s", str(voice.speed_wpm),
               "-w", str(wav), text]
        subprocess.run(cmd, check=True, capture_output=True, env=_no_sound_server(Path(tmp)))
        audio = read_all(wav)[0]
    loud = np.flatnonzero(np.abs(audio) > SILENCE_FLOOR)
    if len(loud) == 0:
        raise LiveAttuneError(f"espeak-ng produced silence for {text!r}")
    trimmed: np.ndarray = audio[loud[0]: loud[-1] + 1].copy()
    return trimmed


def _no_sound_server(tmp: Path) -> dict[str, str]:
    """espeak-ng's environment with a PulseAudio server address that cannot answer.

    espeak-ng opens its audio library even when it writes a WAV file; libpulse then made
    ``~/.config/pulse/*-runtime`` and a ``/tmp/pulse-*`` folder on every call (hundreds
    after a test run). A Unix socket that does not exist, inside this call's own temporary
    folder, fails at once and makes nothing (strace). Not ``PULSE_SERVER=none``: that is
    looked up as a host name (a DNS query).
    """
    return {**os.environ, "PULSE_SERVER": f"unix:{tmp / 'no-sound-server'}"}


LEVEL_TEXT = "It sounds like this week has been really hard for you, tell me more about it"


@functools.lru_cache(maxsize=64)
def speech_level(voice: Voice) -> float:
    """A voice's active speech level (RMS), measured once on a fixed sentence.

    The hard generator judges every clip's audible frames against this one level, so a word's
    measured extent does not depend on what else the track holds.
    """
    return active_rms(speak(voice, LEVEL_TEXT))


def frame_rms(audio: np.ndarray, hop: int = HOP) -> np.ndarray:
    """RMS of each 10 ms frame (HOP samples)."""
    frames = audio[: len(audio) // hop * hop].reshape(-1, hop).astype(np.float64)
    rms: np.ndarray = np.sqrt(np.mean(frames**2, axis=1))
    return rms


def active_rms(audio: np.ndarray) -> float:
    """RMS over the frames within 50 dB of the loudest frame (the voice's speech level)."""
    rms = frame_rms(audio)
    if len(rms) == 0 or rms.max() <= 0:
        return 0.0
    active = rms[rms > rms.max() * 10 ** (-50 / 20)]
    return float(np.sqrt(np.mean(active**2)))


def audible(audio: np.ndarray, level: float | None = None) -> np.ndarray:
    """Per 10 ms frame: louder than ``AUDIBLE_DB`` under the voice's active level."""
    ref = active_rms(audio) if level is None else level
    return frame_rms(audio) > ref * 10 ** (AUDIBLE_DB / 20)
