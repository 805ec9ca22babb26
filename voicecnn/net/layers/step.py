"""Torch-free layer descriptions and the numpy streaming steps they make (no torch here).

Every layer type of voicecnn has two halves that live side by side: a torch-free *spec* (its
hyper-parameters, its shape and time-padding arithmetic, and the numpy step that computes it)
in ``<module>_spec.py``, and the torch module built from that spec in ``<module>.py``. A model
family describes its layers once, as a tree of specs built from its config
(:func:`voicecnn.net.models.vad_spec.vad_spec`); the torch model and the numpy engine
(:mod:`voicecnn.net.engine`) are both built by walking that tree (the torch side by
:func:`voicecnn.net.models.build.build_module`), so a new architecture assembled
from existing layers runs in both with no new code, and a layer type cannot be defined without
its numpy step (``LayerSpec.step`` is abstract).

Why the structure is derived from the config rather than stored in the weights' metadata: every
weights file already carries its config, so every file ever saved, the bundled ones included,
runs on the numpy engine without torch and without being re-saved; and there is one
description to keep right, which the torch model is built from too.

A step processes frames along time. Its input is a :class:`Buf`: rows of frames, each frame
``(h, c)`` (mel rows x channels; 1-D layers have one row) stored row-major. ``Step.ops(n)``
lists the numpy calls that compute ``n`` output frames at the buffers' current positions; the
engine binds them once per push size and replays them (at 3 frames a push the Python around
numpy calls costs as much as the calls themselves).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Buf", "LayerSpec", "Op", "Params", "SampleStep", "Seq", "Shape", "Step", "leaves"
]

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Shape = tuple[int, int]
"""A frame of a layer's input or output: (rows, channels); 1-D layers have one row."""
Op = Callable[[], object]
"""One numpy call with its arguments bound."""

MIN_ROWS = 96
"""Rows a buffer starts with (the engine's steady-state cycle fits twice)."""


class Params:
    """The tensors of one layer, read by their names inside the layer (``conv.weight``).

    Args:
        tensors: Every tensor of the model by its full name (``stack.layers.0.conv.weight``).
        prefix: The layer's name in the model (``stack.layers.0``).
    """

    def __init__(self, tensors: Mapping[str, np.ndarray], prefix: str) -> None:
        self.tensors, self.prefix = tensors, prefix

    def __call__(self, name: str, shape: tuple[int, ...] | None = None) -> F64:
        """The tensor ``name`` of this layer as float64, checked against the ``shape`` the
        layer's config gives it (a weights file whose config and tensors disagree is refused
        before any work)."""
        key = f"{self.prefix}.{name}" if self.prefix else name
        value = self.tensors.get(key)
        if value is None:
            raise KeyError(f"missing tensor {key!r}")
        if shape is not None and tuple(value.shape) != shape:
            raise ValueError(f"tensor {key!r} has shape {tuple(value.shape)}, its config "
                             f"needs {shape}")
        return np.asarray(value, dtype=np.float64)


class Buf:
    """A layer's input along time: ``rows`` (cap, h * c), frame-major, row-major in a frame.

    ``flat`` views the same memory as rows of ``c`` values plus two constant rows at the end
    that gathers point at: ``(1, 0, ..., 0)`` (index -2), which brings in a bias, and zeros
    (index -1), the padding along the rows (mel) axis. ``generation`` counts reallocations:
    bound calls that view the old arrays are stale after one.
    """

    def __init__(self, shape: Shape, *, fill: float = 0.0) -> None:
        self.h, self.c = shape
        self.width = self.h * self.c
        self.fill = fill  # time padding: zeros, or -inf ahead of a max-pool
        self.start = 0  # first row the consumer still needs
        self.w = 0  # next row to write
        self.generation = 0
        self._alloc(MIN_ROWS)

    def _alloc(self, cap: int) -> None:
        self.generation += 1
        self.cap = cap
        mem = np.zeros(cap * self.width + 2 * self.c, np.float32)
        self.rows = mem[: cap * self.width].reshape(cap, self.width)
        self.flat = mem.reshape(cap * self.h + 2, self.c)
        self.flat[-2, 0] = 1.0
        self.src = mem if self.c == 1 else self.flat  # single values gather faster in 1-D

    def reset(self, past: int) -> None:
        """Empty the buffer, then ``past`` rows of time padding."""
        if past + MIN_ROWS // 2 > self.cap:
            self._alloc(past + MIN_ROWS)
        self.rows[:past] = self.fill
        self.start, self.w = 0, past

    def make_room(self, n: int, cap: int = 0) -> None:
        """Move the rows still needed to the front, growing to at least ``cap`` rows and so
        that ``n`` more rows fit."""
        keep = self.w - self.start
        if keep + n > self.cap or cap > self.cap:
            old = self.rows[self.start : self.w].copy()
            self._alloc(max(2 * (keep + n), cap))
            self.rows[:keep] = old
        else:
            self.rows[:keep] = self.rows[self.start : self.w].copy()
        self.start, self.w = 0, keep

    def append_fill(self, n: int) -> None:
        """Append ``n`` rows of time padding (the end of a stream)."""
        if self.w + n > self.cap:
            self.make_room(n)
        self.rows[self.w : self.w + n] = self.fill
        self.w += n


