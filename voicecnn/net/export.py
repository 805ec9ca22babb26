"""ONNX export of detectors and classifiers, and running exported graphs with onnxruntime.

``export_onnx`` writes a graph ``wave (B, S) -> logits (B, S // hop)`` with dynamic batch and
length (the log-mel frontend included), checks it against torch, and stores what detection needs
(sample rate, hop, context, the voicecnn config) in the ONNX metadata. ``OnnxVad`` runs such a
file with onnxruntime and behaves as a frame model, so ``load_model("model.onnx")``, ``detect``,
``voicecnn detect --model model.onnx`` and streaming accept it.

``export_classifier_onnx`` does the same for image classifiers (``images (B, C, H, W) ->
logits (B, K)``, dynamic batch, and dynamic size for globally pooled models) and clip
classifiers (``wave (B, S) -> logits (B, K)``, dynamic batch and length); ``OnnxClassifier``
runs them, with the class names and input settings from the metadata, so
``voicecnn classify --model model.onnx`` and ``voicecnn evaluate`` accept them.
:func:`load_onnx` opens either kind.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from voicecnn.config import cfg_from_dict, cfg_to_dict
from voicecnn.errors import CheckpointError, ConfigError, VoiceCNNError
from voicecnn.io.files import atomic_path
from voicecnn.net.metadata import check_onnx_metadata
from voicecnn.net.models.image import ClassLabels, ClipCnn, ClipCnnCfg, ImageCnn, ImageCnnCfg
from voicecnn.net.models.vad import VadCnn

__all__ = ["OnnxClassifier", "OnnxVad", "export_classifier_onnx", "export_onnx", "load_onnx"]


def export_onnx(
    model: VadCnn, path: str | Path, *, arch: str = "", opset: int = 18, atol: float = 1e-4
) -> float:
    """Export a detector to ONNX (atomically) and check it against torch.

    Args:
        model: The detector (its eval-mode behaviour is exported).
        path: Destination ``.onnx`` file.
        arch: Registry name, stored in the metadata.
        opset: ONNX opset (>= 17 for the STFT).
        atol: Largest allowed |logit difference| between torch and onnxruntime, relative to
            the largest |logit| when that exceeds 1 (float32 rounding grows with the scale).

    Returns:
        The largest |logit difference| measured on random inputs, divided by that scale.

    Raises:
        VoiceCNNError: If the export tools are missing or the graph does not match torch.
    """
    rng = np.random.default_rng(0)
    checks = [
        torch.from_numpy(rng.standard_normal((2, n)).astype(np.float32) * 0.1)
        for n in (model.hop_length * 7 + 13, model.sample_rate * 3)
    ]
    meta = {
        "voicecnn": "1",
        "arch": arch,
        "config": json.dumps(cfg_to_dict(model.cfg)),
        "sample_rate": str(model.sample_rate),
        "hop_length": str(model.hop_length),
        "context_frames": json.dumps(list(model.context_frames)),
    }
    return _export_checked(
        model,
        path,
        lambda: torch.randn(2, 4 * model.sample_rate) * 0.1,  # size-1 dims would be fixed
        input_name="wave",
        dynamic_shapes={
            "wave": {
                0: torch.export.Dim("batch"),
                1: torch.export.Dim("samples", min=model.hop_length),
            }
        },
        meta=meta,
        runner=OnnxVad,
        checks=checks,
        opset=opset,
        atol=atol,
    )


def _export_checked(
    model: VadCnn | ImageCnn | ClipCnn,
    path: str | Path,
    example: Callable[[], torch.Tensor],
    *,
    input_name: str,
    dynamic_shapes: Any,
    meta: dict[str, str],
    runner: Callable[[str], Callable[[torch.Tensor], torch.Tensor]],
    checks: list[torch.Tensor],
    opset: int,
    atol: float,
) -> float:
    """What both exports share: the eval-mode model written to ``path`` atomically (a temporary
    file beside it, renamed once checked), ``meta`` stored in the graph, and the graph run by
    ``runner`` on ``checks`` compared with torch.

    Args:
        example: Makes the input traced by the exporter (called once onnx is known present).
        input_name: The graph's input (its output is ``logits``).
        dynamic_shapes: For ``torch.onnx.export``.

    Returns:
        The largest |logit difference| on ``checks``, relative to the largest |logit| when that
        exceeds 1.

    Raises:
        VoiceCNNError: If onnx is not installed or the difference exceeds ``atol``.
    """
    try:
        import onnx
    except ImportError as e:
        raise VoiceCNNError("ONNX export needs: pip install 'voicecnn[export]'") from e
    model = model.eval().cpu()
    dst = Path(path)
    dst.parent.mkdir(parents=True, exist_ok=True)
    x0 = example()
    with atomic_path(dst, suffix=".onnx") as tmp_path:
        tmp = str(tmp_path)
        try:
            # The exporter prints progress and warns about torch internals: keep the console
            # clean.
            with (warnings.catch_warnings(), _quiet_logs(),
                  contextlib.redirect_stdout(io.StringIO())):
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    model,
                    (x0,),
                    tmp,
                    dynamo=True,
                    opset_version=opset,
                    verbose=False,
                    input_names=[input_name],
                    output_names=["logits"],
                    dynamic_shapes=dynamic_shapes,
                )
            proto = onnx.load(tmp)
            for key, value in meta.items():
                entry = proto.metadata_props.add()
                entry.key, entry.value = key, value
            onnx.save(proto, tmp)
            onnx_model = runner(tmp)
            worst = 0.0
            for x in checks:
                with torch.inference_mode():
                    ref = model(x)
                scale = max(1.0, float(ref.abs().max()))
                worst = max(worst, float((onnx_model(x) - ref).abs().max()) / scale)
            if not worst <= atol:
                raise VoiceCNNError(
                    f"exported graph differs from torch by {worst:.2e} (> {atol})"
                )
        finally:
            Path(tmp + ".data").unlink(missing_ok=True)  # the exporter's external weights
    return worst


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _open_session(path: str | Path, threads: int) -> Any:
    """An onnxruntime CPU session of ``path``.

    Raises:
        CheckpointError: If the file is not a readable ONNX graph.
        VoiceCNNError: If onnxruntime is not installed.
    """
    try:
        import onnxruntime as ort
    except ImportError as e:
        raise VoiceCNNError("running .onnx models needs: pip install 'voicecnn[onnx]'") from e
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise CheckpointError(f"'{path}' is not a readable ONNX model") from e


def load_onnx(path: str | Path, *, threads: int = 1) -> OnnxVad | OnnxClassifier:
    """Open a graph written by :func:`export_onnx` or :func:`export_classifier_onnx`.

    Raises:
        CheckpointError: If the file is missing, unreadable or not exported by voicecnn.
        VoiceCNNError: If onnxruntime is not installed.
    """
    if not Path(path).is_file():
        raise CheckpointError(f"cannot read '{path}': file not found")
    session = _open_session(path, threads)
    task = session.get_modelmeta().custom_metadata_map.get("task")
    if task in ("image", "clip"):
        return OnnxClassifier(path, session=session)
    return OnnxVad(path, session=session)


class OnnxVad:
    """A detector exported by :func:`export_onnx`, run by onnxruntime (CPU, one thread).

    Implements the frame-model interface of :mod:`voicecnn.detection.frames`: call it with a
    waveform tensor (B, S) to get logits (B, S // hop_length).

    Raises:
        CheckpointError: If the file is not an ONNX graph exported by voicecnn.
        VoiceCNNError: If onnxruntime is not installed.
    """

    def __init__(self, path: str | Path, *, threads: int = 1, session: Any = None) -> None:
        self.session = _open_session(path, threads) if session is None else session
        meta = self.session.get_modelmeta().custom_metadata_map
        if "hop_length" not in meta or "sample_rate" not in meta:
            raise CheckpointError(f"'{path}' was not exported by voicecnn (no metadata)")
        self.path = str(path)
        self.arch = meta.get("arch", "")
        self._rate, self._hop, past, future, self.config = check_onnx_metadata(meta, str(path))
        self.context_frames: tuple[int, int] = (past, future)
        self._input = self.session.get_inputs()[0].name

    @property
    def sample_rate(self) -> int:
        """Sample rate in Hz the model expects."""
        return self._rate

    @property
    def hop_length(self) -> int:
        """Samples per output frame."""
        return self._hop

    @property
    def frame_hop_s(self) -> float:
        """Seconds per output frame."""
        return self._hop / self._rate

    @property
    def lookahead_s(self) -> float:
        """Seconds of audio after a frame that its output depends on."""
        return self.context_frames[1] * self.frame_hop_s

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        """Waveform (B, S) -> logits (B, S // hop_length); empty for S < hop_length."""
        n_frames = wave.shape[-1] // self._hop
        if n_frames == 0:
            return wave.new_zeros((wave.shape[0], 0))
        x = wave.detach().cpu().float().numpy()
        (logits,) = self.session.run(None, {self._input: np.ascontiguousarray(x)})
        return torch.from_numpy(np.asarray(logits, dtype=np.float32).reshape(x.shape[0], -1))


# --- classifiers --------------------------------------------------------------------------------


def _classifier_examples(model: ImageCnn | ClipCnn) -> list[torch.Tensor]:
    """Random inputs the exported graph is checked on (two batch sizes, two sizes if free)."""
    gen = torch.Generator().manual_seed(0)
    if isinstance(model, ClipCnn):
        rate = model.sample_rate
        lengths = (max(model.min_samples, rate // 2) + 123, 3 * rate)
        return [
            torch.randn(b, n, generator=gen) * 0.1 for b, n in zip((2, 3), lengths, strict=True)
        ]
    c = model.cfg.in_channels
    if model.cfg.input_size is not None and model.cfg.pool == "flatten":
        sizes = [model.cfg.input_size] * 2
    else:
        lo_h, lo_w = model.min_input_size
        sizes = [(max(lo_h, 32), max(lo_w, 32)), (max(lo_h, 32) + 5, max(lo_w, 32) + 9)]
    return [torch.randn(b, c, h, w, generator=gen) for b, (h, w) in zip((2, 3), sizes, strict=True)]


def export_classifier_onnx(
    model: ImageCnn | ClipCnn,
    path: str | Path,
    *,
    arch: str = "",
    card: dict[str, Any] | None = None,
    opset: int = 18,
    atol: float = 1e-4,
) -> float:
    """Export an image or clip classifier to ONNX (atomically) and check it against torch.

    Image models take normalised images ``images`` (B, C, H, W) as :class:`ImageCnn` does
    (dynamic batch; dynamic H and W unless the model flattens a fixed-size map); clip models
    take waveforms ``wave`` (B, S) at their rate (dynamic batch and length, at least
    ``min_samples``: :class:`OnnxClassifier` pads shorter ones). The output is ``logits``
    (B, K). The metadata holds the task, the architecture, the config (class names, input
    size, normalisation, frontend) and ``card``.

    Args:
        model: The classifier (its eval-mode behaviour is exported).
        path: Destination ``.onnx`` file.
        arch: Registry name, stored in the metadata.
        card: Model-card facts to store (e.g. from the weights' metadata).
        opset: ONNX opset (>= 17 for the STFT of clip models).
        atol: Largest allowed |logit difference| between torch and onnxruntime, relative to
            the largest |logit| when that exceeds 1.

    Returns:
        The largest |logit difference| measured on random inputs, divided by that scale.

    Raises:
        VoiceCNNError: If the export tools are missing or the graph does not match torch.
    """
    clip = isinstance(model, ClipCnn)
    examples = _classifier_examples(model)
    batch = torch.export.Dim("batch")
    if isinstance(model, ClipCnn):
        name = "wave"
        dims: dict[int, Any] = {0: batch, 1: torch.export.Dim("samples", min=model.min_samples)}
        min_input = [model.min_samples]
    else:
        name = "images"
        min_input = list(model.min_input_size)
        dims = {0: batch}
        if model.cfg.pool != "flatten":
            lo_h, lo_w = model.min_input_size
            dims[2] = torch.export.Dim("height", min=max(lo_h, 2))
            dims[3] = torch.export.Dim("width", min=max(lo_w, 2))
    meta = {
        "voicecnn": "1",
        "task": "clip" if clip else "image",
        "arch": arch,
        "config": json.dumps(cfg_to_dict(model.cfg)),
        "card": json.dumps(card or {}),
        "min_input": json.dumps(min_input),
    }
    return _export_checked(
        model,
        path,
        lambda: examples[0],
        input_name=name,
        dynamic_shapes=(dims,),
        meta=meta,
        runner=OnnxClassifier,
        checks=examples,
        opset=opset,
        atol=atol,
    )


class OnnxClassifier(ClassLabels):
    """An image or clip classifier exported by :func:`export_classifier_onnx`, run by
    onnxruntime (CPU, one thread by default).

    Call it with what the torch model takes, normalised images (B, C, H, W) or waveforms
    (B, S) at :attr:`sample_rate`, to get class logits (B, K).

    Attributes:
        task: ``image`` or ``clip``.
        arch: Registry name of the architecture.
        cfg: The model's config (:class:`~voicecnn.net.models.ImageCnnCfg` or
            :class:`~voicecnn.net.models.ClipCnnCfg`): class names, input size, normalisation,
            frontend.
        card: The model card stored at export (may be empty).

    Raises:
        CheckpointError: If the file is not a classifier graph exported by voicecnn.
        VoiceCNNError: If onnxruntime is not installed.
    """

    def __init__(self, path: str | Path, *, threads: int = 1, session: Any = None) -> None:
        self.session = _open_session(path, threads) if session is None else session
        meta = self.session.get_modelmeta().custom_metadata_map
        task = meta.get("task")
        if task not in ("image", "clip") or "config" not in meta:
            raise CheckpointError(f"'{path}' is not a classifier exported by voicecnn")
        self.path = str(path)
        self.task: str = task
        self.arch = meta.get("arch", "")
        cfg_type: type[Any] = ClipCnnCfg if task == "clip" else ImageCnnCfg
        try:
            self.cfg: Any = cfg_from_dict(cfg_type, json.loads(meta["config"]), where=self.path)
            self.card: dict[str, Any] = json.loads(meta.get("card", "{}"))
            self._min: list[int] = [int(v) for v in json.loads(meta["min_input"])]
        except (ConfigError, json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"'{path}' has unreadable voicecnn metadata: {e}") from e
        self._input = self.session.get_inputs()[0].name

    @property
    def sample_rate(self) -> int:
        """Clip models: the sample rate in Hz they take."""
        return int(self.cfg.frontend.sample_rate) if self.task == "clip" else 0

    @property
    def min_samples(self) -> int:
        """Clip models: shorter waveforms are zero-padded to this many samples."""
        return self._min[0] if self.task == "clip" else 0

    @property
    def min_input_size(self) -> tuple[int, int]:
        """Image models: the smallest (H, W) they take."""
        return (self._min[0], self._min[1]) if self.task == "image" else (0, 0)

    def eval(self) -> OnnxClassifier:
        """Nothing to switch (for code written for torch models)."""
        return self

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, C, H, W) or waveforms (B, S) -> logits (B, K)."""
        arr = x.detach().cpu().float().numpy()
        if self.task == "clip" and arr.ndim == 2 and arr.shape[1] < self.min_samples:
            arr = np.pad(arr, ((0, 0), (0, self.min_samples - arr.shape[1])))
        (logits,) = self.session.run(None, {self._input: np.ascontiguousarray(arr)})
        return torch.from_numpy(np.asarray(logits, dtype=np.float32))
