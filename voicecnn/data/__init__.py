"""Training data.

Submodules are imported on demand, so each pulls in only its own dependencies; among them
:mod:`voicecnn.data.mix` holds the seedable mixing and augmentation of speech over backgrounds
for VAD training (it needs scipy).
"""
