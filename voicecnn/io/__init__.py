"""Waveform and file I/O, the first stage of the flow: reading and resampling audio
(:mod:`~voicecnn.io.audio`), raw PCM streams (:mod:`~voicecnn.io.pcm`), finding inputs and
checking outputs (:mod:`~voicecnn.io.paths`), atomic writes (:mod:`~voicecnn.io.files`) and the
escaping rule of every output format (:mod:`~voicecnn.io.escape`).

Nothing here imports torch or any other part of voicecnn except :mod:`voicecnn.errors`.
"""
