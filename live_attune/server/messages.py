"""The websocket wire format, version 1: the one place it is defined.

Every message is a JSON object ``{"v": 1, "type": ..., ...}``. Server → dashboard:

=============  =========================================================================
type           when, and what it carries
=============  =========================================================================
snapshot       once on connect: session info, the current metrics, recent events, status;
               ``session.words`` is false when the server sends no transcript (--lan);
               ``session.reliability`` says, per kind of measure, "measured", "estimated"
               or "not reliable on one microphone", and while a one-microphone session
               runs "recounted every half minute, not reliable on one microphone" for
               interruptions and backchannels (core/quality.py: reliability);
               ``session.thresholds``: what the page shows, cues on or quotes in its
               definitions (patient wait, rolling window, long silence, monologue cue per
               modality, the interruption and backchannel rules, the talk-share bands, the
               MITI reflection-to-question levels, the comfortable pace), from core
               (core/context.py), and ``latency_min_answers`` (the room before answering
               is shown from then on);
               ``session.ended``: null while the session runs, then ``at_s``,
               ``saved_to`` (a file, or null) and ``session_id`` (kept in the store, or
               null) — so that a page opened after the end says so. Without words
               (--lan) ``saved_to`` is null and ``saved_where`` says "the therapist's
               computer" instead of a path
metrics        at most 4 Hz: the live METRICS.md measures (computed in core, only shown);
               ``counted_to_s``: null, or while a one-microphone session runs the time
               its interruption and backchannel counts reach (the newest recount of the
               voices so far, every half minute; 0.0 before the first: none yet)
floor          someone takes the floor: ``speaker``, ``at_s``, ``switch_gap_s``
turn           a turn ended: ``speaker``, ``start_s``, ``end_s``, ``speech_s``
interruption   ``at_s``, ``by``, ``of``, ``successful``
backchannel    ``at_s``, ``by``, ``of``, ``duration_s``
long_silence   ``start_s``, ``end_s``, ``before``, ``after``
transcript     ``speaker``, ``start_s``, ``end_s``, ``text`` (never with --lan)
prosody        a turn's voice: ``speaker``, ``start_s``, ``end_s``, ``rate_syl_s``,
               ``loudness_db``, ``f0_mean_st``, and against the speaker's usual
               (baseline): ``rate_ratio``, ``loudness_delta_db`` and their labels
               ``rate_label``, ``loudness_label`` (all null before a baseline)
status         about 1 Hz: input levels and clipping per role, overflows, ASR lag, state,
               the store (session id; an error while the store cannot be written), and
               ``warnings`` (the microphone profile does not match this input)
end            the session ended and was saved: ``saved_to`` (a file, or null); without
               words (--lan) ``saved_to`` is null and ``saved_where`` says where in words;
               ``reliability``: the finished session's (as ``session.reliability``), for
               the final metrics (sent at the end too: to a slow page, after this)
calibration    (``calibrate --dashboard``) up to 10 Hz: ``step``, ``prompt``,
               ``seconds_left``, ``levels_db`` and ``clipping`` per channel, ``channels``
               (what each meter is, in words: "channel 1" ..., or a call's "your
               microphone", "the call"); at the end ``lines`` (the report) and ``profile``
               (where it was saved)
error          a message from the dashboard was rejected: ``message``
pong           answer to ``ping``
=============  =========================================================================

Dashboard → server: only ``{"v": 1, "type": "ping"}``. Anything else (bad JSON, another
version, an unknown type, an oversized frame) is answered with ``error`` and changes nothing.
Golden examples of each type live in ``tests/fixtures/messages/`` and are read by both the
Python and the browser tests.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from live_attune.core import SessionMetrics
from live_attune.core.events import (
    Backchannel,
    Event,
    FloorChange,
    Interruption,
    LongSilence,
    Transcript,
    Turn,
)
from live_attune.core.language import LanguageSummary
from live_attune.core.metrics import client_share
from live_attune.core.prosody import ProsodyCue, TurnProsody
from live_attune.core.quality import ESTIMATED, MEASURED, NOT_RELIABLE_ONE_MIC, RECOUNTED_LIVE
from live_attune.core.roles import CLIENT, THERAPIST

VERSION = 1
MAX_CLIENT_MESSAGE_BYTES = 1024  # the dashboard only ever sends pings
WORD_TYPES = frozenset({"transcript"})  # the messages that carry what was said
SAVED_WHERE_LAN = "the therapist's computer"  # an ended session, seen over --lan

Message = dict[str, Any]


class MessageError(ValueError):
    """A client message that is not part of the protocol."""


def envelope(kind: str, **fields: Any) -> Message:
    return {"v": VERSION, "type": kind, **fields}


def encode(message: Message) -> str:
    return json.dumps(_finite(message), separators=(",", ":"))


def without_words(snapshot: str) -> str:
    """A snapshot less what was said: its recent events without ``WORD_TYPES``, and
    ``session.words`` false so that the dashboard can say the transcript is not sent."""
    message = json.loads(snapshot)
    recent = message.get("recent") or {}
    events = [e for e in recent.get("events", []) if e.get("type") not in WORD_TYPES]
    message["recent"] = {**recent, "events": events}
    session = {**message["session"], "words": False}
    if session.get("ended"):  # no file path over the network: only where, in words
        session["ended"] = {**session["ended"], "saved_to": None,
                            "saved_where": SAVED_WHERE_LAN}
    message["session"] = session
    return encode(message)


def language_fields(lang: LanguageSummary | None) -> dict[str, Any] | None:
    if lang is None:
        return None
    return {"reflection_to_question": lang.miti.reflection_to_question,
            "open_question_share": lang.miti.open_question_share,
            "complex_reflection_share": lang.miti.complex_reflection_share,
            "questions": lang.miti.questions, "reflections": lang.miti.reflections,
            "therapist_wpm": lang.pace_wpm.get(THERAPIST),
            "client_wpm": lang.pace_wpm.get(CLIENT),
            # as session.json's metrics.language.miti_intervals (the dashboard shows them in MI)
            "miti_intervals": (None if lang.miti_intervals is None
                               else asdict(lang.miti_intervals))}


def transcript_message(t: Transcript) -> Message:
    """One utterance's text, its words with their times in the session, and (therapist)
    its behaviour label."""
    words = [{"text": w.text, "start_s": float(w.start_s), "end_s": float(w.end_s)}
             for w in t.words]
    return envelope("transcript", speaker=t.speaker, start_s=t.start_s, end_s=t.end_s,
                    text=t.text, words=words, behaviour=t.behaviour)


def prosody_message(t: TurnProsody, c: ProsodyCue) -> Message:
    return envelope("prosody", speaker=t.speaker, start_s=t.start_s, end_s=t.end_s,
                    rate_syl_s=_finite(t.rate_syl_s), loudness_db=_finite(t.loudness_db),
                    f0_mean_st=_finite(t.f0_mean_st), rate_ratio=_finite(c.rate_ratio),
                    loudness_delta_db=_finite(c.loudness_delta_db), rate_label=c.rate_label,
                    loudness_label=c.loudness_label)


def metrics_message(m: SessionMetrics, language: LanguageSummary | None = None) -> Message:
    """The live measures; ``therapist_monologue_s`` is the running therapist turn, else 0."""
    lat = m.response_latency
    therapist_turn = m.current_turn_s if m.floor_holder == THERAPIST else 0.0
    return envelope(
        "metrics",
        at_s=m.at_s,
        floor=m.floor_holder,
        current_turn_s=m.current_turn_s,
        therapist_monologue_s=therapist_turn,
        monologue_cue=m.monologue_cue,
        talk_time_s=dict(m.talk_time_s),
        talk_share=dict(m.talk_share),
        rolling_talk_share=dict(m.rolling_talk_share),
        client_share=client_share(m.talk_share),
        rolling_client_share=client_share(m.rolling_talk_share),
        balance=m.balance,
        rolling_balance=m.rolling_balance,
        overlap_s=m.overlap_s,
        response_latency={"count": lat.count, "median_s": lat.median_s, "mean_s": lat.mean_s,
                          "share_patient": lat.share_patient,
                          "recent_s": list(m.recent_response_latencies_s)},
        longest_monologue_s=dict(m.longest_monologue_s),
        interruptions_by=dict(m.interruptions_by),
        successful_interruptions_by=dict(m.successful_interruptions_by),
        backchannels_by=dict(m.backchannels_by),
        long_silences=m.long_silences,
        turns=m.turns,
        counted_to_s=m.counted_to_s,
        language=language_fields(language),
    )


def event_message(event: Event) -> Message | None:
    """The wire form of an engine event; segments and pauses are not sent live."""
    match event:
        case FloorChange():
            return envelope("floor", speaker=event.speaker, at_s=event.at_s,
                            previous=event.previous, switch_gap_s=event.switch_gap_s)
        case Turn():
            return envelope("turn", speaker=event.speaker, start_s=event.start_s,
                            end_s=event.end_s, speech_s=event.speech_s)
        case Interruption():
            return envelope("interruption", **asdict(event))
        case Backchannel():
            return envelope("backchannel", **asdict(event))
        case LongSilence():
            return envelope("long_silence", **asdict(event), duration_s=event.duration_s)
    return None


def status_message(*, at_s: float, state: str, levels_db: Mapping[str, float],
                   clipping: Mapping[str, bool], overflows: int, driver_overflows: int,
                   device: str, asr: Mapping[str, Any], store: Mapping[str, Any],
                   prosody: Mapping[str, Any], warnings: list[str]) -> Message:
    return envelope("status", at_s=at_s, state=state, levels_db=dict(levels_db),
                    clipping=dict(clipping), overflows=overflows,
                    driver_overflows=driver_overflows, device=device, asr=dict(asr),
                    store=dict(store), prosody=dict(prosody), warnings=list(warnings))


def parse_client_message(data: str | bytes) -> Message:
    """Validate a dashboard → server message; raise MessageError with a short reason."""
    if len(data) > MAX_CLIENT_MESSAGE_BYTES:
        raise MessageError(f"message too large ({len(data)} bytes)")
    if isinstance(data, bytes):
        raise MessageError("a binary frame (the protocol is JSON text)")
    try:
        message = json.loads(data)
    except (json.JSONDecodeError, RecursionError):  # RecursionError: "[[[[..." nested deep
        raise MessageError("not JSON") from None
    if not isinstance(message, dict):
        raise MessageError("not a JSON object")
    version = message.get("v")
    if type(version) is not int or version != VERSION:  # true == 1 in Python, not here
        raise MessageError(f"unsupported version {_short(version)}")
    if message.get("type") != "ping":
        raise MessageError(f"unknown type {_short(message.get('type'))}")
    return message


def _short(value: Any, most: int = 40) -> str:
    """A client's value for an error message and the log: its repr, cut to ``most``."""
    text = repr(value)
    return text if len(text) <= most else text[:most] + "…"


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: send null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# JSON Schemas of every server → dashboard message (used by the tests on real traffic and on
# the golden fixtures).
_NUM = {"type": "number"}
_NNUM = {"type": ["number", "null"]}
_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_BY = {"type": "object", "additionalProperties": _NNUM}


