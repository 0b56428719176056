"""Real audio files for the decoder tests, written by FFmpeg's own encoders (PyAV)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np


def write_float_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    """A 32-bit float WAV of ``(channels, n)`` audio, NaN and ±Inf written as they are."""
    _encode(path, audio, rate, "pcm_f32le", container="wav")


def encode(path: Path, audio: np.ndarray, rate: int, codec: str, *, vbr_quality: int | None = None,
           **muxer: str) -> None:
    """Any codec PyAV (FFmpeg) writes; the container follows the suffix; ``vbr_quality``:
    variable bitrate at that quality (LAME's -V) instead of a constant bitrate."""
    _encode(path, audio, rate, codec, options=muxer, qscale=vbr_quality)


def _encode(path: Path, audio: np.ndarray, rate: int, codec: str, *,
            container: str | None = None, options: dict[str, str] | None = None,
            qscale: int | None = None) -> None:
    layout = {1: "mono", 2: "stereo"}.get(audio.shape[0], f"{audio.shape[0]} channels")
    with av.open(str(path), "w", format=container, options=options or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        if qscale is not None:
            stream.codec_context.qscale = qscale
        # packed float: one plane, (1, n × channels) interleaved
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio.T.reshape(1, -1), np.float32), format="flt", layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def cut(path: Path, fraction: float, to: Path | None = None) -> Path:
    """The file's first ``fraction`` of bytes, as a copy that stopped part-way would be."""
    data = path.read_bytes()
    out = to or path.with_name(f"cut-{path.name}")
    out.write_bytes(data[: int(len(data) * fraction)])
    return out


def ogg_page_ends(path: Path) -> list[int]:
    """Byte offsets where each Ogg page ends (RFC 3533: 27-byte header + segment table)."""
    data, at, ends = path.read_bytes(), 0, []
    while at < len(data):
        segments = data[at + 26]
        at += 27 + segments + sum(data[at + 27:at + 27 + segments])
        ends.append(at)
    return ends
