"""`live-attune analyze` end to end, as a user runs it (a real subprocess)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest

from live_attune.audio.decode import probe, read_all
from live_attune.session.output import schema
from live_attune.synth.truth import write_wav
from tests.audio.files import cut, encode, write_float_wav
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


@pytest.mark.slow
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
    declared, held = probe(conversation["stereo"]).duration_s, session["duration_s"]
    assert (f"the file is cut short (the WAV header declares {declared:.1f} s of audio, the file "
            f"holds {held:.1f} s); only its first {held:.1f} s are analysed") in session["notes"]


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
    from live_attune.session import offline as analyze
    from live_attune.session.config import SingleMicOptions

    opened = []
    real = analyze.iter_blocks

    def counted(path: str | Path, **options: Any) -> object:
        opened.append(path)
        return real(path, **options)  # notes= and the like, passed through

    monkeypatch.setattr(analyze, "iter_blocks", counted)
    from live_attune.audio import decode

    monkeypatch.setattr(decode, "read_all", lambda _p: pytest.fail("decoded a second time"))
    result = analyze.analyze_file(conversation["mono"], prosody=False,
                                  single_mic=SingleMicOptions())
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


# --- issue 14: hostile input that used to break silently -------------------------------

def session_of(proc: subprocess.CompletedProcess[str], out: Path) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr
    session: dict[str, Any] = json.loads((out / "session.json").read_text())
    jsonschema.validate(session, schema())
    return session


def test_eight_channels_with_the_roles_anywhere(short_conversation: dict[str, Path],
                                                tmp_path: Path) -> None:
    # 8+ channels segfaulted (rc 139) in the decoder
    stereo = read_all(short_conversation["stereo"])
    eight = np.zeros((8, stereo.shape[1]), np.float32)
    eight[5], eight[2] = stereo[0], stereo[1]  # therapist on 6, client on 3
    eight[7] = 0.001 * np.random.default_rng(0).standard_normal(stereo.shape[1])
    path = tmp_path / "eight.wav"
    write_wav(path, eight)
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe", "--quiet",
               "--no-store", "--channels", "ignore,ignore,client,ignore,ignore,therapist,"
               "ignore,ignore")
    session = session_of(proc, tmp_path / "o")
    for role, share in load_truth(short_conversation)["talk_share"].items():
        assert session["metrics"]["talk_share"][role] == pytest.approx(share, abs=0.03)


def test_more_than_32_channels_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "many.wav"
    write_wav(path, np.zeros((33, 1600), np.float32))
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe")
    assert proc.returncode == 3
    assert "has 33 channels; at most 32 are supported" in one_error_line(proc)


@pytest.mark.slow
def test_nan_and_inf_samples_are_repaired_with_a_note(short_conversation: dict[str, Path],
                                                      tmp_path: Path) -> None:
    """NaN/Inf bursts (in silence and over speech) measure exactly as the same samples
    zeroed; with prosody on (the default) this used to be a traceback, with --no-prosody
    6 segments instead of 36."""
    clean = read_all(short_conversation["stereo"])
    halves = clean[:, : clean.shape[1] // 8000 * 8000].reshape(2, -1, 8000)
    quietest = int(np.argmin(np.abs(halves).max(axis=(0, 2)))) * 8000  # a 0.5 s silence
    bursts = [(quietest, 8000, np.nan),
              (int(np.argmax(np.abs(clean[0]))), 1600, np.inf),  # 0.1 s over speech
              (int(np.argmax(np.abs(clean[1]))), 160, -np.inf)]
    zeroed, broken = clean.copy(), clean.copy()
    for start, n, value in bursts:
        zeroed[:, start:start + n] = 0.0
        broken[:, start:start + n] = value
    write_float_wav(tmp_path / "zeroed.wav", zeroed, 16_000)
    write_float_wav(tmp_path / "broken.wav", broken, 16_000)
    runs = {name: cli("analyze", tmp_path / f"{name}.wav", "--out", tmp_path / name,
                      "--no-transcribe", "--no-store") for name in ("zeroed", "broken")}
    want, got = (session_of(runs[n], tmp_path / n) for n in ("zeroed", "broken"))
    for key in ("metrics", "segments", "turns", "prosody"):
        assert got[key] == want[key], key
    count = 2 * (8000 + 1600 + 160)
    note = (f"{count} non-finite samples (NaN or infinity) over {count / 2 / 16_000:.3f} s of "
            "audio")
    assert [n for n in got["notes"] if n.startswith(note)], got["notes"]
    assert f"note: {note}" in runs["broken"].stdout


def test_cut_opus_file_is_analysed_up_to_the_cut_with_a_note(
        short_conversation: dict[str, Path], tmp_path: Path) -> None:
    whole = tmp_path / "whole.opus"
    audio = read_all(short_conversation["stereo"])
    encode(whole, audio, 16_000, "libopus")
    path = cut(whole, 0.5)
    proc = cli("analyze", path, "--out", tmp_path / "o", "--no-transcribe", "--no-store")
    session = session_of(proc, tmp_path / "o")
    total = load_truth(short_conversation)["duration_s"]
    assert session["duration_s"] == pytest.approx(total / 2, abs=3)
    note = ("the file is cut short (its last Ogg page is incomplete); only its first "
            f"{session['duration_s']:.1f} s are analysed")
    assert note in session["notes"]
    assert f"note: {note}" in proc.stdout


def test_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "session.wav"
    os.mkfifo(fifo)  # nobody writes: opening it to read would wait for ever
    proc = cli("analyze", fifo, "--out", tmp_path / "o", "--no-transcribe", timeout=60)
    assert proc.returncode == 3
    assert one_error_line(proc).endswith(
        "session.wav: is not a regular file (a pipe or device); give an audio file")


@pytest.mark.slow
def test_no_transcript_keeps_no_words_in_the_out_files_either(
        short_conversation: dict[str, Path], tmp_path: Path, private_data_dir: Path) -> None:
    """--no-transcript: no words anywhere (the store, --out), the measures kept — the
    question and reflection counts come from the words and stay."""
    proc = cli("analyze", short_conversation["stereo"], "--no-transcript", "--no-prosody",
               "--quiet", "--out", tmp_path / "out")
    assert proc.returncode == 0, proc.stderr
    saved = json.loads((tmp_path / "out" / "session.json").read_text())
    assert saved["transcript"] == []
    assert saved["metrics"]["language"]["words"]["therapist"] > 0
    stored = cli("sessions", "export", "last", "--out", tmp_path / "exported.json")
    assert stored.returncode == 0, stored.stderr
    assert json.loads((tmp_path / "exported.json").read_text())["transcript"] == []
