"""JSON Lines manifests (NeMo keys, lhotse cuts): entries, relative paths, every bad line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.data_files import jsonl, problems, spans, wav, write
from voicecnn.data.manifest import read_manifest
from voicecnn.data.recordings import load_dataset
from voicecnn.errors import DataError


def test_manifest_keys_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # relative paths must not depend on the working directory
    elsewhere = wav(tmp_path / "other" / "abs.wav", 1.0)
    manifest = jsonl(
        tmp_path / "sets" / "train.jsonl",
        {"audio_filepath": "audio/a.wav", "duration": 2.0, "segments": [[0.5, 1.0]]},
        "",
        {"audio": str(elsewhere), "offset": 0.5, "segments": [{"start": 0, "end": 0.25}]},
        {"path": "b.flac", "segments": [{"start": 1, "duration": 0.5}, [0.1, 0.2]]},
        {"audio_filepath": "c.wav", "duration": 1.5, "label": "speech"},
        {"audio_filepath": "d.wav", "duration": 1.5, "label": "background"},
    )
    entries = read_manifest(manifest)
    assert [e.audio for e in entries] == [
        tmp_path / "sets" / "audio" / "a.wav",
        elsewhere,
        tmp_path / "sets" / "b.flac",
        tmp_path / "sets" / "c.wav",
        tmp_path / "sets" / "d.wav",
    ]
    assert [e.line for e in entries] == [1, 3, 4, 5, 6]
    assert entries[0].duration_s == 2.0 and entries[1].offset_s == 0.5
    assert spans(entries[2].segments) == [(0.1, 0.2), (1.0, 1.5)]
    assert spans(entries[3].segments) == [(0.0, 1.5)]
    assert entries[4].segments == ()


def test_manifest_lhotse_cut(tmp_path: Path) -> None:
    cut = {
        "id": "cut-1",
        "start": 1.0,
        "duration": 2.0,
        "channel": 0,
        "supervisions": [
            {"id": "s1", "recording_id": "r", "start": -0.5, "duration": 1.0},  # sticks out
            {"id": "s2", "recording_id": "r", "start": 1.5, "duration": 1.0},
        ],
        "recording": {
            "id": "r",
            "sources": [{"type": "file", "channels": [0], "source": "r.wav"}],
            "sampling_rate": 16000,
            "num_samples": 64000,
            "duration": 4.0,
        },
    }
    (entry,) = read_manifest(jsonl(tmp_path / "cuts.jsonl", cut))
    assert entry.audio == tmp_path / "r.wav"
    assert (entry.offset_s, entry.duration_s) == (1.0, 2.0)
    assert spans(entry.segments) == [(0.0, 0.5), (1.5, 2.0)]


def test_manifest_bad_lines_all_reported(tmp_path: Path) -> None:
    manifest = jsonl(
        tmp_path / "m.jsonl",
        {"audio": "a.wav", "segments": [[0, 1]]},
        '{"audio": "a.wav", "segments": [[0, 1]]',  # truncated
        "[1, 2]",
        {"segments": []},
        {"audio": "a.wav", "offset": -1, "segments": []},
        {"audio": "a.wav", "segments": [[2, 1]]},
        {"audio": "a.wav", "segments": [[-1, 1], {"begin": 0}]},
        {"audio": "a.wav"},
        {"audio": "a.wav", "label": "speech"},
    )
    with pytest.raises(DataError) as excinfo:
        read_manifest(manifest)
    lines = problems(excinfo)
    assert [line.split(": ")[0] for line in lines] == [
        f"{manifest}:{n}" for n in (2, 3, 4, 5, 6, 7, 7, 8, 9)
    ]
    assert "not valid JSON" in lines[0]
    assert "expected a JSON object, got list" in lines[1]
    assert "no audio path" in lines[2]
    assert "'offset' must be seconds >= 0" in lines[3]
    assert "segment 1: reversed segment" in lines[4]
    assert "segment 1: negative time" in lines[5]
    assert "segment 2: " in lines[6]
    assert "no 'segments'" in lines[7]
    assert "needs a 'duration'" in lines[8]


def test_manifest_file_problems(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"missing\.jsonl: cannot read manifest: file not found"):
        read_manifest(tmp_path / "missing.jsonl")
    array = write(tmp_path / "array.json", '[{"audio": "a.wav"}]')
    with pytest.raises(DataError, match=r"expected JSON Lines"):
        read_manifest(array)
    with pytest.raises(DataError, match=r"empty\.jsonl: manifest is empty"):
        read_manifest(write(tmp_path / "empty.jsonl", "\n"))
    with pytest.raises(DataError, match=r"a\.csv: an annotation file, not a manifest"):
        load_dataset(write(tmp_path / "a.csv", "0,1\n"))
    with pytest.raises(DataError, match=r"no dataset given"):
        load_dataset([])
