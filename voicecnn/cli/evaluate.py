"""``voicecnn evaluate``: frame- and segment-level figures of a detector on annotated audio."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from voicecnn.cli._render import error, write_stdout


class EvalFormat(StrEnum):
    """Output formats of ``voicecnn evaluate``."""

    table = "table"
    json = "json"


_ROWS = (
    ("frames", "roc_auc", "ROC-AUC"),
    ("frames", "precision", "precision"),
    ("frames", "recall", "recall"),
    ("frames", "f1", "F1"),
    ("frames", "false_alarm", "false-alarm rate"),
    ("segments", "seg_precision", "precision"),
    ("segments", "seg_recall", "recall"),
    ("segments", "seg_f1", "F1"),
    ("segments", "median_start_error_s", "median start error (s)"),
    ("segments", "median_end_error_s", "median end error (s)"),
)


def _table(figures: dict[str, float], n_files: int, threshold: float, collar_s: float) -> str:
    lines = [f"{n_files} recordings, threshold {threshold:g}, segment collar {collar_s:g} s"]
    for level, key, name in _ROWS:
        value = figures[key]
        lines.append(f"{level:<9} {name:<24} {'-' if math.isnan(value) else f'{value:.4f}':>8}")
    return "\n".join(lines) + "\n"


def evaluate(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="Bundled name, .safetensors or .onnx detector.",
            show_default=False,
        ),
    ],
    data: Annotated[
        list[Path],
        typer.Argument(
            metavar="DATA", help="Manifests or folders of annotated recordings.", show_default=False
        ),
    ],
    threshold: Annotated[float, typer.Option(min=0, max=1, help="Speech threshold.")] = 0.5,
    collar: Annotated[float, typer.Option(min=0, help="Segment boundary tolerance (s).")] = 0.2,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f")] = EvalFormat.table,
) -> None:
    """Score detector MODEL on annotated recordings DATA, frame by frame and segment by segment.

    Frame level: ROC-AUC, and precision, recall, F1 and false-alarm rate at the threshold.
    Segment level (after voicecnn detect's post-processing): precision and recall of segments
    whose both ends are within the collar of a reference segment, median boundary errors.
    """
    import voicecnn as vc
    from voicecnn.data.manifest import load_dataset
    from voicecnn.train.run import EvalCfg, evaluate_recordings, load_recordings

    cfg = EvalCfg(threshold=threshold, collar_s=collar)
    try:
        net = vc.load_model(model)
        if not hasattr(net, "frame_hop_s"):
            raise vc.VoiceCNNError(f"'{model}' is not a speech detector")
        recordings = load_recordings(load_dataset(data), net.sample_rate)
        figures = evaluate_recordings(net, recordings, cfg)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    if fmt == EvalFormat.json:
        nan_free = {k: None if math.isnan(v) else v for k, v in figures.items()}
        write_stdout(json.dumps({"recordings": len(recordings), **nan_free}) + "\n")
    else:
        write_stdout(_table(figures, len(recordings), threshold, collar))
