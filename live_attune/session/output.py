"""session.json (described by schema/session.schema.json) and turns.csv."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import asdict, fields
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from live_attune import __version__
from live_attune.atomic import atomic_write, out_folder
from live_attune.core.language import summarize
from live_attune.core.metrics import client_share, talk_share_series
from live_attune.core.quality import quality_flags, reliability
from live_attune.csv_cells import safe_row
from live_attune.errors import LiveAttuneError, OutputError
from live_attune.prosody import ProsodyResult
from live_attune.session.config import MODE_SINGLE, PipelineConfig, SingleMicOptions
from live_attune.session.result import SessionResult

if TYPE_CHECKING:
    from live_attune.store.db import SessionRecord

SCHEMA_VERSION = 1
SERIES_STEP_S = 30.0  # one talk-share-over-time point per half minute


def session_dict(result: SessionResult) -> dict[str, Any]:
    """The whole analysis as plain JSON-able data (schema_version 1)."""
    h = result.history
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"live-attune {__version__}",
        "source": {"path": result.info.path, "channels": result.info.channels,
                   "source_rate_hz": result.info.source_rate_hz, "codec": result.info.codec},
        "mode": result.layout.mode,
        "speakers": list(result.layout.speakers),
        "duration_s": result.duration_s,
        "notes": list(result.notes),
        "reliability": asdict(reliability(
            voices_from_one_microphone=result.layout.mode == MODE_SINGLE,
            revised=not result.live_decisions_only,
            recounted=result.metrics.counted_to_s is not None)),
        "missing_audio": [asdict(m) for m in result.missing_audio],
        "attribution": [asdict(a) for a in result.attribution],
        "config": config_dict(result.config) | {"single_mic": single_mic_dict(result.single_mic)},
        "segments": [asdict(s) for s in h.segments],
        "turns": [asdict(t) | {"duration_s": t.duration_s} for t in h.turns],
        "pauses": [asdict(p) | {"duration_s": p.duration_s} for p in h.pauses],
        "floor_changes": [asdict(f) for f in h.floor_changes],
        "metrics": _metrics(result),
        "quality": [asdict(f) for f in quality_flags(
            segments=h.segments, talk_time_s=result.metrics.talk_time_s,
            overlap_s=result.metrics.overlap_s, duration_s=result.duration_s)],
        "talk_share_series": [asdict(p) for p in talk_share_series(
            result.layout.speakers, h.segments, end_s=result.duration_s,
            window_s=result.config.metrics.window_s, step_s=SERIES_STEP_S)],
        "transcript": [asdict(u) for u in result.transcript],
        "prosody": prosody_dict(result.prosody) if result.prosody is not None else None,
    }


def prosody_dict(p: ProsodyResult) -> dict[str, Any]:
    """Per-turn prosody, per-speaker means, and the (exploratory) entrainment figures."""
    return {
        "turns": [asdict(t) for t in p.turns],
        "speakers": p.speakers,
        "baseline": {s: asdict(b) for s, b in p.baseline.items()},
        "entrainment": {"label": "exploratory: published results on vocal synchrony and "
                                 "empathy disagree",
                        "pairs": {k: {f: asdict(e) for f, e in v.items()}
                                  for k, v in p.entrainment.items()}},
        "gaps_s": [list(g) for g in p.gaps_s],
    }


def single_mic_dict(options: SingleMicOptions | None) -> dict[str, Any] | None:
    """The one-microphone options a session was made with (None: channels said who spoke).
    A file given as an option (the therapist's voice print) is echoed as ``true``: its path
    names the user's folders and is not needed to read the result."""
    if options is None:
        return None
    return {f.name: (True if isinstance(v, Path) else v)
            for f in fields(options) for v in [getattr(options, f.name)]}


def config_dict(config: PipelineConfig) -> dict[str, Any]:
    return {"metrics": asdict(config.metrics), "vad": asdict(config.vad),
            "crosstalk": asdict(config.crosstalk)}


def _metrics(result: SessionResult) -> dict[str, Any]:
    m, h = result.metrics, result.history
    lat = m.response_latency
    return {
        "at_s": m.at_s,  # the end of the last whole 32 ms frame measured
        "talk_time_s": dict(m.talk_time_s),
        "talk_share": dict(m.talk_share),
        "talk_share_of_elapsed": dict(m.talk_share_of_elapsed),
        "rolling_talk_share": dict(m.rolling_talk_share),
        "client_share": client_share(m.talk_share),
        "balance": m.balance,
        "overlap_s": m.overlap_s,
        "overlap_share": m.overlap_share,
        "turn_count": m.turns,
        "response_latency_s": {"count": lat.count, "median": lat.median_s, "mean": lat.mean_s,
                               "share_patient": lat.share_patient},
        "longest_monologue_s": dict(m.longest_monologue_s),
        "interruptions": [asdict(i) for i in h.interruptions],
        "interruptions_by": dict(m.interruptions_by),
        "successful_interruptions_by": dict(m.successful_interruptions_by),
        "unsuccessful_interruptions_by": dict(m.unsuccessful_interruptions_by),
        "interruptions_per_hour_by": dict(m.interruptions_per_hour_by),
        "backchannels": [asdict(b) for b in h.backchannels],
        "backchannels_by": dict(m.backchannels_by),
        "long_silences": [asdict(s) | {"duration_s": s.duration_s} for s in h.long_silences],
        "long_silence_count": m.long_silences,
        # one microphone, recovered: the interruptions and backchannels counted up to here
        **({} if m.counted_to_s is None else {"counted_to_s": m.counted_to_s}),
        "language": language_dict(result) if result.transcript else None,
    }


def language_dict(result: SessionResult) -> dict[str, Any]:
    lang = summarize(result.transcript, result.metrics.talk_time_s)
    return {"words": dict(lang.words), "pace_wpm": dict(lang.pace_wpm),
            "therapist_behaviours": dict(lang.behaviours), "miti": asdict(lang.miti),
            "miti_intervals": None if lang.miti_intervals is None else asdict(lang.miti_intervals)}


def schema() -> dict[str, Any]:
    text = resources.files("live_attune").joinpath("schema/session.schema.json").read_text()
    return json.loads(text)  # type: ignore[no-any-return]


def write_outputs(result: SessionResult, out_dir: Path, *,
                  record: SessionRecord | None = None, keep_transcript: bool = True
                  ) -> tuple[Path, Path]:
    """Write ``session.json`` and ``turns.csv`` into ``out_dir`` (created if needed).
    ``record``: session.json's ``session`` (store.session_record: id, label, start time).
    Without ``keep_transcript`` (--no-transcript) the words are left out and the measures
    kept, as the store keeps them."""
    data = session_dict(result)
    if not keep_transcript:
        data["transcript"] = []
    if record is not None:
        data["session"] = dict(record)
    out_folder(out_dir)
    try:
        session_path, turns_path = out_dir / "session.json", out_dir / "turns.csv"
        atomic_write(session_path, json.dumps(data, indent=1) + "\n")
        atomic_write(turns_path, turns_csv(result))  # a new private file, even over an old one
    except OSError as exc:
        raise OutputError(f"cannot write to {out_dir}: {exc.strerror or exc}") from exc
    return session_path, turns_path


def turns_csv(result: SessionResult) -> str:
    """turns.csv's text: one row per turn."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf)
    writer.writerow(["speaker", "start_s", "end_s", "duration_s", "speech_s", "switch_gap_s"])
    for t in result.history.turns:
        gap = "" if t.switch_gap_s is None else f"{t.switch_gap_s:.3f}"
        writer.writerow(safe_row([t.speaker, f"{t.start_s:.3f}", f"{t.end_s:.3f}",
                                  f"{t.duration_s:.3f}", f"{t.speech_s:.3f}", gap]))
    return buf.getvalue()


def save_elsewhere(result: SessionResult, record: SessionRecord, *, keep_transcript: bool,
                   name: str | None = None) -> Path | None:
    """The store could not keep the session and no --out was given: its session.json and
    turns.csv go to the data directory's ``unsaved/ID``, or failing that (the same full
    disk) to a new private temporary directory. None when nothing could be written.

    This stands in for the store, so it keeps what the store would: without
    ``keep_transcript`` (--no-transcript) the measures but not the words. ``record``: the
    store's record of the session (store.session_record), written into the copy; ``name``,
    else the record's id, names the folder."""
    import tempfile

    from live_attune.paths import data_dir

    folder = name or record.get("id") or "session"
    places: list[Callable[[], Path]] = [
        lambda: data_dir() / "unsaved" / folder,
        lambda: Path(tempfile.mkdtemp(prefix=f"live-attune-{folder}-"))]  # mode 0700
    for place in places:
        try:
            return write_outputs(result, place(), record=record,
                                 keep_transcript=keep_transcript)[0]
        except (LiveAttuneError, OSError):
            continue
    return None
