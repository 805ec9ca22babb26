"""voicecnn.io.escape: any file name stays whole and terminal-safe in every output format (tables,
CSV, RTTM), and recording ids are one to one."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.conftest import speechlike
from voicecnn.cli import app
from voicecnn.io.escape import csv_row, recording_id, rttm_id, rttm_id_text, terminal

pytestmark = pytest.mark.no_torch  # CI runs it without torch too

_FIXTURES = [HealthCheck.function_scoped_fixture]  # fixtures here are read-only or tmp factories

runner = CliRunner()

_NAME_CHARS = st.characters(
    codec="utf-8", exclude_characters="/\x00", categories=["L", "N", "P", "S", "Z", "Cc", "Cf"]
)
hostile_names = st.text(_NAME_CHARS, min_size=1, max_size=12).filter(
    lambda s: s not in (".", "..")
)


def _terminal_safe(text: str) -> bool:
    """No control, format, surrogate or line/paragraph-separator characters."""
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") for c in text)


@given(hostile_names)
@settings(max_examples=300)
def test_escaping_rules_hold_for_any_name(name: str) -> None:
    assert _terminal_safe(terminal(name))
    rid = rttm_id(name)
    assert rid and not any(c.isspace() for c in rid) and rid.isprintable()
    row = csv_row([name, "1.000", "2.000"])
    assert next(csv.reader(io.StringIO(row))) == [name, "1.000", "2.000"]


@given(hostile_names, hostile_names)
@settings(max_examples=300)
def test_recording_ids_are_one_to_one(a: str, b: str) -> None:
    if a != b:
        assert rttm_id(a) != rttm_id(b)
    assert rttm_id_text(rttm_id(a)) == a  # read back by the RTTM reader
    assert recording_id("a b.wav") != recording_id("a_b.wav")


def test_detect_rttm_reads_back_for_names_with_spaces(tmp_path: Path, tiny_weights: Path) -> None:
    from voicecnn.data.annotations.rttm import read_rttm

    path = tmp_path / "a b.wav"
    sf.write(path, speechlike(1.0), 16000)
    result = runner.invoke(app, ["detect", str(path), "-m", str(tiny_weights), "-f", "rttm",
                                 "--threshold", "0", "--neg-threshold", "0"])
    rttm = tmp_path / "out.rttm"
    rttm.write_text(result.stdout)
    assert list(read_rttm(rttm)) == ["a b"]


@given(name=hostile_names)
@settings(max_examples=25, deadline=None, suppress_health_check=_FIXTURES)
@pytest.mark.slow
def test_hostile_file_names_keep_every_format_whole(
    name: str, tiny_weights: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = tmp_path_factory.mktemp("names")
    path = folder / f"{name}.wav"
    wave = speechlike(1.0)
    sf.write(path, wave, 16000)
    args = [str(path), "-m", str(tiny_weights), "--threshold", "0", "--neg-threshold", "0"]
    rttm = runner.invoke(app, ["detect", *args, "-f", "rttm"])
    assert rttm.exit_code == 0, rttm.stderr
    lines = rttm.stdout.splitlines()
    assert lines and all(len(ln.split(" ")) == 10 and "\t" not in ln for ln in lines), lines
    out = runner.invoke(app, ["detect", *args, "-f", "csv"])
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert rows[0] == ["path", "start", "end"] and rows[1][0] == str(path)
    table = runner.invoke(app, ["detect", *args])
    assert _terminal_safe(table.stdout.replace("\n", ""))
    missing = runner.invoke(app, ["detect", str(folder / f"gone{name}.wav")])
    assert missing.exit_code == 1
    assert _terminal_safe(missing.stderr.replace("\n", ""))
    assert "file not found" in missing.stderr or "matches no audio files" in missing.stderr
