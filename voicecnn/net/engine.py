"""The numpy engine: frame probabilities of a model from its layer specs, without torch.

:class:`FrameEngine` walks a model's spec tree (:mod:`voicecnn.net.layers.step`), asks every layer
for its numpy step and chains them: audio goes in as chunks of any size, each frame is computed
once, and every layer keeps the history it needs (its past padding, its dilated taps). Zero
padding at the start of the stream is each layer's initial history; at the end, ``flush``
appends each layer's future padding, so the output equals the whole-file torch pass (within
float32 rounding, for finite input). The same engine serves streams (pushes of a few frames)
and files (pushes of hundreds).

At 3 frames per push the cost is the number of numpy calls and the Python around them more than
the arithmetic. Once every layer has run, a push of m frames moves every buffer by m rows, so
its calls depend only on m and the buffers' common offset: they are bound once
(``functools.partial``) and replayed.

:class:`NumpyVad` is a loaded VAD model on this engine: what :func:`voicecnn.load_model`
returns, with the :class:`~voicecnn.detection.frames.FrameModel` attributes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from voicecnn.net.frontend_spec import LogMelSpec, LogMelStep
from voicecnn.net.layers.conv_spec import ConvNormActSpec
from voicecnn.net.layers.heads_spec import ProjectStep
from voicecnn.net.layers.step import Buf, LayerSpec, Op, Params, Step, leaves
from voicecnn.net.models.vad_spec import FrameTiming, VadCnnCfg, context_frames, vad_spec

__all__ = ["FrameEngine", "NumpyVad", "rename_legacy"]

F32 = npt.NDArray[np.float32]

_CYCLE = 48
"""Frames a steady stream advances through its buffers before they are moved back to the
front: plans are cached per (offset in the cycle, frames per push)."""
_MAX_PLANS = 128  # a plan holds ~40 bound calls and their views (~20 kB)
STREAM_PIECE = 15
"""Longest push of a stream handled in one pass, in frames (longer ones are cut)."""
FILE_PIECE = 128
"""Frames per pass over a file: large enough that the Python around numpy calls vanishes,
small enough that a layer's gathered taps (~1 MB for the default model's widest conv) stay
near a core's L2 cache (256 frames ran ~10 % slower on this project's 2-core machine)."""


_FEW = 8


def _sigmoid(v: float) -> float:
    return 0.0 if v < -700.0 else 1.0 / (1.0 + math.exp(-v))  # NaN stays NaN


def rename_legacy(spec: LayerSpec, tensors: Mapping[str, Any]) -> dict[str, Any]:
    """Tensors saved before conv blocks had named children, under their current names."""
    renames: dict[str, str] = {}
    for name, leaf in leaves(spec):
        if isinstance(leaf, ConvNormActSpec):
            for old, new in leaf.LEGACY_NAMES.items():
                renames[f"{name}.{old}."] = f"{name}.{new}."
    out: dict[str, Any] = {}
    for key, value in tensors.items():
        head, dot, tail = key.rpartition(".")
        head, dot2, mid = head.rpartition(".")
        new = renames.get(f"{head}.{mid}.", "") if dot and dot2 else ""
        out[f"{new}{tail}" if new else key] = value
    return out


class _OneBlasThread:
    """BLAS limited to one thread while a long push runs, then restored.

    The engine's matrix products are small (tens of channels by a few hundred taps):
    OpenBLAS's threads cost far more than they save on them (``python bench/speed.py``:
    a 2-thread pool made the default model 10-30x slower than one thread on this project's
    2-core machine). Short (streaming) pushes are left alone: OpenBLAS keeps products that
    small on one thread. Finding the loaded BLAS libraries costs ~0.5 ms, so it is done once,
    at the first long push (setting the limit then costs ~10 µs).
    """

    def __init__(self) -> None:
        self._controller: Any = None
        self._missing = False

    def __call__(self) -> contextlib.AbstractContextManager[object]:
        if self._controller is None and not self._missing:
            try:
                from threadpoolctl import ThreadpoolController
            except ImportError:  # an optional speed-up: results are the same without it
                self._missing = True
            else:
                self._controller = ThreadpoolController()
        if self._controller is None:
            return contextlib.nullcontext()
        limits: contextlib.AbstractContextManager[object] = self._controller.limit(
            limits=1, user_api="blas")
        return limits


_THREADED_PUSH = 16
"""Frames in a push from which BLAS is held to one thread (a 32 ms streaming chunk is 3)."""


class FrameEngine:
    """Frame probabilities (or logits) of a model's spec tree, from a stream of samples.

    ``push`` samples of any length, ``flush`` at the end, ``reset`` for a new stream (the
    interface of :class:`~voicecnn.detection.frames.FrameProbStream`).

    Args:
        spec: The model's layers; the first leaf must be a :class:`LogMelSpec`.
        tensors: The model's tensors by name (numpy arrays).
        piece_frames: Longest push handled in one pass, in frames.
        logits: Return logits instead of probabilities.

    Raises:
        ValueError: If a layer has no numpy step for its settings, or a tensor is missing
            or has the wrong shape.
    """

    def __init__(
        self,
        spec: LayerSpec,
        tensors: Mapping[str, np.ndarray],
        *,
        piece_frames: int = STREAM_PIECE,
        logits: bool = False,
    ) -> None:
        layers = list(leaves(spec))
        if not layers or not isinstance(layers[0][1], LogMelSpec):
            raise ValueError("the numpy engine needs a log-mel frontend as the first layer")
        fe_spec = layers[0][1]
        self.frontend: LogMelStep = LogMelStep(fe_spec.cfg, piece_frames=piece_frames)
        self.logits = logits
        self._limited = False  # inside _one_blas_thread (one limit per long push)
        self._one_blas_thread = _OneBlasThread()
        self._steady = piece_frames + 1 <= _CYCLE  # pushes fit the replayed plans
        shape = self.frontend.out_shape
        steps: list[Step] = []
        for name, layer in layers[1:]:
            try:
                made = layer.step(Params(tensors, name), shape)
            except (KeyError, ValueError, TypeError) as e:
                raise ValueError(f"layer {name!r} ({type(layer).__name__}): {e}") from e
            if not isinstance(made, tuple | Step):
                raise ValueError(f"layer {name!r}: a frontend can only come first")
            if isinstance(made, tuple):
                if made[0] * made[1] != shape[0] * shape[1]:
                    raise ValueError(f"layer {name!r} changes the frame size")
                shape = made  # a relabel: the next step reads the same memory as made
                continue
            if steps and steps[-1].fuse(made):
                shape = steps[-1].out_shape
                continue
            if steps and made.absorb(steps[-1]):
                steps[-1] = made
                shape = made.out_shape
                continue
            steps.append(made)
            shape = made.out_shape
        if not steps or shape[0] != 1:
            raise ValueError("the model must end in a frame head")
        # A one-logit head leaves its bias to _emit (one numpy call fewer per push).
        self._bias = steps[-1].defer_bias() if isinstance(steps[-1], ProjectStep) else 0.0
        self._steps = steps
        self._final = Buf(shape)
        self.frontend.out = steps[0].inp
        for st, nxt in zip(steps, [*[s.inp for s in steps[1:]], self._final], strict=True):
            if st.out_shape[0] * st.out_shape[1] != nxt.width:
                raise ValueError(f"layer shapes do not chain ({type(st).__name__})")
            st.out = nxt
        self._first = steps[0].inp
        self._plans: dict[tuple[int, int], list[Op]] = {}
        self._plans_generation: tuple[int, ...] = ()
        self._g = -1  # offset of every buffer in a steady stream (see _plan); -1: not steady
        self.reset()

    def reset(self) -> None:
        """Forget the stream."""
        self.frontend.reset()
        self._emitted = 0
        self._flushed = False
        self._leave_plans()
        for st in self._steps:
            st.inp.reset(st.past)
        self._final.reset(0)

    @property
    def n_samples(self) -> int:
        """Samples pushed since the last reset."""
        return self.frontend.n_samples

    @property
    def next_frame(self) -> int:
        """Index of the next probability to be emitted."""
        return self._emitted

    def push(self, samples: npt.ArrayLike) -> F32:
        """Add mono samples at the model's rate; return newly decided probabilities."""
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim != 1:
            x = x.reshape(-1)
        piece = self.frontend.piece
        if x.size > _THREADED_PUSH * self.frontend.hop and not self._limited:
            with self._one_blas_thread():
                self._limited = True
                try:
                    return self.push(x)
                finally:
                    self._limited = False
        if x.size > piece:
            return np.concatenate([self.push(x[i : i + piece]) for i in range(0, x.size, piece)])
        m = self.frontend.push(x)
        if m <= 0:
            return np.zeros(0, np.float32)
        g = self._g
        if g < 0:  # warming up: layer by layer, as far as each one's input allows
            out = self._run_generic(m)
            if self._emitted and self._steady:  # every layer has run: enter the steady state
                self._enter_plans()
            return out
        if g + m > _CYCLE:
            self._rebase(g)
            g = 0
        plan = self._plans.get((g, m)) or self._plan(g, m)
        for op in plan:
            op()
        self._g = g + m
        return self._emit(m)

    def flush(self) -> F32:
        """End of stream: the remaining frames, with each layer's end padding."""
        if self._flushed:
            return np.zeros(0, np.float32)
        self._flushed = True
        self._leave_plans()
        m = self.frontend.flush()
        if m > 0:
            self._spectrum(m)
        for st in self._steps:
            st.run()
            st.inp.append_fill(st.future)
            st.run()
        return self._emit(self._final.w)

    def _spectrum(self, m: int) -> None:
        b = self._first
        if b.w + m > b.cap:
            b.make_room(m)
        for op in self.frontend.ops(m):
            op()
        b.w += m

    def _run_generic(self, m: int) -> F32:
        self._spectrum(m)
        for st in self._steps:
            st.run()
        return self._emit(self._final.w)

    # A steady stream: every push of m frames moves every layer by m frames, so the numpy
    # calls of a push depend only on m and on the buffers' offset g; they are built once and
    # replayed.

    def _generation(self) -> tuple[int, ...]:
        return tuple(st.inp.generation for st in self._steps)

    def _enter_plans(self) -> None:
        for st in self._steps:
            if st.inp.w - st.inp.start != st.span:
                return  # not steady (cannot happen after a full run; generic stays correct)
        for st in self._steps:
            st.inp.make_room(0, cap=st.span + _CYCLE)  # rebase to offset 0, room for a cycle
        if self._plans_generation != self._generation():
            self._plans.clear()  # cached views may point into replaced arrays
            self._plans_generation = self._generation()
        self._g = 0

    def _leave_plans(self) -> None:
        """Back to explicit positions (offset g, each input holding its span of history)."""
        g = self._g
        if g >= 0:
            for st in self._steps:
                st.inp.start, st.inp.w = g, g + st.span
            self._final.start = self._final.w = 0
        self._g = -1

    def _rebase(self, g: int) -> None:
        """Move every layer's history from offset g to the front of its buffer."""
        for st in self._steps:
            rows = st.inp.rows
            rows[: st.span] = rows[g : g + st.span].copy()

    def _plan(self, g: int, m: int) -> list[Op]:
        """The numpy calls of a push of m frames at offset g (positions set, then advanced)."""
        for st in self._steps:
            st.inp.start, st.inp.w = g, g + st.span
        self._final.start = self._final.w = 0
        plan = self.frontend.ops(m)
        self._first.w += m
        for st in self._steps:
            plan += st.ops(m)
            st.inp.start += m
            st.out.w += m
        if len(self._plans) >= _MAX_PLANS:  # pushes of ever-changing sizes: bound the memory
            self._plans.clear()
        self._plans[g, m] = plan
        return plan

    def _emit(self, n: int) -> F32:
        """Probabilities (or logits) of the first ``n`` rows of the final buffer (then empty)."""
        z, b = self._final.rows[:n, 0], self._bias
        out: F32
        if self.logits:
            out = np.add(z, np.float32(b))
        elif n <= _FEW:  # a few frames: Python floats cost less than four numpy calls
            out = np.array([_sigmoid(v + b) for v in z.tolist()], np.float32)
        else:  # 1 / (1 + exp(-z)), in place on a new array
            out = np.subtract(np.float32(-b), z)
            np.exp(out, out=out)
            np.add(out, 1.0, out=out)
            np.reciprocal(out, out=out)
        self._final.w = 0
        self._emitted += n
        return out