_RELIABILITY = {"type": "object", "required": ["talk_share", "interruptions", "backchannels"],
                "additionalProperties": {"enum": [MEASURED, ESTIMATED, NOT_RELIABLE_ONE_MIC,
                                                  RECOUNTED_LIVE]}}


_THRESHOLD_NUMBERS = ("patient_wait_s", "window_s", "long_silence_s", "floor_min_s",
                      "terminal_s", "backchannel_max_s", "client_led_share",
                      "therapist_heavy_share", "rq_fair", "rq_good")
_THRESHOLDS = {"type": "object",
               "required": [*_THRESHOLD_NUMBERS, "monologue_cue_s", "latency_min_answers",
                            "pace_comfort_wpm"],
               "properties": {**dict.fromkeys(_THRESHOLD_NUMBERS, _NUM),
                              "latency_min_answers": {"type": "integer", "minimum": 1},
                              "pace_comfort_wpm": {"type": "array", "items": _NUM,
                                                   "minItems": 2, "maxItems": 2},
                              "monologue_cue_s": {"type": "object",
                                                  "required": ["person-centred", "cbt", "mi"],
                                                  "additionalProperties": _NUM}}}


_ENDED = {"type": ["object", "null"], "required": ["at_s", "saved_to", "session_id"],
          "properties": {"at_s": _NUM, "saved_to": _NSTR, "session_id": _NSTR,
                         "saved_where": _STR}}


