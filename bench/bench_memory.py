"""Peak memory of `analyze`, per configuration and per stage, against faster-whisper alone.

    python bench/bench_memory.py [--minutes 10 50] [--repeat 3] [--file PATH ...]
                                 [--configs plain transcript language whisper]

Builds a stereo session of each length from generator conversations (crosstalk -14 dB,
SNR 20 dB; as bench_analyze.py) and runs, each in a fresh process, on the same file:
  * plain       `analyze --no-transcribe` (decode, VAD, attribution, engine, prosody);
  * transcript  the same + Whisper (tiny.en, CTranslate2) over the utterances, without
                the behaviour labels (language's sentence encoder not loaded);
  * language    the same + the labels: `analyze` as the CLI runs it by default;
  * whisper     faster-whisper alone: its model on the file (its own decode and Silero
                VAD filter), the reference for both memory and speed.
Each analyze child runs the command itself (`live-attune analyze FILE --out DIR --no-store
--quiet`, `--no-transcribe` for plain): a mono file is attributed by voice, as by default.
The peak is the child's VmHWM; a sampler thread reads VmRSS every 10 ms and the table of
stages says where it rose (imports, analyze, model load, transcription, labels, outputs).
Wall time counts from after the imports to the end (model load included on both sides).

Measured 2026-11-30 (2 cores shared with other workers, load 2-10: wall times are noisy),
peak MB, commit 8b1b8a3 -> this one (10 min: after = median of 3 runs, before 1 run; 50 min:
1 run each):
                                     10 min        50 min
  analyze, no transcript            312 -> 313    314 -> 315
  analyze + transcript              556 -> 527    702 -> 552
  analyze + transcript + language   646 -> 618    741 -> 622
  faster-whisper alone              759 / 794         2909
Where the rest is (50 min, after): imports 57, analyze +258 (librosa's YIN: numba, its
cached guvectorize kernels and scipy ~205 of it), Whisper model load +160 (its float16
weights read whole, then int8: a ~75 MB transient), transcription +77, labels +70.
Then YIN in numpy (core/pitch.py, librosa's values exactly) and the Whisper model loaded
before the analysis, one run each: 10 min (quiet machine) no transcript 144 MB,
+ transcript 347, + language 348; 50 min (beside a test run) + transcript 352, + language
352 — all under the 400 MB budget.
2026-11-30, Whisper beside the analysis on one thread (asr/background.py; quiet machine,
medians of 2, 50 min 1 run): 10 min stereo no transcript 146 MB (10.7 s), + language 378 MB
(17.8 s = 0.90 x faster-whisper alone, 19.7 s); 50 min + language 394 MB, 84 s (0.87 x);
10 min mono (transcribed after its revision) 242 / 397 MB, 34.7 s (1.77 x). Stage names:
"analyze + transcribe" starts once the thread is up (its model was loaded before the
analysis; the per-stage figures above were taken when it started before that load);
"revision" is one microphone's end-of-session decision.
Tried 2026-11-30 and not kept (0948c1c, 895a781; reverted): one microphone's speech sent to
Whisper beside its analysis as one voice, the words given to the revised speakers at the
end. Words as good (WER over whole generator conversations 0.234 against 0.229 transcribing
each revised utterance after), but the analysis's own memory (+160 MB over imports, two
microphones' +65) and Whisper's (+77 while transcribing) then stand at once: 10 min mono
peaked at 473-474 MB (median of 2; 400 MB budget), and under the other workers' load it
took 52 s (2.53 x). With the encoder's batch cut to 16 windows (842a589: the analysis's own
peak 239 -> 165 MB), measured again on a quiet machine: 408 MB and 29.3 s = 1.52 x
(faster-whisper alone 19.3 s; analysis alone 12.9 s) — Whisper on its one thread over the
mono speech is the long pole. Both budgets still missed, so not landed; transcribing after
stays (397 MB, 1.77 x).
2026-11-30 (session 9), why: numpy's OpenBLAS ran a thread per core that spins between
products (the one-microphone encoder's LSTM does thousands of small ones), taking the core
Whisper's thread needed, and each thread kept its own malloc arena. With one BLAS thread
and one arena (live_attune/_runtime.py), the beside route back, the revision and prosody
running while Whisper catches up, and one microphone's prosody measured as its blocks
stream (not decoded again after the revision): 10 min mono, this bench run at nice -15
beside other workers' nice +5 jobs (medians of 3; CPU s are the process's user+sys):
  analyze, no transcript             169 MB  11.8 s (0.64 x)  11.8 CPU s
  analyze + transcript + language    369 MB  17.4 s (0.94 x)  29.0 CPU s
  faster-whisper alone               792 MB  18.5 s           21.2 CPU s
(4 more runs of the second: 367-372 MB, 17.3-18.1 s). Steps, same conditions: the beside
route with one BLAS thread and the process's default arenas 411 MB / 31.1 s (1.82 x); one
arena 375 MB / 24.0 s (1.42 x); then the prosody 17.4 s. Transcribing after the revision,
one BLAS thread and one arena: 350 MB, 36.9 s (1.87 x). Stereo with transcript + language,
same conditions: 10 min 346 MB, 18.9 s (1.01 x; with the default arenas 377 MB, 0.90 x);
50 min 372 MB, 83.8 s (0.86 x; faster-whisper alone 97.1 s), 1 run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHILD = r"""
import json, os, sys, tempfile, threading, time
from pathlib import Path
import live_attune  # first, as in the CLI: it sets the runtimes up before any thread starts

