"""Labelled clips of the clip classifiers: class folders, clip lists, folds, problems at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.train_data import CLASSES
from voicecnn.data.labelled_clips import (
    LabelledClip,
    clip_fold,
    load_clip_sources,
    read_clip_list,
    scan_clip_classes,
    split_fold,
)
from voicecnn.errors import ConfigError, DataError


def test_class_folders_lists_and_folds(clips: Path, tmp_path: Path) -> None:
    found = scan_clip_classes(clips)
    assert [c.label for c in found] == [k for k in CLASSES for _ in range(4)]
    assert [clip_fold(c) for c in found[:4]] == [1, 1, 2, 2]
    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text(
        json.dumps({"audio": str(clips / "buzz" / "1-100-A.wav"), "label": "buzz", "fold": 4})
        + "\n\n"
        + json.dumps({"audio_filepath": str(clips / "hiss" / "2-101-A.wav"), "class": "hiss"})
        + "\n"
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.wav").write_bytes((clips / "whistle" / "1-100-A.wav").read_bytes())
    csv = tmp_path / "list.csv"
    csv.write_text("filename,fold,category\nsub/a.wav,3,whistle\n")
    listed = load_clip_sources([jsonl, csv])
    assert [(c.label, clip_fold(c)) for c in listed] == [("buzz", 4), ("hiss", 2), ("whistle", 3)]
    assert listed[2].path == tmp_path / "sub" / "a.wav"  # relative to the list's folder
    rest, held = split_fold([*found, *listed], 2)
    assert len(held) == 3 * 2 + 1 and all(clip_fold(c) == 2 for c in held)
    assert len(rest) == 3 * 2 + 2


def test_bad_sources_are_listed_at_once(clips: Path, tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "dog").mkdir(parents=True)
    (root / "dog" / "1-1-A.wav").write_bytes((clips / "buzz" / "1-100-A.wav").read_bytes())
    (root / "dog" / "1-2-A.wav").write_bytes(b"RIFF not really a wav file")
    (root / "cat").mkdir()
    (root / "cat" / "notes.txt").write_text("no audio here")
    (root / "rain").mkdir()
    (root / "rain" / "1-3-A.ogg").write_bytes(b"")
    with pytest.raises(DataError) as err:
        load_clip_sources([root, tmp_path / "missing"])
    msg = str(err.value)
    assert msg.startswith("4 problems in the data")
    assert "class 'cat' has no clips" in msg and "missing: folder not found" in msg
    assert "1-2-A.wav" in msg and "1-3-A.ogg" in msg and "1-1-A.wav" not in msg
    with pytest.raises(DataError, match="no class folders"):
        scan_clip_classes(root / "cat")


def test_bad_list_lines_name_their_lines(tmp_path: Path) -> None:
    jsonl = tmp_path / "bad.jsonl"
    jsonl.write_text('{"audio": "a.wav"}\n{"label": "x", "audio": "b.wav", "fold": 0}\n{oops\n')
    with pytest.raises(DataError) as err:
        read_clip_list(jsonl)
    lines = str(err.value).splitlines()
    assert lines[0].startswith("3 problems")
    assert lines[1] == f"{jsonl}:1: no label (label, class, category)"
    assert lines[2].startswith(f"{jsonl}:2: fold must be a positive integer")
    assert lines[3].startswith(f"{jsonl}:3: not valid JSON")
    csv = tmp_path / "bad.csv"
    csv.write_text("file,what\na.wav,b\n")
    with pytest.raises(DataError, match="must name a path column"):
        read_clip_list(csv)
    with pytest.raises(DataError, match="file not found"):
        read_clip_list(tmp_path / "none.csv")


def test_fold_errors(clips: Path) -> None:
    found = scan_clip_classes(clips)
    nameless = [
        *found,
        LabelledClip(Path("/x/dog.wav"), "buzz"),
        LabelledClip(Path("/x/a-1.wav"), "buzz"),
    ]
    with pytest.raises(DataError) as err:
        split_fold(nameless, 1)
    msg = str(err.value)
    assert msg.startswith("2 problems") and "'dog.wav'" in msg and "'a-1.wav'" in msg
    with pytest.raises(DataError, match=r"no clip is in fold 7 \(folds found: 1, 2\)"):
        split_fold(found, 7)
    with pytest.raises(ConfigError, match="positive fold"):
        split_fold(found, 0)
    assert clip_fold(LabelledClip(Path("0-1-A.wav"), "x")) is None
