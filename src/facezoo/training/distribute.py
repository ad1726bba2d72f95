"""Distribution: the ``tf.distribute`` strategy of a run, mixed precision, and how the workers of a multi-worker run
follow the chief. TensorFlow is imported only when a strategy is made."""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facezoo.training.run_folder import TrainingResult

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["STRATEGIES", "make_strategy", "use_mixed_precision", "multi_worker", "is_chief", "follow_chief"]

#: The names ``strategy=`` takes: see :func:`make_strategy`.
STRATEGIES = ("auto", "one", "mirrored", "multi-worker")


def make_strategy(name: str = "auto") -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (one instance of each per process).

    - ``"auto"``: ``"multi-worker"`` when ``TF_CONFIG`` names several workers, ``"mirrored"`` when there are several
      GPUs, else the current strategy (TensorFlow's default one, on one device, outside any ``strategy.scope()``).
    - ``"one"``: ``OneDeviceStrategy`` on the first GPU, else the CPU.
    - ``"mirrored"``: ``MirroredStrategy`` over all GPUs of this machine (the CPU when there is none).
    - ``"multi-worker"``: ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG``.

    Raises:
        ValueError: an unknown name, ``TF_CONFIG`` malformed or naming a task outside its cluster (TensorFlow reads
            it for mirrored strategies too), or ``"multi-worker"`` without ``TF_CONFIG``; one line saying what to fix.
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"Unknown strategy {name!r}; choose from {', '.join(STRATEGIES)} or pass a tf.distribute.Strategy."
        )
    config = _tf_config()
    if name == "multi-worker" and config is None:
        raise ValueError('strategy "multi-worker" needs TF_CONFIG: set it on every worker (see docs/training.md).')
    import tensorflow as tf

    workers = sum(len(config["cluster"].get(role, [])) for role in ("chief", "worker")) if config else 0
    if name == "auto":
        if workers < 2 and len(tf.config.list_logical_devices("GPU")) < 2:
            return tf.distribute.get_strategy()
        name = "multi-worker" if workers > 1 else "mirrored"
    return _strategy(name)


@functools.cache
def _strategy(kind: str) -> tf.distribute.Strategy:
    import tensorflow as tf

    if kind == "multi-worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    if kind == "mirrored":
        return tf.distribute.MirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


def _tf_config() -> dict[str, Any] | None:
    """``TF_CONFIG`` parsed and checked for ``MultiWorkerMirroredStrategy`` (``None`` when unset)."""
    text = os.environ.get("TF_CONFIG", "").strip()
    if not text:
        return None
    example = '{"cluster": {"worker": ["host1:port", "host2:port"]}, "task": {"type": "worker", "index": 0}}'
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({error.msg} at character {error.pos}); expected e.g. {example}."
        ) from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if (
        not isinstance(cluster, dict)
        or not cluster
        or not all(
            isinstance(hosts, list) and hosts and all(isinstance(h, str) and ":" in h for h in hosts)
            for hosts in cluster.values()
        )
    ):
        raise ValueError(f'TF_CONFIG needs a "cluster" of "host:port" lists, e.g. {example}; got {text[:200]}.')
    other = sorted(set(cluster) - {"chief", "worker"})
    if other or len(cluster.get("chief", [])) > 1:
        found = f"{other} tasks" if other else f"{len(cluster['chief'])} chiefs"
        raise ValueError(
            f'TF_CONFIG\'s cluster has {found}; MultiWorkerMirroredStrategy takes "worker" tasks and at most one "chief".'
        )
    task = config.get("task")
    kind, index = (task.get("type"), task.get("index")) if isinstance(task, dict) else (None, None)
    if kind not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        sizes = ", ".join(f"{len(hosts)} {role}" for role, hosts in cluster.items())
        raise ValueError(
            f'TF_CONFIG\'s task {task!r} is not in its cluster ({sizes}); set "task": '
            '{"type": "worker", "index": i} with i this worker\'s position in the cluster\'s list.'
        )
    return config


def use_mixed_precision(mixed_precision: bool | str) -> bool:
    if mixed_precision not in ("auto", True, False):
        raise ValueError(f"mixed_precision must be 'auto', True or False, got {mixed_precision!r}.")
    if mixed_precision != "auto":
        return bool(mixed_precision)
    import tensorflow as tf

    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability", (0, 0))
        if capability >= (7, 0):
            return True
    return False


def multi_worker(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return False
    cluster = resolver.cluster_spec().as_dict()
    return len(cluster.get("chief", [])) + len(cluster.get("worker", [])) > 1


_TRAIN, _FINISHED, _FAILED = 1, 2, 3


def follow_chief(
    strategy: tf.distribute.Strategy, shared_dir: Path, work_dir: Path, prepare: Callable[[], TrainingResult | None]
) -> TrainingResult | None:
    """Prepare ``shared_dir`` on the chief (``prepare``); the other workers follow its outcome.

    The chief checks the run folder (or clears it) and tells the others whether to train, return the finished run
    or stop. Each other worker then copies the chief's checkpoints to its own ``work_dir``, so that every worker
    resumes from the same epoch (the chief writes nothing more until all workers have joined the first step).
    """
    if not multi_worker(strategy):
        return prepare()
    if work_dir == shared_dir:
        try:
            finished = prepare()
        except BaseException:
            _chief_says(strategy, _FAILED)
            raise
        _chief_says(strategy, _TRAIN if finished is None else _FINISHED)
        return finished
    try:
        status = _chief_says(strategy, 0)
        if status == _FAILED:
            raise RuntimeError(f"The chief worker stopped before training {shared_dir}; its output says why.")
        if status == _FINISHED:
            finished = TrainingResult.load(shared_dir)
            shutil.rmtree(work_dir, ignore_errors=True)
            return finished
        for name in ("checkpoints", "best.weights.h5"):
            if (shared_dir / name).is_dir():
                shutil.copytree(shared_dir / name, work_dir / name)
            elif (shared_dir / name).is_file():
                shutil.copy2(shared_dir / name, work_dir / name)
    except BaseException:
        shutil.rmtree(work_dir, ignore_errors=True)
        raise
    return None


def _chief_says(strategy: tf.distribute.Strategy, status: int) -> int:
    """The chief's ``status`` (> 0) on every worker; the others pass 0. A collective: every worker must call it."""
    import tensorflow as tf

    share = status / len(strategy.extended.worker_devices) if is_chief(strategy) else 0.0  # per local replica
    return round(float(strategy.reduce("SUM", strategy.run(lambda: tf.constant(share)), axis=None)))


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker" and resolver.task_id == 0)
