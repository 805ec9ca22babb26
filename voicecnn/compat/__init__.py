"""Other toolkits' interfaces on top of voicecnn (each module imports its toolkit, if any).

* :mod:`voicecnn.compat.silero`: Silero VAD's functions, names and units
  (``get_speech_timestamps``, ``VADIterator``...);
* :mod:`voicecnn.compat.pyannote`: segments as ``pyannote.core`` ``Annotation`` / ``Timeline``
  (``pip install "voicecnn[pyannote]"``);
* :mod:`voicecnn.compat.lhotse`: a lhotse ``ActivityDetector`` running a voicecnn model over a
  ``Recording`` (``pip install "voicecnn[lhotse]"``).
"""
