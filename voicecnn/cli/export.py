"""``voicecnn export``: write a detector as an ONNX graph."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from voicecnn.cli._render import error, info


def export(
    model: Annotated[
        str,
        typer.Argument(
            metavar="MODEL", help="Bundled model name or .safetensors path.", show_default=False
        ),
    ],
    onnx: Annotated[Path, typer.Option("--onnx", dir_okay=False, help="Output .onnx file.")],
    opset: Annotated[int, typer.Option(min=17, help="ONNX opset (the STFT needs 17+).")] = 18,
) -> None:
    """Export MODEL (frontend included) to ONNX; checks the graph against torch."""
    import voicecnn as vc
    from voicecnn.export import export_onnx

    try:
        net = vc.load_model(model)
        if not isinstance(net, vc.VadCnn):
            raise vc.VoiceCNNError(f"'{model}' is not a torch detector")
        arch = vc.read_metadata(model)["arch"]
        diff = export_onnx(net, onnx, arch=arch, opset=opset)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    info(
        f"wrote {onnx} ({onnx.stat().st_size / 1024:.0f} KB); max |logit| difference to torch "
        f"{diff:.1e}; use it with: voicecnn detect --model {onnx} FILE"
    )
