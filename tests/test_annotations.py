"""Annotation readers: every format, label rules, merging, and every bad line reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from voicecnn.data.annotations import (
    Issue,
    Row,
    is_speech_label,
    issues_error,
    merge_rows,
    parse_annotation,
    read_annotation,
    read_audacity,
    read_csv_segments,
    read_lab,
    read_rttm,
    read_textgrid,
)
from voicecnn.errors import DataError
from voicecnn.segments import Segment

DATA = Path(__file__).parent / "data"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def spans(segs: list[Segment]) -> list[tuple[float, float]]:
    return [(round(s.start, 6), round(s.end, 6)) for s in segs]


def error_lines(excinfo: pytest.ExceptionInfo[DataError]) -> list[str]:
    return str(excinfo.value).splitlines()


# --- shared pieces ----------------------------------------------------------------------------


def test_merge_rows_sorts_merges_and_keeps_the_line_of_the_end() -> None:
    rows = [Row(3.0, 4.0, 5), Row(0.0, 1.0, 1), Row(0.5, 2.0, 2), Row(2.0, 2.5, 3)]
    segments, lines = merge_rows(rows)
    assert spans(segments) == [(0.0, 2.5), (3.0, 4.0)]
    assert lines == [3, 5]
    assert merge_rows([]) == ([], [])


def test_issue_and_error_format() -> None:
    issues = [Issue(Path("a.csv"), 3, "bad"), Issue(Path("b.wav"), None, "unreadable")]
    assert str(issues[0]) == "a.csv:3: bad"
    message = str(issues_error(issues))
    assert message.splitlines() == [
        "2 problems in the data (fix them and run again):",
        "a.csv:3: bad",
        "b.wav: unreadable",
    ]
    assert str(issues_error(issues[:1])).startswith("1 problem in")


@pytest.mark.parametrize(
    ("label", "speech"),
    [
        ("speech", True),
        ("SPK_1", True),
        ("hello", True),
        ("", False),
        ("SIL", False),
        ("<sil>", False),
        ("#", False),
        ("noise", False),
        (" music ", False),
    ],
)
def test_speech_labels(label: str, speech: bool) -> None:
    assert is_speech_label(label) is speech


# --- RTTM -------------------------------------------------------------------------------------


def test_rttm_merges_overlapping_speakers_per_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "all.rttm",
        ";; comment line\n"
        "SPEAKER rec1 1 0.50 1.00 <NA> <NA> alice <NA> <NA>\n"
        "SPEAKER rec1 1 1.20 0.80 <NA> <NA> bob <NA> <NA>\n"  # overlaps alice
        "SPKR-INFO rec1 1 <NA> <NA> <NA> adult_female alice <NA>\n"
        "\n"
        "SPEAKER rec2 1 3.0 0.5 <NA> <NA> carol <NA> <NA>\n"
        "SPEAKER rec1 1 2.50 0.25 <NA> <NA> alice <NA> <NA>\n",
    )
    by_id = read_rttm(path)
    assert {k: spans(v) for k, v in by_id.items()} == {
        "rec1": [(0.5, 2.0), (2.5, 2.75)],
        "rec2": [(3.0, 3.5)],
    }
    assert spans(read_annotation(path, file_id="rec2")) == [(3.0, 3.5)]


def test_rttm_bad_lines_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.rttm",
        "SPEAKER rec1 1 0.5 1.0 <NA> <NA> a <NA> <NA>\n"
        "SPEAKER rec1 1 zero 1.0 <NA> <NA> a <NA> <NA>\n"
        "SPEAKER rec1 1\n"
        "SPEAKER rec1 1 2.0 -1.0 <NA> <NA> a <NA> <NA>\n"
        "SPEAKER rec1 1 -2.0 1.0 <NA> <NA> a <NA> <NA>\n"
        "garbage here\n",
    )
    with pytest.raises(DataError) as excinfo:
        read_rttm(path)
    lines = error_lines(excinfo)
    assert lines[0].startswith("5 problems")
    assert [line.split(": ")[0] for line in lines[1:]] == [f"{path}:{n}" for n in (2, 3, 4, 5, 6)]
    assert "onset 'zero' is not a number" in lines[1]
    assert "negative duration" in lines[3]
    assert "negative time" in lines[4]


def test_rttm_without_the_requested_id(tmp_path: Path) -> None:
    path = write(
        tmp_path / "x.rttm",
        "SPEAKER a 1 0 1 <NA> <NA> s <NA> <NA>\nSPEAKER b 1 0 1 <NA> <NA> s <NA> <NA>\n",
    )
    with pytest.raises(DataError, match=r"no SPEAKER lines for 'x'"):
        read_annotation(path)
    # An empty RTTM (or one without SPEAKER lines) is a file without speech.
    assert read_annotation(write(tmp_path / "y.rttm", ";; nothing said\n")) == []


# --- CSV --------------------------------------------------------------------------------------


def test_csv_with_and_without_header(tmp_path: Path) -> None:
    plain = write(tmp_path / "plain.csv", "1.5,2.0\n0.0,0.5\n0.4,1.0\n")
    assert spans(read_csv_segments(plain)) == [(0.0, 1.0), (1.5, 2.0)]
    named = write(tmp_path / "named.csv", "id,End,Start\nx,2.0,1.5\ny,0.5,0.0\n")
    assert spans(read_csv_segments(named)) == [(0.0, 0.5), (1.5, 2.0)]
    tabs = write(tmp_path / "tabs.csv", "start\tend\n0.25\t0.5\n")
    assert spans(read_annotation(tabs)) == [(0.25, 0.5)]


def test_csv_label_column_keeps_speech_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path / "labelled.csv",
        "start,end,label\n0,1,speech\n1,2,music\n2,3,\n3,4,noise\n5,6,Speech\n",
    )
    assert spans(read_csv_segments(path)) == [(0.0, 1.0), (2.0, 3.0), (5.0, 6.0)]


def test_csv_bad_rows_all_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.csv",
        "start,end\n0.0,1.0\n2.0,1.5\n-1.0,0.5\nabc,2\n3.0\n4,4\n5,nan\n",
    )
    with pytest.raises(DataError) as excinfo:
        read_csv_segments(path)
    lines = error_lines(excinfo)
    assert lines[0].startswith("6 problems")
    assert [line.split(": ")[0] for line in lines[1:]] == [
        f"{path}:{n}" for n in (3, 4, 5, 6, 7, 8)
    ]
    assert "reversed segment" in lines[1]
    assert "negative time" in lines[2]
    assert "'abc' is not a number" in lines[3]
    assert "got 1 field(s)" in lines[4]
    assert "empty segment" in lines[5]
    assert "not a finite number" in lines[6]


def test_csv_header_without_start_end(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "from_ms;until_ms\n1;2\n")
    with pytest.raises(DataError, match=r"h\.csv:1: header .* needs 'start' and 'end'"):
        read_csv_segments(path)


# --- Audacity and .lab ------------------------------------------------------------------------


def test_audacity_labels(tmp_path: Path) -> None:
    path = write(
        tmp_path / "rec.txt",
        "0.500000\t1.250000\tspeech\n"
        "\\\t100.0\t3000.0\n"  # spectral selection of the label above
        "2.000000\t2.000000\tclick\n"  # point label
        "3.000000\t4.000000\n"  # no label: speech
        "4.500000\t5.000000\tnoise\n"
        "6\t7\tsomeone talking\twith a tab\n",
    )
    assert spans(read_audacity(path)) == [(0.5, 1.25), (3.0, 4.0), (6.0, 7.0)]
    assert spans(read_annotation(path)) == [(0.5, 1.25), (3.0, 4.0), (6.0, 7.0)]


def test_audacity_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.txt", "1.0\t0.5\tspeech\nhello\n0.1\tx\tspeech\n")
    with pytest.raises(DataError) as excinfo:
        read_audacity(path)
    lines = error_lines(excinfo)
    assert lines[0].startswith("3 problems")
    assert lines[1].startswith(f"{path}:1: reversed segment")
    assert lines[2].startswith(f"{path}:2: expected start<tab>end<tab>label")
    assert lines[3].startswith(f"{path}:3: end 'x' is not a number")


def test_lab_seconds_and_htk_units(tmp_path: Path) -> None:
    seconds = write(tmp_path / "a.lab", "0.0 0.5 sil\n0.5 1.5 hello world\n1.5 2.0 sil\n2 3\n")
    assert spans(read_lab(seconds)) == [(0.5, 1.5), (2.0, 3.0)]
    htk = write(tmp_path / "b.lab", "0 5000000 sil\n5000000 15000000 a\n15000000 20000000 sil\n")
    assert spans(read_annotation(htk)) == [(0.5, 1.5)]
    bad = write(tmp_path / "c.lab", "0.0 0.5 sil\n1.0\n")
    with pytest.raises(DataError, match=r"c\.lab:2: expected start end label"):
        read_lab(bad)


# --- TextGrid ---------------------------------------------------------------------------------


def test_textgrid_long_format() -> None:
    # "" and "sil" are silence; quotes and brackets inside text do not confuse the parser.
    assert spans(read_textgrid(DATA / "long.TextGrid")) == [(0.5, 1.2), (1.5, 2.25)]


def test_textgrid_short_format_and_tiers() -> None:
    path = DATA / "short.TextGrid"
    assert spans(read_textgrid(path)) == [(0.5, 1.2), (2.0, 2.5)]  # union of interval tiers
    assert spans(read_textgrid(path, tier="words")) == [(0.5, 1.2)]
    assert spans(read_textgrid(path, tier="speaker2")) == [(2.0, 2.5)]
    with pytest.raises(DataError, match=r"no interval tier named 'nope' \(interval tiers: "):
        read_textgrid(path, tier="nope")


def test_textgrid_utf16_and_suffix_case(tmp_path: Path) -> None:
    text = (DATA / "long.TextGrid").read_text(encoding="utf-8").replace("hello", "héllo")
    path = write(tmp_path / "u.textgrid", text, encoding="utf-16")
    assert spans(read_annotation(path)) == [(0.5, 1.2), (1.5, 2.25)]


def test_textgrid_problems_have_lines(tmp_path: Path) -> None:
    long_text = (DATA / "long.TextGrid").read_text(encoding="utf-8")
    reversed_text = long_text.replace("xmax = 1.2 ", "xmax = 0.2 ", 1)
    with pytest.raises(DataError, match=r"r\.TextGrid:20: reversed segment"):
        read_textgrid(write(tmp_path / "r.TextGrid", reversed_text))
    truncated = "\n".join(long_text.splitlines()[:25])
    with pytest.raises(DataError, match=r"t\.TextGrid:25: file ends early"):
        read_textgrid(write(tmp_path / "t.TextGrid", truncated))
    garbled = long_text.replace('text = "hello"', "text = hello", 1)
    with pytest.raises(DataError, match=r"g\.TextGrid:\d+: expected interval text"):
        read_textgrid(write(tmp_path / "g.TextGrid", garbled))
    with pytest.raises(DataError, match=r"not a TextGrid"):
        read_textgrid(
            write(tmp_path / "p.TextGrid", 'File type = "ooTextFile"\nObject class = "Pitch 1"\n')
        )


# --- dispatch and unreadable files ------------------------------------------------------------


def test_unknown_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"unknown annotation format '\.json'"):
        read_annotation(tmp_path / "a.json")
    missing = tmp_path / "gone.csv"
    rows, issues = parse_annotation(missing)
    assert rows == []
    assert [str(i) for i in issues] == [f"{missing}: cannot read: file not found"]
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"0,1\n\xff\xfe\x00garbage")
    with pytest.raises(DataError, match=r"bin\.csv:2: not UTF-8 text"):
        read_annotation(binary)


def test_issues_are_capped_per_file(tmp_path: Path) -> None:
    path = write(tmp_path / "many.csv", "1,0\n" * 80)
    _, issues = parse_annotation(path)
    assert len(issues) == 51
    assert str(issues[-1]).endswith("30 more problems in this file not listed")
