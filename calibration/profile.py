"""The microphone profile: a small, versioned TOML file that `live` and `analyze` read.

    version = 1
    device = "USB Audio Device"        # optional: sounddevice name or index
    channels = ["therapist", "client"] # role of each input channel, in order
    crosstalk_margin_db = 6.0          # bleed rejection (see live_attune.speakers.channels)
    noise_floor_dbfs = [-62.0, -60.5]  # optional, one per channel, from calibration
    speech_dbfs = [-24.1, -26.3]       # optional: each speaker's level on their channel
    snr_db = [38.0, 34.2]              # optional: speech over room noise, per channel
    bleed_db = [[0.0, -14.2], [-13.8, 0.0]]  # optional: row a's voice in column b's mic
    voice = "therapist-voice.npz"      # optional: voice print (beside the profile)
    call_device = "Monitor of Speakers" # optional, video calls: the call's audio input
    echo_db = -18.5                    # optional: the call's voice in the microphone (echo)
    echo_delay_ms = 120.0              # optional: how late it arrives there
    calibrated = "2026-11-27T09:00:00" # optional: when

Loading checks every field and names the one that is wrong; an unknown version or a file
that is not a live-attune profile is refused with one clear line. Profiles live in the
user's data directory and never leave the machine.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.errors import UsageError
from live_attune.speakers.channels import ChannelMap

VERSION = 1
KNOWN = {"version", "device", "channels", "crosstalk_margin_db", "noise_floor_dbfs",
         "speech_dbfs", "snr_db", "bleed_db", "voice", "calibrated", "call_device",
         "echo_db", "echo_delay_ms"}


class ProfileError(UsageError):
    """A profile that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, kw_only=True)
class Profile:
    channels: ChannelMap
    device: str | int | None = None
    crosstalk_margin_db: float = 6.0
    noise_floor_dbfs: tuple[float, ...] | None = None
    speech_dbfs: tuple[float, ...] | None = None
    snr_db: tuple[float, ...] | None = None
    bleed_db: tuple[tuple[float, ...], ...] | None = None
    voice: Path | None = None  # absolute once loaded
    calibrated: str | None = None
    # Video calls (calibrate --call): the call's audio input, and the call's voice as the
    # microphone picks it up from the speakers (None: headphones, or not measured).
    call_device: str | int | None = None
    echo_db: float | None = None
    echo_delay_ms: float | None = None


def load(path: Path) -> Profile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: not a readable TOML profile ({exc})") from None
    profile = parse(raw, str(path))
    if profile.voice is not None and not profile.voice.is_absolute():
        from dataclasses import replace

        profile = replace(profile, voice=path.parent / profile.voice)
    return profile


def parse(raw: dict[str, Any], source: str) -> Profile:
    version = raw.get("version")
    if version is None:
        raise ProfileError(f"{source}: field 'version' is missing (not a live-attune profile?)")
    if version != VERSION:
        raise ProfileError(f"{source}: field 'version' is {version!r}; this live-attune reads "
                           f"version {VERSION} profiles")
    unknown = sorted(set(raw) - KNOWN)
    if unknown:
        raise ProfileError(f"{source}: unknown field {unknown[0]!r}")
    roles = raw.get("channels")
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise ProfileError(f"{source}: field 'channels' must be a list of roles, "
                           "e.g. [\"therapist\", \"client\"]")
    try:
        cmap = ChannelMap(roles=tuple(roles))
    except UsageError as exc:
        raise ProfileError(f"{source}: field 'channels': {exc}") from None
    if len(roles) > 1 and not {THERAPIST, CLIENT} <= set(roles):
        # A map without both roles measures nobody's listening: the therapist would be
        # shown at 100 % of the talk. One microphone is ["shared"].
        raise ProfileError(f"{source}: field 'channels' {roles} names no "
                           f"{THERAPIST if THERAPIST not in roles else CLIENT}; "
                           "a profile of two or more channels needs both (run calibrate "
                           "again, or fix the field by hand)")
    n = len(roles)
    return Profile(channels=cmap, device=_device(raw.get("device"), source),
                   crosstalk_margin_db=_margin(raw.get("crosstalk_margin_db", 6.0), source),
                   noise_floor_dbfs=_levels(raw, "noise_floor_dbfs", n, source, -160, 0),
                   speech_dbfs=_levels(raw, "speech_dbfs", n, source, -160, 0),
                   snr_db=_levels(raw, "snr_db", n, source, -60, 160),
                   bleed_db=_bleed(raw.get("bleed_db"), n, source),
                   voice=_text(raw, "voice", source, Path),
                   calibrated=_text(raw, "calibrated", source, str),
                   call_device=_device(raw.get("call_device"), source, "call_device"),
                   echo_db=_scalar(raw, "echo_db", source, -120, 40),
                   echo_delay_ms=_scalar(raw, "echo_delay_ms", source, 0, 1000))


