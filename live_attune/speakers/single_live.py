"""Single-microphone attribution, live: a decision within ~1 s, revised at the end.

Two attributors behind one protocol (``OnlineAttributor``), made by ``make_attributor`` from
``SingleMicConfig.voices``:

* ``EncoderAttributor`` (learned voices, issue 18): audio and VAD flags go through the same
  stage as offline (speakers/single.EncoderWindows: each 10 ms mel frame once, a 1.6 s window
  every 0.5 s embedded once it is complete); each new window is given to the most alike of
  the current voice clusters, refitted (spherical k-means, as offline) every
  ``RECLUSTER_WINDOWS`` windows from the windows so far.
* ``SpectralAttributor`` (issue 3): every 0.5 s the newest 0.5 s of frames is computed (each
  10 ms frame once, by the block function the offline path uses), and the newest 1.5 s window
  is described as offline (mean MFCCs + median pitch) and given to the nearest cluster.

A speech frame is decided once the window centred nearest to it exists. When the session
ends, ``revised`` decides every frame again from all windows with the offline decision
(single.decide_voices / single.decide); the final output uses those (the pipeline around it:
session/single_mic.py). During a live session ``interim`` gives the same decision on the
frames so far to run on another thread, the stream going on (the live interruption and
backchannel counts).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from live_attune.audio.vad import WINDOW
from live_attune.core.audio_facts import HOP, HOP_S, SAMPLE_RATE
from live_attune.speakers import encoder
from live_attune.speakers.single import (
    BLOCK_CONTEXT,
    ENCODER_FRAMES,
    FRAME_S,
    N_MFCC,
    Attribution,
    EncoderWindows,
    SingleMicConfig,
    assign_roles,
    block_features,
    centroids,
    cluster,
    decide,
    decide_voices,
    describe_window,
    roles_by_embedding,
    speech_at_frames,
    spherical_kmeans,
)
from live_attune.speakers.voiceprint import VoicePrint

RECLUSTER_WINDOWS = 20  # refit the voice clusters every 10 s of windows
MIN_WINDOWS = 8  # windows of speech before any voice is told apart
LIVE_MAX_WARD = 600  # windows the periodic refit clusters bottom-up
LIVE_MAX_KMEANS = 1200  # windows the periodic encoder refit clusters (evenly spread)
RECENT = 8  # a frame's live decision: the nearest of the newest windows
OFFLINE_BATCH = 64  # encoder windows embedded together offline


class OnlineAttributor(Protocol):
    """What the one-microphone pipeline asks of an attributor."""

    roles: tuple[str, ...]

    def feed(self, audio: np.ndarray, speech: np.ndarray) -> None:
        """New mono samples, and the VAD flags of every frame so far."""

    def decided_until_s(self) -> float:
        """Frames before this time have their live decision."""

    def label_at(self, t_s: float) -> int:
        """The live decision (index into ``roles``) for a speech frame at ``t_s``."""

    def revised(self, speech: np.ndarray, *, heard: np.ndarray | None = None) -> Attribution:
        """Every frame decided again from all windows, as offline (the end of a session).
        ``speech``: the flags the windows were described from (as fed); ``heard``: the
        frames to attribute (the speech counted; None: ``speech``)."""

    def interim(self, heard: np.ndarray) -> Callable[[], Attribution] | None:
        """Every frame of ``heard`` (the speech counted so far) to be decided again from the
        windows so far, as the revision will decide them: the decision to run, on any
        thread (the windows copied now; the stream goes on). None: too few windows yet.
        The newest run of speech may be decided otherwise at the next recount (the hold on a
        change of voice weighs the whole run); the pipeline counts only settled events."""


def make_attributor(roles: tuple[str, ...], config: SingleMicConfig | None = None, *,
                    voice: VoicePrint | None = None, offline: bool = False
                    ) -> OnlineAttributor:
    """The attributor for ``config.voices`` (the learned encoder unless "spectral");
    ``offline``: a file as fast as it decodes, the encoder's windows embedded in batches."""
    cfg = config or SingleMicConfig(speakers=len(roles))
    if cfg.voices == "spectral":
        return SpectralAttributor(roles, cfg, voice=voice)
    return EncoderAttributor(roles, cfg, voice=voice, batch=OFFLINE_BATCH if offline else 1)


