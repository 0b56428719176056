"""`live_attune/paths.py`: names built from labels, and keeping clinical files private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from live_attune.paths import FILE_NAME_MAX, keep_private, safe_file_name


@pytest.mark.parametrize(("label", "name"), [
    ("C-12", "C-12"), ("C/12", "C_12"), ("x/../../proof", "x_.._.._proof"),
    ("..", "_."), (".hidden", "_hidden"), ("", "_"), ("Müller & Co", "M_ller___Co"),
    ("a\\b\x00c\nd", "a_b_c_d"), ("20261129-205513-69ec", "20261129-205513-69ec")])
def test_a_label_becomes_a_plain_file_name(label: str, name: str) -> None:
    assert safe_file_name(label) == name


def test_a_long_label_is_cut(tmp_path: Path) -> None:
    name = safe_file_name("x" * 1000)
    assert len(name) == FILE_NAME_MAX
    (tmp_path / f"trends-{name}.html").write_text("ok")  # a name the file system takes


def test_a_label_can_never_leave_the_folder(tmp_path: Path) -> None:
    for label in ("../x", "/etc/passwd", "a/../../b", "..", "."):
        path = tmp_path / f"{safe_file_name(label)}.html"
        assert path.parent == tmp_path and not path.name.startswith(".")


def test_keep_private_takes_away_and_never_adds(tmp_path: Path) -> None:
    shared, readonly, sticky = tmp_path / "shared", tmp_path / "ro.sqlite", tmp_path / "t"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    readonly.write_text("")
    readonly.chmod(0o444)
    sticky.mkdir()
    sticky.chmod(0o1777)
    for path in (shared, readonly, sticky, tmp_path / "missing"):
        keep_private(path)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o700
    assert stat.S_IMODE(readonly.stat().st_mode) == 0o400  # still read-only
    assert stat.S_IMODE(sticky.stat().st_mode) == 0o1777  # a shared folder like /tmp: left
    assert not (tmp_path / "missing").exists()


def test_keep_private_leaves_what_another_user_owns(tmp_path: Path) -> None:
    """Root may chmod anything: it still leaves another user's files as they are."""
    theirs = tmp_path / "theirs"
    theirs.write_text("")
    theirs.chmod(0o644)
    if os.geteuid() == 0:
        os.chown(theirs, 65534, 65534)
    else:
        theirs = Path("/etc/passwd")  # root's, whoever runs the tests
    before = theirs.stat().st_mode
    keep_private(theirs)
    assert theirs.stat().st_mode == before
