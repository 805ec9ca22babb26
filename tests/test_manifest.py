"""Manifests, annotated folders, clip folders and validation: every problem reported at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from voicecnn.data.manifest import (
    END_TOLERANCE_S,
    ManifestEntry,
    load_dataset,
    read_clip_list,
    read_manifest,
    scan_annotated_folder,
    scan_clip_folders,
    scan_clip_groups,
    validate,
)
from voicecnn.errors import DataError
from voicecnn.segments import Segment

DATA = Path(__file__).parent / "data"


def wav(path: Path, duration_s: float, sample_rate: int = 16000) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = round(duration_s * sample_rate)
    sf.write(path, 0.1 * np.sin(np.arange(n) * 0.05), sample_rate, subtype="PCM_16")
    return path


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def jsonl(path: Path, *records: object) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
    return write(path, "\n".join(lines) + "\n")


def spans(segs: tuple[Segment, ...] | list[Segment]) -> list[tuple[float, float]]:
    return [(round(s.start, 6), round(s.end, 6)) for s in segs]


def problems(excinfo: pytest.ExceptionInfo[DataError]) -> list[str]:
    """The problem lines of a DataError, after checking that the first line counts them."""
    head, *lines = str(excinfo.value).splitlines()
    count = len(lines)
    assert (
        head == f"{count} problem{'s' if count != 1 else ''} in the data (fix them and run again):"
    )
    return lines


# --- JSON Lines manifests ---------------------------------------------------------------------


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


# --- annotated folders ------------------------------------------------------------------------


def test_scan_pairs_every_format_and_folder_rttm(tmp_path: Path) -> None:
    wav(tmp_path / "a.wav", 2.0)
    write(tmp_path / "a.csv", "start,end\n0.5,1.0\n")
    wav(tmp_path / "b.wav", 2.0)
    write(tmp_path / "b.txt", "0.1\t0.4\tspeech\n")
    wav(tmp_path / "sub" / "c.wav", 2.0)
    write(tmp_path / "sub" / "c.TextGrid", (DATA / "short.TextGrid").read_text(encoding="utf-8"))
    wav(tmp_path / "d.wav", 2.0)
    wav(tmp_path / "e.wav", 2.0)
    write(
        tmp_path / "all.rttm",
        "SPEAKER d 1 0.2 0.3 <NA> <NA> x <NA> <NA>\nSPEAKER e 1 1.0 0.5 <NA> <NA> y <NA> <NA>\n",
    )
    wav(tmp_path / "f.wav", 2.0)
    write(tmp_path / "f.lab", "0 1 sil\n1 1.5 yes\n")
    write(tmp_path / "README.txt", "Recorded in 2024.\n")
    entries = scan_annotated_folder(tmp_path)
    got = {e.audio.relative_to(tmp_path).as_posix(): spans(e.segments) for e in entries}
    assert got == {
        "a.wav": [(0.5, 1.0)],
        "b.wav": [(0.1, 0.4)],
        "d.wav": [(0.2, 0.5)],
        "e.wav": [(1.0, 1.5)],
        "f.wav": [(1.0, 1.5)],
        "sub/c.wav": [(0.5, 1.2), (2.0, 2.5)],
    }
    assert entries[0].source == tmp_path / "a.csv" and entries[0].segment_lines == (2,)


def test_scan_folder_problems(tmp_path: Path) -> None:
    wav(tmp_path / "lonely.wav", 1.0)  # no annotation
    write(tmp_path / "orphan.csv", "0,1\n")  # no audio
    wav(tmp_path / "twice.wav", 1.0)
    write(tmp_path / "twice.csv", "0,1\n")
    write(tmp_path / "twice.lab", "0 1\n")
    wav(tmp_path / "ok.wav", 1.0)
    write(tmp_path / "ok.csv", "0,1\n1,x\n")  # a bad line
    wav(tmp_path / "ok.flac", 1.0)  # two audio files for ok.csv
    wav(tmp_path / "a" / "same.wav", 1.0)
    wav(tmp_path / "b" / "same.wav", 1.0)
    write(
        tmp_path / "all.rttm",
        "SPEAKER ghost 1 0 1 <NA> <NA> x <NA> <NA>\nSPEAKER same 1 0 1 <NA> <NA> x <NA> <NA>\n",
    )
    with pytest.raises(DataError) as excinfo:
        scan_annotated_folder(tmp_path)
    lines = sorted(problems(excinfo))
    assert lines == sorted(
        [
            f"{tmp_path / 'orphan.csv'}: annotation without audio: no orphan.wav, .flac or other "
            "audio file",
            f"{tmp_path / 'all.rttm'}:1: file id 'ghost' has no audio in {tmp_path}",
            f"{tmp_path / 'all.rttm'}:2: file id 'same' matches 2 audio files in {tmp_path}",
            f"{tmp_path / 'lonely.wav'}: no annotation: no lonely.csv, .rttm, .txt, .TextGrid or "
            ".lab, and no SPEAKER lines for 'lonely' in the folder's RTTM files",
            f"{tmp_path / 'twice.wav'}: annotated more than once: twice.csv, twice.lab",
            f"{tmp_path / 'ok.csv'}:2: end 'x' is not a number",
            f"{tmp_path / 'ok.wav'}: two audio files for one annotation: ok.flac, ok.wav",
        ]
    )
    with pytest.raises(DataError, match=r"nowhere: folder not found"):
        scan_annotated_folder(tmp_path / "nowhere")


# --- validation -------------------------------------------------------------------------------


def test_validate_checks_audio_offsets_and_segments(tmp_path: Path) -> None:
    audio = wav(tmp_path / "a.wav", 2.0)
    junk = write(tmp_path / "junk.wav", "not audio at all")
    src = tmp_path / "m.jsonl"
    good = ManifestEntry(audio, (Segment(0.5, 2.0 + END_TOLERANCE_S / 2),), source=src, line=1)
    entries = [
        good,
        ManifestEntry(tmp_path / "gone.wav", (), source=src, line=2),
        ManifestEntry(junk, (), source=src, line=3),
        ManifestEntry(audio, (Segment(1.0, 2.5),), source=src, line=4),
        ManifestEntry(audio, (), offset_s=2.5, source=src, line=5),
        ManifestEntry(audio, (), offset_s=1.0, duration_s=1.5, source=src, line=6),
        ManifestEntry(
            audio, (Segment(0.0, 1.5),), offset_s=1.0, duration_s=1.0, source=src, line=7
        ),
        ManifestEntry(audio, (Segment(0.0, 2.5),), source=tmp_path / "a.csv", segment_lines=(9,)),
    ]
    lines = [str(issue) for issue in validate(entries)]
    assert [line.split(": ")[0] for line in lines] == [
        f"{src}:2",
        f"{src}:3",
        f"{src}:4",
        f"{src}:5",
        f"{src}:6",
        f"{src}:7",
        f"{tmp_path / 'a.csv'}:9",
    ]
    assert "file not found" in lines[0]
    assert "not a readable audio file" in lines[1]
    assert "segment 1.000-2.500 s ends after the audio of" in lines[2]
    assert "offset 2.5 s is past the end of" in lines[3]
    assert "excerpt 1-2.5 s runs past the end" in lines[4]
    assert "segment 0.000-1.500 s ends after the excerpt" in lines[5]
    assert validate([good]) == []


def test_load_dataset_resolves_and_clips(tmp_path: Path) -> None:
    wav(tmp_path / "rec" / "a.wav", 2.0)
    write(tmp_path / "rec" / "a.csv", "0.5,2.03\n")  # within the tolerance: clipped
    wav(tmp_path / "b.wav", 3.0)
    manifest = jsonl(tmp_path / "m.jsonl", {"audio": "b.wav", "offset": 1.0, "segments": []})
    entries = load_dataset([tmp_path / "rec", manifest])
    assert [e.duration_s for e in entries] == [2.0, 2.0]
    assert spans(entries[0].segments) == [(0.5, 2.0)]
    assert load_dataset(str(manifest))[0].offset_s == 1.0


def test_load_dataset_reports_three_problems_in_one_error(tmp_path: Path) -> None:
    wav(tmp_path / "a.wav", 1.0)
    write(tmp_path / "a.csv", "0.2,0.4\n0.9,0.5\n")  # reversed segment, line 2
    wav(tmp_path / "b.wav", 1.0)
    write(tmp_path / "b.csv", "0.5,1.8\n")  # past the end of the audio, line 1
    write(tmp_path / "c.wav", "RIFF but not really")  # unreadable audio
    write(tmp_path / "c.csv", "0,0.5\n")
    with pytest.raises(DataError) as excinfo:
        load_dataset(tmp_path)
    lines = problems(excinfo)
    assert len(lines) == 3
    assert lines[0].startswith(f"{tmp_path / 'a.csv'}:2: reversed segment")
    assert lines[1].startswith(f"{tmp_path / 'b.csv'}:1: segment 0.500-1.800 s ends after")
    assert lines[2].startswith(f"{tmp_path / 'c.csv'}: cannot read ")
    assert "not a readable audio file" in lines[2]


def test_load_dataset_collects_parse_and_audio_problems(tmp_path: Path) -> None:
    manifest = jsonl(
        tmp_path / "m.jsonl",
        {"audio": "missing.wav", "segments": []},
        "{oops",
        {"audio": "missing2.wav", "segments": [[0.5, 0.1]]},
    )
    with pytest.raises(DataError) as excinfo:
        load_dataset([manifest, tmp_path / "nothing.jsonl"])
    lines = problems(excinfo)
    # Sorted by file and line; a line with bad segments still gets its audio checked.
    assert [line.split(": ")[0] for line in lines] == [
        f"{manifest}:1",
        f"{manifest}:2",
        f"{manifest}:3",
        f"{manifest}:3",
        f"{tmp_path / 'nothing.jsonl'}",
    ]
    assert "missing.wav': file not found" in lines[0]
    assert "reversed segment" in lines[2]
    assert "missing2.wav': file not found" in lines[3]


# --- clip folders -----------------------------------------------------------------------------


def test_scan_clip_folders(tmp_path: Path) -> None:
    wav(tmp_path / "speech" / "s1.wav", 0.5)
    wav(tmp_path / "speech" / "more" / "s2.flac", 0.5)
    write(tmp_path / "speech" / "notes.md", "not audio")
    wav(tmp_path / "noise" / "n1.wav", 0.5)
    clips = scan_clip_folders(tmp_path / "speech", tmp_path / "noise")
    assert [p.name for p in clips.speech] == ["s2.flac", "s1.wav"]
    assert [p.name for p in clips.nonspeech] == ["n1.wav"]


def test_scan_clip_folders_problems(tmp_path: Path) -> None:
    wav(tmp_path / "speech" / "s1.wav", 0.5)
    write(tmp_path / "speech" / "broken.wav", "garbage")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError) as excinfo:
        scan_clip_folders(tmp_path / "speech", tmp_path / "empty")
    lines = problems(excinfo)
    assert len(lines) == 2
    assert lines[0].startswith(f"{tmp_path / 'speech' / 'broken.wav'}: cannot read")
    assert lines[1] == f"{tmp_path / 'empty'}: no audio files found"
    with pytest.raises(DataError, match=r"nope: folder not found"):
        scan_clip_folders(tmp_path / "nope", tmp_path / "speech")


def test_clip_groups_from_subfolders_lists_and_loose_files(tmp_path: Path) -> None:
    root = tmp_path / "speech"
    wav(root / "loose.wav", 0.3)
    wav(root / "libri" / "a" / "1.flac", 0.3)
    wav(root / "libri" / "2.wav", 0.3)
    elsewhere = wav(tmp_path / "far" / "x.wav", 0.3)
    write(root / "asterisk.txt", f"# prompts\n\n../far/x.wav\n{elsewhere}\n")
    groups = scan_clip_groups(root)
    assert list(groups) == ["asterisk", "libri", "speech"]
    assert sorted(p.name for p in groups["libri"]) == ["1.flac", "2.wav"]
    assert groups["asterisk"] == (elsewhere, elsewhere)
    assert [p.name for p in groups["speech"]] == ["loose.wav"]
    clips = scan_clip_folders(root, tmp_path / "far")
    assert clips.nonspeech_groups == {"far": (elsewhere,)}
    assert len(clips.speech) == 5 and list(clips.speech) == sorted(clips.speech)
    assert read_clip_list(root / "asterisk.txt") == groups["asterisk"]
    assert len(read_clip_list(root)) == 5


def test_clip_lists_report_missing_files_with_their_line(tmp_path: Path) -> None:
    wav(tmp_path / "ok.wav", 0.3)
    write(tmp_path / "g" / "music.txt", "../ok.wav\n# comment\n../gone.wav\n")
    write(tmp_path / "g" / "empty.txt", "# nothing\n")
    with pytest.raises(DataError) as excinfo:
        scan_clip_groups(tmp_path / "g")
    assert problems(excinfo) == [
        f"{tmp_path / 'g' / 'music.txt'}:3: '{tmp_path / 'gone.wav'}': file not found"
    ]
    with pytest.raises(DataError, match="names no file"):
        read_clip_list(tmp_path / "g" / "empty.txt")
    with pytest.raises(DataError, match="not found"):
        read_clip_list(tmp_path / "nope.txt")
