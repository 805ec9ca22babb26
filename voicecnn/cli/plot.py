"""``voicecnn plot``: a picture of the speech detected in an audio file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voicecnn.cli._options import ModelOpt, detection_options
from voicecnn.cli._render import error, write_stdout

if TYPE_CHECKING:
    from voicecnn.detection.frames import DetectCfg


@detection_options
def plot(
    audio: Annotated[Path, typer.Argument(metavar="FILE", help="Audio file.", show_default=False)],
    out: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            dir_okay=False,
            help="Image file (png, svg, pdf...).",
            show_default="<name>.png",
        ),
    ] = None,
    model: ModelOpt = None,
    cfg: DetectCfg = None,  # type: ignore[assignment]  # the detection options
) -> None:
    """Draw waveform, log-mel spectrogram, speech probability and segments of AUDIO.

    Needs matplotlib (the plot extra). Prints the image's path.
    """
    import voicecnn as vc
    from voicecnn.detection.plot import plot_detection, require_matplotlib

    dst = Path(f"{audio.stem}.png") if out is None else out
    try:
        require_matplotlib()
        det = vc.detect_file(vc.load_model(model), audio, cfg)
        plot_detection(audio, det, dst, cfg=cfg)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    write_stdout(f"{dst}\n")
