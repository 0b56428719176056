"""The versioned microphone profile: round trip, and a clear error naming the bad field."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from calibration.profile import Profile, ProfileError, dumps, load
from live_attune.speakers.channels import ChannelMap
from tests.conftest import load_truth

REPO = Path(__file__).resolve().parents[2]


def test_round_trip(tmp_path: Path) -> None:
    profile = Profile(channels=ChannelMap(roles=("client", "therapist")), device="USB \"Mic\"",
                      crosstalk_margin_db=7.5, noise_floor_dbfs=(-61.0, -58.5))
    path = tmp_path / "p.toml"
    path.write_text(dumps(profile))
    assert load(path) == profile


def test_round_trip_of_every_calibration_field(tmp_path: Path) -> None:
    profile = Profile(channels=ChannelMap(roles=("therapist", "client")), device=3,
                      crosstalk_margin_db=6.0, noise_floor_dbfs=(-61.0, -58.5),
                      speech_dbfs=(-24.0, -26.5), snr_db=(37.0, 32.0),
                      bleed_db=((0.0, -14.2), (-13.8, 0.0)), voice=tmp_path / "v.npz",
                      calibrated="2026-11-27T09:00:00")
    path = tmp_path / "p.toml"
    path.write_text(dumps(profile))
    assert load(path) == profile


@pytest.mark.parametrize(("text", "message"), [
    ("version = 1\nchannels = [\"therapist\"", "not a readable TOML profile"),
    ('channels = ["therapist", "client"]\n', "field 'version' is missing"),
    ('version = 0\nchannels = ["therapist", "client"]\n', "field 'version' is 0"),
    ('version = 2\nchannels = ["therapist", "client"]\n', "reads version 1"),
    ('version = 1\n', "field 'channels'"),
    ('version = 1\nchannels = ["therapist", "dog"]\n', "field 'channels': unknown role 'dog'"),
    ('version = 1\nchannels = ["therapist"]\nmargin = 3\n', "unknown field 'margin'"),
    ('version = 1\nchannels = ["therapist"]\ncrosstalk_margin_db = "six"\n',
     "field 'crosstalk_margin_db'"),
    ('version = 1\nchannels = ["therapist", "client"]\nnoise_floor_dbfs = [-60.0]\n',
     "field 'noise_floor_dbfs'"),
    ('version = 1\nchannels = ["therapist"]\ndevice = true\n', "field 'device'"),
    ('version = 1\nchannels = ["therapist", "client"]\nbleed_db = [[0.0, -14.0]]\n',
     "field 'bleed_db' must be a 2×2"),
    ('version = 1\nchannels = ["therapist", "client"]\nsnr_db = [20.0, "high"]\n',
     "field 'snr_db'"),
    ('version = 1\nchannels = ["therapist"]\nvoice = 3\n', "field 'voice'"),
    ('version = 1\nchannels = ["shared", "client"]\n', "stands alone"),
    # what a calibration that could not decide used to save (issue 14): refused
    ('version = 1\nchannels = ["therapist", "ignore"]\n', "names no client"),
    ('version = 1\nchannels = ["ignore", "client", "client_2"]\n', "names no therapist"),
])
def test_bad_profiles_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(ProfileError, match=message):
        load(path)


def test_a_foreign_toml_file_is_refused() -> None:
    with pytest.raises(ProfileError, match="not a live-attune profile"):
        load(REPO / "pyproject.toml")


def test_analyze_uses_the_profile(conversation: dict[str, Path], tmp_path: Path) -> None:
    profile = tmp_path / "swapped.toml"
    profile.write_text(dumps(Profile(channels=ChannelMap(roles=("client", "therapist")))))
    proc = subprocess.run([sys.executable, "-m", "live_attune.cli", "analyze",
                           str(conversation["stereo"]), "--out", str(tmp_path / "o"),
                           "--profile", str(profile), "--no-transcribe", "--quiet"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "o" / "session.json").read_text())
    truth = load_truth(conversation)
    assert session["metrics"]["talk_share"]["client"] == pytest.approx(
        truth["talk_share"]["therapist"], abs=0.02)


def test_a_bad_profile_is_one_line_and_exit_2(conversation: dict[str, Path],
                                              tmp_path: Path) -> None:
    profile = tmp_path / "old.toml"
    profile.write_text('version = 0\nchannels = ["therapist", "client"]\n')
    proc = subprocess.run([sys.executable, "-m", "live_attune.cli", "analyze",
                           str(conversation["stereo"]), "--out", str(tmp_path / "o"),
                           "--profile", str(profile), "--no-transcribe"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "field 'version' is 0" in lines[0]


def test_a_profile_without_a_client_is_refused_by_analyze(conversation: dict[str, Path],
                                                          tmp_path: Path) -> None:
    """Before: the therapist at 100 % of the talk, exit 0, no warning."""
    profile = tmp_path / "guess.toml"
    profile.write_text('version = 1\nchannels = ["therapist", "ignore"]\n')
    proc = subprocess.run([sys.executable, "-m", "live_attune.cli", "analyze",
                           str(conversation["stereo"]), "--out", str(tmp_path / "o"),
                           "--profile", str(profile), "--no-transcribe", "--no-store"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "names no client" in lines[0] and "calibrate" in lines[0]
    assert not (tmp_path / "o").exists()


def test_one_shared_microphone_and_a_family_map_stay_valid(tmp_path: Path) -> None:
    for roles in (["shared"], ["therapist", "client", "client_2"], ["client", "therapist"]):
        path = tmp_path / "p.toml"
        path.write_text(f"version = 1\nchannels = {json.dumps(roles)}\n")
        assert load(path).channels.roles == tuple(roles)
