"""Problems in data files: the ``path:line: message`` format, one error for all, a cap per file."""

from __future__ import annotations

from pathlib import Path

from tests.data_files import write
from voicecnn.data.annotations import parse_annotation
from voicecnn.data.issue import Issue, issues_error


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


def test_issues_are_capped_per_file(tmp_path: Path) -> None:
    path = write(tmp_path / "many.csv", "1,0\n" * 80)
    _, issues = parse_annotation(path)
    assert len(issues) == 51
    assert str(issues[-1]).endswith("30 more problems in this file not listed")
