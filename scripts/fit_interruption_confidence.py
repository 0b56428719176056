"""Fit the one-microphone interruption confidence (speakers/overlap.interruption_confidence)
on hard generator seeds, and read it on others (issue 18).

Each seed's mono mix goes through the offline session path (``analyze_file`` with the
default ``SingleMicOptions``, as ``bench/bench_single_mic.py``); each interruption found is
right when the truth has one by the same speaker within 0.5 s (``matched_pairs``, METRICS.md's
rules on the true speech; matched greedily one to one, nearest first, so a second event
near the same true one is wrong). Its measured things are the ones the product reads: the
interrupter's bout (summed speech, the bout rule), the overlap in yield_within after the
onset, and the second voice heard over ONSET_EVIDENCE_S from the onset. A logistic model with
a ridge penalty on the slopes is fitted on ``--fit`` seeds; the script prints its constants,
and the AUC (the chance a right event ranks above a wrong one) of the fitted and the shipped
constants on the fit seeds' two halves (each half read by the other half's fit) and on the
``--check`` seeds. Both models: with the second voice, and the bout-only one (a recovered
session). Features are cached per seed (``--cache``), each line stamped with the code it
was measured with (the package's tree at HEAD and the working tree's changes to it): a
rerun reads the lines of the same code and measures the rest again.

    OMP_NUM_THREADS=1 python scripts/fit_interruption_confidence.py --fit 9-40 --check 41-88
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.bench_accuracy_hard import matched_pairs, seed_list  # noqa: E402
from bench.bench_single_mic import generated  # noqa: E402
from live_attune.session.config import SingleMicOptions  # noqa: E402
from live_attune.session.offline import analyze_file  # noqa: E402
from live_attune.speakers import overlap  # noqa: E402
from live_attune.synth.truth import write_wav  # noqa: E402


@dataclass(frozen=True, slots=True)
class Found:
    """One interruption found on one microphone: what the confidence reads, and the truth."""

    seed: int
    log_bout: float  # log of the bout's speech over backchannel_max_s (MIN_BOUT_S floor)
    second_voice: float  # 0..1
    overlap_s: float
    right: bool


def measured(seed: int) -> list[Found]:
    """The interruptions found on hard seed ``seed``, measured as the product measures."""
    audio, _, truth = generated(seed, hard=True)
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "mono.wav"
        write_wav(wav, audio[None])
        result = analyze_file(wav, single_mic=SingleMicOptions(), prosody=False)
    history, metrics = result.history, result.config.metrics
    found = history.interruptions
    right = {id(f) for _, f in matched_pairs(truth["interruptions"], found)}
    out = []
    for e in found:
        seen = overlap.interruption_evidence(e, history.segments, metrics, result.attribution)
        assert seen.second_voice is not None  # read from the attribution
        out.append(Found(seed, seen.log_bout, seen.second_voice, seen.overlap_s,
                         id(e) in right))
    return out


def code_stamp() -> str:
    """The code the events are measured with: the package's tree at HEAD and the working
    tree's changes to it (a cache line of other code is not read)."""
    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True,
                              check=True).stdout
    tree = git("rev-parse", "HEAD:live_attune").decode().strip()
    changes = hashlib.sha256(git("diff", "HEAD", "--", "live_attune")).hexdigest()
    return f"{tree[:12]}+{changes[:12]}"


def cached(seeds: Sequence[int], cache: Path | None) -> list[Found]:
    """Every seed's events, read from ``cache`` (JSON lines) where measured with this code,
    else measured and added to it."""
    stamp = code_stamp()
    known: dict[int, list[Found]] = {}
    if cache is not None and cache.exists():
        for line in cache.read_text().splitlines():
            row = json.loads(line)
            if row.get("code") == stamp:
                known[row["seed"]] = [Found(row["seed"], *e) for e in row["events"]]
    out = []
    for seed in seeds:
        if seed not in known:
            known[seed] = measured(seed)
            print(f"seed {seed}: {len(known[seed])} found, "
                  f"{sum(f.right for f in known[seed])} right", flush=True)
            if cache is not None:
                with cache.open("a") as f:
                    f.write(json.dumps({"seed": seed, "code": stamp, "events": [
                        [e.log_bout, e.second_voice, e.overlap_s, e.right]
                        for e in known[seed]]}) + "\n")
        out += known[seed]
    return out


def features(events: list[Found], *, bout_only: bool) -> np.ndarray:
    cols = [[e.log_bout for e in events]]
    if not bout_only:
        cols.append([e.second_voice for e in events])
    cols.append([e.overlap_s for e in events])
    return np.array(cols, float).T.reshape(len(events), len(cols))


