"""Strict configs: unknown keys and wrong types are errors; round trips are lossless."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import voicecnn as vc
from voicecnn.config import apply_overrides, cfg_to_dict, dumps_toml, jsonable, load_toml
from voicecnn.errors import ConfigError
from voicecnn.net.layers import StageCfg

pytestmark = pytest.mark.no_torch  # CI runs it without torch too


@dataclass(frozen=True)
class Inner:
    rate: float = 1.0
    name: str = "x"


@dataclass(frozen=True)
class Outer:
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1, 2)
    limit: float | None = None
    flag: bool = False


def test_round_trip_of_every_model_config() -> None:
    pytest.importorskip("torch")  # the models themselves (their configs are torch-free)
    for name in vc.list_models():
        cfg = vc.create_model(name).cfg
        assert vc.cfg_from_dict(type(cfg), vc.cfg_to_dict(cfg)) == cfg


def test_nested_and_optional_values() -> None:
    cfg = vc.cfg_from_dict(Outer, {"inner": {"rate": 2}, "sizes": [3], "limit": None})
    assert cfg == Outer(Inner(2.0), (3,), None)
    assert isinstance(cfg.inner.rate, float)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"inner": {"rat": 1}}, "unknown key"),
        ({"sizes": [1, "a"]}, "expected an integer"),
        ({"flag": 1}, "true or false"),
        ({"limit": "high"}, "number"),
        ({"inner": {"rate": True}}, "number"),
        ({"sizes": 3}, "expected a list"),
    ],
)
def test_bad_values_are_config_errors(data: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        vc.cfg_from_dict(Outer, data)


def test_validation_errors_in_post_init_become_config_errors() -> None:
    with pytest.raises(ConfigError, match="positive"):
        vc.cfg_from_dict(StageCfg, {"channels": -1})


def test_overrides_and_toml(tmp_path: Path) -> None:
    data = apply_overrides(
        {"inner": {"rate": 1.0}}, ["inner.rate=3e-1", "sizes=[4, 5]", "flag=true"]
    )
    assert data == {"inner": {"rate": 0.3}, "sizes": [4, 5], "flag": True}
    path = tmp_path / "c.toml"
    path.write_text('sizes = [7]\n[inner]\nname = "y"\n')
    assert vc.load_toml(Outer, path, ["limit=2"]) == Outer(Inner(1.0, "y"), (7,), 2.0)
    with pytest.raises(ConfigError, match="key=value"):
        apply_overrides({}, ["novalue"])
    path.write_text("sizes = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        vc.load_toml(Outer, path)
    with pytest.raises(ConfigError, match="file not found"):
        vc.load_toml(Outer, tmp_path / "none.toml")


def test_a_config_lays_its_settings_over_its_base(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('sizes = [7]\nflag = true\n[inner]\nname = "a"\nrate = 2.0\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.toml").write_text(
        'base = "../a.toml"\nflag = false\n[inner]\nrate = 3.0\n'
    )
    (tmp_path / "c.toml").write_text('base = "sub/b.toml"\nlimit = 1.5\n')
    # c over b over a: tables merge key by key, later files win, --set overrides win last
    assert vc.load_toml(Outer, tmp_path / "c.toml", ["inner.name='c'"]) == Outer(
        Inner(3.0, "c"), (7,), 1.5, False
    )
    (tmp_path / "a.toml").write_text('base = "c.toml"\n')
    with pytest.raises(ConfigError, match="leads back to itself"):
        vc.load_toml(Outer, tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text('base = "missing.toml"\n')
    with pytest.raises(ConfigError, match="missing.toml.*file not found"):
        vc.load_toml(Outer, tmp_path / "d.toml")
    (tmp_path / "e.toml").write_text("base = 3\n")
    with pytest.raises(ConfigError, match="base must be the path"):
        vc.load_toml(Outer, tmp_path / "e.toml")


def test_dumps_toml_round_trips_a_run_config(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from voicecnn.train.vad import VadRunCfg as RunCfg

    raw = {
        "arch": "vad_cnn1d_xs",
        "card": {"recipe": 'a "quoted"\nline', "odd key": [1, 2.5]},
        "model": {"dropout": 0.1},
        "data": {"train": ["x.jsonl"], "clip_weights": {"music": 1.5}, "crop_s": 2.0},
        "augment": {"snr_db": [-5.0, 30.0]},
        "train": {"max_minutes": float("inf"), "eval_every_s": 240.0},
    }
    cfg = vc.config.cfg_from_dict(RunCfg, raw)
    text = dumps_toml(cfg_to_dict(cfg))
    assert "max_minutes = inf" in text and "[data.clip_weights]" in text
    (tmp_path / "c.toml").write_text(text)
    assert load_toml(RunCfg, tmp_path / "c.toml") == cfg
    with pytest.raises(TypeError, match="x: cannot write NoneType"):
        dumps_toml({"x": None})


def test_jsonable_is_strict_json() -> None:
    out = jsonable({"a": float("inf"), "b": (1, float("nan")), "c": Path("p"), 3: True})
    assert out == {"a": None, "b": [1, None], "c": "p", "3": True}


def test_dumps_toml_escapes_control_characters() -> None:
    import tomllib

    # U+007F (DEL) and other control characters must be escaped in TOML strings; tomli-w does
    data = {"card": {"note": "a\x7fb\x00c\x1fd\u2028e", "k\x7fey": "v"}, "x": [1.5, float("inf")]}
    assert tomllib.loads(dumps_toml(data)) == data
