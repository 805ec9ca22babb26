"""The network, the second stage: audio in, per-frame speech probabilities out.

- :mod:`~voicecnn.net.frontend_spec` / :mod:`~voicecnn.net.frontend`: the log-mel frontend
  (numpy spec and step; torch module);
- :mod:`~voicecnn.net.layers`: conv blocks, pooling and heads, each with its numpy streaming step
  (``*_spec.py``) beside its torch module;
- :mod:`~voicecnn.net.models`: architectures assembled from the layers, and the registry;
- :mod:`~voicecnn.net.engine`: the torch-free numpy model every inference path runs;
- :mod:`~voicecnn.net.checkpoint`, :mod:`~voicecnn.net.metadata`, :mod:`~voicecnn.net.hub`,
  :mod:`~voicecnn.net.export`: weights on disk (safetensors, Hub folders, ONNX), checked before use.

Imports only :mod:`voicecnn.io`, :mod:`voicecnn.config` and :mod:`voicecnn.errors` below it.
"""
