"""Prosody per turn: a streaming tracker (used inline by analyze) and a live worker thread."""

from live_attune.prosody.tracker import ProsodyResult, ProsodyTracker, warm_up, with_transcript

__all__ = ["ProsodyResult", "ProsodyTracker", "warm_up", "with_transcript"]
