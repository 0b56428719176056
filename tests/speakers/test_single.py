"""Single-microphone attribution (issue 3) on generator mono mixes of exactly known timing
(two voices, SNR 20 dB, RT60 0.3 s) and on the real recordings; DER by pyannote.metrics."""

from __future__ import annotations

import numpy as np
import pytest
from pyannote.core import Annotation, Segment

from bench.bench_single_mic import (
    REAL,
    REAL_FILES,
    der,
    enrolled_print,
    generator,
    rttm,
    share_error_pp,
)
from calibration.measure import vad_flags
from live_attune.audio.decode import read_all
from live_attune.speakers.single import FRAME_S, SingleMicConfig, attribute, choose_k


@pytest.fixture(scope="module")
def mixes() -> dict[int, tuple[np.ndarray, object, np.ndarray]]:
    out = {}
    for seed in (1, 2, 3):
        audio, ref = generator(seed)
        out[seed] = (audio, ref, vad_flags(audio[None])[0])
    return out


def test_der_and_talk_share_without_a_profile(mixes: dict) -> None:  # type: ignore[type-arg]
    for seed, (audio, ref, flags) in mixes.items():
        att = attribute(audio, flags)
        d, share = der(ref, att), share_error_pp(ref, att)
        print(f"seed {seed}: DER {100 * d:.1f} %, therapist share error {share:.2f} pp")
        assert att.roles == ("therapist", "client")  # the first to speak: the therapist
        assert d <= 0.15
        assert share <= 3.0


def test_der_with_a_voice_print_finds_the_therapist_whoever_speaks_first(
        mixes: dict) -> None:  # type: ignore[type-arg]
    vp = enrolled_print()
    for audio, ref, flags in mixes.values():
        # cut the start so that the client speaks first: the heuristic alone would be wrong
        t = next(seg.start for seg, _, who in ref.itertracks(yield_label=True)
                 if who == "client")
        cut = int(t * 16000) // 512 * 512
        moved = Annotation()
        for seg, _, who in ref.crop(Segment(t, ref.get_timeline().extent().end)).itertracks(
                yield_label=True):
            moved[Segment(seg.start - cut / 16000, seg.end - cut / 16000)] = who
        att = attribute(audio[cut:], flags[cut // 512:], voice_mean=vp.mean,
                        voice_cov=vp.cov)
        assert att.roles[int(att.labels[att.labels >= 0][0])] == "client"
        assert der(moved, att) <= 0.10


def test_overlap_is_detected_and_measured(mixes: dict) -> None:  # type: ignore[type-arg]
    tp = det = true = 0
    for audio, ref, flags in mixes.values():
        att = attribute(audio, flags)
        t = (np.arange(len(flags)) + 0.5) * FRAME_S
        act = {}
        for seg, _, who in ref.itertracks(yield_label=True):
            act.setdefault(who, np.zeros(len(flags), bool))
            act[who] |= (t >= seg.start) & (t < seg.end)
        both = act["therapist"] & act["client"]
        found = att.second >= 0
        tp, det, true = tp + (both & found).sum(), det + found.sum(), true + both.sum()
    precision, recall = tp / det, tp / true
    print(f"overlap (two at once): precision {precision:.2f}, recall {recall:.2f} over "
          f"{true * FRAME_S:.1f} s of true overlap")
    assert precision >= 0.45 and recall >= 0.45


def test_two_speakers_are_estimated(mixes: dict) -> None:  # type: ignore[type-arg]
    audio, _, flags = mixes[1]
    att = attribute(audio, flags)
    assert len(att.roles) == 2
    assert len(attribute(audio, flags, config=SingleMicConfig(speakers=3)).roles) == 3
    rng = np.random.default_rng(0)
    two_blobs = np.concatenate([rng.normal(0, 1, (40, 5)), rng.normal(6, 1, (40, 5))])
    assert choose_k(two_blobs, 3) == 2


def test_real_recordings_der_is_reported() -> None:
    for name, ref_path in REAL_FILES.items():
        wav = REAL / f"{name}.wav" if "/" in name else REAL / name / "sample.wav"
        audio = read_all(wav)[0]
        att = attribute(audio, vad_flags(audio[None])[0])
        d = der(rttm(REAL / ref_path), att)
        print(f"{name}: {len(att.roles)} speakers found, DER {100 * d:.1f} %")
        assert d < 0.60  # reported, not yet at the 25 % aim (see the issue note)
