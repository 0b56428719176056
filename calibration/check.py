"""At session start, check the profile against the current input (issue 6).

A device other than the one the profile was made with warns at once; after the first
``LISTEN_S`` of the session the room's noise floor is measured the calibration's way and a
channel more than ``FLOOR_TOLERANCE_DB`` away from the profile's warns. Warnings are shown
on the dashboard's status line; nothing stops the session.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from calibration.measure import measure
from calibration.profile import Profile
from live_attune.core.audio_facts import SAMPLE_RATE

LISTEN_S = 30.0
FLOOR_TOLERANCE_DB = 6.0
MIN_QUIET_S = 2.0  # less silence than this in the first LISTEN_S: no noise-floor verdict


class ProfileCheck:
    def __init__(self, profile: Profile, device_name: str | None, *,
                 call_device_name: str | None = None) -> None:
        """``call_device_name``: the call's audio input in a video call (live --call): then
        only the microphone's noise floor is checked (the call's is the far room and the
        call's own noise suppression, which change from call to call)."""
        self.profile = profile
        self._floors: tuple[str | None, ...] | None = (
            None if call_device_name is None else ("your microphone", None))
        self.warnings: list[str] = []
        self.notes: list[str] = []  # none: its warnings name devices and say what to do now
        self._parts: list[np.ndarray] = []
        self._samples = 0
        self._started = False
        want = profile.device
        if isinstance(want, str) and device_name is not None and want != device_name:
            self.warnings.append(f"the profile was made with {want!r}, the input is "
                                 f"{device_name!r}: calibrate again")
        want = profile.call_device
        if isinstance(want, str) and call_device_name is not None and want != call_device_name:
            self.warnings.append(f"the profile was made with the call audio from {want!r}, "
                                 f"the call audio is {call_device_name!r}: calibrate again")

    def feed(self, block: np.ndarray) -> None:
        """Input blocks (all channels) until LISTEN_S; then measure on a thread."""
        if self._started or self.profile.noise_floor_dbfs is None:
            return
        self._parts.append(block.copy())
        self._samples += block.shape[1]
        if self._samples >= LISTEN_S * SAMPLE_RATE:
            self._started = True
            audio, self._parts = np.concatenate(self._parts, axis=1), []
            threading.Thread(target=self._check_floor, args=(audio,), name="profile-check",
                             daemon=True).start()

    def _check_floor(self, audio: np.ndarray) -> None:
        self.warnings.extend(floor_warnings(self.profile, audio, self._floors))


def floor_warnings(profile: Profile, audio: np.ndarray,
                   names: Sequence[str | None] | None = None) -> list[str]:
    """A warning per channel whose noise floor moved more than FLOOR_TOLERANCE_DB from the
    profile's; ``names``: what to call each channel (None: not checked), else "channel N"."""
    expected = profile.noise_floor_dbfs
    if expected is None or len(expected) != len(audio):
        return []
    m = measure(audio)
    if m.quiet_s < MIN_QUIET_S:
        return []
    out = []
    names = names or [f"channel {i + 1}" for i in range(len(expected))]
    for name, want, got in zip(names, expected, m.channels, strict=True):
        if got.noise_floor_dbfs is None or name is None:
            continue
        diff = got.noise_floor_dbfs - want
        if abs(diff) > FLOOR_TOLERANCE_DB:
            out.append(f"{name}: noise floor {got.noise_floor_dbfs:.0f} dBFS, "
                       f"{abs(diff):.0f} dB {'above' if diff > 0 else 'below'} the "
                       f"profile's {want:.0f}: the room, the microphone or its gain changed; "
                       "calibrate again")
    return out