def status_mb(key):  # VmHWM, unlike ru_maxrss, is not inherited across fork+exec
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024

stages = []  # (name, wall s, max sampled VmRSS MB, VmHWM MB at its end)
current = {"name": "start", "t": time.perf_counter(), "max": status_mb("VmRSS")}
running = True

def sampler():
    while running:
        current["max"] = max(current["max"], status_mb("VmRSS"))
        time.sleep(0.01)

def stage(name):
    now = time.perf_counter()
    rss = status_mb("VmRSS")
    stages.append((current["name"], now - current["t"], max(current["max"], rss),
                   status_mb("VmHWM")))
    current.update(name=name, t=now, max=rss)

threading.Thread(target=sampler, daemon=True).start()
path, config = sys.argv[1], sys.argv[2]
stage("imports")
if config == "whisper":
    import live_attune
    from live_attune.asr.whisper import default_model_path
    from faster_whisper import WhisperModel
    stage("model load")
    t0 = time.perf_counter()
    model = WhisperModel(str(default_model_path()), device="cpu", compute_type="int8",
                         local_files_only=True)
    stage("transcribe")
    cpu0 = sum(os.times()[:2])
    segments, _ = model.transcribe(path, language="en", beam_size=1, temperature=0.0,
                                   condition_on_previous_text=False, vad_filter=True)
    out = {"segments": len(list(segments))}
else:  # the CLI itself: `live-attune analyze FILE --out DIR --no-store --quiet`
    import live_attune.asr.whisper as whisper
    import live_attune.commands as commands
    from live_attune.cli import main

    def staged(name, fn):
        def wrapper(*a, **k):
            stage(name)
            return fn(*a, **k)
        return wrapper

    kept = {}
    def keep(result, out_dir, **kw):
        stage("outputs")
        kept["result"] = result
        return write_outputs(result, out_dir, **kw)

    write_outputs = commands.write_outputs
    commands.write_outputs = keep
    whisper.load_model = staged("model load", whisper.load_model)
    whisper.span_audio = staged("transcribe", whisper.span_audio)  # after (one microphone)
    import live_attune.asr.background as background  # beside the analysis
    import live_attune.session.single_mic as single_mic

    def staged_after(name, fn):
        def wrapper(*a, **k):
            out = fn(*a, **k)
            stage(name)
            return out
        return wrapper

    background.BackgroundTranscriber.__init__ = staged_after(  # its model load is staged
        "analyze + transcribe", background.BackgroundTranscriber.__init__)
    single_mic.SingleMicPipeline.finish = staged_after("after the revision", staged(
        "revision", single_mic.SingleMicPipeline.finish))  # one microphone's
    if config != "plain":
        import live_attune.language.labeller as labeller
        labeller.label_transcripts = (staged("language", labeller.label_transcripts)
                                      if config == "language" else list)
    stage("analyze")
    t0 = time.perf_counter()
    cpu0 = sum(os.times()[:2])
    with tempfile.TemporaryDirectory() as out_dir:
        argv = ["analyze", path, "--out", out_dir, "--no-store", "--quiet"]
        assert main(argv + (["--no-transcribe"] if config == "plain" else [])) == 0
        session = json.loads((Path(out_dir) / "session.json").read_text())
    result = kept["result"]
    out = {"turns": len(result.history.turns), "transcript": len(result.transcript),
           "talk_share": session["metrics"]["talk_share"]}
