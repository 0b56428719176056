"""Speaker attribution with one microphone per person (channel → role map).

A lapel or desk microphone also hears the other person, typically 8–20 dB down (crosstalk,
or bleed). The VAD cannot tell bleed from speech, so a channel's speech only counts for its
role where it carries more than the other channels explain: ``crosstalk.py`` models how each
voice reaches each microphone, band by band, and a channel counts where enough bands rise
clearly over that prediction. Overlapping voices count for both speakers (issue 17).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from live_attune.audio.vad import WINDOW
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import ActivityFrame
from live_attune.core.frames import true_runs
from live_attune.core.roles import CLIENT, THERAPIST
from live_attune.errors import ChannelMapError
from live_attune.speakers.crosstalk import BANDS, TICK, CrosstalkModel, ModelParams, TickEnergy

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
        roles = tuple(part.strip() for part in text.split(","))
        if "" in roles:  # ",client" would silently be one role for one channel fewer
            raise ChannelMapError(f"--channels {text!r} leaves a channel without a role: "
                                  f"name each one (therapist, client, ... or {IGNORE})")
        return cls(roles=roles)

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


METHODS = ("model", "level")


@dataclass(frozen=True, kw_only=True)
class CrosstalkConfig:
    """How a channel's speech is told from the other speakers' bleed into its microphone.

    ``method="model"`` (the default; ``crosstalk.py``): a window counts for channel i where,
    in ``min_bands`` or more of its 80 frequency bands (averaged over ``own_frames`` windows
    centred on it), the channel carries ``band_margin_db`` more than the bleed predicted from
    the other channels. The bleed gain starts at ``bleed_db`` (a profile's calibrated
    crosstalk, see ``crosstalk_for``, or a cautious -8 dB, the loudest bleed seen in
    practice) and is learnt online from windows where one person speaks alone; the other
    channels' levels are held with a decay of ``tail_db_per_frame`` for the room's
    reverberant tail. Overlapping voices are kept: the quieter voice still owns the bands
    where the louder one is weak.

    ``max_delay_ms``: how late another channel's voice may reach this microphone (a video
    call's echo, 20-300 ms; microphones in one room: at once); the model measures the delay
    from solo stretches, starting from ``delay_ms`` (a profile's measured echo delay).

    ``edge_shift_ms``: each run of speech windows is taken to start this far into its first
    window and to end this far before the end of its last (``EdgeAligner``): flagged windows
    overhang their speech at both ends.

    ``edge_search_ms`` (0: off): each edge is then placed on 8 ms ticks (``EdgeRefiner``)
    within this distance of the shifted one, where the channel's own energy (``TickEnergy``:
    the FFT bins ``edge_mask_db`` over the other channels' held power) crosses
    ``edge_onset_db`` (onsets) or ``edge_offset_db`` (offsets; higher, over the room's tail)
    under the speaker's running speech level, and ``edge_noise_db`` over its noise floor
    (measured where nobody speaks) and, for an onset under another voice, ``edge_bleed_db``
    over what that voice's bleed leaves (the ``edge_bleed_quantile`` of the own energy where
    only others speak: bleed swings with the other voice's syllables, and onsets crept back
    over its louder moments). An offset tick
    must also be no more than ``edge_tail_db`` under the channel's own recent energy (a
    running mean decaying ``tail_db_per_frame`` per window, as a room's tail does): after a
    voice stops, its own microphone still hears the room's tail of it, starting about the
    room's direct-to-reverberant ratio (8-16 dB) under the voice and decaying; a room whose
    tail starts within ``edge_tail_db`` of the voice is not told apart this way.

    ``method="level"`` (the earlier gate; issue 17): a channel ``margin_db`` (a profile's
    ``crosstalk_margin_db``, calibrated for this gate) or more below the other channels'
    level held at its maximum for ``hold_frames`` is bleed. Levels are power averaged over
    ``smooth_frames`` windows centred on each (5 × 32 ms). It loses the quieter voice in
    overlap, as syllable levels swing ±10 dB against each other.
    """

    method: str = "model"
    margin_db: float = 6.0
    smooth_frames: int = 5
    hold_frames: int = 8
    own_frames: int = 3
    band_margin_db: float = 6.0
    bleed_db: float = -8.0
    min_bands: float = 13.0
    tail_db_per_frame: float = 3.0
    solo_db: float = 6.0
    floor_db: float = 10.0
    gain_step_db: float = 0.3
    gain_quantile: float = 0.5
    edge_shift_ms: float = 8.0
    max_delay_ms: float = 320.0
    delay_ms: float = 0.0
    edge_search_ms: float = 64.0
    edge_onset_db: float = -20.0
    edge_offset_db: float = -14.0
    edge_noise_db: float = 6.0
    edge_mask_db: float = -4.0
    edge_tail_db: float = 11.0
    edge_bleed_quantile: float = 0.8
    edge_bleed_db: float = 2.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"crosstalk method must be one of {', '.join(METHODS)}")
        if not (0.0 < self.margin_db < 40.0 and 0.0 < self.band_margin_db < 40.0):
            raise ValueError("margin_db and band_margin_db must be between 0 and 40 dB")
        for frames in (self.smooth_frames, self.own_frames):
            if frames < 1 or frames % 2 == 0:
                raise ValueError("smooth_frames and own_frames must be positive odd numbers")
        if self.hold_frames < 0:
            raise ValueError("hold_frames must be >= 0")
        if not -60.0 < self.bleed_db < 0.0:
            raise ValueError("bleed_db must be between -60 and 0 dB")
        if not 0.0 < self.min_bands <= BANDS:
            raise ValueError(f"min_bands must be in (0, {BANDS}]")
        if self.tail_db_per_frame <= 0.0 or self.gain_step_db <= 0.0:
            raise ValueError("tail_db_per_frame and gain_step_db must be positive")
        if not 0.0 <= self.delay_ms <= self.max_delay_ms <= 1000.0:
            raise ValueError("need 0 <= delay_ms <= max_delay_ms <= 1000")
        if not 0.0 <= self.edge_shift_ms < 16.0:
            raise ValueError("edge_shift_ms must be >= 0 and under half a window (16 ms)")
        if not 0.0 <= self.edge_search_ms <= 64.0:  # farther, an edge could reach into
            # ticks already emitted: block splits would change the frames (EdgeRefiner holds
            # back the windows its search needs; two at most: 64 ms more latency)
            raise ValueError("edge_search_ms must be between 0 and 64 ms (two windows)")
        if self.edge_tail_db <= 0.0:
            raise ValueError("edge_tail_db must be positive")
        if not 0.0 < self.edge_bleed_quantile < 1.0:
            raise ValueError("edge_bleed_quantile must be between 0 and 1")
        if not 0.0 <= self.edge_bleed_db < 40.0:  # (NaN fails too)
            raise ValueError("edge_bleed_db must be between 0 and 40 dB")
        if not (self.edge_onset_db < 0.0 and self.edge_offset_db < 0.0):
            raise ValueError("edge_onset_db and edge_offset_db are under the speech level: < 0")

    @property
    def edge_shift_samples(self) -> int:
        return round(self.edge_shift_ms * SAMPLE_RATE / 1000.0)

    def model_params(self) -> ModelParams:
        window_ms = 1000.0 * WINDOW / SAMPLE_RATE
        return ModelParams(margin_db=self.band_margin_db, bleed_db=self.bleed_db,
                           tail_db_per_frame=self.tail_db_per_frame, solo_db=self.solo_db,
                           floor_db=self.floor_db, gain_step_db=self.gain_step_db,
                           gain_quantile=self.gain_quantile,
                           max_delay_frames=round(self.max_delay_ms / window_ms),
                           delay_frames=round(self.delay_ms / window_ms))


def crosstalk_for(margin_db: float, bleed_db: Sequence[Sequence[float]] | None
                  ) -> CrosstalkConfig:
    """A profile's gate settings: its margin (the level gate's) and, where it measured the
    bleed between microphones (row a's voice in column b's mic), the loudest bleed as the
    model's starting gain."""
    bleeds = [b for a, row in enumerate(bleed_db or ()) for c, b in enumerate(row) if a != c]
    if not bleeds:
        return CrosstalkConfig(margin_db=margin_db)
    return CrosstalkConfig(margin_db=margin_db, bleed_db=min(-1.0, max(-40.0, max(bleeds))))


