"""speakers/voiceprint.py: version 2 keeps the learned embedding; version 1 is still read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from live_attune.speakers.voiceprint import VoicePrint, VoicePrintError, load, save


def _print(embedding: np.ndarray | None) -> VoicePrint:
    return VoicePrint(np.arange(20.0), np.eye(20), 25.0, 30.0, 95, (), embedding)


def test_the_embedding_round_trips(tmp_path: Path) -> None:
    emb = np.full(256, 1 / 16, np.float32)
    save(_print(emb), tmp_path / "v.npz")
    back = load(tmp_path / "v.npz")
    assert back.embedding is not None and np.allclose(back.embedding, emb)
    assert back.quality == 95 and np.allclose(back.mean, np.arange(20.0))


def test_a_version_1_print_is_read_without_an_embedding(tmp_path: Path) -> None:
    with (tmp_path / "old.npz").open("wb") as f:
        np.savez(f, version=1, mean=np.zeros(20), cov=np.eye(20), speech_s=22.0,
                 snr_db=np.nan, quality=80, issues=np.array([], dtype=str))
    old = load(tmp_path / "old.npz")
    assert old.embedding is None and old.snr_db is None and old.quality == 80


def test_a_wrong_embedding_is_refused(tmp_path: Path) -> None:
    save(_print(np.ones(12, np.float32)), tmp_path / "bad.npz")
    with pytest.raises(VoicePrintError, match="not a live-attune voice print"):
        load(tmp_path / "bad.npz")


def test_a_file_that_is_no_voice_print_is_named_without_numpy_s_advice(tmp_path: Path
                                                                        ) -> None:
    """A probe (session 19): a text file given as --voice surfaced numpy's message, which
    suggests loading the file unsafely (allow_pickle)."""
    import io

    array = io.BytesIO()
    np.save(array, np.zeros(20))
    for name, data in (("junk.txt", b"not a voice print\n"), ("empty.npz", b""),
                       ("half.npz", b"PK\x03\x04" + b"\0" * 40),
                       ("array.npy", array.getvalue())):  # the review: a traceback
        (tmp_path / name).write_bytes(data)
        with pytest.raises(VoicePrintError) as caught:
            load(tmp_path / name)
        message = str(caught.value)
        assert "not a live-attune voice print" in message, message
        assert "pickle" not in message and "unsafe" not in message


def test_a_voice_print_written_over_an_older_one_is_private(tmp_path: Path) -> None:
    """A biometric: the review (session 19) found it written in place, an older 0644 file
    staying 0644."""
    import stat

    path = tmp_path / "me.npz"
    path.write_bytes(b"older")
    path.chmod(0o644)
    save(_print(np.ones(256, np.float32) / 16), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load(path).speech_s == _print(None).speech_s
