"""Multi-worker training: two local worker processes under ``MultiWorkerMirroredStrategy`` (``pytest -k worker``).

Each worker is a fresh interpreter (``cluster_worker.py``) with its own ``TF_CONFIG`` on 127.0.0.1 (free ports picked
at run time), no GPU and its own ``TMPDIR``; every process group is killed when a test ends, passed or not.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import facezoo
from facezoo import training

# The selfie recipe on its one-convolution stand-in (tests/example_stand_ins.py; the strategy is under test, not the
# CNN), which has no batch norm (per-replica statistics), and no augmentation (each worker draws its own random
# transforms): with these, 2 workers x 4 images compute the same update as 1 process x 8 images, the recipe's clipnorm
# included (it clips the summed gradient). 40 selfies: train 28 (3 steps of 8), validation 8, test 4.
KWARGS = {
    "model": "stand_in_selfie",
    "epochs": 2,
    "batch_size": 8,
    "image_size": 32,
    "augmentation": None,
    "verbose": 0,
}
STEPS_PER_EPOCH = 3
TIMEOUT = 240  # seconds for one run of the workers (about 20 s on 2 idle cores)


@pytest.fixture(scope="module")
def selfies(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("facezoo_training_fixtures", Path(__file__).with_name("fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    return fixtures.make_selfie(tmp_path_factory.mktemp("cluster-data"), n=40)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class Cluster:
    """Starts 2 local workers running ``cluster_worker.py``; :meth:`stop` kills whatever still runs."""

    def __init__(self, root: Path) -> None:
        self.root, self.runs, self.procs = root, 0, []

    def start(
        self, data: Path, output: Path, kill: tuple[int, int] | None = None, chief: bool = False, **kwargs
    ) -> list[subprocess.Popen]:
        """Start process 0 (the chief: worker 0, or the ``"chief"`` task with ``chief=True``) and process 1 on
        ``fit_selfie_resnet(data, output, **KWARGS, **kwargs)``; ``kill=(process, steps)`` makes that process SIGKILL
        itself after that many training steps."""
        self.runs += 1
        addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
        cluster = {"chief": addresses[:1], "worker": addresses[1:]} if chief else {"worker": addresses}
        tasks = [("chief", 0), ("worker", 0)] if chief else [("worker", 0), ("worker", 1)]
        src = str(Path(facezoo.__file__).parents[1])
        procs = []
        for index in range(2):
            tmp = self.tmp(index)
            tmp.mkdir(parents=True)
            env = {
                **os.environ,
                "TF_CONFIG": json.dumps({"cluster": cluster, "task": dict(zip(("type", "index"), tasks[index]))}),
                "CUDA_VISIBLE_DEVICES": "",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "TMPDIR": str(tmp),
                "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]),
            }
            args = [
                sys.executable,
                str(Path(__file__).with_name("cluster_worker.py")),
                str(data),
                str(output),
                json.dumps({**KWARGS, **kwargs}),
            ]
            if kill is not None and kill[0] == index:
                args.append(str(kill[1]))
            log = self.root / f"run{self.runs}-worker{index}"
            with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
                procs.append(subprocess.Popen(args, env=env, stdout=out, stderr=err, start_new_session=True))
        self.procs += procs
        return procs

    def tmp(self, index: int) -> Path:
        """The ``TMPDIR`` of worker ``index`` in the latest run."""
        return self.root / f"run{self.runs}-tmp{index}"

    def temporary_folders(self) -> list[Path]:
        """The engine's temporary folders left in the latest run's ``TMPDIR``s."""
        return [path for index in range(2) for path in self.tmp(index).glob("facezoo-worker-*")]

    def wait(self, proc: subprocess.Popen, timeout: float = TIMEOUT) -> int:
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"worker {self.procs.index(proc) % 2} still runs after {timeout} s: {self.stderr(proc)}")

    def result(self, proc: subprocess.Popen) -> dict:
        code = self.wait(proc)
        assert code == 0, self.stderr(proc)
        return json.loads(Path(f"{self._log(proc)}.out").read_text().strip().splitlines()[-1])

    def error(self, proc: subprocess.Popen) -> str:
        """The last line of a worker that must have failed."""
        assert self.wait(proc) == 1, self.stderr(proc)
        return self.stderr(proc).splitlines()[-1]

    def stderr(self, proc: subprocess.Popen) -> str:
        lines = Path(f"{self._log(proc)}.err").read_text().splitlines()
        return "\n".join(line for line in lines if not line.startswith(("I0000", "W0000")))[-3000:]

    def _log(self, proc: subprocess.Popen) -> Path:
        i = self.procs.index(proc)
        return self.root / f"run{i // 2 + 1}-worker{i % 2}"

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def cluster(tmp_path):
    cluster = Cluster(tmp_path)
    try:
        yield cluster
    finally:
        cluster.stop()


def _weights(path: Path) -> dict[str, np.ndarray]:
    import h5py

    out: dict[str, np.ndarray] = {}
    with h5py.File(path) as file:
        file.visititems(lambda name, item: out.__setitem__(name, item[()]) if isinstance(item, h5py.Dataset) else None)
    return out


def _history(output: Path) -> list[dict[str, str]]:
    with open(output / "history.csv") as file:
        return list(csv.DictReader(file))


def test_two_workers_match_one_process(cluster, selfies, tiny_models, tmp_path):
    output = tmp_path / "run"
    chief, other = (cluster.result(p) for p in cluster.start(selfies, output, strategy="auto"))
    assert chief["replicas"] == other["replicas"] == 2
    assert chief["epochs"] == other["epochs"] == [1, 2] and chief["loss"] == other["loss"]
    # Every worker returns the chief's folder; only the chief wrote there, the other its removed temporary folder.
    assert chief["output_dir"] == other["output_dir"] == str(output)
    assert chief["written"] and all(path.startswith(str(output)) for path in chief["written"])
    assert other["written"] and all(path.startswith(str(cluster.tmp(1))) for path in other["written"])
    assert not cluster.temporary_folders()
    assert sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file()) == [
        "best.weights.h5",
        "checkpoints/best.json",
        "checkpoints/train/final.weights.h5",
        "checkpoints/train/state.json",
        "curves.png",
        "history.csv",
        "pretrained/README.md",
        "pretrained/config.json",
        "pretrained/facezoo.json",
        "pretrained/metadata.json",
        "pretrained/model.weights.h5",
        "result.json",
        "run.json",
    ]
    assert [row["epoch"] for row in _history(output)] == ["1", "2"]

    # One process, one device, the same global batch and seed.
    single = training.fit_selfie_resnet(selfies, tmp_path / "single", strategy="one", **KWARGS)
    np.testing.assert_allclose(chief["loss"], single.history["loss"], rtol=1e-5)
    # The all-reduce adds the two workers' gradients in another order than one device adds its batch's: float32
    # rounding, which after 6 Adam steps left weights at most 1.5e-8 apart here (a weight is up to 0.6).
    two, one = (
        _weights(output / "checkpoints/train/final.weights.h5"),
        _weights(single.output_dir / "checkpoints/train/final.weights.h5"),
    )
    assert sorted(two) == sorted(one) and len(one) == 4  # 2 layers x (kernel, bias)
    for name in one:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-4, atol=1e-6, err_msg=name)


@pytest.mark.slow  # two pairs of workers (20 s of CPU); test_two_workers_match_one_process trains 2 by default
def test_a_run_the_chief_refuses_stops_the_other_worker(cluster, selfies, tmp_path):
    output = tmp_path / "run"
    for proc in cluster.start(selfies, output, strategy="auto"):
        cluster.result(proc)
    # A run the chief refuses (other arguments in its folder) stops the other worker too, with a one-line reason.
    chief_error, other_error = (cluster.error(p) for p in cluster.start(selfies, output, batch_size=4))
    assert "holds a run with different arguments (batch_size)" in chief_error
    assert "The chief worker stopped before training" in other_error
    assert not cluster.temporary_folders()


# 2 workers where worker 1 is lost, and a "chief" task and a worker where the chief is lost. Slow: four to six worker
# processes, about 40 s of CPU each case; in the default run test_interrupted_run_resumes covers resuming and
# test_two_workers_match_one_process the 2 workers.
@pytest.mark.slow
@pytest.mark.parametrize("victim", [1, 0], ids=["worker1", "chief"])
def test_worker_killed_mid_epoch_resumes(cluster, selfies, tmp_path, victim):
    output, chief_task = tmp_path / "run", victim == 0
    procs = cluster.start(
        selfies, output, kill=(victim, STEPS_PER_EPOCH + 1), chief=chief_task, strategy="multi-worker"
    )  # the first step of epoch 2
    assert cluster.wait(procs[victim]) == -signal.SIGKILL
    # The survivor's next collective op fails once the lost worker stops sending heartbeats: it exits, not hangs.
    assert cluster.wait(procs[1 - victim], timeout=120) != 0
    state = json.loads((output / "checkpoints/train/state.json").read_text())
    assert state["epoch"] == 1 and not (output / "result.json").exists()
    before = _history(output)

    restart = cluster.start(selfies, output, chief=chief_task, strategy="multi-worker")  # both, as after a failure
    chief, other = (cluster.result(p) for p in restart)
    assert chief["epochs"] == other["epochs"] == [1, 2]
    after = _history(output)
    assert [row["epoch"] for row in after] == ["1", "2"]  # epoch 1 kept, not counted twice; epoch 2 run once
    assert after[0] == before[0] and chief["loss"][0] == pytest.approx(float(before[0]["loss"]))
    assert (output / "result.json").is_file() and (output / "pretrained/model.weights.h5").is_file()
    assert not cluster.temporary_folders()

    if chief_task:  # (slow run only) Started once more, both return the finished run without training or writing.
        again = [cluster.result(p) for p in cluster.start(selfies, output, chief=True, strategy="multi-worker")]
        assert again[0]["loss"] == again[1]["loss"] == chief["loss"] and not any(again[i]["written"] for i in (0, 1))


@pytest.mark.parametrize(
    "tf_config, message",
    [
        ("{'cluster': 1}", "TF_CONFIG is not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', 'TF_CONFIG needs a "cluster" of "host:port" lists'),
        ('{"cluster": {"worker": ["10.0.0.1", "10.0.0.2"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
        ('{"cluster": {"worker": ["a:1", "b:1"], "ps": ["c:1"]}, "task": {"type": "worker", "index": 0}}', "'ps'"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker", "index": 2}}', "is not in its cluster"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "chief", "index": 0}}', "is not in its cluster"),
        ('{"cluster": {"worker": ["a:1", "b:1"]}}', "task None is not in its cluster"),
    ],
)
def test_multi_worker_bad_tf_config_is_one_line(tf_config, message, monkeypatch, synthetic_root, tmp_path):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    for strategy in ("auto", "multi-worker", "mirrored"):
        with pytest.raises(ValueError, match=message) as error:
            training.fit_selfie_resnet(synthetic_root, tmp_path, strategy=strategy, epochs=1)
        assert "\n" not in str(error.value)
    assert not any(tmp_path.iterdir())


def test_strategy_names(monkeypatch, synthetic_root, tmp_path):
    import tensorflow as tf

    monkeypatch.delenv("TF_CONFIG", raising=False)
    assert isinstance(training.make_strategy("one"), tf.distribute.OneDeviceStrategy)
    assert isinstance(training.make_strategy("mirrored"), tf.distribute.MirroredStrategy)
    assert training.make_strategy("one") is training.make_strategy("one")
    assert training.make_strategy("auto") is tf.distribute.get_strategy()  # one CPU, no GPU
    with pytest.raises(ValueError, match='strategy "multi-worker" needs TF_CONFIG'):
        training.fit_selfie_resnet(synthetic_root, tmp_path, strategy="multi-worker", epochs=1)
    with pytest.raises(
        ValueError, match="Unknown strategy 'multiworker'; choose from auto, one, mirrored, multi-worker"
    ):
        training.fit_selfie_resnet(synthetic_root, tmp_path, strategy="multiworker", epochs=1)


def test_output_dir_url_is_refused(synthetic_root):
    with pytest.raises(ValueError, match="is a URL; mount the bucket"):
        training.fit_selfie_resnet(synthetic_root, "gs://bucket/runs/selfie", epochs=1)
    assert not Path("gs:").exists()
