"""Inputs of a batch run: files, folders, globs, file lists, manifests; ids and output paths."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from typer.testing import CliRunner

from tests.conftest import speechlike
from voicecnn.cli import app
from voicecnn.detection.corpus import (
    InputKind,
    Recording,
    common_root,
    input_kind,
    iter_recordings,
    output_path,
)

pytestmark = pytest.mark.no_torch  # CI runs it without torch too

runner = CliRunner()


def _touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def _recs(inputs: list[str], root: Path | None = None) -> list[Recording | str]:
    return list(iter_recordings(inputs, root))


def test_folders_mirror_and_ids_keep_a_suffix_only_for_shared_stems(tmp_path: Path) -> None:
    c = tmp_path / "corpus"
    _touch(c / "a" / "x.flac", c / "b" / "x.flac", c / "b" / "x.wav", c / "b" / "notes.txt",
           c / "y.WAV")
    recs = _recs([str(c)])
    assert [(r.id, r.key) for r in recs if isinstance(r, Recording)] == [
        ("y", "y"), ("a/x", "a/x"), ("b/x.flac", "b/x.flac"), ("b/x.wav", "b/x.wav")]
    out = tmp_path / "out"
    assert [output_path(out, r, ".rttm") for r in recs if isinstance(r, Recording)] == [
        out / "y.rttm", out / "a/x.rttm", out / "b/x.flac.rttm", out / "b/x.wav.rttm"]


def test_ids_do_not_depend_on_the_other_inputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    # The case: a/x.flac and b/x.flac done, then a0/x.flac added to the run.
    _touch(tmp_path / "a/x.flac", tmp_path / "b/x.flac", tmp_path / "a0/x.flac")
    monkeypatch.chdir(tmp_path)
    first = {r.path: r.id for r in _recs(["a/x.flac", "b/x.flac"]) if isinstance(r, Recording)}
    both = {r.path: r.id for r in _recs(["a/x.flac", "a0/x.flac", "b/x.flac"])
            if isinstance(r, Recording)}
    assert first == {Path("a/x.flac"): "a/x", Path("b/x.flac"): "b/x"}
    assert both == first | {Path("a0/x.flac"): "a0/x"}


def test_file_lists_and_globs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _touch(tmp_path / "d/one.wav", tmp_path / "d/two.flac", tmp_path / "e/three.wav")
    lst = tmp_path / "d" / "files.txt"
    lst.write_text(f"# a comment\none.wav\n\n{tmp_path / 'e/three.wav'}\nmissing.wav\n")
    assert input_kind(str(lst)) is InputKind.file_list
    got = _recs([str(lst)])
    assert [r.key for r in got if isinstance(r, Recording)] == ["d/one", "e/three", "d/missing"]
    assert [r.path for r in got if isinstance(r, Recording)][0] == tmp_path / "d/one.wav"
    # a missing entry is reported when it is opened, like any missing file
    assert got[2] == Recording("d/missing", tmp_path / "d/missing.wav", "d/missing")
    monkeypatch.chdir(tmp_path)
    assert [r.key for r in _recs(["d/*.wav"]) if isinstance(r, Recording)] == ["one"]
    assert common_root(["d/*.wav", "e/three.wav"]) == tmp_path
    assert _recs(["nothing/*.wav", "gone.wav"]) == [
        "'nothing/*.wav' matches no audio files", "cannot read 'gone.wav': file not found"]


def test_nemo_and_lhotse_manifests(tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    _touch(audio / "s1/u1.wav", audio / "s2/u2.flac")
    nemo = tmp_path / "manifests" / "train_manifest.json"
    nemo.parent.mkdir()
    nemo.write_text(
        json.dumps({"audio_filepath": str(audio / "s1/u1.wav"), "duration": 1.0, "text": "hi"})
        + "\n" + json.dumps({"audio_filepath": "../audio/s2/u2.flac", "duration": 2.0}) + "\n"
        + "not json\n")
    got = _recs([str(nemo)])
    assert [(r.id, r.path) for r in got if isinstance(r, Recording)] == [
        ("s1/u1", audio / "s1/u1.wav"), ("s2/u2", nemo.parent / "../audio/s2/u2.flac")]
    assert isinstance(got[2], str) and got[2].startswith(f"{nemo}:3: not a JSON object")

    lhotse = tmp_path / "recordings.jsonl.gz"
    rows = [
        {"id": "rec-1", "sources": [{"type": "file", "channels": [0],
                                     "source": str(audio / "s1/u1.wav")}],
         "sampling_rate": 16000, "num_samples": 16000, "duration": 1.0},
        {"id": "rec-2", "sources": [{"type": "url", "channels": [0], "source": "s3://b/k"}],
         "sampling_rate": 16000, "num_samples": 1, "duration": 1.0},
        {"speaker": "nobody"},
    ]
    with gzip.open(lhotse, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    assert input_kind(str(lhotse)) is InputKind.manifest
    got = _recs([str(lhotse)])
    assert got[0] == Recording("rec-1", audio / "s1/u1.wav", "u1")  # lhotse's id is kept
    assert "recording 'rec-2' is not one audio file" in str(got[1])
    assert "neither a lhotse recording" in str(got[2])


def test_root_pins_keys_and_rejects_files_outside(tmp_path: Path) -> None:
    _touch(tmp_path / "c/a/x.wav", tmp_path / "other/y.wav")
    (rec,) = _recs([str(tmp_path / "c/a/x.wav")], root=tmp_path / "c")
    assert isinstance(rec, Recording) and rec.key == "a/x"
    (msg,) = _recs([str(tmp_path / "other/y.wav")], root=tmp_path / "c")
    assert msg == f"'{tmp_path / 'other/y.wav'}' is not under the root '{tmp_path / 'c'}'"
    assert common_root([str(tmp_path / "c"), str(tmp_path / "other/y.wav")]) == tmp_path
    assert common_root([]) == Path(os.path.abspath("."))


def test_plan_items_places_outputs_and_pictures_and_knows_what_is_done(tmp_path: Path) -> None:
    from voicecnn.detection.corpus import PlannedItem, plan_items

    _touch(tmp_path / "c/a/x.wav", tmp_path / "c/b/x.wav")
    out, pics = tmp_path / "out", tmp_path / "pics"
    items = list(plan_items([str(tmp_path / "c")], out_dir=out, suffix=".json", plot=pics,
                            manifest_done={"a/x"}))
    assert [(i.output, i.plot, i.done) for i in items if isinstance(i, PlannedItem)] == [
        (out / "a/x.json", pics / "a/x.png", False), (out / "b/x.json", pics / "b/x.png", False)]
    _touch(out / "a/x.json", pics / "a/x.png", out / "b/x.json", pics / "b/x.png")
    items = list(plan_items([str(tmp_path / "c")], out_dir=out, suffix=".json", plot=pics,
                            manifest_done={"a/x"}))
    assert [i.done for i in items if isinstance(i, PlannedItem)] == [True, False]  # b: no entry
    (one,) = plan_items([str(tmp_path / "c/a/x.wav")], plot=tmp_path / "one.png")
    assert isinstance(one, PlannedItem) and (one.output, one.plot) == (None, tmp_path / "one.png")


def test_an_unreadable_subfolder_is_reported(
    tmp_path: Path, tiny_weights: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    (tmp_path / "locked").mkdir()
    sf.write(tmp_path / "good.wav", speechlike(0.5), 16000)
    real = os.scandir

    def scandir(path: Any = ".") -> Any:  # root ignores chmod 000: deny the listing here
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result = runner.invoke(app, ["detect", str(tmp_path), "-m", str(tiny_weights), "-f", "json"])
    assert result.exit_code == 1
    assert "cannot list" in result.stderr and "locked" in result.stderr
    assert len(result.stdout.splitlines()) == 1  # the readable file was still processed
