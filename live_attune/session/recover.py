"""Rebuild an interrupted live session from its journal (see store/db.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from live_attune.audio.decode import AudioInfo
from live_attune.audio.vad import VadConfig
from live_attune.core import MetricsConfig, Segment, SessionMetrics
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import SessionHistory, replay_segments
from live_attune.core.events import Transcript, Word
from live_attune.session.config import MODE_SINGLE, Layout, PipelineConfig
from live_attune.session.output import session_dict
from live_attune.session.result import SessionResult, session_result
from live_attune.session.single_mic import rate_interruptions_of, with_counts
from live_attune.speakers.channels import CrosstalkConfig
from live_attune.store.db import Journal, Store
from live_attune.store.recorder import repair_wav


def recover(store: Store, ref: str) -> dict[str, Any]:
    """Recover session ``ref`` (state interrupted): measure what was committed, save it.
    (Recovered again, the roles as the user swapped them: session/rescore.recover_again.)"""
    journal = store.journal(ref)
    result = recovered_result(journal)
    if journal.row.audio_path and Path(journal.row.audio_path).exists():
        repair_wav(Path(journal.row.audio_path))
    data = session_dict(result)
    store.save_result(journal.row.id, data, state="recovered")
    return store.result(journal.row.id)


def recovered_result(journal: Journal) -> SessionResult:
    """The session as it stood at its last checkpoint, open speech closed there."""
    row, end_s = journal.row, journal.checkpoint_s
    config = pipeline_config(journal.config)
    segments = [Segment(s, a, min(b, end_s)) for s, a, b in journal.segments if a < end_s]
    closed = {(s.speaker, s.start_s) for s in segments}
    segments += [Segment(s, onset, end_s) for s, onset in journal.open_s.items()
                 if (s, onset) not in closed and onset < end_s]
    recount = journal.recount if row.mode == MODE_SINGLE else None
    to_s = None if recount is None else min(recount[0], end_s)
    if recount is not None and to_s is not None:  # its decisions before to_s, live after
        segments = [Segment(s, a, min(b, to_s)) for s, a, b in recount[1] if a < to_s] + [
            Segment(s.speaker, max(s.start_s, to_s), s.end_s) for s in segments
            if s.end_s > to_s]
    segments.sort(key=lambda s: s.start_s)
    engine = replay_segments(row.speakers, segments, end_s=end_s, sample_rate=SAMPLE_RATE,
                             config=config.metrics)
    metrics, history = engine.finish(), engine.history
    if to_s is not None:
        metrics, history = counted_to(row.speakers, segments, to_s, metrics, history,
                                      config.metrics)
    if row.mode == MODE_SINGLE:
        rate_interruptions_of(history, config.metrics)
    transcripts = tuple(_transcript(d) for d in journal.transcripts if d["start_s"] < end_s)
    layout = Layout(row.mode, row.speakers, tuple(range(len(row.speakers))),
                    len(row.speakers))
    info = AudioInfo(row.source, len(row.speakers), SAMPLE_RATE, end_s, "live")
    note = (f"recovered from the store after the live session stopped unexpectedly; "
            f"measured up to {end_s:.1f} s (the last committed checkpoint)")
    if to_s is not None:
        note += (f"; voices decided again up to {to_s:.1f} s (the last recount), "
                 "interruptions and backchannels counted up to there")
    return session_result(info=info, layout=layout, config=config, metrics=metrics,
                          history=history, duration_s=end_s,
                          notes=(f"live session from {row.source}", note),
                          transcript=transcripts, live_decisions_only=row.mode == MODE_SINGLE)


def counted_to(speakers: Sequence[str], segments: Sequence[Segment], to_s: float,
               metrics: SessionMetrics, history: SessionHistory, config: MetricsConfig
               ) -> tuple[SessionMetrics, SessionHistory]:
    """A one-microphone session's measures with its interruptions and backchannels those
    of its segments before ``to_s`` alone (the newest live recount reached there; after it
    only live decisions, which give each moment one voice and so find no interruption): the
    events already final there, as the dashboard showed them (session/single_mic.py)."""
    before = [Segment(s.speaker, s.start_s, min(s.end_s, to_s)) for s in segments
              if s.start_s < to_s]
    engine = replay_segments(speakers, before, end_s=to_s, sample_rate=SAMPLE_RATE,
                             config=config, finished=False)
    return with_counts(metrics, engine.snapshot(), to_s), replace(
        history, interruptions=list(engine.history.interruptions),
        backchannels=list(engine.history.backchannels))


def pipeline_config(data: dict[str, Any]) -> PipelineConfig:
    return PipelineConfig(metrics=MetricsConfig(**data["metrics"]),
                          vad=VadConfig(**data["vad"]),
                          crosstalk=CrosstalkConfig(**data["crosstalk"]))


def _transcript(d: dict[str, Any]) -> Transcript:
    words = tuple(Word(**w) for w in d.get("words", ()))
    return Transcript(**(d | {"words": words}))
