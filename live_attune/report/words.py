"""The report's plain words: people, dates, recording set-ups, and the glossary that keeps the
technical names (issue 20: no raw keys, no ISO timestamps, no "channels mode" in the body).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from live_attune.core import context
from live_attune.core.events import CONFIDENT_INTERRUPTION
from live_attune.core.roles import THERAPIST, is_client
from live_attune.session.config import MODE_ACTIVITY, MODE_CHANNELS, MODE_SINGLE

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
SETUPS = {MODE_CHANNELS: "one microphone per person",
          MODE_SINGLE: "one microphone for everyone, voices told apart",
          MODE_ACTIVITY: "one microphone, speech only (who spoke is not told apart)"}
# MITI 4.2.1 thresholds (core/context.py), as the report says them
RQ_THRESHOLDS = f"fair from {context.RQ_FAIR:g}, good from {context.RQ_GOOD:g}"
COMPLEX_THRESHOLDS = (f"fair from {100 * context.COMPLEX_FAIR:.0f} %, good from "
                      f"{100 * context.COMPLEX_GOOD:.0f} %")
EVEN = (f"{100 * context.THERAPIST_HEAVY:.0f}–{100 * context.CLIENT_LED:.0f} %")
MODALITIES = {"person-centred": "person-centred", "cbt": "CBT", "mi": "MI"}
# One microphone: an interruption whose confidence (session.json: the chance it is a true
# one, from its bout and the overlap and second voice heard) is under core's
# CONFIDENT_INTERRUPTION says so
UNSURE_BELOW = CONFIDENT_INTERRUPTION
UNSURE = "unsure: with one microphone this may not have been an interruption; listen to it"
# Prosody measures by their plain name (session.json keys stay out of the page).
FEATURES = {"f0_mean_st": "pitch", "f0_sd_st": "pitch movement", "loudness_db": "loudness",
            "rate_syl_s": "speech rate"}


def unsure(interruption: Mapping[str, Any]) -> bool:
    """An interruption whose confidence is under ``UNSURE_BELOW`` (none given: two
    microphones, or live, where it is not estimated)."""
    sure = interruption.get("confidence")
    return sure is not None and bool(sure < UNSURE_BELOW)


def who(speaker: str) -> str:
    """A role as the report says it: "therapist", "client", "client 2"."""
    return speaker.replace("_", " ")


def clients_word(speakers: list[str]) -> str:
    return "the clients" if sum(map(is_client, speakers)) > 1 else "the client"


def other_of(speaker: str) -> str:
    return "the client" if speaker == THERAPIST else "the therapist"


def session_date(started_at: str | None) -> str:
    """ "Monday 12 January 2026, 09:30" from the store's local ISO time; "" without one."""
    if not started_at:
        return ""
    try:
        t = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at.replace("T", " ")
    day = f"{DAYS[t.weekday()]} {t.day} {MONTHS[t.month - 1]} {t.year}"
    return day if len(started_at) == 10 else f"{day}, {t:%H:%M}"  # a date without a time


def short_date(started_at: str | None) -> str:
    """ "12 Jan 2026" for trend axes and tables."""
    if not started_at:
        return "–"
    try:
        t = datetime.fromisoformat(started_at)
    except ValueError:
        return started_at[:10]
    return f"{t.day} {MONTHS[t.month - 1][:3]} {t.year}"


def setup(mode: str) -> str:
    return SETUPS.get(mode, mode)


# The glossary at the end of the report: each technical name once, with where it comes from.
GLOSSARY = (
    ("Talk share", "the part of the time anyone spoke that one person spoke (silence left "
     "out). Counting silence too gives the share of the whole session, shown beneath the "
     "key numbers; tools differ, so both are kept. Client share above 60 % is called "
     "client-led, 40–60 % even, below 40 % therapist-heavy; CBT and DBT sessions run more "
     "therapist-led than person-centred ones."),
    ("Turn", "a stretch in which one person holds the floor, until another takes it. A "
     "turn's length is its duration; the live view cues after a set length (the monologue "
     "cue)."),
    ("Came in while the other spoke (interruption)", "someone started speaking for at least "
     "1 s while the other had held the floor for at least 1 s, not in the last quarter "
     "second of their speech. If the other stopped within 2 s it counts as successful, "
     "otherwise as unsuccessful (Ferguson 1977; Schegloff 2000)."),
    ("Listening sounds (backchannels)", "a short “mm-hm”, “right” under 1 s while the other "
     "keeps talking: active listening, not an interruption."),
    ("Room before answering (response latency)", "the silence between the end of the "
     "client's turn and the start of the therapist's. In motivational-interviewing (MI) "
     "sessions the median is about 0.61 s and the mean 0.96 s (Soma et al. 2022)."),
    ("Switch gap", "the next turn's start minus the last one's end, between any two people; "
     "negative when they overlap. Natural conversation peaks near +0.2 s (Levinson & "
     "Torreira 2015)."),
    ("Long silence", "nobody speaks for 3 s or more."),
    ("Overlap", "time in which two or more people speak at once."),
    ("Pace", "words a minute of a person's own talk time; 100–165 is comfortable."),
    ("MITI", "the Motivational Interviewing Treatment Integrity code (4.2.1): reflections per "
     "question (fair from 1, good from 2), the share of reflections that are complex (fair "
     "from 40 %, good from 50 %) and the share of questions that are open. Here the "
     "utterances are labelled automatically from the transcript."),
    ("Pitch (F0)", "the voice's fundamental frequency, measured in semitones above 100 Hz; "
     "the report shows each turn against the person's own average in the session."),
    ("Loudness (dBFS)", "level in decibels below the loudest a recording can hold; the "
     "report shows each turn against the person's own average, louder or quieter."),
    ("Speech rate", "syllables a second within a turn."),
    ("Entrainment", "whether one person's voice follows the other's from turn to turn "
     "(synchrony: correlation with the other's turn just before; convergence: correlation "
     "of their difference with time, negative when growing closer). Exploratory: published "
     "results on vocal synchrony and empathy disagree."),
    ("Quality gates", "a session is flagged when speech is under 25 % of the recording, "
     "anyone has under 10 % of the talk time, the mean speech segment exceeds 20 s, or the "
     "recording is shorter than 60 s (after Flemotomos et al. 2022)."),
)
