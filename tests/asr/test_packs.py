"""Offline transcription's packing: each speaker's utterances in ≤ 28 s windows, read once
from the file, only the open packs' audio held (no model needed)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from live_attune.asr.whisper import PACK_S, _packed, span_audio
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.utterances import Span
from live_attune.synth.truth import write_wav


def spans_every(seconds: float, total_s: float, length_s: float) -> list[Span]:
    """Utterances of ``length_s`` every ``seconds``, therapist and client in turn."""
    out, t, i = [], 0.0, 0
    while t + length_s <= total_s:
        out.append(Span("therapist" if i % 2 == 0 else "client", t, t + length_s))
        t, i = t + seconds, i + 1
    return out


def greedy(spans: list[Span]) -> list[list[Span]]:
    """The packing rule, one speaker after another (how packs were made before)."""
    packs: list[list[Span]] = []
    for speaker in sorted({s.speaker for s in spans}):
        pack: list[Span] = []
        total = 0.0
        for span in (s for s in spans if s.speaker == speaker):
            if pack and total + span.duration_s + 0.3 > PACK_S:
                packs.append(pack)
                pack, total = [], 0.0
            pack.append(span)
            total += span.duration_s + 0.3
        packs.append(pack)
    return packs


def test_packs_follow_the_greedy_rule_per_speaker() -> None:
    spans = [*spans_every(2.5, 600.0, 2.0), Span("client", 601.0, 630.0)]  # one over 28 s
    silent = ((s, np.zeros(1, np.float32)) for s in spans)
    packs = [pack for pack, _ in _packed(silent)]
    key = sorted(map(tuple, packs), key=lambda p: (p[0].speaker, p[0].start_s))
    assert key == sorted(map(tuple, greedy(spans)), key=lambda p: (p[0].speaker, p[0].start_s))
    assert [Span("client", 601.0, 630.0)] in packs  # alone: longer than a window


def test_a_pack_comes_out_as_soon_as_it_is_full() -> None:
    spans = spans_every(2.5, 300.0, 2.0)
    taken: list[Span] = []

    def spoken() -> Iterator[tuple[Span, np.ndarray]]:
        for span in spans:
            taken.append(span)
            yield span, np.zeros(1, np.float32)

    first, audio = next(_packed(spoken()))
    assert first[0] == spans[0] and set(audio) == set(first)
    # the therapist's 12th utterance would overflow 28 s: nothing after it was read
    assert taken[-1].speaker == "therapist" and len(taken) < len(spans) // 4


@pytest.mark.slow
def test_a_long_session_holds_only_the_open_packs(tmp_path: Path) -> None:
    """10 minutes of stereo speech (2 × 5 min of utterances, 38 MB as float32): packing it
    straight from the file keeps a few MB in memory (two open packs of 28 s), not all."""
    minutes = 10
    rng = np.random.default_rng(0)
    audio = (0.1 * rng.standard_normal((2, minutes * 60 * SAMPLE_RATE))).astype(np.float32)
    path = tmp_path / "long.wav"
    write_wav(path, audio)
    del audio
    spans = spans_every(1.0, minutes * 60.0, 0.9)
    speech_mb = sum(s.duration_s for s in spans) * SAMPLE_RATE * 4 / 1e6
    tracemalloc.start()
    packs = 0
    for pack, held in _packed(span_audio(path, spans, {"therapist": 0, "client": 1})):
        assert all(len(held[s]) == int(s.end_s * SAMPLE_RATE) - int(s.start_s * SAMPLE_RATE)
                   for s in pack)
        packs += 1
    peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    print(f"{speech_mb:.0f} MB of utterances in {packs} packs; peak traced {peak_mb:.1f} MB")
    assert packs >= speech_mb * 1e6 / (PACK_S * SAMPLE_RATE * 4) - 2
    assert peak_mb < speech_mb / 4
