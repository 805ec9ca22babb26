"""torch.hub entry points: ``torch.hub.load(repo_dir_or_github, "voicecnn")``.

``voicecnn(name)`` returns a model as :func:`voicecnn.load_model` does (a bundled name, a path,
a Hub folder or a Hub id); ``silero_vad()`` returns ``(model, utils)`` in the shape of Silero
VAD's own entry point, so ``model, (get_speech_timestamps, save_audio, read_audio, VADIterator,
collect_chunks) = torch.hub.load(..., "silero_vad")`` works unchanged.
"""

from __future__ import annotations

from typing import Any

dependencies = ["torch", "numpy", "soundfile", "soxr", "safetensors"]


def voicecnn(name: str | None = None, *, device: str = "cpu") -> Any:
    """A voicecnn model in eval mode: ``name`` as for ``voicecnn.load_model`` (None: default)."""
    from voicecnn.net.checkpoint import load_model

    return load_model(name, device=device)


def silero_vad(name: str | None = None) -> tuple[Any, tuple[Any, ...]]:
    """``(model, (get_speech_timestamps, save_audio, read_audio, VADIterator, collect_chunks))``
    with voicecnn's model and its Silero-compatible functions (``voicecnn.compat.silero``)."""
    from voicecnn.compat.silero import (
        VADIterator,
        collect_chunks,
        get_speech_timestamps,
        read_audio,
        save_audio,
    )
    from voicecnn.net.checkpoint import load_model

    utils = (get_speech_timestamps, save_audio, read_audio, VADIterator, collect_chunks)
    return load_model(name), utils
