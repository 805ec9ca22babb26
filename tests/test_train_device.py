"""Two-process data-parallel training on CPU (gloo), launched by torchrun as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.train_data import annotated_folder, vad_config, write_toml

pytestmark = pytest.mark.slow

# Runs ``voicecnn train`` in each process, with the library's train() wrapped so that every rank
# also saves the weights it ended with (to compare them across ranks).
_LAUNCHER = """
import sys
import torch.distributed as dist
from safetensors.torch import save_file
import voicecnn.train.run as run
from voicecnn.cli import main

original = run.train
dump_dir = sys.argv[2]

def train_and_dump(cfg, **kwargs):
    result = original(cfg, **kwargs)
    state = {k: v.detach().contiguous() for k, v in result.model.state_dict().items()}
    save_file(state, f"{dump_dir}/rank{dist.get_rank()}.safetensors")
    return result

run.train = train_and_dump
sys.argv = ["voicecnn", "train", sys.argv[1], "--set", "threads=1"]
main()
"""


def test_two_processes_on_cpu(tmp_path: Path) -> None:
    data = annotated_folder(tmp_path / "recordings")
    out = tmp_path / "run"
    cfg = write_toml(vad_config(data, out), tmp_path / "c.toml")
    launcher = tmp_path / "launch.py"
    launcher.write_text(_LAUNCHER)
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(launcher),
        str(cfg),
        str(dumps),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env=env, cwd=Path(__file__).parents[1]
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # Rank 0 alone reports, logs and saves: one result line, one row per evaluation.
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 1 and json.loads(lines[0])["roc_auc"] > 0.5
    assert "2 x cpu" in done.stderr
    rows = (out / "log.csv").read_text().split()[1:]
    assert [r.split(",")[0] for r in rows] == ["20", "40"]
    assert sorted(p.name for p in out.iterdir()) == [
        "best.safetensors",
        "card.json",
        "config.toml",
        "last.safetensors",
        "log.csv",
        "state.pt",
    ]
    assert json.loads((out / "card.json").read_text())["device"] == "2 x cpu"
    # Gradients were averaged: both ranks hold the same parameters, the ones rank 0 saved last.
    # (Batch-norm running statistics are rank 0's: DDP broadcasts them before each forward,
    # and each rank's last forward then updates its own copy.)
    rank0, rank1 = (load_file(dumps / f"rank{r}.safetensors") for r in (0, 1))
    last = load_file(out / "last.safetensors")
    params = [k for k in rank0 if not k.rsplit(".", 1)[-1].startswith(("running_", "num_batches"))]
    assert len(params) > 10
    for key in params:
        torch.testing.assert_close(rank1[key], rank0[key], rtol=0, atol=0)
    for key, value in rank0.items():
        torch.testing.assert_close(last[key], value, rtol=0, atol=0)
