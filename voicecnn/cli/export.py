"""``voicecnn export``: write a detector, image classifier or clip classifier as an ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voicecnn.cli._render import error, info


def export(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL",
            help="Bundled model name, .safetensors file, Hub folder or Hub id.",
            show_default=False,
        ),
    ],
    onnx: Annotated[Path, typer.Option("--onnx", dir_okay=False, help="Output .onnx file.")],
    opset: Annotated[int, typer.Option(min=17, help="ONNX opset (the STFT needs 17+).")] = 18,
) -> None:
    """Export MODEL to ONNX (a detector's or clip model's log-mel frontend included); checks
    the graph against torch with onnxruntime."""
    import voicecnn as vc
    from voicecnn.net.export import export_classifier_onnx, export_onnx

    try:
        net = vc.load_module(model)
        if isinstance(net, vc.VadCnn):
            arch = vc.read_metadata(model)["arch"]
            diff = export_onnx(net, onnx, arch=arch, opset=opset)
            command = "detect"
        elif isinstance(net, vc.ImageCnn | vc.ClipCnn):
            meta = vc.read_metadata(model)
            diff = export_classifier_onnx(
                net, onnx, arch=meta["arch"], card=meta["card"], opset=opset
            )
            command = "classify"
        else:
            raise vc.VoiceCNNError(f"'{model}' is not a torch detector or classifier")
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    info(
        f"wrote {onnx} ({onnx.stat().st_size / 1024:.0f} KB); max |logit| difference to torch "
        f"{diff:.1e}; use it with: voicecnn {command} --model {onnx} FILE"
    )
