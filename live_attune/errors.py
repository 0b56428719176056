"""The one errors module: every user-facing failure is a LiveAttuneError.

Each subclass carries the process exit code the CLI uses, so a bad input becomes one
clear line on stderr and a documented non-zero exit, never a traceback.

Exit codes (documented in README.md):
    2  usage error (bad option, channel map that does not fit the audio)
    3  input audio cannot be read (missing, not audio, corrupt, truncated, empty)
    4  audio device problem (no such device, stream failed)
    5  model missing or unreadable
    6  output cannot be written
    7  session store problem (cannot open or write it; damaged; no such session)
"""

from __future__ import annotations


class LiveAttuneError(Exception):
    """Base class; ``exit_code`` is what the CLI returns."""

    exit_code = 1


class UsageError(LiveAttuneError):
    """An option or argument does not make sense for this input."""

    exit_code = 2


class ChannelMapError(UsageError):
    """The --channels role map does not fit the audio's channel count."""


class AudioInputError(LiveAttuneError):
    """The input audio is missing, unreadable, not audio, corrupt or empty."""

    exit_code = 3


class DeviceError(LiveAttuneError):
    """The audio device is missing or the stream failed."""

    exit_code = 4


class ModelError(LiveAttuneError):
    """A model file is missing or unreadable (never downloaded at run time)."""

    exit_code = 5


class OutputError(LiveAttuneError):
    """The output directory or file cannot be written."""

    exit_code = 6


class StoreError(LiveAttuneError):
    """The session store cannot be opened or written, or a session is not in it."""

    exit_code = 7
