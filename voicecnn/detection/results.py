"""One combined manifest of a batch run's results: lhotse supervisions, NeMo-style JSONL, RTTM.

:class:`ResultManifest` appends each finished recording to the manifest as it comes (nothing is
held), and keeps a status journal beside it (``<manifest>.status.jsonl``: one line per
recording, ``ok`` or its error). Resuming reads the journal, keeps the manifest lines of the
recordings that finished, drops the rest (an interrupted last write included) and returns the
ids to skip, so a rerun neither repeats nor loses a recording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from voicecnn.detection.corpus import Recording
from voicecnn.detection.frames import Detection
from voicecnn.detection.segments import Segment
from voicecnn.errors import DataError
from voicecnn.io.escape import rttm_id
from voicecnn.io.files import atomic_path

__all__ = [
    "ManifestFormat",
    "ResultManifest",
    "lhotse_lines",
    "manifest_format_for",
    "nemo_line",
    "rttm_lines",
    "rttm_uri",
]


class ManifestFormat(StrEnum):
    """Formats of the combined manifest."""

    nemo = "nemo"  # one JSON line per recording: audio_filepath, id, duration, segments
    lhotse = "lhotse"  # lhotse supervisions: one JSON line per speech segment
    rttm = "rttm"  # one RTTM SPEAKER record per speech segment


def manifest_format_for(path: Path) -> ManifestFormat:
    """The format a manifest's name suggests: ``.rttm``, ``*supervisions*.jsonl``, else NeMo."""
    name = path.name.lower()
    if name.endswith(".rttm"):
        return ManifestFormat.rttm
    return ManifestFormat.lhotse if "supervision" in name else ManifestFormat.nemo


def rttm_uri(rec_id: str) -> str:
    """A recording id as an RTTM file id: whitespace, control characters and ``%``
    percent-encoded (one-to-one, see :func:`voicecnn.io.escape.rttm_id`)."""
    return rttm_id(rec_id)


def rttm_lines(uri: str, segments: list[Segment]) -> str:
    """RTTM SPEAKER records (label ``speech``) of one recording."""
    return "".join(f"SPEAKER {uri} 1 {s.start:.3f} {s.duration:.3f} <NA> <NA> speech <NA> <NA>\n"
                   for s in segments)


def lhotse_lines(rec_id: str, det: Detection) -> str:
    """lhotse supervision segments (JSON lines) of one recording's speech."""
    return "".join(
        json.dumps({"id": f"{rec_id}-{n:05d}", "recording_id": rec_id, "start": round(s.start, 3),
                    "duration": round(s.duration, 3), "channel": 0}) + "\n"
        for n, s in enumerate(det.segments)
    )


def nemo_line(rec: Recording, det: Detection) -> str:
    """One NeMo-style JSON line: the recording and its speech segments."""
    return json.dumps({
        "audio_filepath": str(rec.path), "id": rec.id, "duration": round(det.duration_s, 3),
        "segments": [s.to_dict() for s in det.segments],
    }) + "\n"


def _line_id(fmt: ManifestFormat, line: str) -> str | None:
    """The recording id a manifest line belongs to (None: not a complete line)."""
    if not line.endswith("\n"):
        return None
    if fmt is ManifestFormat.rttm:
        parts = line.split()
        return parts[1] if len(parts) >= 2 else None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    key = "recording_id" if fmt is ManifestFormat.lhotse else "id"
    return obj.get(key) if isinstance(obj, dict) and isinstance(obj.get(key), str) else None


def _status_lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.endswith("\n"):
                continue  # cut short by an interruption
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict):
                yield obj


class ResultManifest:
    """The combined manifest of a run and its status journal, appended as results come.

    Args:
        path: The manifest file.
        fmt: Its format.
        resume: Keep what an earlier run finished (see :attr:`done`); else start afresh.

    Raises:
        DataError: If the files cannot be written.
    """

    def __init__(self, path: Path, fmt: ManifestFormat, *, resume: bool = False) -> None:
        self.path, self.fmt = path, fmt
        self.status_path = path.with_name(path.name + ".status.jsonl")
        self.done: set[str] = set()
        """Ids finished by an earlier run (resume only)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if resume:
                self._resume()
            self._out: IO[str] = path.open("a" if resume else "w", encoding="utf-8")
            self._status: IO[str] = self.status_path.open("a" if resume else "w",
                                                          encoding="utf-8")
        except OSError as e:
            raise DataError(f"cannot write '{path}': {e.strerror or e}") from e

    def _resume(self) -> None:
        for obj in _status_lines(self.status_path):
            rec_id = obj.get("id")
            if isinstance(rec_id, str):
                if obj.get("status") == "ok":
                    self.done.add(rec_id)
                else:
                    self.done.discard(rec_id)
        ok_lines = [json.dumps({"id": i, "status": "ok"}) + "\n" for i in sorted(self.done)]
        _rewrite(self.status_path, iter(ok_lines))
        keep = {rttm_uri(i) for i in self.done} if self.fmt is ManifestFormat.rttm else self.done
        if self.path.exists():
            with self.path.open(encoding="utf-8") as old:
                _rewrite(self.path, (ln for ln in old if _line_id(self.fmt, ln) in keep))

    def add(self, rec: Recording, result: Detection | str) -> None:
        """Append one recording's result (a detection, or its error: journal only)."""
        status: dict[str, Any] = {"id": rec.id, "path": str(rec.path)}
        if isinstance(result, str):
            status |= {"status": "error", "error": result}
        else:
            self._out.write(self.lines(rec, result))
            self._out.flush()
            status["status"] = "ok"
        self._status.write(json.dumps(status) + "\n")
        self._status.flush()

    def add_problem(self, message: str) -> None:
        """Record an input that named no readable recording."""
        self._status.write(json.dumps({"status": "error", "error": message}) + "\n")
        self._status.flush()

    def lines(self, rec: Recording, det: Detection) -> str:
        """The manifest text of one recording."""
        if self.fmt is ManifestFormat.rttm:
            return rttm_lines(rttm_uri(rec.id), det.segments)
        if self.fmt is ManifestFormat.lhotse:
            return lhotse_lines(rec.id, det)
        return nemo_line(rec, det)

    def close(self) -> None:
        """Close the files."""
        self._out.close()
        self._status.close()

    def __enter__(self) -> ResultManifest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _rewrite(path: Path, lines: Iterator[str]) -> None:
    """Replace ``path`` by ``lines``, streamed through a temporary file (:func:`atomic_path`)."""
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as f:
        f.writelines(lines)
