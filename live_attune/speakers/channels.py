"""Speaker attribution with one microphone per person (channel → role map).

A lapel or desk microphone also hears the other person, typically 10–20 dB down (crosstalk,
or bleed). The VAD cannot tell bleed from speech, so a channel's speech only counts for its
role when the channel is not much quieter than another channel whose VAD also hears speech:
bleed sits ``bleed`` dB below its source and is rejected, while real overlapping speech puts
both channels near their own speaker's level and counts for both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from live_attune.errors import ChannelMapError

IGNORE = "ignore"
SHARED = "shared"  # one microphone for everyone: no channel tells who speaks
_ROLE = re.compile(r"^(therapist|client(_[2-9])?)$")


@dataclass(frozen=True, kw_only=True)
class ChannelMap:
    """The role carried by each input channel, in channel order (``ignore`` skips one)."""

    roles: tuple[str, ...]

    def __post_init__(self) -> None:
        if SHARED in self.roles:
            if self.roles != (SHARED,):
                raise ChannelMapError(f"{SHARED!r} (one microphone for everyone) stands alone")
            return
        named = [r for r in self.roles if r != IGNORE]
        bad = [r for r in named if not _ROLE.match(r)]
        if bad:
            raise ChannelMapError(f"unknown role {bad[0]!r}: use therapist, client, client_2 ... "
                                  f"or {IGNORE}")
        if not named:
            raise ChannelMapError("the channel map names no speaker")
        if len(set(named)) != len(named):
            raise ChannelMapError(f"a role appears twice in {','.join(self.roles)}")

    @classmethod
    def parse(cls, text: str) -> ChannelMap:
        return cls(roles=tuple(part.strip() for part in text.split(",") if part.strip()))

    @property
    def speakers(self) -> tuple[str, ...]:
        return tuple(r for r in self.roles if r != IGNORE)

    @property
    def channel_indices(self) -> tuple[int, ...]:
        return tuple(i for i, r in enumerate(self.roles) if r != IGNORE)

    def check(self, channels: int, source: str) -> None:
        if len(self.roles) != channels:
            raise ChannelMapError(
                f"--channels names {len(self.roles)} roles ({','.join(self.roles)}) but {source} "
                f"has {channels} channel{'s' if channels != 1 else ''}; give one role per channel")


@dataclass(frozen=True, kw_only=True)
class CrosstalkConfig:
    """A channel ``margin_db`` or more below another channel is bleed, not its own speaker.

    Levels are short-time power averaged over ``smooth_frames`` VAD frames centred on each
    frame (5 × 32 ms), so a weak phoneme inside someone's speech is judged by its loud
    neighbours. The other channels' levels are held at their maximum for ``hold_frames``
    (8 × 32 ms): when a speaker stops, the room's reverberant tail and the VAD's hang-over on
    the neighbouring microphone outlast the speaker's own, dry microphone. Bleed measured in
    practice is 10–20 dB, so the 6 dB margin rejects it, while a speaker up to 6 dB quieter
    than the other, talking at the same time, still counts.
    """

    margin_db: float = 6.0
    smooth_frames: int = 5
    hold_frames: int = 8

    def __post_init__(self) -> None:
        if not 0.0 < self.margin_db < 40.0:
            raise ValueError("margin_db must be between 0 and 40 dB")
        if self.smooth_frames < 1 or self.smooth_frames % 2 == 0:
            raise ValueError("smooth_frames must be a positive odd number")
        if self.hold_frames < 0:
            raise ValueError("hold_frames must be >= 0")


def attribute(vad: np.ndarray, own_db: np.ndarray, held_db: np.ndarray,
              margin_db: float) -> np.ndarray:
    """Per-channel speech flags with bleed removed.

    All arrays are ``(channels, frames)``: ``own_db`` each channel's level, ``held_db`` the
    level it is compared against from the other channels' point of view (max-held). Channel i
    speaks in a frame if its VAD fires and no other channel's held level is ``margin_db`` or
    more above its own. Other channels count whether or not their own VAD fired: a VAD
    misses word edges that the neighbouring microphone's bleed still carries.
    """
    if vad.shape[0] == 1:
        return vad.copy()
    order = np.sort(held_db, axis=0)
    loudest, second = order[-1], order[-2]
    # The loudest *other* channel: the second loudest for the loudest channel itself.
    other = np.where(held_db >= loudest, second, loudest)
    gated: np.ndarray = vad & (own_db > other - margin_db)
    return gated


class CrosstalkGate:
    """Streaming ``attribute`` with level smoothing and hold; decisions lag by 2 frames.

    ``push`` takes VAD flags and per-frame mean-square power ``(channels, k)`` and returns
    the flags of the frames now decidable (all but the last ``smooth_frames // 2``);
    ``flush`` returns the rest at the end of the stream.
    """

    def __init__(self, channels: int, config: CrosstalkConfig) -> None:
        self.config = config
        self._half = config.smooth_frames // 2
        self._keep = config.hold_frames + self._half  # decided frames kept as left context
        self._flags = np.zeros((channels, 0), bool)
        self._power = np.zeros((channels, 0), np.float64)  # left context + undecided

    def push(self, flags: np.ndarray, power: np.ndarray) -> np.ndarray:
        self._flags = np.concatenate([self._flags, flags], axis=1)
        self._power = np.concatenate([self._power, power], axis=1)
        return self._decide(max(0, self._flags.shape[1] - self._half))

    def flush(self) -> np.ndarray:
        return self._decide(self._flags.shape[1])

    def _decide(self, k: int) -> np.ndarray:
        channels = self._flags.shape[0]
        if k == 0:
            return np.zeros((channels, 0), bool)
        left = self._power.shape[1] - self._flags.shape[1]
        levels = _smoothed_db(self._power, self.config.smooth_frames)
        held = _held(levels, self.config.hold_frames)
        span = slice(left, left + k)
        out = attribute(self._flags[:, :k], levels[:, span], held[:, span],
                        self.config.margin_db)
        self._flags = self._flags[:, k:]
        self._power = self._power[:, max(0, left + k - self._keep):]
        return out


def _smoothed_db(power: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean of power, in dB; the edges average what exists."""
    kernel = np.ones(width)
    sums = np.stack([np.convolve(row, kernel, mode="same") for row in power])
    counts = np.convolve(np.ones(power.shape[1]), kernel, mode="same")
    return 10.0 * np.log10(sums / counts + 1e-12)


def _held(levels: np.ndarray, hold: int) -> np.ndarray:
    """Each frame's maximum level over itself and the ``hold`` frames before it."""
    if hold == 0:
        return levels
    padded = np.concatenate([np.full((levels.shape[0], hold), -np.inf), levels], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, hold + 1, axis=1)
    held: np.ndarray = windows.max(axis=2)
    return held


def default_map(channels: int, source: str) -> ChannelMap:
    """Stereo defaults to therapist,client; other counts must be named."""
    if channels == 2:
        return ChannelMap(roles=("therapist", "client"))
    raise ChannelMapError(
        f"{source} has {channels} channels: say which role each carries, e.g. --channels "
        + ",".join(["therapist", "client", *[IGNORE] * max(0, channels - 2)][:channels]))


def roles_for(channel_map: Sequence[str]) -> tuple[str, ...]:
    return tuple(r for r in channel_map if r != IGNORE)
