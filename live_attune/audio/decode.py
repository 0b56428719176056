"""Streaming file decoding: any format PyAV reads, any rate → 16 kHz float32, channels kept.

Blocks are yielded as ``(channels, samples)`` float32 arrays, so a 60-minute file never sits
in memory whole.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from live_attune.errors import AudioInputError

SAMPLE_RATE = 16_000  # Hz: what VAD and Whisper expect


@dataclass(frozen=True, slots=True)
class AudioInfo:
    """What the container says about an audio file (duration may be an estimate)."""

    path: str
    channels: int
    source_rate_hz: int
    duration_s: float | None
    codec: str


def probe(path: str | Path) -> AudioInfo:
    """Open ``path`` and describe its first audio stream, or raise AudioInputError."""
    with _open(path) as container:
        stream = _audio_stream(container, path)
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return AudioInfo(str(path), stream.channels, stream.rate or 0, duration,
                         stream.codec_context.name)


def iter_blocks(path: str | Path, *, block_s: float = 4.0) -> Iterator[np.ndarray]:
    """Yield the file as float32 ``(channels, n)`` blocks at 16 kHz, ``block_s`` long."""
    block = max(1, int(block_s * SAMPLE_RATE))
    buffered: list[np.ndarray] = []
    size = 0
    for chunk in _decode(path):
        buffered.append(chunk)
        size += chunk.shape[1]
        while size >= block:
            joined = np.concatenate(buffered, axis=1)
            yield joined[:, :block]
            rest = joined[:, block:]
            buffered, size = [rest], rest.shape[1]
    if size:
        yield np.concatenate(buffered, axis=1)


def read_all(path: str | Path) -> np.ndarray:
    """The whole file as one ``(channels, n)`` array (for short files and tests)."""
    blocks = list(iter_blocks(path))
    if not blocks:
        raise AudioInputError(f"{path}: contains no audio samples")
    return np.concatenate(blocks, axis=1)


def _decode(path: str | Path) -> Iterator[np.ndarray]:
    with _open(path) as container:
        stream = _audio_stream(container, path)
        channels = stream.channels
        try:
            resampler = av.AudioResampler(format="fltp", layout=_layout(stream),
                                          rate=SAMPLE_RATE)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    yield _planar(out, channels)
            for out in resampler.resample(None):
                yield _planar(out, channels)
        except av.error.FFmpegError as exc:
            raise AudioInputError(f"{path}: audio data is corrupt ({exc.strerror})") from exc
        except (ValueError, AttributeError) as exc:  # PyAV's own checks on odd streams
            raise AudioInputError(f"{path}: audio data is corrupt ({exc})") from exc


def _planar(frame: av.AudioFrame, channels: int) -> np.ndarray:
    data = frame.to_ndarray()
    return np.ascontiguousarray(data.reshape(channels, -1), dtype=np.float32)


def _layout(stream: av.audio.stream.AudioStream) -> str:
    """A layout name the resampler keeps unchanged (its own, or N anonymous channels)."""
    name = stream.layout.name
    if name and not name.startswith("unknown") and stream.layout.nb_channels == stream.channels:
        return name
    return {1: "mono", 2: "stereo"}.get(stream.channels, f"{stream.channels}c")


def _open(path: str | Path) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise AudioInputError(f"{path}: no such file")
    if p.is_dir():
        raise AudioInputError(f"{path}: is a directory, not an audio file")
    if p.stat().st_size == 0:
        raise AudioInputError(f"{path}: file is empty")
    try:
        return av.open(str(p), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        raise AudioInputError(f"{path}: not a readable audio file") from exc


def _audio_stream(container: av.container.InputContainer, path: str | Path
                  ) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise AudioInputError(f"{path}: has no audio stream")
    stream = container.streams.audio[0]
    try:
        channels = stream.channels
    except (AttributeError, ValueError) as exc:  # FFmpeg could not make sense of the header
        raise AudioInputError(f"{path}: audio stream header is unreadable") from exc
    if not channels:
        raise AudioInputError(f"{path}: audio stream has no channels")
    return stream
