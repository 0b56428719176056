"""live_attune: local, real-time turn-taking feedback for psychotherapists."""

__version__ = "0.1.0"
