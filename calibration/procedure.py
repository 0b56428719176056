"""The calibration procedure, shared by the terminal wizard, the dashboard view and
``calibrate --from-file``: a recording in, measurements, verdicts and a profile out.

Protocol: a few seconds of silence (the room), then the therapist speaks, then the client
(each on their own microphone), then optionally the therapist alone for 20 s more (voice
enrolment). Any recording in which the therapist speaks first works for ``--from-file``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from calibration import voice
from calibration.measure import (
    Measurement,
    bleed_verdict,
    clip_verdict,
    measure,
    snr_verdict,
    suggested_margin_db,
    vad_flags,
)
from calibration.profile import Profile, dumps
from live_attune.atomic import atomic_write
from live_attune.audio.same import same_sound
from live_attune.audio.vad import WINDOW
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.errors import AudioInputError, OutputError
from live_attune.speakers.channels import SHARED, ChannelMap


class CalibrationError(AudioInputError):
    """The recording does not allow a decision (exit 3): nothing is saved."""


@dataclass(frozen=True, slots=True)
class Step:
    name: str  # quiet | therapist | client | enrol
    prompt: str
    seconds: float


def protocol(step_s: float = 8.0, enrol_s: float = 0.0) -> tuple[Step, ...]:
    steps = [Step("quiet", "Please stay silent: measuring the room's noise", step_s),
             Step(THERAPIST, "Therapist: please speak normally (introduce yourself)", step_s),
             Step(CLIENT, "Client: please speak normally (say anything)", step_s)]
    if enrol_s > 0:
        steps.append(Step("enrol", "Therapist: keep speaking on your own, e.g. read a "
                                   "paragraph aloud (voice enrolment)", enrol_s))
    return tuple(steps)


@dataclass(frozen=True, slots=True)
class Calibration:
    measurement: Measurement
    profile: Profile
    voice: voice.VoicePrint | None
    lines: tuple[str, ...]  # the plain-language report


def calibrate(audio: np.ndarray, *, device: str | int | None, enrol: bool,
              voice_path: Path | None) -> Calibration:
    """Measure a (channels, n) recording of the protocol and make a profile from it. A
    recording whose channels all carry the same sound is one microphone (a mono microphone
    seen as stereo): its profile is one shared microphone, captured as one channel."""
    same = len(audio) > 1 and same_sound(audio)
    if same:
        audio = audio[:1]
    flags = vad_flags(audio)
    m = measure(audio, flags)
    roles = (SHARED,) if len(audio) == 1 else m.roles
    _check_roles_found(roles)
    vp = _enrol(audio, flags, m, roles) if enrol else None
    profile = Profile(
        channels=ChannelMap(roles=roles),
        device=device, crosstalk_margin_db=suggested_margin_db(m),
        noise_floor_dbfs=_all(c.noise_floor_dbfs for c in m.channels),
        speech_dbfs=_all(c.speech_dbfs for c in m.channels),
        snr_db=_all(c.snr_db for c in m.channels),
        bleed_db=None if len(audio) < 2 or any(
            b is None for i, row in enumerate(m.bleed_db) for j, b in enumerate(row) if i != j)
        else tuple(tuple(0.0 if b is None else b for b in row) for row in m.bleed_db),
        voice=voice_path if vp is not None else None,
        calibrated=time.strftime("%Y-%m-%dT%H:%M:%S"))
    lines = report(m, roles, vp)
    if same:
        lines.insert(0, "the channels all carry the same sound: this is one microphone for "
                        "everyone (saved as one shared microphone; the live session captures "
                        "one channel and tells the voices apart)")
    return Calibration(m, profile, vp, tuple(lines))


def _check_roles_found(roles: tuple[str, ...]) -> None:
    """Two or more microphones need a therapist's and a client's channel. A profile that
    guessed (say ``["therapist", "ignore"]``) would show the therapist at 100 % of the talk
    with no warning, so nothing is saved: the user is told what to do instead."""
    if roles == (SHARED,) or (THERAPIST in roles and CLIENT in roles):
        return
    raise CalibrationError(
        "could not tell which channel is whose, so no profile was saved: have the therapist, "
        "then the client, speak in turn for the whole step, each close to their own "
        "microphone, and run calibrate again (or write channels = [\"therapist\", "
        "\"client\"] into a profile by hand)")


def _all(values: object) -> tuple[float, ...] | None:
    vals = list(values)  # type: ignore[call-overload]
    return None if any(v is None for v in vals) else tuple(float(v) for v in vals)


def _enrol(audio: np.ndarray, flags: np.ndarray, m: Measurement, roles: tuple[str, ...]
           ) -> voice.VoicePrint:
    """The therapist's channel, in the windows where the therapist speaks alone."""
    channel = roles.index(THERAPIST) if THERAPIST in roles else 0
    own = flags[channel].copy()
    if len(audio) > 1:
        from calibration.measure import owners
        from live_attune.audio.vad import power_db, window_power

        level = power_db(window_power(audio)[:, : flags.shape[1]])
        own &= owners(flags, level) == channel
    floor = m.channels[channel].noise_floor_dbfs
    return voice.enrol(audio[channel][: len(own) * WINDOW], own, noise_floor_dbfs=floor)


def report(m: Measurement, roles: tuple[str, ...], vp: voice.VoicePrint | None) -> list[str]:
    lines = [f"measured {m.duration_s:.0f} s ({m.quiet_s:.0f} s of room noise)"]
    for i, c in enumerate(m.channels):
        role = roles[i] if i < len(roles) else "?"
        floor = "–" if c.noise_floor_dbfs is None else f"{c.noise_floor_dbfs:.1f} dBFS"
        speech = "–" if c.speech_dbfs is None else f"{c.speech_dbfs:.1f} dBFS"
        lines.append(f"channel {i + 1} → {role}: noise floor {floor}, speech {speech}; "
                     f"{snr_verdict(c.snr_db)}")
        if (clip := clip_verdict(c)) is not None:
            lines.append(f"  {clip}")
    for a, row in enumerate(m.bleed_db):
        for b, bleed in enumerate(row):
            if bleed is not None:
                lines.append(f"crosstalk: channel {a + 1}'s speaker in channel {b + 1}: "
                             f"{bleed:.1f} dB")
                if (warn := bleed_verdict(bleed)) is not None:
                    lines.append(f"  {warn}")
    if len(m.channels) > 1:
        lines.append(f"suggested crosstalk margin: {suggested_margin_db(m):.1f} dB")
    if vp is not None:
        issues = f" ({'; '.join(vp.issues)})" if vp.issues else ""
        lines.append(f"voice enrolment: {vp.speech_s:.0f} s of speech, quality "
                     f"{vp.quality}/100{issues}")
    return lines


def save(cal: Calibration, path: Path) -> Path:
    """Write the profile (and the voice print beside it)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if cal.voice is not None and cal.profile.voice is not None:
            voice.save(cal.voice, cal.profile.voice)
        text = dumps(cal.profile)
        if cal.profile.voice is not None:  # stored relative: the folder can move
            text = text.replace(str(cal.profile.voice), cal.profile.voice.name)
        atomic_write(path, text)  # whole, and private even over an older profile
    except OSError as exc:
        raise OutputError(f"cannot write the profile {path}: {exc.strerror or exc}") from exc
    return path
