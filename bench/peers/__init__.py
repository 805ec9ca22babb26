"""One adapter per VAD, all with the interface of :class:`peers.grid.Vad`.

``silero``, ``ten`` and ``webrtc`` run in the peers' own environment (``bench/.venv-peers``);
``voicecnn_vad`` runs in voicecnn's. ``worker`` drives any of them in a fresh process; ``grid``
(numpy only) maps every output onto the common 10 ms frame grid and is shared by both sides.
"""
