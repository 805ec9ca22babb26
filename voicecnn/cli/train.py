"""``voicecnn train``: run a training config (one process, or one per GPU under ``torchrun``)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any

import typer

from voicecnn.cli._render import Bar, error, info, progress, write_stdout


def train(
    config: Annotated[
        Path,
        typer.Argument(
            exists=True,
            dir_okay=False,
            metavar="CONFIG",
            help="TOML run config.",
            show_default=False,
        ),
    ],
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: key=value (dotted, e.g. train.lr=1e-3)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in out_dir from its last save.")
    ] = False,
) -> None:
    """Train the model CONFIG describes; checkpoints, log, state and card go to its out_dir.

    For data-parallel training start one process per GPU (or CPU worker) with torchrun, e.g.
    torchrun --nproc_per_node 2 -m voicecnn train CONFIG: NCCL on GPUs, gloo on CPU; rank 0
    evaluates and writes the files.
    """
    import torch
    import torch.distributed as dist

    import voicecnn as vc
    from voicecnn.train.device import init_distributed, resolve_device
    from voicecnn.train.run import load_run_cfg
    from voicecnn.train.run import train as run_training

    try:
        cfg = load_run_cfg(config, overrides or [])
        if cfg.threads > 0:
            torch.set_num_threads(cfg.threads)
        device = init_distributed(resolve_device(cfg.device))
        with ExitStack() as stack:
            bars: list[tuple[Bar, Any]] = []

            def on_step(step: int, loss: float) -> None:
                if not bars:  # shown once the data is loaded and the first step is done
                    bar = stack.enter_context(progress(cfg.train.max_steps))
                    bars.append((bar, bar.add_task("training", total=cfg.train.max_steps)))
                bar, task = bars[0]
                bar.update(task, completed=step, description=f"loss {loss:.4f}")

            result = run_training(cfg, device=device, resume=resume, log=info, on_step=on_step)
    except vc.VoiceCNNError as e:
        error(str(e))
        raise typer.Exit(code=1) from None
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    if result.card:
        command = "detect" if cfg.task == "vad" else "classify"
        info(
            f"best weights: {result.best} (step {result.card['best_step']}); "
            f"use them with: voicecnn {command} --model {result.best} FILE"
        )
        write_stdout(json.dumps(result.card["validation"], default=str) + "\n")
