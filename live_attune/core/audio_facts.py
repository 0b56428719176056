"""Facts about the audio every layer shares (STYLE.md item 17: one home for each).

Everything downstream of capture and decoding is mono float32 at ``SAMPLE_RATE``; time is
a sample index at that rate (METRICS.md).
"""

from __future__ import annotations

SAMPLE_RATE = 16_000  # Hz: what capture and decoding deliver and VAD and Whisper expect
HOP = 160  # samples between feature frames: 10 ms at SAMPLE_RATE
HOP_S = HOP / SAMPLE_RATE  # 0.01 s
CLIP_LEVEL = 0.999  # a sample this close to full scale counts as clipping
