"""Errors raised by voicecnn.

Every error a user can cause derives from :class:`VoiceCNNError`, so the CLI can turn it into a
one-line message and a non-zero exit code instead of a traceback.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "CheckpointError",
    "ConfigError",
    "DataError",
    "UnknownModelError",
    "VoiceCNNError",
]


class VoiceCNNError(Exception):
    """Base class of every error voicecnn raises on bad input."""


class AudioError(VoiceCNNError):
    """Audio that cannot be read or used: missing, empty, corrupt, unsupported or non-finite."""


class UnknownModelError(VoiceCNNError, KeyError):
    """A model name that is neither registered nor bundled nor a file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CheckpointError(VoiceCNNError):
    """A weights file that cannot be read or does not describe a voicecnn model."""


class ConfigError(VoiceCNNError):
    """A configuration with unknown keys, wrong types or invalid values."""


class DataError(VoiceCNNError):
    """A dataset, manifest or annotation that cannot be used."""
