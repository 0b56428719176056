"""Single-microphone attribution: two approaches, DER and talk-share error, in one run.

    python bench/bench_single_mic.py [--seeds 1-6]

Approaches (windows: live_attune/speakers/single.py; gmm: below, used nowhere else):
  windows  1.5 s windows of mean MFCCs + median pitch, Ward clustering (what analyze uses)
  gmm      a diagonal Gaussian mixture over 10 ms MFCC frames, 1 s majority smoothing
Data: generator mono mixes (two voices, SNR 20 dB, light reverb, RT60 0.3 s), with and
without a therapist voice print (enrolled from the therapist's voice speaking other
sentences alone), and the real recordings in ../shared/data/conversations (no profile).
DER with pyannote.metrics, collar 0.25 s; references: the generator's truth, the RTTMs.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from pathlib import Path

import numpy as np
from pyannote.core import Annotation, Segment
from pyannote.metrics.diarization import DiarizationErrorRate

from calibration import voice
from calibration.measure import vad_flags
from live_attune.audio.decode import read_all
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.roles import THERAPIST, client_role
from live_attune.speakers.single import FRAME_S, Attribution, attribute, mfcc_frames
from live_attune.synth import MixConfig, make_conversation, render
from live_attune.synth.scenario import THERAPIST_LINES
from live_attune.synth.truth import truth_dict
from live_attune.synth.voices import THERAPIST_VOICE, speak

ROOT = Path(__file__).resolve().parent.parent
REAL = ROOT.parent / "shared" / "data" / "conversations"
REAL_FILES = {"ami/dev00": "ami/dev00.ami_only_words.rttm",
              "ami/trn00": "ami/trn00.ami_only_words.rttm",
              "ami/trn04": "ami/trn04.ami_only_words.rttm",
              "pyannote_sample": "pyannote_sample/sample.rttm"}


def hypothesis(att: Attribution) -> Annotation:
    ann = Annotation()
    for idx, role in enumerate(att.roles):
        on = (att.labels == idx) | (att.second == idx)
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(int), [0]])))
        for a, b in zip(edges[::2], edges[1::2], strict=True):
            ann[Segment(a * FRAME_S, b * FRAME_S)] = role
    return ann


def der(reference: Annotation, att: Attribution) -> float:
    metric = DiarizationErrorRate(collar=0.25)
    return float(metric(reference, hypothesis(att), uem=reference.get_timeline().extent()))


def share_error_pp(reference: Annotation, att: Attribution) -> float:
    """Therapist talk share, hypothesis vs reference, in percentage points."""
    hyp = hypothesis(att)

    def share(ann: Annotation) -> float:
        talk = {label: ann.label_duration(label) for label in ann.labels()}
        total = sum(talk.values())
        return talk.get("therapist", 0.0) / total if total else 0.0

    return 100 * abs(share(hyp) - share(reference))


def enrolled_print() -> voice.VoicePrint:
    audio = np.concatenate([speak(THERAPIST_VOICE, t) for t in THERAPIST_LINES[::-1]] * 2)
    return voice.enrol(audio, vad_flags(audio[None])[0], noise_floor_dbfs=None)


def generator(seed: int) -> tuple[np.ndarray, Annotation]:
    conv, cfg = make_conversation(seed), MixConfig(seed=seed)
    _, mono = render(conv, cfg)
    ref = Annotation()
    for s in truth_dict(conv, cfg)["segments"]:  # type: ignore[union-attr]
        ref[Segment(s["start_s"], s["end_s"])] = s["speaker"]
    return mono[0], ref


def rttm(path: Path) -> Annotation:
    ann = Annotation()
    for line in path.read_text().splitlines():
        f = line.split()
        ann[Segment(float(f[3]), float(f[3]) + float(f[4]))] = f[7]
    return ann


def run(name: str, fn: object, audio: np.ndarray, flags: np.ndarray
        ) -> tuple[Attribution, float]:
    t = time.perf_counter()
    att = fn(audio, flags)  # type: ignore[operator]
    return att, (time.perf_counter() - t) / (len(audio) / SAMPLE_RATE)


def live_cost(audio: np.ndarray, repeat: int = 3) -> tuple[float, float, float]:
    """CPU share of one core, activity-only pipeline vs the single-mic pipeline on the same
    mono audio in 100 ms blocks (medians); the difference is what attribution costs live."""
    from live_attune.session.config import layout_for, single_mic_layout
    from live_attune.session.pipeline import ChannelPipeline
    from live_attune.session.single_mic import SingleMicPipeline

    def cpu(make: object) -> float:
        pipe = make()  # type: ignore[operator]
        t = time.process_time()
        for i in range(0, len(audio), 1600):
            pipe.process(audio[None, i:i + 1600])
        return (time.process_time() - t) / (len(audio) / SAMPLE_RATE)

    SingleMicPipeline(single_mic_layout()).process(audio[None, :48000])  # compile YIN first
    base = statistics.median(cpu(lambda: ChannelPipeline(layout_for(1, None, "x")))
                             for _ in range(repeat))
    single = statistics.median(cpu(lambda: SingleMicPipeline(single_mic_layout()))
                               for _ in range(repeat))
    return base, single, single - base


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", default="1-6")
    args = ap.parse_args()
    lo, hi = map(int, args.seeds.split("-"))
    vp = enrolled_print()
    approaches = {
        "windows": lambda a, f: attribute(a, f),
        "windows + print": lambda a, f: attribute(a, f, voice_mean=vp.mean, voice_cov=vp.cov),
        "gmm": lambda a, f: attribute_gmm(a, f),
    }
    rows: dict[str, dict[str, list[float]]] = {k: {"der": [], "share": [], "rt": [],
                                                   "real": []} for k in approaches}
    for seed in range(lo, hi + 1):
        audio, ref = generator(seed)
        flags = vad_flags(audio[None])[0]
        for name, fn in approaches.items():
            att, rt = run(name, fn, audio, flags)
            rows[name]["der"].append(der(ref, att))
            rows[name]["share"].append(share_error_pp(ref, att))
            rows[name]["rt"].append(rt)
    real_names = []
    for name, ref_path in REAL_FILES.items():
        wav = REAL / f"{name}.wav" if "/" in name else REAL / name / "sample.wav"
        audio = read_all(wav)[0]
        flags = vad_flags(audio[None])[0]
        ref = rttm(REAL / ref_path)
        real_names.append(name)
        for approach in ("windows", "gmm"):
            fn = approaches[approach]
            att = fn(audio, flags)  # type: ignore[operator]
            rows[approach]["real"].append(der(ref, att))
    print(f"\ngenerator mono mixes, seeds {lo}-{hi} (SNR 20 dB, RT60 0.3 s); DER collar 0.25 s")
    print(f"{'approach':18s}{'DER median':>12}{'DER max':>10}{'share err pp (max)':>20}"
          f"{'× real time':>13}")
    for name, r in rows.items():
        print(f"{name:18s}{100 * statistics.median(r['der']):>11.1f}%"
              f"{100 * max(r['der']):>9.1f}%{max(r['share']):>20.2f}"
              f"{statistics.median(r['rt']):>13.4f}")
    audio = np.concatenate([generator(seed)[0] for seed in range(lo, min(hi, lo + 2) + 1)])
    print(f"\nlive, {len(audio) / SAMPLE_RATE:.0f} s in 100 ms blocks (CPU share of one core, "
          "medians of 3; bar: attribution adds ≤ 10 %)")
    print(f"{'OpenBLAS threads':>18}{'activity-only':>15}{'by voice':>10}{'adds':>8}")
    from threadpoolctl import threadpool_info, threadpool_limits

    every = max(i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas")
    for label, limit in ((f"{every} (numpy's)", every), ("1 (live-attune)", 1)):
        with threadpool_limits(limits=limit, user_api="blas"):
            base, single, extra = live_cost(audio)
        print(f"{label:>18}{100 * base:>14.1f}%{100 * single:>9.1f}%{100 * extra:>7.1f}%")
    print("\nreal recordings (no profile; number of speakers estimated): DER per file")
    print(f"{'approach':18s}" + "".join(f"{n:>18s}" for n in real_names))
    for name in ("windows", "gmm"):
        print(f"{name:18s}" + "".join(f"{100 * d:>17.1f}%" for d in rows[name]["real"]))


def attribute_gmm(audio: np.ndarray, speech: np.ndarray, *, speakers: int = 2,
                  smooth_s: float = 1.0, iterations: int = 30) -> Attribution:
    """The other approach compared here: a diagonal Gaussian mixture
    over 10 ms MFCC frames of speech (one component per speaker, k-means++-style start),
    frame decisions smoothed by a ``smooth_s`` majority filter. The first to speak is the
    therapist."""
    mf = mfcc_frames(audio)[:, 1:]
    times = np.arange(len(mf)) * 0.01
    on = np.interp(times, np.arange(len(speech)) * FRAME_S, speech.astype(float)) > 0.5
    x = mf[on]
    if len(x) < 50 * speakers:
        return Attribution(np.where(speech, 0, -1), np.full(len(speech), -1), (THERAPIST,),
                           np.where(speech, 1.0, 0.0), "too little speech to tell voices apart")
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    resp = _gmm(x, speakers, iterations)
    lab10 = np.full(len(mf), -1)
    lab10[on] = resp.argmax(1)
    width = max(1, round(smooth_s / 0.01))
    votes = np.stack([np.convolve((lab10 == c).astype(float), np.ones(width), "same")
                      for c in range(speakers)])
    smoothed = np.where(on, votes.argmax(0), -1)
    frame_t = (np.arange(len(speech)) + 0.5) * FRAME_S
    labels = np.where(speech, smoothed[np.clip((frame_t / 0.01).astype(int), 0,
                                                len(smoothed) - 1)], -1)
    speaking = labels[labels >= 0]
    first = int(speaking[0]) if len(speaking) else 0
    names = (client_role(i) for i in itertools.count(1))
    roles = tuple(THERAPIST if c == first else next(names) for c in range(speakers))
    conf = np.where(speech, 1.0, 0.0)
    return Attribution(labels, np.full(len(speech), -1), roles, conf, "frame GMM")


def _gmm(x: np.ndarray, k: int, iterations: int) -> np.ndarray:
    """Responsibilities of a diagonal-covariance Gaussian mixture fitted by EM."""
    rng = np.random.default_rng(0)
    means = [x[rng.integers(len(x))]]
    for _ in range(1, k):  # k-means++ style: far from the chosen ones
        d = np.min([((x - m) ** 2).sum(1) for m in means], axis=0)
        means.append(x[rng.choice(len(x), p=d / d.sum())])
    mu, var, pi = np.array(means), np.ones((k, x.shape[1])), np.full(k, 1.0 / k)
    for _ in range(iterations):
        logp = -0.5 * (((x[:, None, :] - mu[None]) ** 2) / var[None] + np.log(var[None])
                       ).sum(-1) + np.log(pi[None])
        logp -= logp.max(1, keepdims=True)
        resp = np.exp(logp)
        resp /= resp.sum(1, keepdims=True)
        nk = resp.sum(0) + 1e-9
        mu = (resp.T @ x) / nk[:, None]
        var = (resp.T @ x**2) / nk[:, None] - mu**2 + 1e-3
        pi = nk / nk.sum()
    return np.asarray(resp)


if __name__ == "__main__":
    main()
