"""``voicecnn evaluate``: frame- and segment-level figures of a detector on annotated audio, or
the accuracy of an image or clip classifier on labelled data (per class, with confusions)."""

from __future__ import annotations

import json
import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

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


class Split(StrEnum):
    """Which files of an MNIST IDX folder are scored."""

    auto = "auto"
    train = "train"
    test = "test"


def _class_table(report: Any, what: str) -> str:
    lines = [
        f"{report.examples} {what}, {len(report.classes)} classes: accuracy "
        f"{report.accuracy:.4f} ({report.errors} errors)",
        f"{'class':<20} {'n':>6} {'accuracy':>9}  most often taken for",
    ]
    for name, (n, acc, taken, count) in report.per_class().items():
        other = f"{taken} ({count})" if taken is not None else "-"
        lines.append(f"{name[:20]:<20} {n:>6} {acc:>9.4f}  {other}")
    return "\n".join(lines) + "\n"


def _classifier(
    net: Any, model: str, data: list[Path], fmt: EvalFormat, split: Split, fold: int,
    clip_s: float | None,
) -> None:
    """Score an image or clip classifier and print its report."""
    import voicecnn as vc
    from voicecnn.train.score import classifier_task, evaluate_classifier

    task = classifier_task(net)
    if clip_s is None and task == "clip":  # as the trainer validated, when the card says
        card = getattr(net, "card", None)
        if card is None and not model.endswith(".onnx"):
            card = vc.read_metadata(model)["card"]
        clip_s = (card or {}).get("clip_s")
    report = evaluate_classifier(net, data, split=split.value, fold=fold, clip_s=clip_s)
    if fmt == EvalFormat.json:
        write_stdout(json.dumps(report.to_dict()) + "\n")
    else:
        write_stdout(_class_table(report, "clips" if task == "clip" else "images"))


def evaluate(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="Detector or image/clip classifier: bundled name, .safetensors or .onnx.",
            show_default=False,
        ),
    ],
    data: Annotated[
        list[Path],
        typer.Argument(
            metavar="DATA",
            help="Detectors: manifests or folders of annotated recordings. Image models: a .npz "
            "file, an MNIST IDX folder or class folders of images. Clip models: class folders "
            "of audio clips or .jsonl/.csv clip lists.",
            show_default=False,
        ),
    ],
    threshold: Annotated[float, typer.Option(min=0, max=1, help="Speech threshold.")] = 0.5,
    collar: Annotated[float, typer.Option(min=0, help="Segment boundary tolerance (s).")] = 0.2,
    fmt: Annotated[EvalFormat, typer.Option("--format", "-f")] = EvalFormat.table,
    split: Annotated[
        Split, typer.Option(help="IDX folders: t10k files (test), train files, or auto.")
    ] = Split.auto,
    fold: Annotated[
        int, typer.Option(min=0, help="Clip data: score only this fold (0 = all clips).")
    ] = 0,
    clip_s: Annotated[
        float | None,
        typer.Option(
            "--clip-s", min=0.01, help="Clip data: seconds each clip is cut or padded to.",
            show_default="as trained (card), else whole clips",
        ),
    ] = None,
) -> None:
    """Score MODEL on labelled DATA.

    Detectors, frame by frame and segment by segment: ROC-AUC, and precision, recall, F1 and
    false-alarm rate at the threshold; after voicecnn detect's post-processing, precision and
    recall of segments whose both ends are within the collar of a reference segment, median
    boundary errors. Image and clip classifiers: accuracy, and per class the accuracy and the
    class it was most often mistaken for (JSON: the whole confusion matrix).
    """
    import voicecnn as vc
    from voicecnn.data.recordings import load_dataset
    from voicecnn.train.score import classifier_task
    from voicecnn.train.vad import EvalCfg, evaluate_recordings, load_recordings

    cfg = EvalCfg(threshold=threshold, collar_s=collar)
    try:
        net = vc.load_model(model)
        if classifier_task(net) is not None:
            _classifier(net, model, data, fmt, split, fold, clip_s)
            return
        if fold or clip_s is not None or split != Split.auto:
            raise vc.VoiceCNNError("--split, --fold and --clip-s are settings for classifiers")
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
