"""Detection, the third stage: frame probabilities turned into speech segments.

- :mod:`~voicecnn.detection.frames`: a whole recording's frame probabilities, chunked with
  context (``detect_file``, ``FrameProbStream``);
- :mod:`~voicecnn.detection.segments`: the one rule (hysteresis, gaps, minimum lengths, padding)
  that turns probabilities into :class:`~voicecnn.detection.segments.Segment` s, shared by files,
  streams and training figures;
- :mod:`~voicecnn.detection.stream`: live detection from a PCM stream or microphone;
- :mod:`~voicecnn.detection.split`, :mod:`~voicecnn.detection.plot`: what users do with segments;
- :mod:`~voicecnn.detection.corpus`, :mod:`~voicecnn.detection.batch`,
  :mod:`~voicecnn.detection.results`, :mod:`~voicecnn.detection.ray_batch`: many recordings at
  once (inputs, worker pools, combined manifests, Ray).
"""
