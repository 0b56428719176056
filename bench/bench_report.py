"""Report build time for a long session: prints a table of medians.

    python bench/bench_report.py [--minutes 50] [--repeat 3]

Builds a stereo session of the given length from generator conversations, analyses it
(no ASR; the generator's own words, labelled by the pipeline's classifier, stand in for the
transcript so the report has every section), stores it, and times in one run:
  * build_html alone (charts included), in this process;
  * `live-attune report ID --format html` in a fresh process (imports included);
  * `live-attune report ID --format html,pdf` in a fresh process (Chromium prints the PDF).
Target (issue 7): a 50-minute session's report in ≤ 5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.events import Transcript
from live_attune.language.labeller import label_transcripts
from live_attune.report import build_html
from live_attune.session.offline import analyze_file
from live_attune.session.output import config_dict, session_dict
from live_attune.store import NewSession, Store
from live_attune.synth import MixConfig, make_conversation, render
from live_attune.synth.truth import write_wav


def make_session(minutes: float, out: Path) -> list[Transcript]:
    pieces, lines, total, seed = [], [], 0.0, 0
    while total < minutes * 60:
        seed += 1
        conv = make_conversation(seed)
        stereo, _ = render(conv, MixConfig(seed=seed))
        lines += [Transcript(u.speaker, total + u.start_s, total + u.end_s, u.text)
                  for u in conv.utterances if u.kind != "backchannel"]
        pieces.append(stereo)
        total += stereo.shape[1] / SAMPLE_RATE
    audio = np.concatenate(pieces, axis=1)[:, : int(minutes * 60 * SAMPLE_RATE)]
    write_wav(out, audio)
    # labelled in order, with each utterance's dialogue context, as offline analysis does
    return label_transcripts([t for t in lines if t.end_s <= minutes * 60])


def timed(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=50.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["LIVE_ATTUNE_HOME"] = str(home)
        wav = Path(tmp) / "long.wav"
        lines = make_session(args.minutes, wav)
        result = replace(analyze_file(wav), transcript=tuple(lines))
        data = session_dict(result)
        new = NewSession(kind="analyze", source=str(wav), mode=result.layout.mode,
                         speakers=result.layout.speakers, config=config_dict(result.config))
        with Store() as store:
            store.create(new, state="complete")
            store.save_result(new.id, data, state="complete")
        cli = [sys.executable, "-m", "live_attune.cli", "report", new.id, "--out",
               str(Path(tmp) / "out"), "--format"]
        rows = [
            ("build_html (in process)", timed(lambda: build_html(data), args.repeat)),
            ("report --format html (fresh process)", timed(
                lambda: subprocess.run([*cli, "html"], check=True, capture_output=True),
                args.repeat)),
            ("report --format html,pdf (fresh process)", timed(
                lambda: subprocess.run([*cli, "html,pdf"], check=True, capture_output=True),
                args.repeat)),
        ]
        size_kb = len(build_html(data).encode()) / 1024
    print(f"\nsession: {args.minutes:g} min, {len(data['segments'])} segments, "
          f"{len(data['turns'])} turns, {len(data['metrics']['interruptions'])} interruptions,"
          f" {len(lines)} transcript lines; HTML {size_kb:.0f} KB")
    print(f"{'step':44s} {'median s':>9s} {'vs target 5 s':>14s}")
    for name, secs in rows:
        print(f"{name:44s} {secs:9.2f} {secs / 5.0:13.2f}x")


if __name__ == "__main__":
    main()
