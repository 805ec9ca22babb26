"""Licences: the default recipe's permissive-only variant and the model card of the bundled
weights. Project-wide: recipes' data and bundled files, not one module."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from typing import Any

from voicecnn.train.run import load_run_cfg

REPO = Path(__file__).parents[1]
RECIPE = REPO / "recipes" / "default_vad"


def _prepare() -> Any:
    spec = importlib.util.spec_from_file_location("prepare_default_vad_lic", RECIPE / "prepare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_permissive_split_keeps_only_permissive_files() -> None:
    prepare = _prepare()
    wesnoth = f"{prepare.WESNOTH}/battle.ogg"
    fof = "/usr/share/games/fretsonfire/data/songs"
    train = {
        "speech": {
            "librispeech": ["/d/libri/1.flac"],
            "fsdd": ["/d/fsdd/1.wav"],  # CC BY-SA
            "ljspeech": ["/d/lj/1.wav"],
            "misc": ["/d/misc/1.wav"],
            "asterisk": ["/usr/share/asterisk/sounds/en/hello.wav"],  # CC BY-SA
            "fillets_cs": ["/usr/share/games/fillets-ng/sound/a/cs/1.ogg"],  # GPL-2
            "voices_more": ["/usr/share/klettres/en/alpha/a.ogg"],  # GPL-2+, CC BY-SA
        },
        "negatives": {
            "esc10": ["/d/esc/1.wav"],
            "music": ["/d/music_nature/1.wav", wesnoth],  # GPL-2+ Wesnoth inside
            "noise": ["/d/noise/1.wav"],
            "music_more": ["/usr/share/asterisk/moh/1.wav"],
            "music_games": ["/g/1.ogg"],
            "music_rock": [f"{fof}/muldjord/a/guitar.ogg", f"{fof}/sectoid/b/guitar.ogg"],
            "vocalisations": ["/c/pain.wav"],
            "cries_nexuiz": ["/c/gasp.ogg"],
            "effects": ["/e/1.ogg"],
        },
        "rirs": ["/d/rir.wav"],
    }
    free = prepare.permissive(train)
    assert free["speech"] == {
        "librispeech": ["/d/libri/1.flac"], "ljspeech": ["/d/lj/1.wav"], "misc": ["/d/misc/1.wav"]
    }
    assert free["negatives"] == {
        "esc10": ["/d/esc/1.wav"],
        "music": ["/d/music_nature/1.wav"],
        "noise": ["/d/noise/1.wav"],
        "music_rock": [f"{fof}/sectoid/b/guitar.ogg"],
    }
    assert free["rirs"] == ["/d/rir.wav"]
    # every group kept is one whose sources.json licences are permissive (no GPL, no BY-SA)
    for name in prepare.PERMISSIVE_TRAIN:
        licence = prepare.SOURCES.get(name, prepare.SOURCES["music_nature"])["licence"]
        if name not in ("music", "music_rock"):  # mixed groups: filtered file by file above
            assert "GPL" not in licence and "SA" not in licence, name


def test_permissive_lists_written_beside_the_full_ones(tmp_path: Path, monkeypatch: Any) -> None:
    prepare = _prepare()
    audio = tmp_path / "a.wav"
    audio.write_bytes(b"")
    monkeypatch.setattr(prepare, "_has_audio", lambda path: True)
    split = {
        "train": {
            "speech": {"librispeech": [str(audio)], "fillets_cs": [str(audio)]},
            "negatives": {"esc10": [str(audio)], "effects": [str(audio)]},
            "rirs": [str(audio)],
        },
        "val": {"speech": {"v": [str(audio)]}, "backgrounds": {}, "music": [], "real": []},
    }
    prepare.write_lists(split, tmp_path / "out")
    clips = tmp_path / "out" / "clips"
    names = {p.relative_to(clips).as_posix() for p in clips.rglob("*.txt")}
    assert {n for n in names if n.startswith("train_permissive/")} == {
        "train_permissive/speech/librispeech.txt", "train_permissive/nonspeech/esc10.txt"
    }
    assert "train/speech/fillets_cs.txt" in names and "train/nonspeech/effects.txt" in names


def test_permissive_config_is_the_default_recipe_on_permissive_clips() -> None:
    prepare = _prepare()
    full = load_run_cfg(RECIPE / "config.toml")
    free = load_run_cfg(RECIPE / "permissive.toml")
    assert free.data.clips.endswith("/clips/train_permissive")
    assert set(free.data.clip_weights) <= set(prepare.PERMISSIVE_TRAIN)
    assert free.data.clip_weights == {
        k: v for k, v in full.data.clip_weights.items() if k in free.data.clip_weights
    }
    assert free.out_dir != full.out_dir
    # nothing else differs: the same model, mixing, schedule and selection
    same = replace(
        free,
        out_dir=full.out_dir,
        card={**free.card, "sources": full.card["sources"]},
        data=replace(free.data, clips=full.data.clips, clip_weights=full.data.clip_weights),
    )
    assert same == full
