"""One microphone saved as several channels: many recorders, apps and USB microphones
give a mono microphone's sound on both channels of a stereo stream. Read as a microphone
per person it gives each person the whole of the other's speech as overlap."""

from __future__ import annotations

import numpy as np

SAME_SAMPLE = 1e-4  # the largest difference between two channels' samples still "the same"
SAME_HEARD = 0.01  # ... over a stretch whose loudest sample reaches this (-40 dBFS)


def differ(block: np.ndarray) -> bool:
    """Whether a ``(channels, n)`` block's channels differ anywhere (one channel: yes)."""
    return block.shape[0] < 2 or float(np.abs(block[1:] - block[:1]).max(initial=0.0)) > SAME_SAMPLE


def same_sound(audio: np.ndarray) -> bool:
    """Whether every channel of ``audio`` carries the same sound, with something heard."""
    return not differ(audio) and float(np.abs(audio[0]).max(initial=0.0)) >= SAME_HEARD


LISTEN_S = 30.0  # a live input's first this much says whether its channels are one
ONE_MICROPHONE_LIVE = ("both input channels carry the same sound: this is one microphone, "
                       "not one per person, so the balance and the overlaps shown are not "
                       "right; start again with --input-channels 1 (the voices are then told "
                       "apart)")


class SameChannelsCheck:
    """Live (session.live.InputCheck): whether the input's channels carried the same sound
    over its first LISTEN_S, with something heard; if so, one warning for the status line
    and session.json's notes. It never stops the session."""

    def __init__(self, sample_rate: int) -> None:
        self.warnings: list[str] = []
        self._left = int(LISTEN_S * sample_rate)
        self._loudest = 0.0

    def feed(self, block: np.ndarray) -> None:
        if self._left <= 0:
            return
        if differ(block):
            self._left = 0
            return
        self._loudest = max(self._loudest, float(np.abs(block[0]).max(initial=0.0)))
        self._left -= block.shape[1]
        if self._left <= 0 and self._loudest >= SAME_HEARD:
            self.warnings.append(ONE_MICROPHONE_LIVE)
