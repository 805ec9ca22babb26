"""ONNX export of detectors, and running exported graphs with onnxruntime.

``export_onnx`` writes a graph ``wave (B, S) -> logits (B, S // hop)`` with dynamic batch and
length (the log-mel frontend included), checks it against torch, and stores what detection needs
(sample rate, hop, context, the voicecnn config) in the ONNX metadata. ``OnnxVad`` runs such a
file with onnxruntime and behaves as a frame model, so ``load_model("model.onnx")``, ``detect``,
``voicecnn detect --model model.onnx`` and streaming accept it.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from voicecnn.config import cfg_to_dict
from voicecnn.errors import CheckpointError, VoiceCNNError
from voicecnn.models.vad import VadCnn

__all__ = ["OnnxVad", "export_onnx"]


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
    try:
        import onnx
    except ImportError as e:
        raise VoiceCNNError("ONNX export needs: pip install 'voicecnn[export]'") from e
    model = model.eval().cpu()
    dst = Path(path)
    dst.parent.mkdir(parents=True, exist_ok=True)
    example = torch.randn(2, 4 * model.sample_rate) * 0.1  # size-1 dims would be fixed
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=".onnx", dir=dst.parent)
    os.close(fd)
    try:
        # The exporter prints progress and warns about torch internals: keep the console clean.
        with warnings.catch_warnings(), _quiet_logs(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model, (example,), tmp, dynamo=True, opset_version=opset, verbose=False,
                input_names=["wave"], output_names=["logits"],
                dynamic_shapes={"wave": {0: torch.export.Dim("batch"),
                                         1: torch.export.Dim("samples", min=model.hop_length)}},
            )
        proto = onnx.load(tmp)
        meta = {
            "voicecnn": "1", "arch": arch, "config": json.dumps(cfg_to_dict(model.cfg)),
            "sample_rate": str(model.sample_rate), "hop_length": str(model.hop_length),
            "context_frames": json.dumps(list(model.context_frames)),
        }
        for key, value in meta.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.save(proto, tmp)
        diff = _max_diff(model, OnnxVad(tmp))
        if not diff <= atol:
            raise VoiceCNNError(f"exported graph differs from torch by {diff:.2e} (> {atol})")
        os.replace(tmp, dst)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return diff


@contextlib.contextmanager
def _quiet_logs() -> Iterator[None]:
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _max_diff(model: VadCnn, onnx_model: OnnxVad) -> float:
    rng = np.random.default_rng(0)
    worst = 0.0
    for n in (model.hop_length * 7 + 13, model.sample_rate * 3):
        x = torch.from_numpy(rng.standard_normal((2, n)).astype(np.float32) * 0.1)
        with torch.inference_mode():
            ref = model(x)
        scale = max(1.0, float(ref.abs().max()))
        worst = max(worst, float((onnx_model(x) - ref).abs().max()) / scale)
    return worst


class OnnxVad:
    """A detector exported by :func:`export_onnx`, run by onnxruntime (CPU, one thread).

    Implements the frame-model interface of :mod:`voicecnn.detection`: call it with a waveform
    tensor (B, S) to get logits (B, S // hop_length).

    Raises:
        CheckpointError: If the file is not an ONNX graph exported by voicecnn.
        VoiceCNNError: If onnxruntime is not installed.
    """

    def __init__(self, path: str | Path, *, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
        except ImportError as e:
            raise VoiceCNNError("running .onnx models needs: pip install 'voicecnn[onnx]'") from e
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(path), opts,
                                                providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own untyped errors
            raise CheckpointError(f"'{path}' is not a readable ONNX model") from e
        meta = self.session.get_modelmeta().custom_metadata_map
        if "hop_length" not in meta or "sample_rate" not in meta:
            raise CheckpointError(f"'{path}' was not exported by voicecnn (no metadata)")
        self.path = str(path)
        self.arch = meta.get("arch", "")
        self.config: dict[str, Any] = json.loads(meta.get("config", "{}"))
        self._rate = int(meta["sample_rate"])
        self._hop = int(meta["hop_length"])
        past, future = json.loads(meta["context_frames"])
        self.context_frames: tuple[int, int] = (int(past), int(future))
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
