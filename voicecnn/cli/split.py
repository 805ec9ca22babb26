"""``voicecnn split``: cut audio files into their speech segments, or keep only speech/silence."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from voicecnn.cli._options import (
    MaxSegmentOpt,
    MinSilenceOpt,
    MinSpeechOpt,
    ModelOpt,
    NegThresholdOpt,
    PadOpt,
    ThresholdOpt,
    detect_cfg,
)
from voicecnn.cli._render import error, info, progress, write_stdout
from voicecnn.cli.detect import expand_inputs, output_path
from voicecnn.escape import terminal


class KeepChoice(StrEnum):
    """What ``--keep`` keeps."""

    speech = "speech"
    silence = "silence"


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
    threshold: ThresholdOpt = 0.5,
    neg_threshold: NegThresholdOpt = None,
    min_speech: MinSpeechOpt = 0.25,
    min_silence: MinSilenceOpt = 0.1,
    pad: PadOpt = 0.03,
    max_segment: MaxSegmentOpt = None,
) -> None:
    """Write the speech segments of audio files as files, at the original rate and channels.

    Without --keep: one <name>_<n>_<start>-<end>.<ext> per segment; prints a line
    "path<TAB>start<TAB>end" per file (seconds in the original).

    With --keep speech|silence: <name>_<keep>.<ext> holding only that, and <name>_<keep>.json
    mapping its times to the original; prints both paths.

    WAV, FLAC and OGG keep their container and sample format; other inputs become WAV.
    """
    import voicecnn as vc
    from voicecnn.split import keep_file, split_file

    files, problems = expand_inputs(paths)
    for msg in problems:
        error(msg)
    try:
        cfg = detect_cfg(threshold, neg_threshold, min_speech, min_silence, pad, max_segment)
        net = vc.load_model(model)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    failed = len(problems)
    taken: set[Path] = set()
    with progress(len(files)) as bar:
        task = bar.add_task("splitting", total=len(files))
        for path in files:
            stem = output_path(out, path, "", taken).name  # x, x_2... for x.wav in two folders
            try:
                segments = vc.detect_file(net, path, cfg).segments
                if not segments and keep is not KeepChoice.silence:
                    info(f"{path}: no speech found, nothing written")
                elif keep is None:
                    clips = split_file(path, segments, out, stem=stem)
                    write_stdout("".join(
                        f"{terminal(str(c.path))}\t{c.start:.3f}\t{c.end:.3f}\n" for c in clips
                    ))
                else:
                    kept = keep_file(path, segments, out, keep=keep.value, stem=stem)
                    write_stdout(f"{terminal(str(kept.path))}\n{terminal(str(kept.sidecar))}\n")
            except vc.VoiceCNNError as e:
                error(str(e))
                failed += 1
            bar.advance(task)
    if failed:
        error(f"{failed} of {len(files) + len(problems)} input(s) failed")
        raise typer.Exit(code=1)
