"""Therapist utterances labelled in the order they were said, each with its context.

The classifier (``live_attune.core.language``) sees an utterance together with the client's
previous utterance and the therapist's previous one: a "?" after the client has just said
something is more often a reflection said with a rising voice; a short question after a
long client turn is more often open. Every utterance is embedded once, when it arrives; the
context is the embeddings already made, so the cost per utterance is one encoder pass (two
when a longer turn closes with a question sentence of its own, or when the client's first
utterance closes a therapist turn of several utterances: see DialogueLabeller). The passes
are cut to MAX_TOKENS and QUESTION_TOKENS word pieces, so that no utterance takes more than
~28 ms of one core on the machine this was first measured on, ~68 ms on a 2-core AMD EPYC
with AVX2 only (session 13; bench/bench_language.py: the costliest feed, two passes at their
limits; the median utterance ~5 ms).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

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
from live_attune.language.encoder import DIM, MAX_TOKENS, default_encoder, word_pieces

Embed = Callable[[str, int], np.ndarray]  # text, max tokens → (DIM,) unit-length float32
Pieces = Callable[[str], int]  # text → its word pieces as the encoder counts them
QUESTION_TOKENS = 64  # the question sentence's own pass (99 % of AnnoMI's are shorter)


def embedded(text: str, client: np.ndarray, therapist: np.ndarray, embed: Embed,
             own: np.ndarray | None = None) -> Embedded:
    """The four embeddings of one therapist utterance (``own``: its embedding, if made)."""
    mine = embed(text, MAX_TOKENS) if own is None else own
    question = question_sentence(text)
    asked = mine if question == text.strip() else embed(question, QUESTION_TOKENS)
    return Embedded(mine, asked, client, therapist)


@dataclass(frozen=True, slots=True)
class _Turn:
    """One speaker's consecutive utterances (a turn, as AnnoMI transcribes them) and the
    embedding of their joined text (None: not made yet). ``full``: the text so far already
    fills MAX_TOKENS word pieces, so the turn's embedding is ``vector`` however it goes on
    (the encoder keeps a text's first pieces, and pieces never join across a space)."""

    role: str
    texts: tuple[str, ...] = ()
    vector: np.ndarray | None = None
    full: bool = False

    @property
    def text(self) -> str:
        return " ".join(self.texts)


class DialogueLabeller:
    """Feed (speaker, text) in order; therapist utterances come back labelled.

    The heads were trained on AnnoMI, whose rows are whole turns: a therapist utterance's
    context is the client's whole previous turn and the therapist's whole turn before that.
    Live, a turn arrives in pieces (the transcriber cuts at pauses), so the pieces of one
    speaker are joined until the other speaks: the client's turn is embedded anew with each
    of its pieces (one pass per client utterance) until it fills MAX_TOKENS word pieces (no
    pass after that: the embedding keeps the first pieces), a therapist turn of several
    pieces when the client next speaks (unless its first piece filled them). Every piece of
    one therapist turn is labelled with the same context, the turns before that turn.
    ``pieces`` must count word pieces as ``embed`` cuts them (the default counts the shipped
    encoder's; a wrapper of it, as the tests and bench use, keeps that count).
    """

    def __init__(self, model: BehaviourModel | None = None, embed: Embed | None = None,
                 pieces: Pieces = word_pieces) -> None:
        self._model = model or default_model()
        self._embed = embed or default_encoder().embed
        self._pieces = pieces
        self._turn = _Turn("")  # the turn being said
        self._before = {THERAPIST: _Turn(THERAPIST), "client": _Turn("client")}  # completed

    def feed(self, speaker: str, text: str) -> Labelled | None:
        """The label of a therapist utterance, None for anyone else's (every speaker who is
        not the therapist counts as the client: a couple's two clients are one context)."""
        role = THERAPIST if speaker == THERAPIST else "client"
        if role != self._turn.role:
            self._close_turn()
            self._turn = _Turn(role)
        texts = (*self._turn.texts, text)
        if role == "client":
            self._turn = self._client_turn(texts)
            return None
        own = self._embed(text, MAX_TOKENS)
        if len(texts) == 1:
            self._turn = _Turn(role, texts, own, self._pieces(text) >= MAX_TOKENS)
        else:  # embedded whole when the client next speaks, unless already full
            self._turn = replace(self._turn, texts=texts, vector=self._turn.vector
                                 if self._turn.full else None)
        client, therapist = self._before["client"], self._before[THERAPIST]
        return self._model.label(
            text, embedded(text, _vector(client), _vector(therapist), self._embed, own),
            context_features(client.text, therapist.text))

    def _client_turn(self, texts: tuple[str, ...]) -> _Turn:
        """The client's turn so far, embedded anew with each piece until it is full (past
        that, a piece changes its text, not its embedding: no pass)."""
        if self._turn.full:
            return replace(self._turn, texts=texts)
        joined = " ".join(texts)
        return _Turn("client", texts, self._embed(joined, MAX_TOKENS),
                     self._pieces(joined) >= MAX_TOKENS)

    def _close_turn(self) -> None:
        """The turn being said becomes its speaker's previous turn (embedded whole)."""
        turn = self._turn
        if not turn.role:
            return
        if turn.vector is None:  # a therapist turn of several utterances
            turn = replace(turn, vector=self._embed(turn.text, MAX_TOKENS))
        self._before[turn.role] = turn


def _vector(turn: _Turn) -> np.ndarray:
    return turn.vector if turn.vector is not None else np.zeros(DIM, np.float32)


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
