"""One microphone saved as several channels: many recorders, apps and USB microphones
give a mono microphone's sound on every channel of a stereo stream. Read as a microphone
per person it gives each person the whole of the other's speech as overlap.

The channels are "the same" when what sets them apart is at least SAME_DB under the sound
itself (energies over the stretch heard): bit-exact copies, and copies through a lossy
codec too (AAC -40 dB, Opus -57 dB, measured in review), but not a microphone per person
(each one's own voice louder in it: the bundled demo's channels differ by +6 dB) nor a
stereo pair of capsules a few centimetres apart."""

from __future__ import annotations

import numpy as np

SAME_DB = -30.0  # the channels' difference this far under the sound: one microphone
SAME_HEARD = 0.01  # ... judged only over a stretch whose loudest sample reaches this (-40 dBFS)


class ChannelsAlike:
    """Blocks of the same stream in, whether its channels carry one sound out: the energy
    of each channel's difference from the first against the first's, summed over the
    blocks fed."""

    def __init__(self) -> None:
        self._apart = 0.0
        self._own = 0.0
        self._loudest = 0.0
        self._single = False

    def feed(self, block: np.ndarray) -> None:
        if block.shape[0] < 2:
            self._single = True
            return
        first = block[0].astype(np.float64)
        rest = block[1:].astype(np.float64)
        self._apart += float(((rest - first) ** 2).sum()) / len(rest)
        self._own += float((first ** 2).sum())
        self._loudest = max(self._loudest, float(np.abs(first).max(initial=0.0)))

    @property
    def same(self) -> bool:
        return (not self._single and self._loudest >= SAME_HEARD
                and self._apart <= self._own * 10 ** (SAME_DB / 10))


def same_sound(audio: np.ndarray) -> bool:
    """Whether every channel of a ``(channels, n)`` recording carries the same sound, with
    something heard."""
    alike = ChannelsAlike()
    alike.feed(audio)
    return alike.same


LISTEN_S = 30.0  # a live input's first this much says whether its channels are one
ONE_MICROPHONE_LIVE = ("both input channels carry the same sound: this is one microphone, "
                       "not one per person, so the balance and the overlaps shown are not "
                       "right. Stop, and start again with --input-channels 1 (without "
                       "--channels or a two-microphone profile), or calibrate again: it "
                       "saves such a device as one shared microphone")
ONE_MICROPHONE_NOTE = ("the two input channels carried the same sound (one microphone, not "
                       "one per person): the talk balance and the overlaps of this session "
                       "are not right")


class SameChannelsCheck:
    """Live (session.live.InputCheck): whether the channels the speakers come from carried
    the same sound over the input's first LISTEN_S, with something heard; if so, one
    warning for the status line and one note for session.json. It never stops the
    session."""

    def __init__(self, sample_rate: int, channels: tuple[int, ...]) -> None:
        self.warnings: list[str] = []
        self.notes: list[str] = []
        self._channels = list(channels)
        self._left = int(LISTEN_S * sample_rate)
        self._alike = ChannelsAlike()

    def feed(self, block: np.ndarray) -> None:
        if self._left <= 0:
            return
        self._alike.feed(block[self._channels])
        self._left -= block.shape[1]
        if self._left <= 0 and self._alike.same:
            self.warnings.append(ONE_MICROPHONE_LIVE)
            self.notes.append(ONE_MICROPHONE_NOTE)
