"""What a session is made with: the pipeline's config, the layout of its speakers, and the
one-microphone options. Typed records only; nothing here runs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from live_attune.audio.vad import VadConfig
from live_attune.core import MetricsConfig
from live_attune.core.roles import CLIENT, THERAPIST, roles
from live_attune.speakers.channels import SHARED, ChannelMap, CrosstalkConfig, default_map
from live_attune.speakers.single import VOICES

MODE_CHANNELS = "channels"  # one microphone per person
MODE_ACTIVITY = "activity-only"  # one microphone, no attribution: speech activity only
MODE_SINGLE = "single-mic"  # one microphone, speakers told apart by voice
ACTIVITY_SPEAKER = "speech"


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """Everything the pipeline needs besides the audio."""

    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    vad: VadConfig = field(default_factory=VadConfig)
    crosstalk: CrosstalkConfig = field(default_factory=CrosstalkConfig)


@dataclass(frozen=True, kw_only=True)
class SingleMicOptions:
    """How to tell voices apart on one microphone (issue 3), live and offline alike."""

    speakers: int | None = None  # None: estimated (1..4) offline, 2 live
    voice_print: Path | None = None  # the therapist's enrolment (calibrate --enrol)
    swap_roles: bool = False  # the heuristic picked the wrong person as the therapist
    voices: str = "encoder"  # "encoder": learned voices (issue 18); "spectral": MFCC + pitch
    # The speech a far microphone hears: frames whose Silero probability is >= speech_on
    # (staying on down to speech_off) count as someone speaking; the windows that describe
    # voices keep PipelineConfig.vad's stricter thresholds. None: PipelineConfig.vad's.
    # 0.1/0.1: chosen leave-one-file-out on ../shared/data/conversations (bench_single_mic).
    # So low a threshold also hears a room's reverberation after a voice stops (hard
    # generator seeds 37, 39, 41: 2.3-6.5 s of each voice, more of the louder, whose share reads
    # high). Tried (session 15): each run's last frames dropped while 25 dB or more under the
    # run's loudest frame of the second before: hard seeds 9-88 DER mean 3.34 -> 2.66 %,
    # largest share error 3.92 -> 3.59 pp, interruptions 0.696/0.642 -> 0.711/0.638; but on
    # the real recordings 1.4 of the 2.0 s it dropped were the references' speech (quiet
    # word endings; DER mean 30.7 -> 31.6 %): not kept (30 dB: no change on seed 39).
    speech_on: float | None = 0.1
    speech_off: float | None = 0.1

    def __post_init__(self) -> None:
        if self.voices not in VOICES:
            raise ValueError(f"voices must be one of {', '.join(VOICES)}")
        if self.speakers is not None and not 1 <= self.speakers <= 8:
            raise ValueError("speakers must be between 1 and 8")
        if (self.speech_on is None) != (self.speech_off is None):
            raise ValueError("speech_on and speech_off are given together or not at all")
        if self.speech_on is not None and self.speech_off is not None:
            VadConfig(threshold=self.speech_on, neg_threshold=self.speech_off)  # checks them

    def speech_vad(self, windows: VadConfig) -> VadConfig:
        """The VAD config for the speech counted: ``windows`` (the one the voice windows
        use) with this option's thresholds."""
        if self.speech_on is None or self.speech_off is None:
            return windows
        return replace(windows, threshold=self.speech_on, neg_threshold=self.speech_off)


@dataclass(frozen=True, slots=True)
class Layout:
    """How input channels become speakers."""

    mode: str
    speakers: tuple[str, ...]
    channel_indices: tuple[int, ...]  # input channel of each speaker
    input_channels: int


def layout_for(channels: int, channel_map: ChannelMap | None, source: str) -> Layout:
    """Choose the analysis mode for ``channels`` inputs and an optional role map."""
    if channels == 1 and (channel_map is None or channel_map.roles == (SHARED,)):
        return Layout(MODE_ACTIVITY, (ACTIVITY_SPEAKER,), (0,), 1)
    cmap = channel_map or default_map(channels, source)
    cmap.check(channels, source)
    return Layout(MODE_CHANNELS, cmap.speakers, cmap.channel_indices, channels)


def single_mic_layout(speakers: int = 2) -> Layout:
    """One shared microphone, its speakers told apart by voice."""
    return Layout(MODE_SINGLE, single_mic_roles(speakers), (0,) * speakers, 1)


def single_mic_roles(speakers: int) -> tuple[str, ...]:
    return roles(speakers)


def swap_role(role: str) -> str:
    """Therapist ↔ client (the two most likely to be confused); other roles stay."""
    return {THERAPIST: CLIENT, CLIENT: THERAPIST}.get(role, role)
