"""``voicecnn split``: cut audio files into their speech segments, or keep only speech/silence."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from voicecnn.cli._options import ModelOpt, detection_options
from voicecnn.cli._render import error, info, progress, write_stdout
from voicecnn.io.escape import terminal

if TYPE_CHECKING:
    from voicecnn.detection.frames import DetectCfg


class KeepChoice(StrEnum):
    """What ``--keep`` keeps."""

    speech = "speech"
    silence = "silence"


@detection_options
def split(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH", help="Audio files, directories or glob patterns.", show_default=False
        ),
    ],
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", file_okay=False, help="Folder for the new files.", show_default=False
        ),
    ],
    keep: Annotated[
        KeepChoice | None,
        typer.Option(
            help="Write one file with only this (and a JSON time map) instead of "
            "one file per segment.",
            show_default="one file per segment",
        ),
    ] = None,
    model: ModelOpt = None,
    cfg: DetectCfg = None,  # type: ignore[assignment]  # the detection options
) -> None:
    """Write the speech segments of audio files as files, at the original rate and channels.

    Without --keep: one <name>_<n>_<start>-<end>.<ext> per segment; prints a line
    "path<TAB>start<TAB>end" per file (seconds in the original).

    With --keep speech|silence: <name>_<keep>.<ext> holding only that, and <name>_<keep>.json
    mapping its times to the original; prints both paths.

    WAV, FLAC and OGG keep their container and sample format; other inputs become WAV.
    """
    import voicecnn as vc
    from voicecnn.detection.corpus import iter_recordings, output_path
    from voicecnn.detection.split import keep_file, split_file

    try:
        net = vc.load_model(model)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    failed = total = 0
    with progress(len(paths)) as bar:
        task = bar.add_task("splitting", total=None)
        for rec in iter_recordings(paths):
            total += 1
            if isinstance(rec, str):
                error(rec)
                failed += 1
                continue
            path, where = rec.path, output_path(out, rec, "")  # the input tree, mirrored
            folder, stem = where.parent, where.name
            try:
                segments = vc.detect_file(net, path, cfg).segments
                if not segments and keep is not KeepChoice.silence:
                    info(f"{path}: no speech found, nothing written")
                elif keep is None:
                    clips = split_file(path, segments, folder, stem=stem)
                    write_stdout("".join(
                        f"{terminal(str(c.path))}\t{c.start:.3f}\t{c.end:.3f}\n" for c in clips
                    ))
                else:
                    kept = keep_file(path, segments, folder, keep=keep.value, stem=stem)
                    write_stdout(f"{terminal(str(kept.path))}\n{terminal(str(kept.sidecar))}\n")
            except vc.VoiceCNNError as e:
                error(str(e))
                failed += 1
            bar.advance(task)
    if failed:
        error(f"{failed} of {total} input(s) failed")
        raise typer.Exit(code=1)
