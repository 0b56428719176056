"""Therapist utterances labelled in the order they were said, each with its context.

The classifier (``live_attune.core.language``) sees an utterance together with the client's
previous utterance and the therapist's previous one: a "?" after the client has just said
something is more often a reflection said with a rising voice; a short question after a
long client turn is more often open. Every utterance is embedded once, when it arrives; the
context is the embeddings already made, so the cost per utterance is one encoder pass (two
when a longer turn closes with a question sentence of its own). The passes are cut to
MAX_TOKENS and QUESTION_TOKENS word pieces, so that no utterance takes more than ~25 ms of
one core (bench/bench_language.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

import numpy as np

from live_attune.core.events import Transcript
from live_attune.core.language import (
    BehaviourModel,
    Embedded,
    Labelled,
    context_features,
    default_model,
    question_sentence,
)
from live_attune.core.roles import THERAPIST
from live_attune.language.encoder import DIM, MAX_TOKENS, default_encoder

Embed = Callable[[str, int], np.ndarray]  # text, max tokens → (DIM,) unit-length float32
QUESTION_TOKENS = 64  # the question sentence's own pass (99 % of AnnoMI's are shorter)


def embedded(text: str, client: np.ndarray, therapist: np.ndarray, embed: Embed,
             own: np.ndarray | None = None) -> Embedded:
    """The four embeddings of one therapist utterance (``own``: its embedding, if made)."""
    mine = embed(text, MAX_TOKENS) if own is None else own
    question = question_sentence(text)
    asked = mine if question == text.strip() else embed(question, QUESTION_TOKENS)
    return Embedded(mine, asked, client, therapist)


class DialogueLabeller:
    """Feed (speaker, text) in order; therapist utterances come back labelled."""

    def __init__(self, model: BehaviourModel | None = None, embed: Embed | None = None
                 ) -> None:
        self._model = model or default_model()
        self._embed = embed or default_encoder().embed
        self._last = {THERAPIST: np.zeros(DIM, np.float32), "client": np.zeros(DIM, np.float32)}
        self._said = {THERAPIST: "", "client": ""}

    def feed(self, speaker: str, text: str) -> Labelled | None:
        """The label of a therapist utterance, None for anyone else's (every speaker who is
        not the therapist counts as the client: a couple's two clients are one context)."""
        role = THERAPIST if speaker == THERAPIST else "client"
        own = self._embed(text, MAX_TOKENS)
        label = None
        if role == THERAPIST:
            label = self._model.label(
                text, embedded(text, self._last["client"], self._last[THERAPIST], self._embed, own),
                context_features(self._said["client"], self._said[THERAPIST]))
        self._last[role], self._said[role] = own, text
        return label


def label_dialogue(rows: Iterable[tuple[str, str]], labeller: DialogueLabeller | None = None
                   ) -> list[Labelled | None]:
    """Labels for (speaker, text) rows in order: one per row, None for the client's."""
    labeller = labeller or DialogueLabeller()
    return [labeller.feed(speaker, text) for speaker, text in rows]


def labelled(transcript: Transcript, labeller: DialogueLabeller) -> Transcript:
    """The transcript with its behaviour label (therapist) — fed in the order said."""
    label = labeller.feed(transcript.speaker, transcript.text)
    if label is None:
        return transcript
    return replace(transcript, behaviour=label.behaviour, reflection=label.reflection)


def label_transcripts(transcripts: Iterable[Transcript]) -> list[Transcript]:
    """A whole session's transcripts labelled in order of their start."""
    labeller = DialogueLabeller()
    return [labelled(t, labeller) for t in sorted(transcripts, key=lambda t: t.start_s)]
