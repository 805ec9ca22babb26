"""Bridges to other speech toolkits' types (optional extras; each module imports its toolkit).

* :mod:`voicecnn.bridges.pyannote`: segments as ``pyannote.core`` ``Annotation`` / ``Timeline``
  (``pip install "voicecnn[pyannote]"``);
* :mod:`voicecnn.bridges.lhotse`: a lhotse ``ActivityDetector`` running a voicecnn model over a
  ``Recording`` (``pip install "voicecnn[lhotse]"``).
"""
