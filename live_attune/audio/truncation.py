"""Is the file whole? What the container declares, compared with what was decoded (issue 14).

FFmpeg decodes a cut file quietly up to the cut and, for WAV and Ogg, even reports the cut
length as the file's duration, so the declared length is read here from the container's
own header where FFmpeg does not keep it:

* WAV: the ``data`` chunk's declared size against the bytes present (FFmpeg clamps it);
* Ogg (Opus, Vorbis, FLAC in Ogg): the pages walked from the start; the last one must be
  complete and carry the end-of-stream flag (RFC 3533 §6);
* FLAC, MP4/M4A and MP3 with a Xing/Info/VBRI header: the stream duration FFmpeg read from
  the header, against the decoded duration. An MP3 without such a header has only a
  bitrate estimate (wrong by 2× on VBR files), so it is not judged.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import BinaryIO

TOLERANCE_S = 0.5  # a shortfall under this against a declared duration is codec padding
_UNKNOWN_SIZES = (0, 0xFFFFFFFF)  # data size left open by streaming writers (and RF64)
_OGG_EOS = 0x04  # header_type flag of a logical stream's last page
_EXACT_DURATION = {"flac": "FLAC", "mov,mp4,m4a,3gp,3g2,mj2": "MP4"}  # FFmpeg name: ours


def cut_reason(path: str | Path, container: str, declared_s: float | None,
               decoded_s: float) -> str | None:
    """Why ``path`` looks cut short (a phrase for a note), or None when it looks whole.

    ``container``: FFmpeg's format name; ``declared_s``: the stream duration FFmpeg read.
    """
    try:
        if container == "wav":
            return _wav_cut(Path(path))
        if container == "ogg":
            return _ogg_cut(Path(path))
        trusted = container in _EXACT_DURATION or (container == "mp3"
                                                   and _mp3_has_length(Path(path)))
    except OSError:
        return None  # the decoder read it; a failed second look proves nothing
    if trusted and declared_s is not None and decoded_s < declared_s - TOLERANCE_S:
        return f"the {_EXACT_DURATION.get(container, 'MP3')} header declares {declared_s:.1f} s"
    return None


def _wav_cut(path: Path) -> str | None:
    """The data chunk's declared size against the bytes after it (RIFF, little-endian)."""
    size = path.stat().st_size
    with path.open("rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return None
        rate = align = 0
        while (chunk := _chunk(f)) is not None:
            kind, length, start = chunk
            if kind == b"fmt " and length >= 16 and len(fmt := f.read(14)) == 14:
                _, _, rate, _, align = struct.unpack("<HHIIH", fmt)
            if kind == b"data":
                missing = length - (size - start)
                if length in _UNKNOWN_SIZES or not rate or not align or missing < align:
                    return None
                return (f"the WAV header declares {length / align / rate:.1f} s of audio, "
                        f"the file holds {(size - start) / align / rate:.1f} s")
            f.seek(start + length + (length & 1))  # chunks are padded to even sizes
    return None


def _chunk(f: BinaryIO) -> tuple[bytes, int, int] | None:
    head = f.read(8)
    if len(head) < 8:
        return None
    kind, length = struct.unpack("<4sI", head)
    return kind, length, f.tell()


def _ogg_cut(path: Path) -> str | None:
    """Walk the pages (27-byte header, segment table, body); judge the last one."""
    size = path.stat().st_size
    with path.open("rb") as f:
        at, flags = 0, None
        while at < size:
            f.seek(at)
            head = f.read(27)
            if len(head) < 27 or head[:4] != b"OggS":
                return "its last Ogg page is incomplete" if len(head) < 27 else None
            table = f.read(head[26])
            if len(table) < head[26]:
                return "its last Ogg page is incomplete"
            at += 27 + len(table) + sum(table)
            flags = head[5]
    if at > size:
        return "its last Ogg page is incomplete"
    if flags is not None and not flags & _OGG_EOS:
        return "it ends without the Ogg end-of-stream page"
    return None


def _mp3_has_length(path: Path) -> bool:
    """A Xing/Info (LAME) or VBRI header in the first frame gives the exact frame count."""
    with path.open("rb") as f:
        head = f.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:  # ID3v2: a 28-bit "syncsafe" size
            start = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(head[6:10]))
        f.seek(start)
        frame = f.read(64)  # the tags sit after the 4-byte header and ≤ 32 bytes of side info
    return any(tag in frame for tag in (b"Xing", b"Info", b"VBRI"))