wall = time.perf_counter() - t0
cpu = sum(os.times()[:2]) - cpu0
stage("end")
running = False
out.update(wall_s=wall, cpu_s=cpu, peak_mb=status_mb("VmHWM"),
           stages=[{"name": n, "wall_s": w, "max_rss_mb": m, "hwm_mb": h}
                   for n, w, m, h in stages[1:]])
print(json.dumps(out))
"""

CONFIGS = ("plain", "transcript", "language", "whisper")
LABELS = {"plain": "analyze, no transcript", "transcript": "analyze + transcript",
          "language": "analyze + transcript + language",
          "whisper": "faster-whisper alone (VAD on)"}


def run_child(path: Path, config: str) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(path), config],
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{config} on {path} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def measure(path: Path, configs: list[str], repeat: int) -> dict[str, list[dict[str, Any]]]:
    """Runs interleaved (config after config, then again), so load drifts hit all alike."""
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in configs}
    for _ in range(repeat):
        for config in configs:
            runs[config].append(run_child(path, config))
    return runs


def print_table(name: str, runs: dict[str, list[dict[str, Any]]]) -> None:
    base = runs.get("whisper")
    base_mb = statistics.median(r["peak_mb"] for r in base) if base else None
    base_s = statistics.median(r["wall_s"] for r in base) if base else None
    print(f"\n{name}: medians of {len(next(iter(runs.values())))} runs, fresh processes")
    base_cpu = statistics.median(r["cpu_s"] for r in base) if base else None
    print(f"{'configuration':<34}{'peak MB':>9}{'vs fw':>7}{'wall s':>9}{'vs fw':>7}"
          f"{'cpu s':>8}{'vs fw':>7}")
    for config, rs in runs.items():
        mb = statistics.median(r["peak_mb"] for r in rs)
        s = statistics.median(r["wall_s"] for r in rs)
        cpu = statistics.median(r["cpu_s"] for r in rs)
        print(f"{LABELS[config]:<34}{mb:>9.0f}{_ratio(mb, base_mb):>7}{s:>9.1f}"
              f"{_ratio(s, base_s):>7}{cpu:>8.1f}{_ratio(cpu, base_cpu):>7}")
    print("  where it rose (first run; VmHWM at the stage's end / highest sampled VmRSS, MB)")
    for config, rs in runs.items():
        cells = "  ".join(f"{st['name']} {st['hwm_mb']:.0f}/{st['max_rss_mb']:.0f}"
                          f" {st['wall_s']:.1f}s"
                          for st in rs[0]["stages"])
        print(f"  {config:<11}{cells}")


def _ratio(value: float, base: float | None) -> str:
    return f"{value / base:.2f}" if base else "-"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, nargs="*", default=[10.0, 50.0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--file", type=Path, nargs="*", default=[], help="also these files")
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), choices=CONFIGS)
    args = ap.parse_args()
    from bench.bench_analyze import make_session

    for path in args.file:
        print_table(str(path), measure(path, args.configs, args.repeat))
    with tempfile.TemporaryDirectory() as tmp:
        for minutes in args.minutes:
            path = Path(tmp) / f"session_{minutes:g}min.wav"
            audio_s = make_session(minutes, path)
            runs = measure(path, args.configs, args.repeat)
            print_table(f"generator stereo session, {audio_s / 60:.1f} min ({path.name})", runs)
            path.unlink()


if __name__ == "__main__":
    main()
