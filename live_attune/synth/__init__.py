"""Synthetic two-voice conversations with exactly known timing (the tests' ground truth)."""

from live_attune.synth.render import MixConfig, render
from live_attune.synth.scenario import Conversation, ScenarioConfig, make_conversation

__all__ = ["Conversation", "MixConfig", "ScenarioConfig", "make_conversation", "render"]
