"""The microphone profile: a small, versioned TOML file that `live` and `analyze` read.

    version = 1
    device = "USB Audio Device"        # optional: sounddevice name or index
    channels = ["therapist", "client"] # role of each input channel, in order
    crosstalk_margin_db = 6.0          # bleed rejection (see live_attune.speakers.channels)
    noise_floor_dbfs = [-62.0, -60.5]  # optional, one per channel, from calibration

Loading checks every field and names the one that is wrong; an unknown version or a file
that is not a live-attune profile is refused with one clear line. Profiles live in the
user's data directory and never leave the machine.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from live_attune.errors import UsageError
from live_attune.speakers.channels import ChannelMap

VERSION = 1
KNOWN = {"version", "device", "channels", "crosstalk_margin_db", "noise_floor_dbfs"}


class ProfileError(UsageError):
    """A profile that cannot be used; the message names the file and the field."""


@dataclass(frozen=True, kw_only=True)
class Profile:
    channels: ChannelMap
    device: str | int | None = None
    crosstalk_margin_db: float = 6.0
    noise_floor_dbfs: tuple[float, ...] | None = None


def load(path: Path) -> Profile:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: not a readable TOML profile ({exc})") from None
    return parse(raw, str(path))


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
    return Profile(channels=cmap, device=_device(raw.get("device"), source),
                   crosstalk_margin_db=_margin(raw.get("crosstalk_margin_db", 6.0), source),
                   noise_floor_dbfs=_floors(raw.get("noise_floor_dbfs"), len(roles), source))


def dumps(profile: Profile) -> str:
    lines = [f"version = {VERSION}"]
    if profile.device is not None:
        lines.append(f"device = {_toml(profile.device)}")
    lines.append(f"channels = [{', '.join(_toml(r) for r in profile.channels.roles)}]")
    lines.append(f"crosstalk_margin_db = {profile.crosstalk_margin_db!r}")
    if profile.noise_floor_dbfs is not None:
        lines.append(f"noise_floor_dbfs = [{', '.join(repr(v) for v in profile.noise_floor_dbfs)}]")
    return "\n".join(lines) + "\n"


def _toml(value: str | int) -> str:
    return str(value) if isinstance(value, int) else '"' + value.replace("\\", "\\\\").replace(
        '"', '\\"') + '"'


def _device(value: object, source: str) -> str | int | None:
    if value is None or (isinstance(value, (str, int)) and not isinstance(value, bool)):
        return value  # type: ignore[return-value]
    raise ProfileError(f"{source}: field 'device' must be a device name or index")


def _margin(value: object, source: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < 40:
        return float(value)
    raise ProfileError(f"{source}: field 'crosstalk_margin_db' must be a number of dB "
                       "between 0 and 40")


def _floors(value: object, channels: int, source: str) -> tuple[float, ...] | None:
    if value is None:
        return None
    ok = (isinstance(value, list) and len(value) == channels and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        and -160 <= v <= 0 for v in value))
    if not ok:
        raise ProfileError(f"{source}: field 'noise_floor_dbfs' must list one level in dBFS "
                           f"(-160..0) per channel ({channels})")
    return tuple(float(v) for v in value)  # type: ignore[union-attr]
