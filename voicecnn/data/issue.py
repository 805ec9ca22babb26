"""Problems found in data files, collected and reported all at once.

Readers never stop at the first bad line: each problem becomes an :class:`Issue` (file, line,
message), and :func:`issues_error` turns them into one :class:`~voicecnn.errors.DataError` that
lists them all, before any training starts. :class:`FileIssues` caps the problems of one file;
:func:`read_list_text` and :func:`json_lines` read list files (manifests, clip lists) recording
what is wrong with them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voicecnn.errors import DataError

__all__ = [
    "MAX_ISSUES_PER_FILE",
    "FileIssues",
    "Issue",
    "issues_error",
    "json_lines",
    "read_list_text",
]

MAX_ISSUES_PER_FILE = 50
"""After this many problems in one file the rest of it is summarised in one issue."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in a dataset, shown as ``path:line: message``.

    Attributes:
        path: The file the problem is in (an annotation, manifest or audio file).
        line: 1-based line number in ``path``, or None when the problem is with the whole file.
        message: What is wrong, one line.
    """

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        """``path:line: message`` (or ``path: message`` without a line)."""
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


def issues_error(issues: Sequence[Issue]) -> DataError:
    """The one :class:`~voicecnn.errors.DataError` that reports a list of problems.

    This is the only multi-line error message in voicecnn: the first line says how many
    problems there are, then each follows on its own line as ``path:line: message`` (the form
    editors and terminals turn into links).

    Args:
        issues: The problems, at least one, in the order they should be listed.

    Returns:
        The error, to be raised by the caller.
    """
    count = len(issues)
    head = f"{count} problem{'s' if count != 1 else ''} in the data (fix them and run again):"
    return DataError("\n".join([head, *(str(issue) for issue in issues)]))


class FileIssues:
    """Issues of one file, capped so a file of garbage does not flood the report."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.issues: list[Issue] = []
        self._dropped = 0

    def add(self, line: int | None, message: str) -> None:
        """Record a problem at ``line`` (None: the whole file)."""
        if len(self.issues) < MAX_ISSUES_PER_FILE:
            self.issues.append(Issue(self.path, line, message))
        else:
            self._dropped += 1

    def finish(self) -> list[Issue]:
        """The issues in line order (whole-file ones first), and a count of those left out."""
        self.issues.sort(key=lambda issue: issue.line or 0)
        if self._dropped:
            self.issues.append(
                Issue(self.path, None, f"{self._dropped} more problems in this file not listed")
            )
            self._dropped = 0
        return self.issues


def read_list_text(path: Path, what: str, issues: list[Issue]) -> str | None:
    """The UTF-8 text of a list file (``what``: its kind, for the messages), or None after
    recording why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        issues.append(Issue(path, None, f"cannot read {what}: file not found"))
    except UnicodeDecodeError as e:
        issues.append(Issue(path, None, f"{what} is not UTF-8 text (byte {e.start})"))
    except OSError as e:
        issues.append(Issue(path, None, f"cannot read {what}: {e.strerror or 'cannot open'}"))
    return None


def json_lines(text: str, path: Path, issues: list[Issue]) -> Iterator[tuple[int, Any]]:
    """(line number, parsed value) of each non-blank JSON Lines line; invalid lines recorded."""
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as e:
            issues.append(Issue(path, number, f"not valid JSON: {e.msg} (column {e.colno})"))
            continue
        yield number, record
