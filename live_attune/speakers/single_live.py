"""Single-microphone attribution, live: a decision within 2 s, revised at the end.

Every 0.5 s the newest 0.5 s of frames is computed (each 10 ms frame once, by the block
function the offline path uses), and the newest 1.5 s window is described from them as
speakers/single.py describes windows offline (mean MFCCs + median pitch over its speech)
and given to the nearest of the current voice clusters; the clusters are refitted every
``RECLUSTER_WINDOWS`` windows from everything heard so far. A speech frame is decided once
the window centred nearest to it exists — at most ~1.3 s after it was spoken. When the
session ends, all windows are clustered again and the final output uses those revised
decisions (the one-microphone pipeline around it: session/single_mic.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from live_attune.audio.vad import WINDOW
from live_attune.core.audio_facts import HOP, SAMPLE_RATE
from live_attune.speakers.single import (
    BLOCK_CONTEXT,
    N_MFCC,
    SingleMicConfig,
    assign_roles,
    block_features,
    cluster,
    decide,
    describe_window,
    speech_at_frames,
)

RECLUSTER_WINDOWS = 20  # refit the voice clusters every 10 s of windows
MIN_WINDOWS = 8  # windows of speech before any voice is told apart
LIVE_MAX_WARD = 600  # windows the periodic refit clusters bottom-up


@dataclass
class _Window:
    centre_s: float
    feature: np.ndarray  # MFCC means c1..c19 + median pitch (st)
    mfcc_mean: np.ndarray  # c0..c19 (for the voice print)
    mel: np.ndarray  # mean mel power (for overlap)
    label: int  # the decision taken when the window was made (-1: undecided)


class OnlineAttributor:
    """Windows in, per-frame speaker decisions out (see the module docstring)."""

    def __init__(self, roles: tuple[str, ...], config: SingleMicConfig | None = None, *,
                 voice_mean: np.ndarray | None = None,
                 voice_cov: np.ndarray | None = None) -> None:
        self.roles = roles
        self.cfg = config or SingleMicConfig(speakers=len(roles))
        self.voice = (voice_mean, voice_cov)
        self.windows: list[_Window] = []
        self._block = round(self.cfg.hop_s * SAMPLE_RATE) // HOP  # frames computed at a time
        # samples from BLOCK_CONTEXT before the next block's first frame (zeros before the start)
        self._audio = np.zeros(BLOCK_CONTEXT, np.float32)
        self._frames = (np.zeros((0, N_MFCC)), np.zeros(0), np.zeros((0, 40)))  # mf, f0, mel
        self._frames_first = 0  # frame index of _frames[...][0]
        self._next_window = 0  # sample index where the next window starts
        self._centroids: np.ndarray | None = None
        self._norm: tuple[np.ndarray, np.ndarray] | None = None
        self._role_of: dict[int, int] = {}  # cluster → role index

    def feed(self, audio: np.ndarray, speech: np.ndarray) -> None:
        """New mono samples, and the VAD flags of every frame so far. Each 10 ms frame's
        features are computed once, a block of ``hop_s`` at a time."""
        self._audio = np.concatenate([self._audio, audio.astype(np.float32)])
        step = self._block * HOP
        while len(self._audio) >= step + 2 * BLOCK_CONTEXT:
            block = block_features(self._audio[: step + 2 * BLOCK_CONTEXT])
            self._frames = tuple(np.concatenate([old, new]) for old, new in  # type: ignore[assignment]
                                 zip(self._frames, block, strict=True))
            self._audio = self._audio[step:]
        win, hop = int(self.cfg.window_s * SAMPLE_RATE), int(self.cfg.hop_s * SAMPLE_RATE)
        computed = (self._frames_first + len(self._frames[1])) * HOP
        while self._next_window + win <= computed and (self._next_window + win) / WINDOW <= len(
                speech):
            self._describe(self._next_window // HOP, win // HOP, speech)
            self._next_window += hop
        drop = self._next_window // HOP - self._frames_first
        if drop > 0:
            self._frames = tuple(x[drop:] for x in self._frames)  # type: ignore[assignment]
            self._frames_first += drop

    def decided_until_s(self) -> float:
        """Frames before this time have their (live) decision."""
        return self._next_window / SAMPLE_RATE + self.cfg.window_s / 2 - self.cfg.hop_s / 2

    def label_at(self, t_s: float) -> int:
        """The live decision (role index) for a speech frame at ``t_s``; 0 before any."""
        if not self.windows:
            return 0
        centres = np.array([w.centre_s for w in self.windows[-8:]])
        nearest = self.windows[-8:][int(np.argmin(np.abs(centres - t_s)))]
        return max(nearest.label, 0)

    def revised(self, speech: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every frame's final decision from all windows (single.decide, as offline):
        (labels, second) as indices into ``roles``, and each frame's confidence."""
        if len(self.windows) < MIN_WINDOWS:
            return np.where(speech, 0, -1), np.full(len(speech), -1), speech.astype(float)
        att = decide(speech, np.array([w.centre_s for w in self.windows]),
                     np.stack([w.feature for w in self.windows]),
                     np.stack([w.mfcc_mean for w in self.windows]),
                     np.stack([w.mel for w in self.windows]), voice_mean=self.voice[0],
                     voice_cov=self.voice[1],
                     config=replace(self.cfg, speakers=len(self.roles)))
        to_role = np.append([self.roles.index(n) for n in att.roles], -1)  # -1 stays -1
        return to_role[att.labels], to_role[att.second], att.confidence

    # -- internals --------------------------------------------------------------------------

    def _describe(self, first: int, n: int, speech: np.ndarray) -> None:
        """Describe the window of ``n`` frames from frame ``first``, and decide it."""
        on = speech_at_frames(speech, first, n)
        if on.mean() < self.cfg.min_speech_share:
            return
        sl = slice(first - self._frames_first, first - self._frames_first + n)
        mf, f0, mel = (x[sl] for x in self._frames)
        w = _Window((first + n / 2) * HOP / SAMPLE_RATE, *describe_window(mf, f0, mel, on), -1)
        self.windows.append(w)
        if len(self.windows) >= MIN_WINDOWS and (
                self._centroids is None or len(self.windows) % RECLUSTER_WINDOWS == 0):
            self._refit()
        if self._centroids is not None and self._norm is not None:
            z = (w.feature - self._norm[0]) / self._norm[1]
            z[-1] *= self.cfg.pitch_weight
            w.label = self._role_of[int(np.argmin(((self._centroids - z) ** 2).sum(1)))]

    def _standardise(self, feats: np.ndarray) -> np.ndarray:
        mean, std = feats.mean(axis=0), feats.std(axis=0) + 1e-9
        self._norm = (mean, std)
        z: np.ndarray = (feats - mean) / std
        z[:, -1] *= self.cfg.pitch_weight
        return z

    def _refit(self) -> None:
        feats = np.stack([w.feature for w in self.windows])
        z = self._standardise(feats)
        sample = np.unique(np.linspace(0, len(z) - 1, min(len(z), LIVE_MAX_WARD)).astype(int))
        k = len(self.roles)
        labels = cluster(z, k, sample)
        self._centroids = np.stack([z[labels == c].mean(0) if (labels == c).any()
                                    else np.full(z.shape[1], np.inf) for c in range(k)])
        names = assign_roles(labels, np.array([w.centre_s for w in self.windows]),
                       np.stack([w.mfcc_mean for w in self.windows]), *self.voice, k)
        self._role_of = {c: self.roles.index(n) for c, n in enumerate(names)}

