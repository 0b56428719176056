"""Streaming file decoding: any format PyAV reads, any rate → 16 kHz float32, channels kept.

Blocks are yielded as ``(channels, samples)`` float32 arrays, so a 60-minute file never sits
in memory whole.
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from live_attune.audio.truncation import cut_reason
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.errors import AudioInputError

MAX_CHANNELS = 32  # more is not a session recording; refused before decoding
# A header of fewer samples a second is damaged or not speech (the probe: a WAV claiming
# 1 Hz became 53 hours of audio to analyse); telephone audio is 8000, the oldest 4000-6000.
MIN_RATE_HZ = 4000


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
        return AudioInfo(str(path), stream.channels, stream.rate or 0,
                         _declared_s(stream, container),
                         stream.codec_context.name)


def iter_blocks(path: str | Path, *, block_s: float = 4.0,
                notes: list[str] | None = None) -> Iterator[np.ndarray]:
    """Yield the file as float32 ``(channels, n)`` blocks at 16 kHz, ``block_s`` long.

    What decoding had to work round (a cut file, NaN/Inf samples set to silence) is
    appended to ``notes`` as sentences for ``session.json → notes`` once the file is done.
    """
    block = max(1, int(block_s * SAMPLE_RATE))
    buffered: list[np.ndarray] = []
    size = 0
    for chunk in _decode(path, [] if notes is None else notes):
        buffered.append(chunk)
        size += chunk.shape[1]
        while size >= block:
            joined = np.concatenate(buffered, axis=1)
            yield joined[:, :block]
            rest = joined[:, block:]
            buffered, size = [rest], rest.shape[1]
    if size:
        yield np.concatenate(buffered, axis=1)


def read_all(path: str | Path, *, notes: list[str] | None = None) -> np.ndarray:
    """The whole file as one ``(channels, n)`` array (for short files and tests)."""
    blocks = list(iter_blocks(path, notes=notes))
    if not blocks:
        raise AudioInputError(f"{path}: contains no audio samples")
    return np.concatenate(blocks, axis=1)


def _decode(path: str | Path, notes: list[str]) -> Iterator[np.ndarray]:
    """16 kHz chunks; a decoder error after the first samples ends the file with a note."""
    with _open(path) as container:
        stream = _audio_stream(container, path)
        repairs, decoded, stopped = _Repairs(), 0, None
        try:
            for chunk in _resampled(container, stream):
                yield repairs.apply(chunk, decoded)
                decoded += chunk.shape[1]
        except (av.error.FFmpegError, ValueError, AttributeError) as exc:
            # ValueError, AttributeError: PyAV's own checks on odd streams
            reason = exc.strerror if isinstance(exc, av.error.FFmpegError) else str(exc)
            if decoded == 0:
                raise AudioInputError(f"{path}: audio data is corrupt ({reason})") from exc
            stopped = reason
        notes.extend(repairs.notes())
        declared = _declared_s(stream, container)
        notes.extend(_cut_notes(path, container.format.name, declared,
                                decoded / SAMPLE_RATE, stopped))


def _resampled(container: av.container.InputContainer, stream: av.audio.stream.AudioStream
               ) -> Iterator[np.ndarray]:
    # Packed "flt", not planar "fltp": PyAV counts a frame's planes by walking
    # extended_data to a NULL that FFmpeg does not write past 8 planes, so
    # to_ndarray() on 8+ planar channels reads out of bounds (a segfault, issue 14).
    # A packed frame has one plane whatever the channel count.
    channels = stream.channels
    resampler = av.AudioResampler(format="flt", layout=_layout(stream), rate=SAMPLE_RATE)
    for frame in container.decode(stream):
        for out in resampler.resample(frame):
            yield _planar(out, channels)
    for out in resampler.resample(None):
        yield _planar(out, channels)


def _planar(frame: av.AudioFrame, channels: int) -> np.ndarray:
    # packed: (1, n × channels), interleaved sample by sample → (channels, n)
    data = frame.to_ndarray().reshape(-1, channels).T
    return np.ascontiguousarray(data, dtype=np.float32)


def _layout(stream: av.audio.stream.AudioStream) -> str:
    """A layout name the resampler keeps unchanged (its own, or N anonymous channels)."""
    name = stream.layout.name
    if name and not name.startswith("unknown") and stream.layout.nb_channels == stream.channels:
        return name
    # "N channels" (unspecified order) parses for any N; FFmpeg's "Nc" only for a few
    return {1: "mono", 2: "stereo"}.get(stream.channels, f"{stream.channels} channels")


class _Repairs:
    """Non-finite samples (NaN, ±Inf in a float file) set to 0 and counted.

    Zero is silence to the VAD and the prosody tracker; NaN would poison every frame it
    touches (a traceback in prosody, segments lost in the VAD). The resampler smears a
    non-finite sample over its ~±20-sample filter at 16 kHz; those outputs are zeroed too.
    """

    def __init__(self) -> None:
        self.samples = 0  # channel-samples set to 0
        self.instants = 0  # 16 kHz sample times with any channel set to 0
        self.first_s: float | None = None

    def apply(self, chunk: np.ndarray, offset: int) -> np.ndarray:
        bad = ~np.isfinite(chunk)
        if not bad.any():
            return chunk
        when = bad.any(axis=0)
        if self.first_s is None:
            self.first_s = (offset + int(np.argmax(when))) / SAMPLE_RATE
        self.samples += int(bad.sum())
        self.instants += int(when.sum())
        chunk[bad] = 0.0
        return chunk

    def notes(self) -> list[str]:
        if not self.samples:
            return []
        return [f"{self.samples} non-finite samples (NaN or infinity) over "
                f"{self.instants / SAMPLE_RATE:.3f} s of audio, the first at "
                f"{self.first_s:.2f} s, were set to silence"]


def _declared_s(stream: av.audio.stream.AudioStream,
                container: av.container.InputContainer) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000
    return None


def _cut_notes(path: str | Path, container: str, declared_s: float | None, decoded_s: float,
               stopped: str | None) -> list[str]:
    """One note when the file ends before its header says it should, or decoding broke off."""
    why = cut_reason(path, container, declared_s, decoded_s)
    broke = None if stopped is None else f"decoding stopped at {decoded_s:.1f} s: {stopped}"
    if why is None and broke is None:
        return []
    kept = f"only its first {decoded_s:.1f} s are analysed"
    if why is None:
        return [f"{broke}; {kept}"]  # corrupt data, perhaps not a cut
    return [f"the file is cut short ({'; '.join(p for p in (why, broke) if p)}); {kept}"]


def _open(path: str | Path) -> av.container.InputContainer:
    p = Path(path)
    try:
        info = p.stat()  # stat, not open: opening a FIFO blocks until a writer comes
    except (FileNotFoundError, NotADirectoryError):
        raise AudioInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise AudioInputError(f"{path}: cannot be read ({exc.strerror})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise AudioInputError(f"{path}: is a directory, not an audio file")
    if not stat.S_ISREG(info.st_mode):
        raise AudioInputError(f"{path}: is not a regular file (a pipe or device); "
                              "give an audio file")
    if info.st_size == 0:
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
    if channels > MAX_CHANNELS:
        raise AudioInputError(f"{path}: has {channels} channels; at most {MAX_CHANNELS} "
                              "are supported")
    if stream.rate and stream.rate < MIN_RATE_HZ:
        raise AudioInputError(f"{path}: its header says {stream.rate} samples a second, too "
                              f"few for speech (at least {MIN_RATE_HZ}): a damaged header?")
    return stream