def attribute(vad: np.ndarray, own_db: np.ndarray, held_db: np.ndarray,
              margin_db: float) -> np.ndarray:
    """The level gate's per-channel speech flags with bleed removed.

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
    """Streaming crosstalk rejection; decisions lag by half the smoothing width (model: 1
    window, 32 ms; level: 2 windows).

    ``push`` takes VAD flags ``(channels, k)`` and band power ``(channels, k, BANDS)``
    (``band_power``) of the same windows and returns the flags of the windows now decidable
    (all but the lag's); ``flush`` returns the rest at the end of the stream. Pushing a stream
    in any pieces gives the same flags (the model's state is causal).
    """

    def __init__(self, channels: int, config: CrosstalkConfig) -> None:
        self.config = config
        model = config.method == "model"
        self._width = config.own_frames if model else config.smooth_frames
        self._half = self._width // 2
        self._model = (CrosstalkModel(channels, config.model_params())
                       if model and channels > 1 else None)
        self._keep = self._half if model else config.hold_frames + self._half
        self._flags = np.zeros((channels, 0), bool)
        self._values = np.zeros((channels, 0), np.float64)  # left context + undecided

    def push(self, flags: np.ndarray, bands: np.ndarray) -> np.ndarray:
        # the model: own bands per window; the level gate: power per window
        values = self._model.scores(flags, bands) if self._model else bands.sum(axis=2)
        self._flags = np.concatenate([self._flags, flags], axis=1)
        self._values = np.concatenate([self._values, values], axis=1)
        return self._decide(max(0, self._flags.shape[1] - self._half))

    def flush(self) -> np.ndarray:
        return self._decide(self._flags.shape[1])

    @property
    def delay(self) -> np.ndarray | None:
        """The model's path delays (windows, ``[into i, from j]``); None without a model."""
        return None if self._model is None else self._model.delay.copy()

    def _decide(self, k: int) -> np.ndarray:
        channels = self._flags.shape[0]
        if k == 0:
            return np.zeros((channels, 0), bool)
        left = self._values.shape[1] - self._flags.shape[1]
        span = slice(left, left + k)
        if channels == 1:  # one microphone scored for speech activity: nothing to gate
            out = self._flags[:, :k].copy()
        elif self._model is not None:
            own = _smoothed(self._values, self._width)
            out = self._flags[:, :k] & (own[:, span] >= self.config.min_bands)
        else:
            levels = 10.0 * np.log10(_smoothed(self._values, self._width) + 1e-12)
            held = _held(levels, self.config.hold_frames)
            out = attribute(self._flags[:, :k], levels[:, span], held[:, span],
                            self.config.margin_db)
        self._flags = self._flags[:, k:]
        self._values = self._values[:, max(0, left + k - self._keep):]
        return out


def _smoothed(values: np.ndarray, width: int) -> np.ndarray:
    """Centred moving mean along time; the edges average what exists."""
    kernel = np.ones(width)
    sums = np.stack([np.convolve(row, kernel, mode="same") for row in values])
    counts = np.convolve(np.ones(values.shape[1]), kernel, mode="same")
    out: np.ndarray = sums / counts
    return out


def _held(levels: np.ndarray, hold: int) -> np.ndarray:
    """Each frame's maximum level over itself and the ``hold`` frames before it."""
    if hold == 0:
        return levels
    padded = np.concatenate([np.full((levels.shape[0], hold), -np.inf), levels], axis=1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, hold + 1, axis=1)
    held: np.ndarray = windows.max(axis=2)
    return held


class EdgeAligner:
    """Per-window speech flags → activity frames with each run's edges where they are.

    A window is flagged when speech covers enough of it, so a run of flagged windows starts
    before its speech and ends after it: measured on the hard generator's rooms after the
    crosstalk model (``python -m bench.bench_gate``), runs started a median 12 ms early and
    ended 14 ms late, and a backchannel of 0.97 s of speech read as 1.00 s. Each run is
    therefore taken to start ``shift`` samples into its first window and to end ``shift``
    samples before the end of its last. Frames are cut at those points where a run starts
    or ends and are whole windows elsewhere; the cut of a window's end needs the next window,
    so frames lag the flags by one window.
    """

    def __init__(self, channels: int, window: int, *, shift: int) -> None:
        if not 0 <= 2 * shift < window:
            raise ValueError("shift must be >= 0 and under half a window")
        self._window, self._shift = window, shift
        self._prev = np.zeros(channels, bool)
        self._pending: np.ndarray | None = None  # the window awaiting its successor
        self.next_sample = 0  # where the next window's frames start

    def hear(self, audio: np.ndarray, delay: np.ndarray | None = None) -> None:
        """Audio is not needed: edges are placed within the windows."""

    def push(self, active: np.ndarray) -> list[ActivityFrame]:
        """``(channels, k)`` flags, in order → the frames now decidable."""
        out: list[ActivityFrame] = []
        for column in active.T:
            if self._pending is not None:
                out.extend(self._emit(self._pending, column))
            self._pending = column.astype(bool)
        return out

    def flush(self) -> list[ActivityFrame]:
        """The last window's frames (nothing follows it)."""
        if self._pending is None:
            return []
        out = self._emit(self._pending, np.zeros_like(self._pending))
        self._pending = None
        return out

    def _emit(self, current: np.ndarray, following: np.ndarray) -> list[ActivityFrame]:
        at, w, s = self.next_sample, self._window, self._shift
        parts = ((at, at + s, current & self._prev), (at + s, at + w - s, current),
                 (at + w - s, at + w, current & following))
        self._prev, self.next_sample = current, at + w
        out: list[ActivityFrame] = []
        for start, end, flags in parts:
            active = tuple(flags.tolist())
            if end <= start:
                continue
            if out and out[-1].active == active:
                out[-1] = ActivityFrame(out[-1].start, end, active)
            else:
                out.append(ActivityFrame(start, end, active))
        return out


_TICKS = WINDOW // TICK  # ticks per window
_LEVEL_STEP_DB = 0.25  # running median of the speaker's own energy, per flagged tick
_FLOOR_DOWN_DB, _FLOOR_UP_DB = 0.475, 0.025  # running 5 % quantile: the noise floor


class EdgeRefiner:
    """Per-window speech flags and the audio → activity frames with each run's edges placed
    on 8 ms ticks (issue 17: a 32 ms window places an edge only to within about ±35 ms,
    and a bout of several runs sums those errors at backchannel_max's edge).

    Each run of flagged windows first starts ``shift`` ticks into its first window and ends
    ``shift`` before the end of its last (as ``EdgeAligner``). Then, within ``search`` ticks:
    the onset moves back over the ticks before it whose own energy (``TickEnergy``) is over
    the onset threshold, or, where that tick is under it, forward to the first tick over it;
    the offset likewise with the offset threshold. Thresholds: ``onset_db``/``offset_db``
    under the speaker's running speech level (the median of the own energy of flagged
    windows) and ``noise_db`` over the running noise floor, both as they stood at the run's
    first (onset) or last (offset) window, so that any pieces give the same frames. Under
    another voice an onset must also be ``edge_bleed_db`` over the bleed's running
    ``edge_bleed_quantile`` (the own energy where only other channels speak; hard seeds
    21-40, 6 dB over the median: backchannels counted as interruptions 8 -> 6, bc P/R
    0.89/0.88 -> 0.92/0.90; seeds 1-40, 2 dB over the 0.8 quantile: 7 -> 4, see
    bench/bench_gate.py: backchannel onsets crept back 60-90 ms over the bleed's louder
    syllables, hard seeds 37 and 38). An edge
    with no tick over its threshold stays where the shift put it. An offset also stops where
    the energy falls ``edge_tail_db`` under the channel's own recent energy (``_own_tail``):
    what the own microphone still hears then is the room's tail of the voice (hard
    generator, seeds 1-10: offsets where the speaker is alone, p90 +60 -> +58 ms and under
    another voice +34 -> +20 ms; a backchannel read as 1.00 s of speech instead of 0.96 s
    became an interruption).

    Frames lag the flags by the windows an edge may move into (``_hold``: one window per
    32 ms of search, two at the default 64 ms) and the audio by ``shift + search`` ticks.
    """

    def __init__(self, channels: int, config: CrosstalkConfig) -> None:
        self._shift = round(config.edge_shift_samples / TICK)
        self._search = round(config.edge_search_ms * SAMPLE_RATE / 1000.0 / TICK)
        self._db = (config.edge_onset_db, config.edge_offset_db, config.edge_noise_db)
        self._bleed_q, self._bleed_db = config.edge_bleed_quantile, config.edge_bleed_db
        self._ticks = TickEnergy(channels, mask_db=config.edge_mask_db,
                                 tail_db_per_tick=config.tail_db_per_frame / _TICKS,
                                 max_delay_windows=config.model_params().max_delay_frames)
        self._energy = np.zeros((channels, 0))  # dB per tick, from window _w0's first
        self._tail = np.zeros((channels, 0))  # own tail limit per tick (dB), as _energy
        self._recent: np.ndarray | None = None  # one-pole mean of the own power, per channel
        self._decay = 10.0 ** (-config.tail_db_per_frame / _TICKS / 10.0)  # per tick
        self._tail_db = config.edge_tail_db
        # windows held back: an edge moved by the search stays in ticks not yet emitted
        self._hold = max(1, -(-(self._search + self._shift - 1) // _TICKS))
        self._flags = np.zeros((channels, 0), bool)  # from window _w0
        self._thresholds = np.zeros((3, channels, 0))  # onset, offset, onset under
        # another voice: dB per window
        self._level: np.ndarray | None = None
        self._bleed: np.ndarray | None = None  # a high quantile of what bleed leaves, dB
        self._floor: np.ndarray | None = None
        self._w0 = 0  # the first window held
        self._done = 0  # the first window not yet made frames
        self.next_sample = 0

    def hear(self, audio: np.ndarray, delay: np.ndarray | None = None) -> None:
        """``(channels, n)`` audio, in order (ahead of or with its windows' flags); ``delay``:
        the crosstalk model's path delays now (``CrosstalkGate.delay``, windows)."""
        if delay is not None:
            self._ticks.delay = delay
        energy = self._ticks.push(audio)
        self._energy = np.concatenate([self._energy, energy], axis=1)
        self._tail = np.concatenate([self._tail, self._own_tail(energy)], axis=1)
        self._learn()

    def _own_tail(self, energy: np.ndarray) -> np.ndarray:
        """The lowest energy (dB) each tick may have and still end a run as speech: the
        channel's own power before it, averaged with the room's decay, less ``edge_tail_db``."""
        power = 10.0 ** (energy / 10.0)
        if self._recent is None:
            self._recent = np.zeros(energy.shape[0])
        a = self._decay
        # each tick's limit is the mean before it, decayed one tick
        before, self._recent = decayed_means(power, self._recent, a)
        limit: np.ndarray = 10.0 * np.log10(a * before + 1e-12) - self._tail_db
        return limit

    def push(self, active: np.ndarray) -> list[ActivityFrame]:
        """``(channels, k)`` flags, in order → the frames now decidable."""
        self._flags = np.concatenate([self._flags, active.astype(bool)], axis=1)
        self._learn()
        known = self._w0 + self._flags.shape[1]
        ticks = _TICKS * self._w0 + self._energy.shape[1]
        ready = (ticks - self._shift - self._search) // _TICKS
        stats = self._w0 + self._thresholds.shape[2]
        return self._decide(min(known - self._hold, ready, stats - 1), final=False)

    def flush(self) -> list[ActivityFrame]:
        """The frames of every window pushed (nothing follows the last)."""
        return self._decide(self._w0 + self._flags.shape[1], final=True)

    def _learn(self) -> None:
        """The thresholds of each window whose flags and ticks are both here, in order."""
        while (w := self._thresholds.shape[2]) < min(self._flags.shape[1],
                                                    self._energy.shape[1] // _TICKS):
            ticks = self._energy[:, w * _TICKS:(w + 1) * _TICKS]
            for t in range(_TICKS):
                self._track(ticks[:, t], self._flags[:, w])
            assert self._level is not None and self._floor is not None
            assert self._bleed is not None
            onset, offset, noise = self._db
            first = np.maximum(self._level + onset, self._floor + noise)
            limit = np.stack([first, np.maximum(self._level + offset, self._floor + noise),
                              np.maximum(first, self._bleed + self._bleed_db)])
            self._thresholds = np.concatenate([self._thresholds, limit[:, :, None]], axis=2)

    def _track(self, x: np.ndarray, flagged: np.ndarray) -> None:
        if self._floor is None or self._level is None or self._bleed is None:
            self._floor, self._level, self._bleed = x.copy(), x.copy(), x.copy()
            return
        if not flagged.any():  # the noise floor where nobody speaks: under another voice
            # the masked own energy drops far below the noise (few bins are the channel's)
            self._floor += np.where(x < self._floor, -_FLOOR_DOWN_DB, _FLOOR_UP_DB)
        step = np.where(x > self._level, _LEVEL_STEP_DB, -_LEVEL_STEP_DB)
        self._level += np.where(flagged, step, 0.0)
        # the bleed's level: a running quantile where only other channels speak (up 2q
        # steps where above, down 2(1 - q) where below: it settles where a share q of the
        # energy lies under it; q = 0.5 steps 1 each way, the running median)
        bled = ~flagged & (flagged.sum() - flagged > 0)
        up = 2.0 * self._bleed_q * _LEVEL_STEP_DB
        down = 2.0 * (1.0 - self._bleed_q) * _LEVEL_STEP_DB
        self._bleed += np.where(bled, np.where(x > self._bleed, up, -down), 0.0)

    def _decide(self, upto: int, *, final: bool) -> list[ActivityFrame]:
        if upto <= self._done:
            return []
        span = upto - self._w0
        ticks = np.zeros((self._flags.shape[0], _TICKS * span), bool)
        for c in range(ticks.shape[0]):
            for a, b in true_runs(self._flags[c]):
                if a >= span + self._hold:  # its onset may reach back into the span
                    break
                on, off = self._run_ticks(c, a, b, open_end=not final
                                          and b == self._flags.shape[1])
                ticks[c, max(0, on):max(0, min(off, ticks.shape[1]))] = True
        out = _tick_frames(ticks[:, _TICKS * (self._done - self._w0):],
                           self.next_sample, TICK)
        self._done, self.next_sample = upto, upto * WINDOW
        keep = max(0, min(upto - self._hold - 1, self._w0 + self._thresholds.shape[2]) - self._w0)
        self._w0 += keep
        self._flags, self._energy = self._flags[:, keep:], self._energy[:, _TICKS * keep:]
        self._tail = self._tail[:, _TICKS * keep:]
        self._thresholds = self._thresholds[:, :, keep:]
        return out

    def _run_ticks(self, c: int, a: int, b: int, *, open_end: bool) -> tuple[int, int]:
        """Run ``[a, b)`` (windows held) of channel ``c`` → its ticks ``[on, off)``."""
        on0, off0 = _TICKS * a + self._shift, _TICKS * b - self._shift
        on, off = self._onset(c, a, on0), off0 if open_end else self._offset(c, b - 1, off0)
        if (off - on) * TICK < 10 * SAMPLE_RATE // 1000:  # nothing left: keep the shifted
            return on0, off0
        return on, off

    def _over(self, c: int, t: int, limit: float) -> bool:
        return 0 <= t < self._energy.shape[1] and bool(self._energy[c, t] >= limit)

    def _threshold(self, kind: int, c: int, w: int) -> float:
        held = self._thresholds.shape[2]
        return float(self._thresholds[kind, c, min(max(w, 0), held - 1)]) if held else np.inf

    def _onset(self, c: int, w: int, t0: int) -> int:
        limit, t = self._threshold(0, c, w), t0
        if 0 <= w < self._flags.shape[1] and np.delete(self._flags[:, w], c).any():
            limit = self._threshold(2, c, w)  # under another voice: over what its bleed leaves
        if self._over(c, t0, limit):
            while t - 1 >= t0 - self._search and self._over(c, t - 1, limit):
                t -= 1
            return t
        while t < t0 + self._search and not self._over(c, t, limit):
            t += 1
        return t if t < t0 + self._search else t0

    def _over_tail(self, c: int, t: int, limit: float) -> bool:
        """Over the offset threshold and not the room's tail of the speaker's own voice."""
        return self._over(c, t, limit) and bool(self._energy[c, t] >= self._tail[c, t])

    def _offset(self, c: int, w: int, end0: int) -> int:
        limit, t = self._threshold(1, c, w), end0 - 1
        if self._over_tail(c, t, limit):
            while t + 1 < end0 + self._search and self._over_tail(c, t + 1, limit):
                t += 1
            return t + 1
        while t > end0 - 1 - self._search and not self._over_tail(c, t, limit):
            t -= 1
        return t + 1 if t > end0 - 1 - self._search else end0


def _tick_frames(ticks: np.ndarray, start: int, size: int) -> list[ActivityFrame]:
    """``(channels, k)`` tick flags from sample ``start`` → one frame per change."""
    out: list[ActivityFrame] = []
    if ticks.shape[1] == 0:
        return out
    change = np.flatnonzero((ticks[:, 1:] != ticks[:, :-1]).any(axis=0)) + 1
    bounds = [0, *change.tolist(), ticks.shape[1]]
    for lo, hi in itertools.pairwise(bounds):
        out.append(ActivityFrame(start + lo * size, start + hi * size,
                                 tuple(ticks[:, lo].tolist())))
    return out


def make_edges(channels: int, config: CrosstalkConfig) -> EdgeAligner | EdgeRefiner:
    """The pipeline's flags → frames stage: ticks when ``edge_search_ms`` > 0."""
    if config.edge_search_ms > 0.0:
        return EdgeRefiner(channels, config)
    return EdgeAligner(channels, WINDOW, shift=config.edge_shift_samples)


def default_map(channels: int, source: str) -> ChannelMap:
    """Stereo defaults to therapist,client; other counts must be named."""
    if channels == 2:
        return ChannelMap(roles=(THERAPIST, CLIENT))
    raise ChannelMapError(
        f"{source} has {channels} channels: say which role each carries, e.g. --channels "
        + ",".join([THERAPIST, CLIENT, *[IGNORE] * max(0, channels - 2)][:channels]))


def roles_for(channel_map: Sequence[str]) -> tuple[str, ...]:
    return tuple(r for r in channel_map if r != IGNORE)


def decayed_means(power: np.ndarray, recent: np.ndarray, a: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``recent[t] = a * recent[t-1] + (1 - a) * power[t]`` along each row of ``(channels,
    ticks)`` power from ``recent``: (each tick's value before it, the last value). One tick
    after another, so any split of the ticks gives the same numbers (scipy.signal.lfilter
    would too, but importing it costs every process ~50 MB)."""
    before = np.empty_like(power)
    last = np.array(recent, dtype=np.float64)
    for c, row in enumerate(power.tolist()):
        r, values = float(last[c]), []
        for p in row:
            values.append(r)
            r = a * r + (1.0 - a) * p
        before[c] = values
        last[c] = r
    return before, last
