"""The inputs of a batch run: which recordings, their ids, and where their outputs go.

An input is an audio file, a directory (searched recursively for audio), a glob pattern, a file
list (``.txt``, ``.lst``, ``.list``: one path per line) or a JSONL manifest (``.jsonl``,
``.json``, optionally ``.gz``: lhotse recordings or NeMo ``audio_filepath`` lines). Inputs are
read lazily, so a manifest of millions of lines is never held in memory.

Every recording gets an id and an output path from its place under one root directory (the
common directory of the inputs, or one given): ``root/a/x.flac`` is recording ``a/x`` and writes
``OUT/a/x.rttm``. Both depend only on the file's path and the root, never on the other inputs of
the run, so a rerun maps each file to the same output (what ``--skip-existing`` relies on). A
file whose folder holds another audio file of the same stem (``x.wav`` beside ``x.flac``) keeps
its suffix: ``a/x.flac``, ``OUT/a/x.flac.rttm``.
"""

from __future__ import annotations

import functools
import glob
import gzip
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import IO

from voicecnn.errors import DataError
from voicecnn.io.audio import AUDIO_SUFFIXES
from voicecnn.io.paths import why_missing

__all__ = [
    "InputKind",
    "PlannedItem",
    "Recording",
    "common_root",
    "input_kind",
    "iter_recordings",
    "output_path",
    "plan_items",
    "recording_key",
]

LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})
"""Suffixes of file lists (one audio path per line)."""

MANIFEST_SUFFIXES = frozenset({".jsonl", ".json"})
"""Suffixes of JSONL manifests (lhotse recordings or NeMo lines), optionally followed by .gz."""


class Skipped(str):
    """A one-line note in place of an input that names no audio: a file that is neither audio
    nor a file list nor a manifest (as a shell glob such as ``samples/*`` matches). Not an
    error: the run goes on and such inputs do not fail it."""


class InputKind(StrEnum):
    """What a command-line input names."""

    audio = "audio"
    directory = "directory"
    glob = "glob"
    file_list = "file_list"
    manifest = "manifest"
    other = "other"
    missing = "missing"


@dataclass(frozen=True)
class Recording:
    """One audio file of a batch run.

    Attributes:
        id: Unique, stable recording id: its ``key``, or the id a lhotse manifest gives it.
        path: The audio file.
        key: POSIX path relative to the run's root, without the suffix unless another audio
            file in its folder has the same stem; output paths are ``OUT/<key><ext>``.
    """

    id: str
    path: Path
    key: str


def _suffix(path: Path) -> str:
    """The suffix that decides the kind of a file (``.jsonl`` for ``x.jsonl.gz``)."""
    suffix = path.suffix.lower()
    return Path(path.stem).suffix.lower() if suffix == ".gz" else suffix


def input_kind(text: str) -> InputKind:
    """Classify a command-line input by what it names on disk and its suffix."""
    path = Path(text)
    if path.is_dir():
        return InputKind.directory
    if path.exists():
        suffix = _suffix(path)
        if suffix in MANIFEST_SUFFIXES:
            return InputKind.manifest
        if suffix in LIST_SUFFIXES:
            return InputKind.file_list
        return InputKind.audio if path.suffix.lower() in AUDIO_SUFFIXES else InputKind.other
    return InputKind.glob if glob.has_magic(text) else InputKind.missing


def _walk_audio(folder: Path) -> Iterator[Path | str]:
    """Audio files under ``folder`` in sorted order, one directory listing in memory at a time,
    and a one-line problem per subfolder that cannot be listed (never skipped silently)."""
    unlisted: list[str] = []

    def onerror(e: OSError) -> None:
        where = e.filename if e.filename is not None else folder
        unlisted.append(f"cannot list '{where}': {e.strerror or 'unreadable'}")

    for top, dirs, names in os.walk(folder, onerror=onerror):
        yield from unlisted
        unlisted.clear()
        dirs.sort()
        for name in sorted(names):
            if Path(name).suffix.lower() in AUDIO_SUFFIXES:
                yield Path(top, name)
    yield from unlisted


def _glob_files(pattern: str) -> list[Path]:
    return sorted(Path(m) for m in glob.glob(pattern, recursive=True) if Path(m).is_file())


def _open_text(path: Path) -> IO[str]:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _entry_path(text: str, base: Path) -> Path:
    """A path from a list or manifest: relative ones are found beside the list, else as given."""
    path = Path(text)
    if path.is_absolute():
        return path
    beside = base / path
    return beside if beside.exists() or not path.exists() else path


@dataclass(frozen=True)
class _Entry:
    """A path read from a list or manifest (with the manifest's id), or the line's problem."""

    path: Path | None
    id: str | None = None
    problem: str | None = None


