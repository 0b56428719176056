"""``live-attune calibrate``: the terminal wizard (live level meters) and ``--from-file``.

Both drive calibration/procedure.py; the dashboard's calibration view receives the same
progress through ``publish`` (a dict per 100 ms block and one with the results).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from calibration.procedure import Calibration, Step, calibrate, protocol, save
from live_attune.audio.capture import device_name
from live_attune.core.audio_facts import CLIP_LEVEL, SAMPLE_RATE
from live_attune.errors import AudioInputError, DeviceError

Publish = Callable[[dict[str, Any]], None]
METER_FLOOR_DB = -70.0


def from_file(path: Path, *, out: Path, enrol: bool) -> Calibration:
    from live_attune.audio.decode import read_all
    from live_attune.audio.vad import WINDOW

    audio = read_all(path)
    if audio.shape[1] < WINDOW:
        raise AudioInputError(f"{path}: {1000 * audio.shape[1] / SAMPLE_RATE:.0f} ms of audio "
                              "is too short to calibrate from (record the protocol: "
                              "live-attune calibrate)")
    cal = calibrate(audio, device=None, enrol=enrol, voice_path=_voice_path(out, enrol))
    save(cal, out)
    return cal


def run_wizard(*, device: int | str | None, channels: int, out: Path, step_s: float,
               enrol_s: float, prompt: bool, publish: Publish | None = None) -> Calibration:
    """Record the protocol from the input device, step by step, with level meters."""
    from live_attune.audio.capture import CaptureConfig, MicSource

    recorded = []
    with MicSource(CaptureConfig(device=device, channels=channels)) as source:
        blocks = audio_only(source.blocks())
        name = device_name(device)
        for step in protocol(step_s, enrol_s):
            print(f"\n{step.prompt} ({step.seconds:.0f} s)")
            if prompt:
                input("Press Enter to start ")
            recorded.append(record(blocks, step, publish))
    cal = calibrate(np.concatenate(recorded, axis=1), device=name, enrol=enrol_s > 0,
                    voice_path=_voice_path(out, enrol_s > 0))
    save(cal, out)
    publish_done(cal, out, publish)
    return cal


def audio_only(blocks: Iterator[tuple[float, object]]) -> Iterator[tuple[float, np.ndarray]]:
    """A calibration step wants audio: a hole (dropped blocks, a call's gap) is left out, and
    the step reads on until it has heard its full length."""
    for at, block in blocks:
        if isinstance(block, np.ndarray):
            yield at, block


def publish_done(cal: Calibration, out: Path, publish: Publish | None) -> None:
    """The results to the calibration view, if one is open."""
    if publish is not None:
        publish({"step": "done", "prompt": "Calibration finished", "seconds_left": 0.0,
                 "levels_db": [], "clipping": [], "lines": list(cal.lines),
                 "profile": str(out), "channels": []})


def record(blocks: Iterator[tuple[float, np.ndarray]], step: Step,
           publish: Publish | None, channels: Sequence[str] = ()) -> np.ndarray:
    """One step's audio; ``channels`` names each meter in the view (else "channel N")."""
    need = int(step.seconds * SAMPLE_RATE)
    parts, got = [], 0
    while got < need:
        try:
            _, block = next(blocks)
        except StopIteration:
            raise DeviceError("the input device stopped delivering audio") from None
        parts.append(block)
        got += block.shape[1]
        levels = meter_db(block)
        clipping = [bool(np.max(np.abs(ch)) >= CLIP_LEVEL) for ch in block]
        left = max(0.0, (need - got) / SAMPLE_RATE)
        print("\r" + meter_line(levels, clipping) + f"  {left:4.1f} s left", end="",
              flush=True)
        if publish is not None:
            publish({"step": step.name, "prompt": step.prompt, "seconds_left": left,
                     "levels_db": levels, "clipping": clipping, "lines": [], "profile": None,
                     "channels": list(channels) or [f"channel {i + 1}"
                                                    for i in range(len(levels))]})
    print()
    return np.concatenate(parts, axis=1)[:, :need]


def meter_db(block: np.ndarray) -> list[float]:
    power = np.mean(block.astype(np.float64) ** 2, axis=1)
    return [max(METER_FLOOR_DB, float(10 * np.log10(p + 1e-12))) for p in power]


def meter_line(levels_db: list[float], clipping: list[bool], width: int = 20) -> str:
    bars = []
    for i, (db, clip) in enumerate(zip(levels_db, clipping, strict=True)):
        filled = round(width * (db - METER_FLOOR_DB) / -METER_FLOOR_DB)
        bars.append(f"ch{i + 1} [{'#' * filled}{'.' * (width - filled)}] {db:5.0f} dBFS"
                    f"{' CLIP' if clip else '     '}")
    return "  ".join(bars)


def _voice_path(out: Path, enrol: bool) -> Path | None:
    return out.with_name(out.stem + "-voice.npz") if enrol else None


def print_report(cal: Calibration, out: Path) -> None:
    print()
    for line in cal.lines:
        print(line)
    print(f"\nsaved the profile {out}; use it with: live-attune live --profile {out}",
          file=sys.stdout)
