"""Synthetic two-voice conversations with exactly known timing (the tests' ground truth)."""

from live_attune.synth.hard import make_hard
from live_attune.synth.render import MixConfig, render
from live_attune.synth.scenario import Conversation, ScenarioConfig, make_default
from live_attune.synth.voices import Voice

__all__ = ["Conversation", "MixConfig", "ScenarioConfig", "make_conversation", "render"]


def make_conversation(seed: int = 0, config: ScenarioConfig | None = None,
                      voices: dict[str, Voice] | None = None) -> Conversation:
    """Script, render and annotate one conversation (deterministic for a seed): the default
    script (synth/scenario.py) or, with ``ScenarioConfig.hard()``, the hard one (synth/hard.py,
    truth by METRICS.md's rules)."""
    cfg = config or ScenarioConfig()
    if cfg.difficulty == "hard":
        return make_hard(seed, cfg, voices)
    return make_default(seed, cfg, voices)
