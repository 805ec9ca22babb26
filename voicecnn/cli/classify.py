"""``voicecnn classify``: the top-k classes of images (image models) or audio clips (clip models).

Images are read with Pillow and resized and converted to the model's input size and channels;
audio is read with :func:`voicecnn.load_audio` at the model's rate. An input that cannot be read
gets a one-line error and the others go on; the exit code is 1 if any failed.
"""

from __future__ import annotations

import itertools
import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from voicecnn.cli._render import error, out_console, write_stdout

if TYPE_CHECKING:
    import torch

_GROUP = 64  # inputs read before the model runs; inputs of equal shape share one call


class ClassifyFormat(StrEnum):
    """Output formats of ``voicecnn classify``."""

    table = "table"
    json = "json"


def _expand(paths: list[Path], extensions: frozenset[str]) -> tuple[list[Path], list[str]]:
    """Files, and directories searched recursively for ``extensions`` -> (files, problems)."""
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in extensions
            )
            if not found:
                problems.append(f"'{p}' contains no {', '.join(sorted(extensions))} files")
            files.extend(found)
        elif p.exists():
            files.append(p)
        else:
            problems.append(f"cannot read '{p}': file not found")
    return list(dict.fromkeys(files)), problems


def _read_input(net: Any, path: Path) -> torch.Tensor:
    """One input as the model takes it: (C, H, W) normalised image or (S,) waveform."""
    import torch

    import voicecnn as vc
    from voicecnn.data.images import load_image, normalize
    from voicecnn.train.score import classifier_task

    if classifier_task(net) == "clip":
        return torch.from_numpy(vc.load_audio(path, sample_rate=net.sample_rate))
    cfg = net.cfg
    img = load_image(path, cfg.input_size, cfg.in_channels)
    lo_h, lo_w = net.min_input_size
    if img.shape[0] < lo_h or img.shape[1] < lo_w:
        raise vc.DataError(
            f"'{path}' is {img.shape[0]}x{img.shape[1]} pixels, smaller than the model's "
            f"minimum {lo_h}x{lo_w}"
        )
    return torch.from_numpy(normalize(img[None], cfg.mean, cfg.std)[0])


def _print_table(path: Path, top: list[tuple[int, str, float]]) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape(str(path)), title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("class")
    table.add_column("probability", justify="right")
    for rank, (_, label, prob) in enumerate(top, 1):
        table.add_row(str(rank), escape(label), f"{prob:.4f}")
    out_console.print(table)


def classify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            metavar="PATH",
            help="Image files (image models) or audio files (clip models), or directories of them.",
            show_default=False,
        ),
    ],
    model: Annotated[
        str,
        typer.Option(
            "--model",
            "-m",
            help="Image or clip classifier: .safetensors or .onnx path, or bundled name.",
            show_default=False,
        ),
    ],
    top_k: Annotated[
        int, typer.Option("--top-k", "-k", min=1, help="Classes to print per input.")
    ] = 5,
    fmt: Annotated[
        ClassifyFormat, typer.Option("--format", "-f", help="Output format.")
    ] = ClassifyFormat.table,
) -> None:
    """Print the top-k classes of images or audio clips, with their probabilities."""
    import torch

    import voicecnn as vc
    from voicecnn.data.images import IMAGE_EXTENSIONS
    from voicecnn.io.audio import AUDIO_SUFFIXES
    from voicecnn.train.score import classifier_task

    try:
        net = vc.load_model(model)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    task = classifier_task(net)
    if task is None:
        error(f"'{model}' is a {type(net).__name__}, not an image or clip classifier")
        raise typer.Exit(code=1)
    extensions = AUDIO_SUFFIXES if task == "clip" else IMAGE_EXTENSIONS
    files, problems = _expand(paths, extensions)
    for msg in problems:
        error(msg)
    failed = len(problems)
    names = net.class_names
    k = min(top_k, len(names))
    for start in range(0, len(files), _GROUP):
        loaded: list[tuple[Path, torch.Tensor]] = []
        for path in files[start : start + _GROUP]:
            try:
                loaded.append((path, _read_input(net, path)))
            except vc.VoiceCNNError as e:
                error(str(e))
                failed += 1
        for _, run in itertools.groupby(loaded, key=lambda item: tuple(item[1].shape)):
            items = list(run)
            with torch.inference_mode():
                probs = net(torch.stack([x for _, x in items])).softmax(dim=-1)
            values, indices = probs.topk(k, dim=-1)
            for (path, _), vals, idx in zip(items, values.tolist(), indices.tolist(), strict=True):
                top = [(i, names[i], float(p)) for p, i in zip(vals, idx, strict=True)]
                if fmt is ClassifyFormat.json:
                    preds = [
                        {"label": label, "index": i, "probability": round(p, 6)}
                        for i, label, p in top
                    ]
                    write_stdout(json.dumps({"path": str(path), "predictions": preds}) + "\n")
                else:
                    _print_table(path, top)
    if failed:
        raise typer.Exit(code=1)
