"""`live-attune analyze` end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from live_attune.output import schema
from live_attune.synth.truth import write_wav
from tests.conftest import load_truth


def cli(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "live_attune.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("live-attune: error: ")
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_help_explains_every_option() -> None:
    out = cli("analyze", "--help").stdout
    for option in ("--out", "--channels", "--no-transcribe", "--model", "--quiet", "exit codes"):
        assert option in out


def test_stereo_session_writes_valid_outputs(conversation: dict[str, Path], tmp_path: Path
                                             ) -> None:
    proc = cli("analyze", conversation["stereo"], "--out", tmp_path, "--no-transcribe")
    assert proc.returncode == 0, proc.stderr
    assert "talk share" in proc.stdout and "response latency" in proc.stdout
    session = json.loads((tmp_path / "session.json").read_text())
    jsonschema.validate(session, schema())
    assert session["mode"] == "channels"
    truth = load_truth(conversation)
    for role, share in truth["talk_share"].items():
        assert session["metrics"]["talk_share"][role] == pytest.approx(share, abs=0.02)
    with (tmp_path / "turns.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(session["turns"]) >= 10
    assert {r["speaker"] for r in rows} == {"therapist", "client"}


def test_swapped_channel_map(conversation: dict[str, Path], tmp_path: Path) -> None:
    proc = cli("analyze", conversation["stereo"], "--out", tmp_path, "--no-transcribe",
               "--channels", "client,therapist", "--quiet")
    assert proc.returncode == 0
    session = json.loads((tmp_path / "session.json").read_text())
    truth = load_truth(conversation)
    assert session["metrics"]["talk_share"]["client"] == pytest.approx(
        truth["talk_share"]["therapist"], abs=0.02)


def test_mono_is_attributed_by_voice_and_says_so(conversation: dict[str, Path],
                                                 tmp_path: Path) -> None:
    proc = cli("analyze", conversation["mono"], "--out", tmp_path, "--no-transcribe")
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "session.json").read_text())
    jsonschema.validate(session, schema())
    assert session["mode"] == "single-mic"
    assert session["speakers"] == ["therapist", "client"]
    assert any("told apart by voice" in n and "--swap-roles" in n for n in session["notes"])
    assert "told apart by voice" in proc.stdout
    truth = load_truth(conversation)
    share = session["metrics"]["talk_share"]["therapist"]
    assert share == pytest.approx(truth["talk_share"]["therapist"], abs=0.03)
    swapped = cli("analyze", conversation["mono"], "--out", tmp_path / "s", "--no-transcribe",
                  "--swap-roles", "--quiet", "--no-store")
    assert swapped.returncode == 0
    other = json.loads((tmp_path / "s" / "session.json").read_text())
    assert other["metrics"]["talk_share"]["client"] == pytest.approx(share, abs=1e-9)


def test_mono_activity_only_on_request(conversation: dict[str, Path], tmp_path: Path) -> None:
    proc = cli("analyze", conversation["mono"], "--out", tmp_path, "--no-transcribe",
               "--activity-only")
    assert proc.returncode == 0
    session = json.loads((tmp_path / "session.json").read_text())
    assert session["mode"] == "activity-only"
    assert session["speakers"] == ["speech"]
    assert any("activity only" in n for n in session["notes"])


def test_progress_bar_on_long_files(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    write_wav(path, np.zeros((2, 16000 * 70), np.float32))
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe")
    assert proc.returncode == 0
    assert "analysing" in proc.stderr and "70/70 s audio" in proc.stderr


def test_silent_file_gives_a_valid_empty_result(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    write_wav(path, np.zeros((2, 16000 * 5), np.float32))
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe")
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "o" / "session.json").read_text())
    jsonschema.validate(session, schema())
    assert session["segments"] == []
    assert session["metrics"]["talk_share"] == {"therapist": None, "client": None}
    assert "no speech detected" in proc.stdout


@pytest.mark.parametrize("rate", [8000, 48000])
def test_odd_rates_are_resampled(conversation: dict[str, Path], tmp_path: Path, rate: int
                                 ) -> None:
    src = tmp_path / f"r{rate}.wav"
    subprocess.run(["sox", str(conversation["stereo"]), "-r", str(rate), str(src)], check=True)
    proc = cli("analyze", src, "--out", tmp_path / "o", "--no-transcribe", "--quiet")
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "o" / "session.json").read_text())
    assert session["source"]["source_rate_hz"] == rate
    truth = load_truth(conversation)
    assert session["metrics"]["talk_share"]["therapist"] == pytest.approx(
        truth["talk_share"]["therapist"], abs=0.03)


def test_six_channels(conversation: dict[str, Path], tmp_path: Path) -> None:
    src = tmp_path / "six.wav"
    subprocess.run(["sox", "-M", str(conversation["stereo"]), str(conversation["stereo"]),
                    str(conversation["stereo"]), str(src)], check=True)
    proc = cli("analyze", src, "--out", tmp_path / "o", "--no-transcribe")
    assert proc.returncode == 2
    assert "6 channels" in one_error_line(proc)
    proc = cli("analyze", src, "--out", tmp_path / "o", "--no-transcribe", "--quiet",
               "--channels", "ignore,ignore,therapist,client,ignore,ignore")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize(("name", "make", "code", "text"), [
    ("empty.wav", lambda p: p.write_bytes(b""), 3, "empty"),
    ("notes.wav", lambda p: p.write_text("session notes, not audio\n" * 50), 3,
     "not a readable audio file"),
    ("header.wav", lambda p: write_wav(p, np.zeros((2, 0), np.float32)), 3, "no audio samples"),
    ("missing.wav", lambda p: None, 3, "no such file"),
])
def test_bad_input_is_one_line_and_an_exit_code(tmp_path: Path, name: str, make: object,
                                                code: int, text: str) -> None:
    path = tmp_path / name
    make(path)  # type: ignore[operator]
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe")
    assert proc.returncode == code
    assert text in one_error_line(proc)
    assert not (tmp_path / "o" / "session.json").exists()


def test_truncated_file_is_analysed_up_to_the_cut(conversation: dict[str, Path],
                                                  tmp_path: Path) -> None:
    data = conversation["stereo"].read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 3])
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe", "--quiet")
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "o" / "session.json").read_text())
    total = load_truth(conversation)["duration_s"]
    assert session["duration_s"] == pytest.approx(total / 3, abs=0.5)


def test_channel_map_that_does_not_fit(conversation: dict[str, Path], tmp_path: Path) -> None:
    proc = cli("analyze", conversation["stereo"], "--out", tmp_path, "--no-transcribe",
               "--channels", "therapist,client,client_2")
    assert proc.returncode == 2
    assert "names 3 roles" in one_error_line(proc)


def test_unwritable_output(conversation: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    proc = cli("analyze", conversation["stereo"], "--out", blocker / "sub", "--no-transcribe",
               "--quiet")
    assert proc.returncode == 6
    assert "cannot write" in one_error_line(proc)


def test_missing_model_is_a_clear_error(conversation: dict[str, Path], tmp_path: Path) -> None:
    proc = cli("analyze", conversation["stereo"], "--out", tmp_path, "--model", tmp_path / "none",
               "--quiet")
    assert proc.returncode == 5
    assert "not a CTranslate2 Whisper model" in one_error_line(proc)


@pytest.mark.slow
def test_transcript_with_the_bundled_model(shared_data: Path, tmp_path: Path) -> None:
    proc = cli("analyze", shared_data / "asr/jfk.wav", "--out", tmp_path, "--quiet",
               "--speakers", "1")  # one voice: nothing to tell apart
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "session.json").read_text())
    text = " ".join(u["text"] for u in session["transcript"]).lower()
    assert "ask not what your country can do for you" in text


def test_mono_by_voice_decodes_the_file_once(conversation: dict[str, Path],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from live_attune import analyze

    opened = []
    real = analyze.iter_blocks

    def counted(path: str | Path) -> object:
        opened.append(path)
        return real(path)

    monkeypatch.setattr(analyze, "iter_blocks", counted)
    monkeypatch.setattr(analyze, "read_all", lambda _p: pytest.fail("decoded a second time"))
    result = analyze.analyze_file(conversation["mono"], prosody=False,
                                  single_mic=analyze.SingleMicOptions())
    assert len(opened) == 1
    assert result.layout.mode == "single-mic" and result.attribution


def test_truncated_mono_file_is_attributed_up_to_the_cut(conversation: dict[str, Path],
                                                         tmp_path: Path) -> None:
    data = conversation["mono"].read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: len(data) // 2])
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe", "--quiet",
               "--no-store")
    assert proc.returncode == 0, proc.stderr
    session = json.loads((tmp_path / "o" / "session.json").read_text())
    assert session["mode"] == "single-mic"
    total = load_truth(conversation)["duration_s"]
    assert session["duration_s"] == pytest.approx(total / 2, abs=0.5)
