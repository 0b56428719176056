"""Re-score a stored session with therapist and client swapped (single-microphone sessions
whose role heuristic picked the wrong person). The measures are recomputed by replaying the
renamed segments through the engine — response latency, balance, interruptions by whom all
depend on who is the therapist — and the therapist's utterances are labelled afresh."""

from __future__ import annotations

import math
from typing import Any

from live_attune.audio.decode import AudioInfo
from live_attune.core import Segment
from live_attune.core.audio_facts import SAMPLE_RATE
from live_attune.core.conversation import replay_segments
from live_attune.core.events import MissingAudio, Transcript, Word
from live_attune.core.quality import NOT_COUNTED_STOPPED, RECOUNTED_STOPPED, word_of
from live_attune.errors import StoreError
from live_attune.language.labeller import label_transcripts
from live_attune.session.config import MODE_ACTIVITY, MODE_SINGLE, Layout, swap_role
from live_attune.session.output import session_dict
from live_attune.session.recover import counted_to, pipeline_config, recover
from live_attune.session.result import session_result
from live_attune.session.single_mic import rate_interruptions_of
from live_attune.speakers.single import FRAME_S, AttributedSpan
from live_attune.store.db import Store

SWAPPED = "therapist and client swapped after the analysis"  # the note: swapped once


def swap_refused(data: dict[str, Any]) -> str | None:
    """Why this session's roles cannot be swapped (None: they can). One microphone: the
    first to speak was taken as the therapist; a microphone per person: the microphones
    were worn the other way round (each channel's segments renamed give what analysing
    with --channels client,therapist gives, and a live session without kept audio has no
    other way back)."""
    if data["mode"] == MODE_ACTIVITY:
        return "an activity-only session has no therapist and client to swap"
    return None


def swap_roles(data: dict[str, Any]) -> dict[str, Any]:
    """session.json with therapist and client swapped and every measure recomputed; swapped
    twice, as it was (the note comes and goes, the one-microphone options are kept with
    ``swap_roles`` turned over). ValueError: swap_refused."""
    if (why := swap_refused(data)) is not None:
        raise ValueError(why)
    speakers = tuple(swap_role(s) for s in data["speakers"])
    config = pipeline_config(data["config"])
    segments = [Segment(swap_role(s["speaker"]), s["start_s"], s["end_s"])
                for s in data["segments"]]
    end_s = data["metrics"].get("at_s") or math.floor(data["duration_s"] / FRAME_S) * FRAME_S
    engine = replay_segments(speakers, segments, end_s=end_s, sample_rate=SAMPLE_RATE,
                             config=config.metrics)
    metrics, history = engine.finish(), engine.history
    to_s = data["metrics"].get("counted_to_s")  # recovered: counted up to the last recount
    if to_s is not None:
        metrics, history = counted_to(speakers, segments, to_s, metrics, history,
                                      config.metrics)
    if data["mode"] == MODE_SINGLE:
        rate_interruptions_of(history, config.metrics, _spans(data))
    source = data["source"]
    result = session_result(
        info=AudioInfo(source["path"], source["channels"], source["source_rate_hz"],
                       data["duration_s"], source["codec"]),
        layout=Layout(data["mode"], speakers, tuple(range(len(speakers))), source["channels"]),
        config=config, metrics=metrics, history=history,
        duration_s=data["duration_s"],
        notes=_notes_swapped(data["notes"]),
        transcript=label_transcripts(_transcript(t) for t in data.get("transcript", [])),
        missing_audio=(MissingAudio(**m) for m in data.get("missing_audio", [])),
        live_decisions_only=_live_decisions_only(data))
    out = session_dict(result)
    if (options := data["config"].get("single_mic")) is not None:
        out["config"]["single_mic"] = options | {"swap_roles": not options.get("swap_roles")}
    out["prosody"] = _prosody(data.get("prosody"))
    out["attribution"] = [a | {"speaker": swap_role(a["speaker"])}
                          for a in data.get("attribution", [])]
    return out


def recover_again(store: Store, ref: str) -> dict[str, Any]:
    """``sessions recover``: the session rebuilt from its journal (session/recover.py); a
    session recovered before and then turned round by the user (swap-roles) keeps the roles
    the user set (a stored result too damaged to read: as recovered; the journal rebuilds
    it)."""
    row = store.get(ref)
    try:
        swapped = row.state == "recovered" and is_swapped(store.result(row.id))
    except StoreError:
        swapped = False
    data = recover(store, row.id)
    if not swapped:
        return data
    store.save_result(row.id, swap_roles(data), state="recovered")
    return store.result(row.id)


def is_swapped(data: dict[str, Any]) -> bool:
    """Whether ``sessions swap-roles`` turned this stored session round: an odd number of
    times (an older version added its note at every swap)."""
    return list(data.get("notes", ())).count(SWAPPED) % 2 == 1


def _notes_swapped(notes: list[str]) -> tuple[str, ...]:
    """The notes of the session turned round once more: the note once, or not at all."""
    others = tuple(n for n in notes if n != SWAPPED)
    return others if notes.count(SWAPPED) % 2 == 1 else (*others, SWAPPED)


def _live_decisions_only(data: dict[str, Any]) -> bool:
    """A recovered one-microphone session stays one (its counts not counted, or counted
    up to its last recount)."""
    return word_of(data, "interruptions") in (NOT_COUNTED_STOPPED, RECOUNTED_STOPPED)


def _spans(data: dict[str, Any]) -> list[AttributedSpan] | None:
    """The stored attribution with its speakers swapped (None: a session.json without one,
    or with an empty one as a recovered live session stores: the interruptions' confidence
    is then rated as recovery rated it, without the second voice)."""
    if not data.get("attribution"):
        return None
    return [AttributedSpan(**(a | {"speaker": swap_role(a["speaker"])}))
            for a in data["attribution"]]


def _transcript(t: dict[str, Any]) -> Transcript:
    """The stored line with its speaker swapped and without its old label."""
    return Transcript(swap_role(t["speaker"]), t["start_s"], t["end_s"], t["text"],
                      tuple(Word(**w) for w in t.get("words", ())))


def _prosody(p: dict[str, Any] | None) -> dict[str, Any] | None:
    if p is None:
        return None
    pairs = {"therapist_after_client": "client_after_therapist",
             "client_after_therapist": "therapist_after_client"}
    return p | {
        "turns": [t | {"speaker": swap_role(t["speaker"])} for t in p["turns"]],
        "speakers": {swap_role(k): v for k, v in p["speakers"].items()},
        "baseline": {swap_role(k): v for k, v in p.get("baseline", {}).items()},
        "entrainment": p["entrainment"] | {"pairs": {
            pairs.get(k, k): v for k, v in p["entrainment"]["pairs"].items()}},
    }
