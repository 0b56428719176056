"""A 3-hour session replayed as fast as possible through the live session path (issue 9):
memory flat within 50 MB after the first 10 minutes, per-block cost not growing.
(bench/bench_long.py prints the same figures as a table.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.bench_long import conversation_audio, run, verdict


@pytest.mark.slow
def test_three_hours_flat_memory_and_cost(private_data_dir: Path) -> None:
    marks, wall = run(3.0, 10.0, conversation_audio(5.0))
    growth, ratio = verdict(marks)
    print(f"3 h in {wall:.0f} s; memory growth {growth:+.1f} MB; cost ratio {ratio:.2f}")
    assert len(marks) == 18
    assert growth <= 50.0
    assert ratio <= 1.5  # a noisy shared machine; the bench quotes the measured ratio
