"""``voicecnn detect``: print or write the speech segments of audio files."""

from __future__ import annotations

import glob
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
from voicecnn.cli._render import (
    CSV_HEADER,
    EXTENSIONS,
    Format,
    error,
    print_table,
    progress,
    render_text,
    write_stdout,
)

AUDIO_EXTENSIONS = frozenset(
    {".wav", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
     ".caf", ".w64", ".rf64", ".sd2", ".voc"}
)


def expand_inputs(paths: list[str]) -> tuple[list[Path], list[str]]:
    """Files, directories (searched recursively for audio) and globs -> (files, problems)."""
    files: list[Path] = []
    problems: list[str] = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS
            )
            if not found:
                problems.append(f"'{p}' contains no audio files")
            files.extend(found)
        elif p.exists():
            files.append(p)
        elif glob.has_magic(text):
            matches = sorted(Path(m) for m in glob.glob(text, recursive=True) if Path(m).is_file())
            if not matches:
                problems.append(f"'{text}' matches no files")
            files.extend(matches)
        else:
            problems.append(f"cannot read '{p}': file not found")
    return list(dict.fromkeys(files)), problems


def _output_path(out_dir: Path, src: Path, fmt: Format, taken: set[Path]) -> Path:
    dst = out_dir / (src.stem + EXTENSIONS[fmt])
    n = 2
    while dst in taken:
        dst = out_dir / f"{src.stem}_{n}{EXTENSIONS[fmt]}"
        n += 1
    taken.add(dst)
    return dst


def detect(
    paths: Annotated[
        list[str],
        typer.Argument(help="Audio files, directories or glob patterns.", show_default=False),
    ],
    model: ModelOpt = None,
    threshold: ThresholdOpt = 0.5,
    neg_threshold: NegThresholdOpt = None,
    min_speech: MinSpeechOpt = 0.25,
    min_silence: MinSilenceOpt = 0.1,
    pad: PadOpt = 0.03,
    max_segment: MaxSegmentOpt = None,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.table,
    frames: Annotated[
        bool, typer.Option("--frames", help="Include per-frame probabilities (json).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", file_okay=False, help="Write one file per input here.",
                     show_default="stdout"),
    ] = None,
) -> None:
    """Print the speech segments of audio files."""
    import voicecnn as vc

    files, problems = expand_inputs(paths)
    for msg in problems:
        error(msg)
    try:
        cfg = detect_cfg(threshold, neg_threshold, min_speech, min_silence, pad, max_segment)
        net = vc.load_model(model)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    if output is not None:
        try:
            output.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            error(f"cannot create '{output}': {e.strerror}")
            raise typer.Exit(code=1) from None
    failed = len(problems)
    taken: set[Path] = set()
    if fmt is Format.csv and output is None and files:
        write_stdout(CSV_HEADER)
    with progress(len(files)) as bar:
        task = bar.add_task("detecting", total=len(files))
        for path in files:
            try:
                det = vc.detect_file(net, path, cfg)
            except vc.VoiceCNNError as e:
                error(str(e))
                failed += 1
            else:
                if output is not None:
                    text = render_text(det, fmt, frames=frames)
                    if fmt is Format.csv:
                        text = CSV_HEADER + text
                    dst = _output_path(output, path, fmt, taken)
                    dst.write_text(text, encoding="utf-8")
                elif fmt is Format.table:
                    print_table(det)
                else:
                    write_stdout(render_text(det, fmt, frames=frames))
            bar.advance(task)
    if failed:
        error(f"{failed} of {len(files) + len(problems)} input(s) failed")
        raise typer.Exit(code=1)