def dumps(profile: Profile) -> str:
    lines = [f"version = {VERSION}"]
    if profile.device is not None:
        lines.append(f"device = {_toml(profile.device)}")
    lines.append(f"channels = [{', '.join(_toml(r) for r in profile.channels.roles)}]")
    lines.append(f"crosstalk_margin_db = {profile.crosstalk_margin_db!r}")
    for name in ("noise_floor_dbfs", "speech_dbfs", "snr_db"):
        values = getattr(profile, name)
        if values is not None:
            lines.append(f"{name} = [{', '.join(repr(round(v, 2)) for v in values)}]")
    if profile.bleed_db is not None:
        rows = ", ".join("[" + ", ".join(repr(round(v, 2)) for v in row) + "]"
                         for row in profile.bleed_db)
        lines.append(f"bleed_db = [{rows}]")
    if profile.voice is not None:
        lines.append(f"voice = {_toml(str(profile.voice))}")
    if profile.calibrated is not None:
        lines.append(f"calibrated = {_toml(profile.calibrated)}")
    if profile.call_device is not None:
        lines.append(f"call_device = {_toml(profile.call_device)}")
    for name in ("echo_db", "echo_delay_ms"):
        value = getattr(profile, name)
        if value is not None:
            lines.append(f"{name} = {round(value, 1)!r}")
    return "\n".join(lines) + "\n"


def _toml(value: str | int) -> str:
    return str(value) if isinstance(value, int) else '"' + value.replace("\\", "\\\\").replace(
        '"', '\\"') + '"'


def _device(value: object, source: str, name: str = "device") -> str | int | None:
    if value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
        return value
    raise ProfileError(f"{source}: field '{name}' must be a device name or index")


def _scalar(raw: dict[str, Any], name: str, source: str, lo: float, hi: float
            ) -> float | None:
    value = raw.get(name)
    if value is None:
        return None
    if not _number(value, lo, hi):
        raise ProfileError(f"{source}: field '{name}' must be a number between {lo:g} and "
                           f"{hi:g}")
    return float(cast(float, value))


def _margin(value: object, source: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 40:
        return float(value)
    raise ProfileError(f"{source}: field 'crosstalk_margin_db' must be a number of dB "
                       "between 0 and 40")


def _number(v: object, lo: float, hi: float) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and lo <= v <= hi)


def _levels(raw: dict[str, Any], name: str, channels: int, source: str, lo: float,
            hi: float) -> tuple[float, ...] | None:
    value = raw.get(name)
    if value is None:
        return None
    if not (isinstance(value, list) and len(value) == channels
            and all(_number(v, lo, hi) for v in value)):
        raise ProfileError(f"{source}: field '{name}' must list one number of dB "
                           f"({lo:g}..{hi:g}) per channel ({channels})")
    return tuple(float(v) for v in value)


def _bleed(value: object, channels: int, source: str) -> tuple[tuple[float, ...], ...] | None:
    if value is None:
        return None
    ok = (isinstance(value, list) and len(value) == channels
          and all(isinstance(row, list) and len(row) == channels
                  and all(_number(v, -120, 40) for v in row) for row in value))
    if not ok:
        raise ProfileError(f"{source}: field 'bleed_db' must be a {channels}×{channels} list of "
                           "lists of dB")
    rows = cast(list[list[float]], value)  # checked just above: channels×channels numbers
    return tuple(tuple(float(v) for v in row) for row in rows)


def _text(raw: dict[str, Any], name: str, source: str, kind: type) -> Any:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ProfileError(f"{source}: field '{name}' must be a non-empty string")
    return kind(value)