def _manifest_entry(line: str, where: str, base: Path) -> _Entry:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return _Entry(None, problem=f"{where}: not a JSON object ({e.msg})")
    if not isinstance(obj, dict):
        return _Entry(None, problem=f"{where}: not a JSON object")
    if isinstance(obj.get("audio_filepath"), str):  # NeMo
        rec_id = obj.get("id") if isinstance(obj.get("id"), str) else None
        return _Entry(_entry_path(obj["audio_filepath"], base), rec_id)
    sources = obj.get("sources")
    if isinstance(sources, list) and isinstance(obj.get("id"), str):  # lhotse recording
        files = [s for s in sources if isinstance(s, dict) and s.get("type") == "file"]
        if len(files) != 1 or len(sources) != 1 or not isinstance(files[0].get("source"), str):
            return _Entry(None, problem=f"{where}: recording '{obj['id']}' is not one audio file "
                                        "(only lhotse sources of type 'file' are read)")
        return _Entry(_entry_path(files[0]["source"], base), obj["id"])
    return _Entry(None, problem=f"{where}: neither a lhotse recording ('id', 'sources') nor a "
                                "NeMo line ('audio_filepath')")


def _read_entries(path: Path, kind: InputKind) -> Iterator[_Entry]:
    """The entries of a file list or manifest, line by line."""
    base = path.parent
    try:
        with _open_text(path) as lines:
            for n, raw in enumerate(lines, 1):
                line = raw.strip()
                if not line or (kind is InputKind.file_list and line.startswith("#")):
                    continue
                if kind is InputKind.file_list:
                    yield _Entry(_entry_path(line, base))
                else:
                    yield _manifest_entry(line, f"{path}:{n}", base)
    except (OSError, UnicodeDecodeError, EOFError) as e:
        yield _Entry(None, problem=f"cannot read '{path}': {getattr(e, 'strerror', None) or e}")


def _looks_like_jsonl(path: Path) -> bool:
    """Whether a ``.json`` file holds JSON Lines (its first line one JSON object) rather than
    one pretty-printed document; ``.jsonl`` files always count as JSON Lines."""
    if _suffix(path) == ".jsonl":
        return True
    try:
        with _open_text(path) as lines:
            first = next((line.strip() for line in lines if line.strip()), "")
    except (OSError, UnicodeDecodeError, EOFError):
        return True  # let the manifest reader report it
    try:
        return isinstance(json.loads(first), dict)
    except json.JSONDecodeError:
        return False


def _iter_input(text: str, *, among_others: bool = False) -> Iterator[_Entry]:
    """The audio files one command-line input names, or its problems. A file that is not audio
    by its suffix is tried as audio when named alone, and skipped with a note when it comes
    among other inputs (as the files a shell glob expands to do)."""
    kind = input_kind(text)
    path = Path(text)
    if kind is InputKind.directory:
        empty = True
        for f in _walk_audio(path):
            empty = False
            yield _Entry(None, problem=f) if isinstance(f, str) else _Entry(f)
        if empty:
            yield _Entry(None, problem=f"'{path}' contains no audio files")
    elif kind is InputKind.audio:
        yield _Entry(path)
    elif kind is InputKind.glob:  # like a directory: the audio files it matches
        matches = [m for m in _glob_files(text) if m.suffix.lower() in AUDIO_SUFFIXES]
        if not matches:
            yield _Entry(None, problem=f"'{text}' matches no audio files")
        yield from (_Entry(m) for m in matches)
    elif kind is InputKind.manifest and not _looks_like_jsonl(path):
        yield _Entry(None, problem=Skipped(f"skipped '{path}': a JSON file, not a JSONL manifest"))
    elif kind in (InputKind.file_list, InputKind.manifest):
        yield from _read_entries(path, kind)
    elif kind is InputKind.other and not among_others:
        yield _Entry(path)
    elif kind is InputKind.other:
        yield _Entry(None, problem=Skipped(f"skipped '{path}': not an audio file (by its suffix), "
                                           "a file list or a manifest"))
    else:
        yield _Entry(None, problem=why_missing(path))  # a symlink loop is not "not found"


def _input_root(text: str) -> Path | None:
    """The directory one input contributes to the common root (None: it names no file)."""
    kind = input_kind(text)
    if kind is InputKind.directory:
        return Path(os.path.abspath(text))
    if kind in (InputKind.audio, InputKind.other):
        return Path(os.path.abspath(text)).parent
    if kind is InputKind.glob:  # the folder before the first wildcard
        parts = Path(text).parts
        fixed = list(parts[: next(i for i, p in enumerate(parts) if glob.has_magic(p))])
        return Path(os.path.abspath(Path(*fixed) if fixed else "."))
    if kind in (InputKind.file_list, InputKind.manifest):
        root: str | None = None
        for entry in _read_entries(Path(text), kind):
            if entry.path is not None:
                parent = os.path.dirname(os.path.abspath(entry.path))
                root = parent if root is None else os.path.commonpath([root, parent])
        return None if root is None else Path(root)
    return None


