"""Training data: readers of each format, datasets, and the mixing of VAD training audio.

Submodules are imported on demand, so each pulls in only its own dependencies:

- annotated recordings (VAD): :mod:`.manifest` (JSON Lines, NeMo and lhotse),
  :mod:`.annotated_folder` (audio beside annotation files), :mod:`.annotations` (one module per
  annotation format), :mod:`.recordings` (``load_dataset``: any of them, checked against the
  audio);
- clips mixed on the fly (VAD): :mod:`.mix_clips` (speech and non-speech groups) and
  :mod:`.mix` (the seedable mixing and augmentation; scipy);
- labelled clips (clip classifiers): :mod:`.labelled_clips` and :mod:`.clip_dataset`;
- images (image classifiers): :mod:`.images`;
- the PyTorch datasets of VAD training: :mod:`.datasets`;
- what they share: :mod:`.issue` (every problem reported at once) and :mod:`.audio_files`.
"""
