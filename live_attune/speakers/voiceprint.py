"""The therapist's voice print: its record and its file (a small ``.npz`` beside the
profile). Made by calibration's enrolment (calibration/voice.py); read here, below the
session layer, by one-microphone attribution live and offline.

Version 2 adds the learned voice embedding (speakers/encoder.py, 256 numbers) that the
encoder's attribution compares clusters with; a version 1 print (MFCC statistics only) is
still read, with ``embedding`` None."""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from live_attune.atomic import atomic_write
from live_attune.errors import UsageError

N_MFCC = 20
VERSION = 2
READABLE = (1, 2)
EMBEDDING = 256


class VoicePrintError(UsageError):
    """A voice print that cannot be used (missing, corrupt, another version)."""


@dataclass(frozen=True, slots=True)
class VoicePrint:
    mean: np.ndarray  # (N_MFCC,)
    cov: np.ndarray  # (N_MFCC, N_MFCC)
    speech_s: float
    snr_db: float | None
    quality: int  # 0..100
    issues: tuple[str, ...]
    embedding: np.ndarray | None = None  # (EMBEDDING,) L2-normed; None in a version 1 print


def save(vp: VoicePrint, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields: dict[str, object] = {
        "version": VERSION, "mean": vp.mean, "cov": vp.cov, "speech_s": vp.speech_s,
        "snr_db": np.nan if vp.snr_db is None else vp.snr_db, "quality": vp.quality,
        "issues": np.array(vp.issues, dtype=str)}
    if vp.embedding is not None:
        fields["embedding"] = vp.embedding
    buf = io.BytesIO()
    np.savez(buf, **fields)  # type: ignore[arg-type]  # numpy's stub types the kwargs as bool
    atomic_write(path, buf.getvalue())  # a biometric: private (0600) even over an older file


def load(path: Path) -> VoicePrint:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["version"]) not in READABLE:
                raise VoicePrintError(f"{path}: voice print version {int(z['version'])}; "
                                      f"this live-attune reads versions 1 and {VERSION}")
            mean, cov = z["mean"], z["cov"]
            emb = z["embedding"] if "embedding" in z.files else None
            if mean.shape != (N_MFCC,) or cov.shape != (N_MFCC, N_MFCC) or (
                    emb is not None and emb.shape != (EMBEDDING,)):
                raise VoicePrintError(f"{path}: not a live-attune voice print")
            snr = float(z["snr_db"])
            return VoicePrint(mean, cov, float(z["speech_s"]), None if np.isnan(snr) else snr,
                              int(z["quality"]), tuple(str(s) for s in z["issues"]), emb)
    except FileNotFoundError:
        raise VoicePrintError(f"{path}: no such voice print") from None
    except OSError as exc:
        raise VoicePrintError(f"{path}: not a readable voice print ({exc.strerror or exc})"
                              ) from None
    except (ValueError, KeyError, EOFError, TypeError,  # numpy: "load it unsafely"; a
            zipfile.BadZipFile):  # .npy (an array, not an archive): TypeError
        raise VoicePrintError(f"{path}: not a live-attune voice print (the .npz file "
                              "`live-attune calibrate` writes)") from None
