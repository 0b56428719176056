"""Transcription: accuracy, live latency and offline speed (medians), in one run.

    python bench/bench_asr.py [--live-seconds 90] [--repeat 3]

  * WER of the bundled tiny.en: jfk.wav, the generator's clean sentences, and a generator
    conversation through the whole pipeline (stereo, crosstalk -14 dB, SNR 20 dB);
  * live: utterance end → transcript event, replaying a conversation in real time through
    the live session with the ASR worker (the p95 over utterances of at most 10 s);
  * offline: `analyze` with transcription (Whisper on a thread beside the analysis) vs
    without, vs transcribing after the analysis, and vs faster-whisper alone (its own Silero
    VAD filter) on the same file, as fractions of real time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from live_attune.asr.wer import wer
from live_attune.asr.whisper import default_model_path, load_model, transcribe, transcribe_spans
from live_attune.audio.decode import read_all
from live_attune.audio.replay import FileReplaySource
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.utterances import utterances
from live_attune.server.app import ServeOptions, run_live
from live_attune.session.config import layout_for
from live_attune.session.offline import analyze_file
from live_attune.synth import MixConfig, make_conversation
from live_attune.synth.scenario import CLIENT_LINES, THERAPIST_LINES
from live_attune.synth.truth import write
from live_attune.synth.voices import CLIENT_VOICE, THERAPIST_VOICE, speak

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def wer_rows(model: object, conv_dir: Path) -> list[tuple[str, float]]:
    jfk = transcribe(model, read_all(SHARED / "asr/jfk.wav")[0])[0]
    rows = [("jfk.wav", wer((SHARED / "asr/jfk.txt").read_text(), jfk))]
    refs, hyps = [], []
    for voice, lines in ((THERAPIST_VOICE, THERAPIST_LINES), (CLIENT_VOICE, CLIENT_LINES)):
        for line in lines:
            refs.append(line)
            hyps.append(transcribe(model, np.pad(speak(voice, line), 4000))[0])
    rows.append(("generator sentences", wer(" ".join(refs), " ".join(hyps))))
    conv = make_conversation(1)
    paths = write(conv, conv_dir, MixConfig(seed=1))
    result = analyze_file(paths["stereo"])
    spoken = transcribe_spans(paths["stereo"], utterances(result.history.segments),
                              {"therapist": 0, "client": 1})
    for role in ("therapist", "client"):
        ref = " ".join(u.text for u in conv.utterances if u.speaker == role)
        hyp = " ".join(t.text for t in spoken if t.speaker == role)
        rows.append((f"conversation, {role} channel", wer(ref, hyp)))
    return rows


def live_latency(path: Path, seconds: float) -> tuple[list[float], dict[str, object]]:
    from live_attune.asr.worker import AsrWorker

    workers: list[AsrWorker] = []

    def factory(on_result: object) -> AsrWorker:
        workers.append(AsrWorker(on_result))  # type: ignore[arg-type]
        return workers[0]

    async def go() -> None:
        source = FileReplaySource(path, speed=1.0)
        task = asyncio.create_task(run_live(
            source, layout_for(2, None, "x"), ServeOptions(port=0, open_browser=False),
            asr=factory))
        await asyncio.sleep(seconds)
        task.cancel()

    with __import__("contextlib").suppress(asyncio.CancelledError):
        asyncio.run(go())
    return list(workers[0].latencies_s), workers[0].status()


def offline_speed(path: Path, repeat: int) -> list[tuple[str, float]]:
    audio_s = read_all(path).shape[1] / SAMPLE_RATE
    model = load_model(default_model_path())

    def ours(transcribe_it: bool) -> float:
        t = time.perf_counter()
        analyze_file(path, transcribe=transcribe_it)  # Whisper beside the analysis
        return time.perf_counter() - t

    def transcribing_after() -> float:  # how analyze ran until session 7
        t = time.perf_counter()
        result = analyze_file(path)
        transcribe_spans(path, utterances(result.history.segments),
                         {"therapist": 0, "client": 1})
        return time.perf_counter() - t

    def whisper_alone() -> float:
        mono = read_all(path).mean(axis=0)
        t = time.perf_counter()
        segments, _ = model.transcribe(mono, language="en", beam_size=1, temperature=0.0,
                                       condition_on_previous_text=False, vad_filter=True)
        list(segments)
        return time.perf_counter() - t

    runs = {"analyze, no transcript": [ours(False) for _ in range(repeat)],
            "analyze + transcript": [ours(True) for _ in range(repeat)],
            "analyze, then transcript": [transcribing_after() for _ in range(repeat)],
            "faster-whisper alone (VAD on)": [whisper_alone() for _ in range(repeat)]}
    return [(k, statistics.median(v) / audio_s) for k, v in runs.items()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--live-seconds", type=float, default=90.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    model = load_model(default_model_path())
    with tempfile.TemporaryDirectory() as tmp:
        rows = wer_rows(model, Path(tmp) / "conv")
        stereo = Path(tmp) / "conv" / "stereo.wav"
        speed = offline_speed(stereo, args.repeat)
        lat, status = live_latency(stereo, args.live_seconds)
    print("\nWER (bundled tiny.en, normalised text)")
    for name, value in rows:
        print(f"  {name:<32}{100 * value:6.1f} %")
    short = sorted(lat)
    p95 = statistics.quantiles(short, n=20)[-1] if len(short) >= 20 else max(short, default=0)
    print(f"\nlive, real time, {args.live_seconds:.0f} s: {len(lat)} utterances transcribed, "
          f"{status['dropped']} dropped; utterance end → text median "
          f"{statistics.median(short):.2f} s, p95 {p95:.2f} s")
    print("\noffline, fraction of real time (median)")
    base = speed[-1][1]
    for name, value in speed:
        print(f"  {name:<32}{value:8.3f}   ({value / base:.2f}x faster-whisper alone)")


if __name__ == "__main__":
    main()