def fit(x: np.ndarray, y: np.ndarray, ridge: float) -> np.ndarray:
    """Logistic regression by Newton's method, minimising the negative log-likelihood plus
    ``ridge`` / 2 times the squared slopes (not the intercept; features as measured, not
    scaled): [intercept, slopes...]. Both labels must occur."""
    if len(set(y.tolist())) < 2:
        raise ValueError("the fit needs right and wrong events")
    a = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(a.shape[1])
    penalty = np.diag([0.0] + [ridge] * x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-a @ w))
        grad = a.T @ (p - y) + penalty @ w
        hess = a.T @ (a * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            return w
    raise ValueError("the fit did not converge (separable events? raise --ridge)")


def auc(score: np.ndarray, y: np.ndarray) -> float:
    """The chance a right event scores above a wrong one (ties half)."""
    good, bad = score[y == 1], score[y == 0]
    if not len(good) or not len(bad):
        return float("nan")
    diff = good[:, None] - bad[None]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def shipped(bout_only: bool) -> np.ndarray:
    if bout_only:
        return np.array([overlap.BOUT_ONLY_INTERCEPT, overlap.BOUT_ONLY_PER_LOG_BOUT,
                         overlap.BOUT_ONLY_PER_OVERLAP_S])
    return np.array([overlap.CONFIDENCE_INTERCEPT, overlap.CONFIDENCE_PER_LOG_BOUT,
                     overlap.CONFIDENCE_PER_SECOND_VOICE, overlap.CONFIDENCE_PER_OVERLAP_S])


def read(w: np.ndarray, events: list[Found], bout_only: bool) -> float:
    x = features(events, bout_only=bout_only)
    return auc(w[0] + x @ w[1:], np.array([e.right for e in events], float))


def report(fit_events: list[Found], check: list[Found], ridge: float, bout_only: bool) -> None:
    name = "bout and overlap only" if bout_only else "with the second voice"
    x = features(fit_events, bout_only=bout_only)
    y = np.array([e.right for e in fit_events], float)
    w = fit(x, y, ridge)
    seeds = sorted({e.seed for e in fit_events})
    half = seeds[len(seeds) // 2]
    first = [e for e in fit_events if e.seed < half]
    second = [e for e in fit_events if e.seed >= half]
    w1 = fit(features(first, bout_only=bout_only),
             np.array([e.right for e in first], float), ridge)
    w2 = fit(features(second, bout_only=bout_only),
             np.array([e.right for e in second], float), ridge)
    print(f"\n{name}: {len(fit_events)} events ({int(y.sum())} right) on seeds "
          f"{seeds[0]}-{seeds[-1]}, ridge {ridge}")
    print("  fitted  [intercept, per log bout, " + ("" if bout_only else "per second voice, ")
          + "per overlap s] = " + ", ".join(f"{v:.2f}" for v in w))
    print("  shipped                     = " + ", ".join(f"{v:.2f}" for v in shipped(bout_only)))
    rows = [(f"in sample ({len(fit_events)} events)", read(w, fit_events, bout_only),
             read(shipped(bout_only), fit_events, bout_only)),
            (f"seeds < {half} (the other half's fit)", read(w2, first, bout_only),
             read(shipped(bout_only), first, bout_only)),
            (f"seeds >= {half} (the other half's fit)", read(w1, second, bout_only),
             read(shipped(bout_only), second, bout_only))]
    if check:
        cs = sorted({e.seed for e in check})
        rows.append((f"check seeds {cs[0]}-{cs[-1]} ({len(check)} events)",
                     read(w, check, bout_only), read(shipped(bout_only), check, bout_only)))
    print(f"  {'AUC':38} fitted  shipped (the shipped constants: as read on each set,"
          " in sample where they were fitted on it)")
    for label, fitted, kept in rows:
        print(f"  {label:38} {fitted:.3f}   {kept:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--fit", type=seed_list, default="9-40", help="hard seeds to fit on")
    ap.add_argument("--check", type=seed_list, default="41-88",
                    help="other hard seeds to read the fit on (\"\": none)")
    ap.add_argument("--ridge", type=float, default=1.0)
    ap.add_argument("--cache", type=Path, help="JSON lines of each seed's events")
    args = ap.parse_args()
    if len(args.fit) < 2 or set(args.fit) & set(args.check):
        ap.error("--fit needs two seeds or more, none of them among --check")
    fit_events = cached(args.fit, args.cache)
    check = cached(args.check, args.cache)
    for bout_only in (False, True):
        report(fit_events, check, args.ridge, bout_only)


if __name__ == "__main__":
    main()
