"""Regenerate the bundled demo session (live_attune/data/demo_session.opus).

A generator conversation (seed 7, 30 turns, bleed -14 dB, SNR 20 dB), stereo
(therapist left, client right), encoded as Opus at 48 kbit/s: about 1 MB for ~3.5 min.
Its truth file is written beside it as demo_session.truth.json.

    python scripts/make_demo.py
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.synth import MixConfig, ScenarioConfig, make_conversation, render
from live_attune.synth.truth import truth_dict

OUT = Path(__file__).resolve().parent.parent / "live_attune" / "data"
SEED, TURNS = 7, 30


def encode_opus(path: Path, audio: np.ndarray, rate: int = SAMPLE_RATE) -> None:
    with av.open(str(path), "w", format="ogg") as out:
        stream = out.add_stream("libopus", rate=rate, layout="stereo")
        stream.bit_rate = 48_000
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio.T.reshape(1, -1), np.float32), format="flt",
            layout="stereo")
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def main() -> None:
    conv = make_conversation(SEED, ScenarioConfig(turns=TURNS))
    mix = MixConfig(seed=SEED)
    stereo, _ = render(conv, mix)
    OUT.mkdir(parents=True, exist_ok=True)
    encode_opus(OUT / "demo_session.opus", stereo)
    (OUT / "demo_session.truth.json").write_text(json.dumps(truth_dict(conv, mix), indent=1))
    print(f"wrote {OUT / 'demo_session.opus'} ({conv.duration_s:.1f} s)")


if __name__ == "__main__":
    main()
