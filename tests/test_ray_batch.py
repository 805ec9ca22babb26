"""Batch detection on a local Ray (one Ray for the module: starting one takes seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import soundfile as sf
from typer.testing import CliRunner

import voicecnn as vc
from voicecnn.cli import app
from voicecnn.detection.batch import WorkerCfg

from .conftest import speechlike

ray = pytest.importorskip("ray")  # the ray extra; CI installs it with dev
# Ray Data warns about its own deprecated settings when it copies its context.
pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")]

RULES = ("-t", "0.52", "--neg-threshold", "0.518", "--min-speech", "0.05", "--min-silence", "0.05")
CFG = vc.DetectCfg(threshold=0.52, neg_threshold=0.518, min_speech_s=0.05, min_silence_s=0.05)


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for i, seconds in enumerate((0.6, 1.0, 1.35, 0.8, 2.0)):
        (root / f"s{i % 2}").mkdir(exist_ok=True)
        sf.write(root / f"s{i % 2}" / f"u{i}.wav", speechlike(seconds, seed=i), 16000)
    (root / "s0" / "broken.wav").write_bytes(b"RIFF junk that is no wav")
    return root


def test_cli_on_ray_matches_one_process_records_failures_and_resumes(
    local_ray: None, corpus: Path, tiny_weights: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out, manifest = tmp_path / "rttm", tmp_path / "all.jsonl"
    args = ["detect", str(corpus), "-m", str(tiny_weights), *RULES, "-f", "rttm"]
    ray_args = [*args, "-o", str(out), "--manifest-out", str(manifest), "--ray", "-j", "2"]
    res = runner.invoke(app, ray_args)
    assert res.exit_code == 1 and "broken.wav" in res.stderr
    local = runner.invoke(app, [*args, "-o", str(tmp_path / "local")])
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.rttm"))
    assert files == ["s0/u0.rttm", "s0/u2.rttm", "s0/u4.rttm", "s1/u1.rttm", "s1/u3.rttm"]
    for f in files:
        assert (out / f).read_text() == (tmp_path / "local" / f).read_text(), f
    assert local.exit_code == 1
    rows = {r["id"]: r for r in map(json.loads, manifest.read_text().splitlines())}
    assert sorted(rows) == ["s0/u0", "s0/u2", "s0/u4", "s1/u1", "s1/u3"]
    status = [json.loads(ln) for ln in Path(f"{manifest}.status.jsonl").read_text().splitlines()]
    (failed,) = [s for s in status if s["status"] == "error"]
    assert failed["id"] == "s0/broken" and "not a readable audio file" in failed["error"]

    rerun = runner.invoke(app, [*ray_args, "--skip-existing"])
    rows_err = [ln for ln in rerun.stderr.splitlines() if ln.startswith("│")]
    summary = [c.strip() for c in rows_err[-1].strip("│").split("│")]
    assert rerun.exit_code == 1 and summary[:3] == ["0", "1", "5"]  # ok, failed (retried), skipped
    assert sorted(json.loads(ln)["id"] for ln in manifest.read_text().splitlines()) == sorted(rows)


def test_dataset_of_paths(local_ray: None, corpus: Path, tiny_weights: Path) -> None:
    from voicecnn.detection.ray_batch import detect_dataset

    paths = [*sorted(map(str, corpus.rglob("u*.wav"))), str(corpus / "s0" / "broken.wav")]
    ds = ray.data.from_items([{"path": p} for p in paths])
    rows = {r["path"]: r for r in detect_dataset(ds, WorkerCfg(str(tiny_weights), CFG,
                                                               frames=False)).take_all()}
    assert sorted(rows) == sorted(paths)
    net = vc.load_model(tiny_weights)
    for p in paths[:-1]:
        want = vc.detect_file(net, p, CFG)
        assert rows[p]["error"] is None and rows[p]["duration_s"] == want.duration_s
        assert [dict(s) for s in rows[p]["segments"]] == [s.to_dict() for s in want.segments]
    assert "not a readable audio file" in rows[paths[-1]]["error"]


def test_an_actor_that_cannot_start_fails_its_files_not_the_run(local_ray: None, corpus: Path,
                                                                tmp_path: Path) -> None:
    from voicecnn.detection.batch import FileJob
    from voicecnn.detection.ray_batch import detect_ray

    inputs = [FileJob(p) for p in sorted(corpus.rglob("u*.wav"))[:3]]
    settings = WorkerCfg(str(tmp_path / "no_such_model.safetensors"), CFG)
    got = list(detect_ray(inputs, settings, actors=1, device="cpu", ordered=True))
    assert [it for it, _ in got] == inputs
    assert all(isinstance(r, str) and "Ray actor died" in r for _, r in got)


def test_an_address_where_nothing_listens_fails_fast() -> None:
    import socket

    from voicecnn.detection.ray_batch import check_reachable

    with socket.socket() as s:  # a port that was free a moment ago
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"127.0.0.1:{port}"
    with pytest.raises(vc.VoiceCNNError, match=f"cannot reach the Ray cluster at '{address}'"):
        check_reachable(address)
    check_reachable("auto")  # left to Ray