def _schema(kind: str, props: dict[str, Any],
            optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": ["v", "type", *props],
            "properties": {"v": {"const": VERSION}, "type": {"const": kind}, **props,
                           **(optional or {})}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "metrics": _schema("metrics", {
        "at_s": _NUM, "floor": _NSTR, "current_turn_s": _NUM, "therapist_monologue_s": _NUM,
        "monologue_cue": {"type": "boolean"}, "talk_time_s": _BY, "talk_share": _BY,
        "rolling_talk_share": _BY, "overlap_s": _NUM,
        "client_share": _NNUM, "rolling_client_share": _NNUM,
        "balance": {"enum": ["client-led", "even", "therapist-heavy", None]},
        "rolling_balance": {"enum": ["client-led", "even", "therapist-heavy", None]},
        "response_latency": {"type": "object", "required": ["median_s", "recent_s"]},
        "longest_monologue_s": _BY, "interruptions_by": _BY,
        "successful_interruptions_by": _BY, "backchannels_by": _BY,
        "long_silences": {"type": "integer"}, "turns": {"type": "integer"},
        "counted_to_s": _NNUM, "language": {"type": ["object", "null"]}}),
    "floor": _schema("floor", {"speaker": _STR, "at_s": _NUM, "previous": _NSTR,
                               "switch_gap_s": _NNUM}),
    "turn": _schema("turn", {"speaker": _STR, "start_s": _NUM, "end_s": _NUM,
                             "speech_s": _NUM}),
    "interruption": _schema("interruption", {"at_s": _NUM, "by": _STR, "of": _STR,
                                             "successful": {"type": "boolean"}}),
    "backchannel": _schema("backchannel", {"at_s": _NUM, "by": _STR, "of": _STR,
                                           "duration_s": _NUM}),
    "long_silence": _schema("long_silence", {"start_s": _NUM, "end_s": _NUM,
                                             "duration_s": _NUM, "before": _NSTR,
                                             "after": _NSTR}),
    "transcript": _schema("transcript", {
        "speaker": _STR, "start_s": _NUM, "end_s": _NUM, "text": _STR,
        "words": {"type": "array", "items": {
            "type": "object", "required": ["text", "start_s", "end_s"],
            "properties": {"text": _STR, "start_s": _NUM, "end_s": _NUM}}}}),
    "prosody": _schema("prosody", {"speaker": _STR, "start_s": _NUM, "end_s": _NUM,
                                   "rate_syl_s": _NNUM, "loudness_db": _NNUM,
                                   "f0_mean_st": _NNUM, "rate_ratio": _NNUM,
                                   "loudness_delta_db": _NNUM, "rate_label": _NSTR,
                                   "loudness_label": _NSTR}),
    "status": _schema("status", {"at_s": _NUM, "state": {"enum": ["running", "lost", "ended"]},
                                 "levels_db": _BY, "clipping": {"type": "object"},
                                 "overflows": {"type": "integer"},
                                 "driver_overflows": {"type": "integer"}, "device": _STR,
                                 "asr": {"type": "object"},
                                 "prosody": {"type": "object"},
                                 "warnings": {"type": "array", "items": _STR},
                                 "store": {"type": "object", "required": ["session_id", "error"],
                                           "properties": {"session_id": _NSTR,
                                                          "error": _NSTR}}}),
    "snapshot": _schema("snapshot", {"session": {"type": "object",
                                                 "required": ["speakers", "mode", "source",
                                                              "reliability", "thresholds"],
                                                 "properties": {"reliability": _RELIABILITY,
                                                                "thresholds": _THRESHOLDS,
                                                                "ended": _ENDED}},
                                     "metrics": {"type": ["object", "null"]},
                                     "recent": {"type": "object"},
                                     "status": {"type": ["object", "null"]}}),
    "end": _schema("end", {"saved_to": _NSTR},
                   optional={"saved_where": _STR, "reliability": _RELIABILITY}),
    "calibration": _schema("calibration", {
        "step": {"enum": ["waiting", "quiet", "therapist", "client", "enrol", "done",
                          "failed"]},
        "prompt": _STR, "seconds_left": _NUM,
        "levels_db": {"type": "array", "items": _NUM},
        "clipping": {"type": "array", "items": {"type": "boolean"}},
        "lines": {"type": "array", "items": _STR}, "profile": _NSTR,
        "channels": {"type": "array", "items": _STR}}),  # what each meter is, in words
    "error": _schema("error", {"message": _STR}),
    "pong": _schema("pong", {}),
}