def common_root(inputs: Iterable[str]) -> Path:
    """The deepest directory holding every file the inputs name (lists and manifests are read).

    Directories count as themselves, files as their folder, globs as the folder before their
    first wildcard, lists and manifests as the common folder of their entries.
    """
    roots = [str(r) for r in map(_input_root, inputs) if r is not None]
    return Path(os.path.commonpath(roots)) if roots else Path(os.path.abspath("."))


def _shared_stems(folder: str) -> frozenset[str]:
    """Stems that more than one audio file in ``folder`` has (x.wav and x.flac)."""
    seen: set[str] = set()
    shared: set[str] = set()
    try:
        names = os.listdir(folder)
    except OSError:
        return frozenset()
    for name in names:
        stem, suffix = os.path.splitext(name)
        if suffix.lower() in AUDIO_SUFFIXES:
            (shared if stem in seen else seen).add(stem)
    return frozenset(shared)


def recording_key(
    path: Path, root: Path, *, shared_stems: Callable[[str], frozenset[str]] = _shared_stems
) -> str:
    """The key (and default id) of an audio file under ``root``.

    The key is the POSIX path relative to ``root`` without its suffix, or with it when another
    audio file in the same folder has the same stem.

    Raises:
        DataError: If the file is not under ``root``.
    """
    absolute = os.path.abspath(path)
    rel = os.path.relpath(absolute, root)
    if rel == os.curdir or rel.startswith(os.pardir + os.sep) or rel == os.pardir:
        raise DataError(f"'{path}' is not under the root '{root}'")
    rel = Path(rel).as_posix()
    stem, _ = os.path.splitext(rel)
    shared = os.path.basename(stem) in shared_stems(os.path.dirname(absolute))
    return rel if shared else stem


def output_path(out_dir: Path, rec: Recording, suffix: str) -> Path:
    """Where ``rec``'s output with ``suffix`` goes: its place under the root, mirrored."""
    return out_dir / (rec.key + suffix)


def iter_recordings(
    inputs: Iterable[str], root: Path | None = None
) -> Iterator[Recording | str]:
    """The recordings the inputs name, in input order, or a one-line problem in their place.

    Args:
        inputs: Files, directories, globs, file lists and manifests.
        root: The directory the ids and output paths are relative to; ``None``: the common root
            of the inputs (:func:`common_root`).
    """
    inputs = list(inputs)
    base = common_root(inputs) if root is None else Path(os.path.abspath(root))
    # Listings of the last folders, for this run only (files come folder by folder).
    shared_stems = functools.lru_cache(maxsize=64)(_shared_stems)
    for text in inputs:
        for entry in _iter_input(text, among_others=len(inputs) > 1):
            if entry.path is None:
                yield entry.problem or f"cannot read '{text}'"
                continue
            try:
                key = recording_key(entry.path, base, shared_stems=shared_stems)
            except DataError as e:
                yield str(e)
                continue
            yield Recording(entry.id or key, entry.path, key)


@dataclass(frozen=True)
class PlannedItem:
    """A recording and the files a run writes for it.

    Attributes:
        rec: The recording.
        output: Its per-file output (``None``: not written).
        plot: Its picture (``None``: not drawn).
        done: Whether an earlier run wrote all of it (the output, the picture, and its entry of
            the combined manifest when one is kept): what ``--skip-existing`` skips.
    """

    rec: Recording
    output: Path | None
    plot: Path | None
    done: bool = False

    @property
    def path(self) -> Path:
        """The audio file."""
        return self.rec.path


def plan_items(
    inputs: list[str],
    *,
    root: Path | None = None,
    out_dir: Path | None = None,
    suffix: str = "",
    plot: Path | None = None,
    manifest_done: set[str] | None = None,
) -> Iterator[PlannedItem | str]:
    """The inputs' recordings with their output files, or a one-line problem in their place.

    Args:
        inputs: As for :func:`iter_recordings`.
        root: As for :func:`iter_recordings`.
        out_dir: Folder of per-file outputs (the input tree mirrored), or ``None``.
        suffix: Suffix of a per-file output (``.rttm``).
        plot: A picture's file when ``inputs`` is one audio file (and ``plot`` is no folder),
            else a folder of pictures mirroring the input tree; ``None``: no pictures.
        manifest_done: Ids an earlier run put in the combined manifest (``None``: no manifest).
    """
    single = len(inputs) == 1 and input_kind(inputs[0]) in (InputKind.audio, InputKind.other)
    plot_file = plot if plot is not None and single and not plot.is_dir() else None
    for rec in iter_recordings(inputs, root):
        if isinstance(rec, str):
            yield rec
            continue
        out = None if out_dir is None else output_path(out_dir, rec, suffix)
        image = plot_file or (None if plot is None else output_path(plot, rec, ".png"))
        done = ((out is None or out.exists()) and (image is None or image.exists())
                and (manifest_done is None or rec.id in manifest_done))
        yield PlannedItem(rec, out, image, done)
