"""Batch detection: windows across files equal one file at a time; bounded work in flight;
workers that end with their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import voicecnn as vc
from voicecnn.detection.batch import FileJob, HeldGroups, WorkerCfg, detect_batch, detect_files

from .conftest import speechlike

CFG = vc.DetectCfg(threshold=0.52, neg_threshold=0.518, min_speech_s=0.05, min_silence_s=0.05,
                   chunk_s=0.4)


@pytest.mark.parametrize("block_s", [0.13, 10.0])
def test_streamed_windows_across_files_equal_one_file_at_a_time(
    tmp_path: Path, tiny_weights: Path, block_s: float
) -> None:
    net = vc.load_model(tiny_weights, device="cpu")  # the torch model: it batches windows
    # chunk_s 0.4 s = 40 frames per window: files shorter than a window, a little longer, and
    # several windows long; one shorter than a frame, one missing, one not audio; blocks
    # shorter than a window and longer than a file.
    paths = []
    for i, seconds in enumerate((0.005, 0.3, 0.45, 0.45, 1.0, 1.777, 0.61)):
        paths.append(tmp_path / f"{i}.wav")
        sf.write(paths[-1], speechlike(seconds, seed=i), 16000)
    paths.insert(3, tmp_path / "missing.wav")
    (tmp_path / "junk.wav").write_bytes(b"RIFF....WAVE")
    paths.append(tmp_path / "junk.wav")
    got = detect_files(net, paths, CFG, block_s=block_s)
    assert sum(len(r.segments) for r in got if isinstance(r, vc.Detection)) > 5
    for path, res in zip(paths, got, strict=True):
        if path.name in ("missing.wav", "junk.wav"):
            assert isinstance(res, vc.AudioError) and path.name in str(res)
            continue
        want = vc.detect_file(net, path, CFG)
        assert isinstance(res, vc.Detection)
        np.testing.assert_allclose(res.probs, want.probs, atol=1e-5)
        assert (res.segments, res.duration_s, res.path) == (want.segments, want.duration_s,
                                                            want.path)


def test_inputs_are_pulled_a_group_ahead_in_process(tmp_path: Path, tiny_weights: Path) -> None:
    sf.write(tmp_path / "a.wav", speechlike(0.5), 16000)
    pulled = []

    def inputs() -> Iterator[FileJob]:
        for n in range(100):
            pulled.append(n)
            yield FileJob(tmp_path / "a.wav")

    results = detect_batch(inputs(), WorkerCfg(str(tiny_weights), CFG, batch_files=4,
                                               frames=False))
    first, res = next(results)
    assert len(pulled) == 4 and isinstance(res, vc.Detection) and res.probs.size == 0
    assert sum(1 for _ in results) == 99


@pytest.mark.slow
def test_a_pool_holds_two_groups_per_worker(tmp_path: Path, tiny_weights: Path) -> None:
    sf.write(tmp_path / "a.wav", speechlike(0.5), 16000)
    pulled = []

    def inputs() -> Iterator[FileJob]:
        for n in range(40):
            pulled.append(n)
            yield FileJob(tmp_path / "a.wav")

    results = detect_batch(inputs(), WorkerCfg(str(tiny_weights), CFG, batch_files=3), jobs=2,
                           ordered=False)
    next(results)
    assert len(pulled) == 2 * 2 * 3  # two groups of three files per worker, no more
    assert sum(1 for _ in results) == 39


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table in /proc")
def test_killing_the_main_process_ends_its_workers(tmp_path: Path, tiny_weights: Path) -> None:
    for i in range(60):
        sf.write(tmp_path / f"{i}.wav", speechlike(20.0, seed=i), 16000)
    main = subprocess.Popen(
        [sys.executable, "-m", "voicecnn", "detect", str(tmp_path), "-m", str(tiny_weights),
         "-j", "2", "-f", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while time.monotonic() < deadline and main.poll() is None:
            workers = [p for p in _children(main.pid)
                       if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]
            if len(workers) == 2:
                break
            time.sleep(0.1)
        assert len(workers) == 2, "the workers did not start"
        time.sleep(1.0)  # let them get into their work
        os.kill(main.pid, signal.SIGKILL)
        main.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(map(_alive, workers)):
            time.sleep(0.1)
        assert not any(map(_alive, workers))
    finally:
        main.kill()


@pytest.mark.parametrize("ordered", [True, False])
def test_held_groups_release_finished_groups_in_order_only_when_asked(ordered: bool) -> None:
    held: HeldGroups[FileJob] = HeldGroups(ordered=ordered)
    a, b = [FileJob(Path("a"))], [FileJob(Path("b1")), FileJob(Path("b2"))]
    na, nb = held.add(a), held.add(b)
    held.finish(nb, ["b1 failed", "b2 failed"])
    first = [job.path.name for job, _ in held.release()]
    assert first == ([] if ordered else ["b1", "b2"])
    held.finish(na, ["a failed"])
    rest = [job.path.name for job, _ in held.release()]
    assert first + rest == (["a", "b1", "b2"] if ordered else ["b1", "b2", "a"])
    assert len(held) == 0
