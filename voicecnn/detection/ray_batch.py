"""Batch detection on Ray (``pip install 'voicecnn[ray]'``): one machine or a cluster.

:func:`detect_ray` runs the inputs of :func:`voicecnn.detection.batch.detect_batch` through a pool
of Ray actors, each loading the model once (on a CPU, or a GPU per actor): inputs are pulled lazily
and at most two groups per actor are in flight, so the driver's memory stays bounded whatever the
corpus size; results come back as they finish. A file that fails, or whose actor dies, yields its
error and the run goes on (a dead actor is replaced).

:func:`detect_dataset` does the same for a Ray Dataset of paths a user already has.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from voicecnn.detection.batch import (
    BatchInput,
    FileJob,
    HeldGroups,
    Result,
    WorkerCfg,
    group_inputs,
    load_worker_model,
    process_files,
)
from voicecnn.detection.frames import Detection
from voicecnn.errors import VoiceCNNError

__all__ = ["connect", "detect_dataset", "detect_ray"]

T = TypeVar("T", bound=BatchInput)


def require_ray() -> ModuleType:
    """Import Ray or explain how to install it.

    Raises:
        VoiceCNNError: If Ray is not installed.
    """
    try:
        import ray
    except ImportError as e:
        raise VoiceCNNError("Ray is not installed: pip install 'voicecnn[ray]'") from e
    return ray


def connect(address: str | None = None) -> bool:
    """Join the Ray cluster at ``address``, or start a local Ray when there is none.

    ``None`` joins the cluster of ``RAY_ADDRESS`` or one started on this machine by
    ``ray start``, else starts a local Ray in this process; a Ray already initialised here is
    used as it is.

    Returns:
        Whether this call started Ray (and so should shut it down).

    Raises:
        VoiceCNNError: If Ray is missing or the cluster cannot be reached.
    """
    ray = require_ray()
    if ray.is_initialized():
        return False
    if address is not None:
        check_reachable(address)
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at '{address}'" if address else "Ray"
        raise VoiceCNNError(f"cannot start or reach {where}: {str(e).splitlines()[0]}") from e
    return True


def check_reachable(address: str, *, timeout_s: float = 5.0) -> None:
    """Fail fast when a ``host:port`` (or ``ray://host:port``) address does not answer.

    Ray itself retries an unreachable head for ever; ``auto`` and ``local`` are left to Ray.

    Raises:
        VoiceCNNError: If nothing accepts a connection there.
    """
    hostport = address.split("://", 1)[-1]
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        raise VoiceCNNError(f"cannot reach the Ray cluster at '{address}': "
                            f"{e.strerror or e}") from e


class _Detector:
    """A Ray actor: the model, loaded once, and the files sent to it."""

    def __init__(self, settings: WorkerCfg) -> None:
        self.settings = settings
        self.net = load_worker_model(settings)

    def run(self, jobs: list[tuple[Path, Path | None]]) -> list[Result]:
        return process_files(self.net, self.settings, [FileJob(p, q) for p, q in jobs])


def _use_gpus(ray: ModuleType, device: str) -> bool:
    if device == "cuda":
        return True
    return device == "auto" and ray.cluster_resources().get("GPU", 0) >= 1


def _actor_count(ray: ModuleType, actors: int | None, gpus: bool) -> int:
    if actors is not None:
        return actors
    return max(1, int(ray.cluster_resources().get("GPU" if gpus else "CPU", 1)))


def detect_ray(
    inputs: Iterable[T],
    settings: WorkerCfg = WorkerCfg(),
    *,
    address: str | None = None,
    actors: int | None = None,
    device: str = "auto",
    ordered: bool = False,
) -> Iterator[tuple[T, Result]]:
    """Detect speech in many files on Ray; yield each input with its result.

    Args:
        inputs: As for :func:`voicecnn.detection.batch.detect_batch`; pulled lazily.
        settings: Model, detection settings and batching; its device is set per actor.
        address: Ray cluster to join (see :func:`connect`).
        actors: Actors (model copies); ``None``: one per CPU of the cluster, or per GPU.
        device: ``"cpu"``, ``"cuda"`` (one GPU per actor) or ``"auto"`` (GPUs when the cluster
            has them).
        ordered: Yield in input order (else as files finish).

    Yields:
        ``(input, Detection or error message)`` for every input.

    Raises:
        VoiceCNNError: If Ray is missing or unreachable.
    """
    ray = require_ray()
    started = connect(address)
    try:
        gpus = _use_gpus(ray, device)
        settings = replace(settings, device="cuda" if gpus else "cpu")
        remote = ray.remote(num_cpus=1, num_gpus=1 if gpus else 0)(_Detector)
        n_actors = _actor_count(ray, actors, gpus)
        yield from _schedule(ray, remote, settings, group_inputs(inputs, settings.batch_files),
                             n_actors, ordered=ordered)
    finally:
        if started:
            ray.shutdown()


def _schedule(ray: ModuleType, remote: Any, settings: WorkerCfg, groups: Iterator[list[T]],
              n_actors: int, *, ordered: bool) -> Iterator[tuple[T, Result]]:
    """Groups through ``n_actors`` actors, two in flight per actor, a dead actor replaced."""
    actors = [remote.remote(settings) for _ in range(n_actors)]
    load = {id(a): 0 for a in actors}
    running: dict[Any, tuple[int, Any]] = {}  # object ref -> (group index, actor)
    held: HeldGroups[T] = HeldGroups(ordered=ordered)
    try:
        while True:
            while len(held) < 2 * n_actors and (group := next(groups, None)) is not None:
                actor = min(actors, key=lambda a: load[id(a)])
                ref = actor.run.remote([(it.path, it.plot) for it in group])
                running[ref] = (held.add(group), actor)
                load[id(actor)] += 1
            if not held:
                return
            if running:
                (ref,), _ = ray.wait(list(running), num_returns=1)
                n, actor = running.pop(ref)
                load[id(actor)] = max(0, load.get(id(actor), 1) - 1)
                group = held.group(n)
                try:
                    results: list[Result] = ray.get(ref)
                except ray.exceptions.RayActorError as e:
                    results = [f"cannot process '{it.path}': its Ray actor died "
                               f"({str(e).splitlines()[0]})" for it in group]
                    if actor in actors:  # replace it once for all its lost groups
                        actors[actors.index(actor)] = fresh = remote.remote(settings)
                        load[id(fresh)] = 0
                except ray.exceptions.RayError as e:
                    results = [f"cannot process '{it.path}': {str(e).splitlines()[0]}"
                               for it in group]
                held.finish(n, results)
            yield from held.release()
    finally:
        for actor in actors:
            ray.kill(actor)


class _DatasetDetector:
    """The callable class of :func:`detect_dataset` (one model per Ray Data actor)."""

    def __init__(self, settings: WorkerCfg, path_column: str) -> None:
        self.settings, self.column = settings, path_column
        self.net = load_worker_model(settings)

    def __call__(self, batch: dict[str, Any]) -> Any:
        import pyarrow as pa

        paths = [str(p) for p in batch[self.column]]
        results = process_files(self.net, self.settings, [FileJob(Path(p)) for p in paths])
        ok = [r if isinstance(r, Detection) else None for r in results]
        segment = pa.struct([("start", pa.float64()), ("end", pa.float64())])
        return pa.table({
            self.column: pa.array(paths, pa.string()),
            "duration_s": pa.array([d.duration_s if d else None for d in ok], pa.float64()),
            "segments": pa.array([[s.to_dict() for s in d.segments] if d else [] for d in ok],
                                 pa.list_(segment)),
            "error": pa.array([r if isinstance(r, str) else None for r in results], pa.string()),
        })


def detect_dataset(
    ds: Any,
    settings: WorkerCfg = WorkerCfg(frames=False),
    *,
    path_column: str = "path",
    actors: int = 2,
    gpus_per_actor: float = 0.0,
    files_per_batch: int = 8,
) -> Any:
    """Speech segments of every audio file of a Ray Dataset, as a new (lazy) Dataset.

    Args:
        ds: A ``ray.data.Dataset`` with a column of audio file paths.
        settings: Model, detection settings and batching (device: set ``"cuda"`` with GPUs).
        path_column: The column of paths.
        actors: Ray Data actors (each loads the model once).
        gpus_per_actor: GPUs each actor reserves.
        files_per_batch: Files per call of an actor.

    Returns:
        A Dataset of rows ``{path_column, duration_s, segments: [{start, end}], error}``:
        ``error`` is the file's one-line error (then ``segments`` is empty), else ``None``.
    """
    require_ray()
    return ds.map_batches(
        _DatasetDetector, fn_constructor_kwargs={"settings": settings,
                                                 "path_column": path_column},
        batch_size=files_per_batch, concurrency=actors, num_gpus=gpus_per_actor,
        batch_format="numpy",
    )