class NumpyVad(FrameTiming):
    """A VAD model run by the numpy engine: the frame model :func:`voicecnn.load_model` returns.

    Args:
        cfg: The architecture.
        tensors: Its tensors by name (numpy arrays; older positional names are accepted).
        arch: The registry name, for messages.

    Raises:
        ValueError: If the tensors do not fit the architecture.
    """

    def __init__(
        self, cfg: VadCnnCfg, tensors: Mapping[str, np.ndarray], *, arch: str = ""
    ) -> None:
        self.cfg = cfg
        self.arch = arch
        self.spec = vad_spec(cfg)
        self.tensors = rename_legacy(self.spec, tensors)
        self.context_frames: tuple[int, int] = context_frames(cfg)
        # Engines for whole files, kept between calls (their gather indices and scratch arrays
        # cost more to build than a minute of audio to run); one per concurrent caller.
        self._idle: list[FrameEngine] = [self.stream(piece_frames=FILE_PIECE)]  # checks now

    @classmethod
    def from_module(cls, model: Any) -> NumpyVad:
        """The numpy engine of a torch :class:`~voicecnn.VadCnn` (its current weights)."""
        tensors = {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}
        return cls(model.cfg, tensors)

    def stream(self, *, piece_frames: int = STREAM_PIECE, logits: bool = False) -> FrameEngine:
        """A new :class:`FrameEngine` of this model (its own state)."""
        return FrameEngine(self.spec, self.tensors, piece_frames=piece_frames, logits=logits)

    def file_stream(self) -> FrameEngine:
        """A reset engine for a whole file; give it back with :meth:`done` to reuse it."""
        try:
            engine = self._idle.pop()  # atomic: threads never share an engine
        except IndexError:
            engine = self.stream(piece_frames=FILE_PIECE)
        engine.reset()
        return engine

    def done(self, engine: FrameEngine) -> None:
        """Keep ``engine`` (from :meth:`file_stream`) for the next file."""
        if len(self._idle) < 4:
            self._idle.append(engine)

    def frame_probs(self, wave: npt.ArrayLike, *, logits: bool = False) -> F32:
        """Speech probability (or logit) per frame of a mono waveform at ``sample_rate``."""
        engine = self.file_stream()
        engine.logits = logits
        try:
            return np.concatenate([engine.push(wave), engine.flush()])
        finally:
            engine.logits = False
            self.done(engine)

    def __call__(self, wave: npt.ArrayLike) -> F32:
        """Waveforms (B, S) -> logits (B, S // hop_length), like the torch model."""
        x = np.asarray(wave, dtype=np.float32)
        rows = [self.frame_probs(row, logits=True) for row in x.reshape(-1, x.shape[-1])]
        return np.stack(rows).reshape(*x.shape[:-1], -1)

    def parameter_count(self) -> int:
        """Number of learned values (batch-norm statistics excluded)."""
        return sum(int(np.prod(v.shape)) for k, v in self.tensors.items()
                   if not k.endswith(("running_mean", "running_var", "num_batches_tracked")))

    def __repr__(self) -> str:
        return f"NumpyVad({self.arch or 'vad'}, {self.parameter_count():,} parameters)"