class Step(ABC):
    """One layer along time: reads ``inp``, writes ``out`` (the next step's ``inp``).

    After a run the input holds exactly ``span`` rows of history; ``past`` rows of padding
    open a stream and ``future`` rows close it.
    """

    inp: Buf
    out: Buf
    past: int = 0
    future: int = 0
    span: int = 0
    fill: float = 0.0
    out_shape: Shape

    @abstractmethod
    def ops(self, n: int) -> list[Op]:
        """The numpy calls that compute ``n`` outputs at the buffers' current positions."""

    def fuse(self, nxt: Step) -> bool:
        """Take over the work of the following step ``nxt`` (whose step is then dropped);
        False where this step cannot. An optimisation a step may offer for a neighbour it
        computes more cheaply together with its own work (same numbers)."""
        return False

    def absorb(self, prev: Step) -> bool:
        """Take over the work of the preceding step ``prev`` (reading its input; ``prev`` is
        then dropped); False where this step cannot."""
        return False

    def run(self) -> None:
        """Compute every output the input allows."""
        b, nb = self.inp, self.out
        n = b.w - b.start - self.span
        if n <= 0:
            return
        if nb.w + n > nb.cap:
            nb.make_room(n)
        for op in self.ops(n):
            op()
        b.start += n
        nb.w += n


class SampleStep(ABC):
    """The step of a frontend: samples in, frames out (see :class:`FrameEngine`)."""

    out: Buf
    out_shape: Shape


class LayerSpec(ABC):
    """A torch-free description of one layer: hyper-parameters and the numpy step.

    Subclasses are frozen dataclasses. ``step`` is abstract: a layer type without a numpy
    step cannot be instantiated. Torch modules are built from specs by
    :func:`voicecnn.net.models.build.build_module` (a spec module imports no torch module).
    """

    @abstractmethod
    def step(self, params: Params, shape: Shape) -> Step | Shape | SampleStep:
        """The numpy step of this layer for input frames of ``shape``, reading its tensors
        from ``params``; or only the output shape, for a layer that merely relabels frames
        (same memory order, no computation); a frontend returns a :class:`SampleStep`."""

    def children(self) -> tuple[tuple[str, LayerSpec], ...]:
        """Named sub-layers, in data-flow order; empty for a leaf."""
        return ()


@dataclass(frozen=True)
class Seq(LayerSpec):
    """Named layers applied in order (``nn.Sequential`` with names, or a model's children).

    Attributes:
        layers: (name, spec) pairs; the names are the torch attribute names, so they prefix
            the tensors' names in the state dict.
    """

    layers: tuple[tuple[str, LayerSpec], ...]

    def children(self) -> tuple[tuple[str, LayerSpec], ...]:
        """The layers, in order."""
        return self.layers

    def step(self, params: Params, shape: Shape) -> Step | Shape:
        """A container has no step of its own: :func:`leaves` walks into it."""
        raise TypeError("Seq is walked by leaves(), not stepped")


def leaves(spec: LayerSpec, prefix: str = "") -> Iterator[tuple[str, LayerSpec]]:
    """The leaf layers of ``spec`` with their full names, in data-flow order."""
    kids = spec.children()
    if not kids:
        yield prefix, spec
        return
    for name, child in kids:
        yield from leaves(child, f"{prefix}.{name}" if prefix else name)