class EncoderAttributor:
    """Learned voices, live (see the module docstring). ``config.speakers``: the revision's
    number of speakers (None: estimated, as offline); live decisions use ``len(roles)``.
    ``batch``: windows embedded together (1 live; offline more, decisions wait for them)."""

    def __init__(self, roles: tuple[str, ...], config: SingleMicConfig | None = None, *,
                 voice: VoicePrint | None = None, batch: int = 1) -> None:
        self.roles = roles
        self.cfg = config or SingleMicConfig(speakers=len(roles))
        self.voice = voice
        self.stream = EncoderWindows(self.cfg, batch=batch)
        encoder.load_weights()  # once per process; missing weights fail here, not mid-session
        self._centres: list[float] = []
        self._labels: list[int] = []  # each window's live decision (role index; -1: none yet)
        self._centroids: np.ndarray | None = None  # (len(roles), 256)
        self._role_of = np.arange(len(roles))  # cluster → role index

    def feed(self, audio: np.ndarray, speech: np.ndarray) -> None:
        before = len(self.stream)
        self.stream.feed(audio, speech)
        for i in range(before, len(self.stream)):
            self._centres.append(self.stream.centre_s(i))
            if i + 1 >= MIN_WINDOWS and (self._centroids is None
                                         or (i + 1) % RECLUSTER_WINDOWS == 0):
                self._refit()
            if self._centroids is None:
                self._labels.append(-1)
            else:
                like = self._centroids @ self.stream.embedding(i)
                self._labels.append(int(self._role_of[int(np.argmax(like))]))

    def decided_until_s(self) -> float:
        """The centre of the newest window considered (described or skipped for too little
        speech) and half a hop after it."""
        newest = self.stream.next_start - self.stream.hop_frames
        return max(0.0, (newest + ENCODER_FRAMES / 2) * HOP_S + self.cfg.hop_s / 2)

    def label_at(self, t_s: float) -> int:
        if not self._labels:
            return 0
        centres = np.array(self._centres[-RECENT:])
        return max(self._labels[-RECENT:][int(np.argmin(np.abs(centres - t_s)))], 0)

    def revised(self, speech: np.ndarray, *, heard: np.ndarray | None = None) -> Attribution:
        self.stream.finish(speech)
        return decide_voices(speech if heard is None else heard, self.stream.windows(),
                             voice=self.voice, config=self.cfg)

    def interim(self, heard: np.ndarray) -> Callable[[], Attribution] | None:
        if len(self.stream) < MIN_WINDOWS:
            return None
        windows = self.stream.windows()  # new arrays: the stream may grow meanwhile
        pitch = windows.f0_hz[: int(len(heard) * FRAME_S / HOP_S)].copy()  # to the frames
        return functools.partial(decide_voices, heard.copy(), replace(windows, f0_hz=pitch),
                                 voice=self.voice, config=replace(
                                     self.cfg, speakers=self.cfg.speakers or len(self.roles)))

    def _refit(self) -> None:
        windows = self.stream.windows()
        sample = np.unique(np.linspace(0, len(windows.centres_s) - 1,
                                       min(len(windows.centres_s), LIVE_MAX_KMEANS)).astype(int))
        emb, k = windows.embeddings[sample], len(self.roles)
        labels = spherical_kmeans(emb, k, restarts=3)
        cents = centroids(emb, labels, k)
        names = roles_by_embedding(labels, windows.centres_s[sample], cents, self.voice, k)
        self._centroids = cents
        self._role_of = np.array([self.roles.index(n) for n in names])


@dataclass
class _Window:
    centre_s: float
    feature: np.ndarray  # MFCC means c1..c19 + median pitch (st)
    mfcc_mean: np.ndarray  # c0..c19 (for the voice print)
    mel: np.ndarray  # mean mel power (for overlap)
    label: int  # the decision taken when the window was made (-1: undecided)


class SpectralAttributor:
    """Spectral windows in, per-frame speaker decisions out (see the module docstring)."""

    def __init__(self, roles: tuple[str, ...], config: SingleMicConfig | None = None, *,
                 voice: VoicePrint | None = None) -> None:
        self.roles = roles
        self.cfg = config or SingleMicConfig(speakers=len(roles), voices="spectral")
        self.voice = voice
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

    def revised(self, speech: np.ndarray, *, heard: np.ndarray | None = None) -> Attribution:
        """Every frame's final decision from all windows (single.decide, as offline);
        ``heard``: the frames to attribute (None: ``speech``)."""
        return self._decide(self.windows, speech if heard is None else heard)

    def _decide(self, windows: list[_Window], speech: np.ndarray) -> Attribution:
        if len(windows) < MIN_WINDOWS:
            return Attribution(np.where(speech, 0, -1), np.full(len(speech), -1), self.roles[:1],
                               speech.astype(float), "too little speech to tell voices apart")
        return decide(speech, np.array([w.centre_s for w in windows]),
                      np.stack([w.feature for w in windows]),
                      np.stack([w.mfcc_mean for w in windows]),
                      np.stack([w.mel for w in windows]), voice=self.voice,
                      config=replace(self.cfg, speakers=len(self.roles)))

    def interim(self, heard: np.ndarray) -> Callable[[], Attribution] | None:
        """As ``revised`` (which leaves the windows as they are), on the frames so far."""
        if len(self.windows) < MIN_WINDOWS:
            return None
        return functools.partial(self._decide, list(self.windows), heard.copy())

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
                       np.stack([w.mfcc_mean for w in self.windows]), self.voice, k)
        self._role_of = {c: self.roles.index(n) for c, n in enumerate(names)}

