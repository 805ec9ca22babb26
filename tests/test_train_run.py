"""Run configs by task (``voicecnn train CONFIG``): strict keys, other tasks' settings, errors."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from tests.conftest import one_line_error
from tests.train_data import vad_config, write_toml
from voicecnn.cli import app
from voicecnn.errors import ConfigError
from voicecnn.train.clip import ClipDataCfg, ClipRunCfg
from voicecnn.train.core import RunCfg
from voicecnn.train.image import ImageDataCfg, ImageRunCfg
from voicecnn.train.run import run_cfg_from_dict, train
from voicecnn.train.vad import VadDataCfg, VadRunCfg

TRAIN_SETTINGS = [
    ("train.batch_size=0", "train.batch_size must be"),
    ("train.eval_every=0", "train.eval_every must be"),
    ("train.max_minutes=0", "train.max_minutes must be"),
    ("train.max_minutes=-1", "train.max_minutes must be"),
    ("train.lr=-1", "train.lr must be"),
    ("train.lr=nan", "train.lr must be"),
    ("train.weight_decay=-1", "train.weight_decay must be"),
    ("train.grad_clip=-1", "train.grad_clip must be"),
    ("train.max_steps=0", "max_steps = 0 would train nothing"),
    ("train.warmup_steps=-1", "train.warmup_steps must be"),
    ("train.betas=[0.9, 1.5]", "betas must be"),
    ("data.workers=-1", "data.workers must be"),
    ("data.crop_s=inf", "data.crop_s must be"),
    ("eval.threshold=2", "eval.threshold must be"),
    ("eval.min_speech_s=1e308", "min_speech_s must be"),
]

runner = CliRunner()


def test_config_errors_are_one_line_exit_1(recordings: Path, tmp_path: Path) -> None:
    cfg = write_toml(vad_config(recordings, tmp_path / "run"), tmp_path / "c.toml")
    cases = [
        (["--set", "train.lrx=1"], "unknown key(s) lrx"),
        (["--set", 'train.lr="fast"'], "train.lr: expected a number"),
        (["--set", "data.crop_s=true"], "data.crop_s: expected a number"),
        (["--set", "task=speech"], "is not one of"),
        (["--set", "arch=no_such_model"], "no_such_model"),
        (["--set", "arch=img_cnn2d_s"], "is a 'image' model"),
        (["--resume"], "nothing to resume"),
    ]
    for extra, message in cases:
        result = runner.invoke(app, ["train", str(cfg), *extra])
        assert result.exit_code == 1, (extra, result.output)
        assert message in result.stderr and result.stderr.startswith("error:"), result.stderr
    assert not (tmp_path / "run" / "best.safetensors").exists()
    bad = tmp_path / "bad.toml"
    bad.write_text('arch = "vad_cnn1d_xs"\nlearning_rate = 1\n')
    result = runner.invoke(app, ["train", str(bad)])
    assert result.exit_code == 1 and "unknown key(s) learning_rate" in result.stderr


def test_each_task_reads_its_own_config() -> None:
    assert type(run_cfg_from_dict({})) is VadRunCfg  # task = "vad" by default
    assert type(run_cfg_from_dict({"task": "image"})) is ImageRunCfg
    clip = run_cfg_from_dict({"task": "clip", "data": {"val_fold": 2}})
    assert isinstance(clip, ClipRunCfg) and clip.data.val_fold == 2
    # each task's data config holds only its own fields over the shared ones
    names = {cls: {f.name for f in fields(cls)} for cls in (VadDataCfg, ImageDataCfg, ClipDataCfg)}
    shared = names[VadDataCfg] & names[ImageDataCfg] & names[ClipDataCfg]
    assert shared == {"train", "val", "val_fraction", "workers"}
    assert not names[VadDataCfg] & (names[ImageDataCfg] | names[ClipDataCfg]) - shared
    assert not names[ImageDataCfg] & names[ClipDataCfg] - shared


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"data": {"image_size": [28, 28]}}, "data.image_size is a setting of task = 'image', not"),
        ({"task": "image", "teacher": "x"}, "teacher is a setting of task = 'vad', not 'image'"),
        ({"task": "image", "data": {"val_fold": 5}}, "data.val_fold is a setting of task = 'clip'"),
        ({"task": "clip", "clip_augment": {}, "eval": {}}, "eval is a setting of task = 'vad'"),
        ({"task": "clip", "data": {"clip_z": 1.0}}, "unknown key(s) clip_z"),
        ({"task": "speech"}, "task: 'speech' is not one of ['vad', 'image', 'clip']"),
        ({"task": ["vad"]}, "task: ['vad'] is not one of ['vad', 'image', 'clip']"),
    ],
)
def test_settings_of_another_task_are_named(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        run_cfg_from_dict(raw, where="c.toml")
    assert message in str(err.value) and str(err.value).startswith("c.toml")


def test_train_takes_a_task_config_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a task's run config"):
        train(RunCfg(out_dir=str(tmp_path)), device=torch.device("cpu"))


@pytest.mark.parametrize(("setting", "message"), TRAIN_SETTINGS)
def test_bad_train_settings_are_one_line_before_anything_runs(
    setting: str, message: str, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'arch = "vad_cnn1d_xs"\nout_dir = "{tmp_path / "run"}"\n')
    result = runner.invoke(app, ["train", str(cfg), "--set", setting])
    assert result.exit_code == 1, result.output
    assert message in one_line_error(result)
    assert not (tmp_path / "run").exists()
