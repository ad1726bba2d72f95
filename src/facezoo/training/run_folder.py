"""The run folder: ``run.json``, per-epoch checkpoints, the best weights, logs and the finished run's result, every
file replaced atomically; a previous run set aside until a new one finishes. No Keras import: models are only asked
to save or load their weights.

Layout (``output_dir``)::

    run.json                    the exact training arguments (a resumed run must match them)
    checkpoints/<stage>/        state.json + epoch-N.weights.h5 (model and optimizer), replaced atomically each epoch
    best.weights.h5             best weights so far on the stage's monitor (no optimizer state)
    history.csv, curves.png     per-epoch logs of all stages; curves need matplotlib
    pretrained/                 ``facezoo.hub.save_pretrained`` folder, ready to push
    result.json                 written last: marks the run finished (a second call returns it without training)
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facezoo._version import __version__
from facezoo.training.evaluate import Evaluation, Table
from facezoo.training.recipes import Recipe, Stage

if TYPE_CHECKING:
    import keras

__all__ = [
    "ARTEFACTS",
    "PREVIOUS_PREFIX",
    "TrainingResult",
    "RunTracker",
    "monitor_mode",
    "read_json",
    "write_atomic",
    "save_weights_atomic",
    "load_checkpoint",
    "prepare_output_dir",
    "set_aside",
    "training_args",
    "json_default",
    "plot_curves",
]

logger = logging.getLogger("facezoo.training")

#: Everything a run writes into its folder (what ``resume=False`` sets aside).
#: History columns holding each epoch's cost, not a metric.
TIME_COLUMNS = ("epoch_wall_s", "epoch_cpu_s")
ARTEFACTS = ("run.json", "checkpoints", "best.weights.h5", "history.csv", "curves.png", "pretrained", "result.json")
#: Name prefix of the folder a previous run is moved into until the new one has finished.
PREVIOUS_PREFIX = ".facezoo-previous-"


@dataclass
class TrainingResult:
    """What a ``fit_*`` helper returns.

    Attributes:
        recipe: Recipe name.
        output_dir: The run's folder.
        history: Column -> per-epoch values over all stages (``stage``, ``epoch``, ``loss``, ``val_loss``, ...).
        test_metrics: Metrics on the recipe's test split (see :meth:`Evaluation.flat`).
        best_weights: ``best.weights.h5``: the best epoch on the validation monitor (what was tested).
        pretrained_dir: The ``save_pretrained`` folder (config, weights, training args, model card).
        training_args: The exact arguments of the run (also in the card and ``run.json``).
        wall_time_s: Training and test time of the run, including the epochs of processes it resumed from.
        cpu_time_s: CPU time (all threads) of the run, likewise: the compute it cost, whatever else ran.
        table: Ablation table (selfie ``ablation=``), else ``None``.
        variants: Ablation variant name -> its result.
        model: The trained model with the best weights (``None`` when the result was read back from disk).
        evaluation: The full test :class:`Evaluation` (``None`` when read back from disk).
    """

    recipe: str
    output_dir: Path
    history: dict[str, list]
    test_metrics: dict[str, float]
    best_weights: Path
    pretrained_dir: Path
    training_args: dict[str, Any]
    wall_time_s: float
    cpu_time_s: float = 0.0
    table: Table | None = None
    variants: dict[str, TrainingResult] = field(default_factory=dict)
    model: keras.Model | None = field(default=None, repr=False, compare=False)
    evaluation: Evaluation | None = field(default=None, repr=False, compare=False)

    @property
    def epochs(self) -> int:
        """Number of epochs trained over all stages."""
        return len(self.history.get("epoch", []))

    def to_json(self) -> dict[str, Any]:
        """The JSON-serialisable part (what ``result.json`` holds)."""
        return {
            "recipe": self.recipe,
            "history": self.history,
            "test_metrics": self.test_metrics,
            "best_weights": self.best_weights.name,
            "pretrained_dir": self.pretrained_dir.name,
            "training_args": self.training_args,
            "wall_time_s": self.wall_time_s,
            "cpu_time_s": self.cpu_time_s,
        }

    @classmethod
    def load(cls, output_dir: str | os.PathLike) -> TrainingResult:
        """Read a finished run's ``result.json``."""
        output_dir = Path(output_dir)
        data = read_json(output_dir / "result.json")
        return cls(
            recipe=data["recipe"],
            output_dir=output_dir,
            history=data["history"],
            test_metrics=data["test_metrics"],
            best_weights=output_dir / data["best_weights"],
            pretrained_dir=output_dir / data["pretrained_dir"],
            training_args=data["training_args"],
            wall_time_s=data["wall_time_s"],
            cpu_time_s=data.get("cpu_time_s", 0.0),
        )


def monitor_mode(monitor: str) -> str:
    """``"max"`` for a monitor that improves upwards (accuracy, Pearson r, F1), else ``"min"``."""
    return "max" if monitor.endswith(("accuracy", "pearson_r", "f1")) else "min"


def read_json(path: Path) -> Any:
    """A run file's JSON; a damaged one is a ``ValueError`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}); delete it to redo what it recorded, or pass resume=False "
            "(--no-resume) to start the run again."
        ) from None


def load_checkpoint(model: keras.Model, path: Path) -> None:
    try:
        model.load_weights(path)
    except Exception as error:  # noqa: BLE001 (h5py and Keras raise many types for a damaged file)
        raise ValueError(
            f"{path} is damaged or missing ({type(error).__name__}); delete {path.parent / 'state.json'} to redo "
            "that stage, or pass resume=False (--no-resume) to start the run again."
        ) from error


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save_weights_atomic(model: keras.Model, path: Path, *, optimizer: bool) -> None:
    """Write ``model``'s weights (with or without optimizer state) to a temporary file, then rename it."""
    tmp = path.with_name(f"tmp-{path.name}")
    model.save_weights(tmp)
    if not optimizer:
        import h5py

        with h5py.File(tmp, "a") as file:
            if "optimizer" in file:
                del file["optimizer"]
    os.replace(tmp, path)


class RunTracker:
    """Per-stage state files, the run's best weights and its history, all replaced atomically."""

    def __init__(self, output_dir: Path, stages: list[str]) -> None:
        self.output_dir, self.stages = output_dir, stages
        self.best_path = output_dir / "best.weights.h5"
        self._best_state = output_dir / "checkpoints" / "best.json"

    def stage_dir(self, stage: str) -> Path:
        return self.output_dir / "checkpoints" / stage

    def stage_state(self, stage: str) -> dict[str, Any]:
        path = self.stage_dir(stage) / "state.json"
        return read_json(path) if path.exists() else {}

    def best(self) -> dict[str, Any]:
        return read_json(self._best_state) if self._best_state.exists() else {}

    def end_epoch(self, model: keras.Model, stage: Stage, epoch: int, logs: dict[str, float]) -> None:
        directory = self.stage_dir(stage.name)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.stage_state(stage.name)
        value = logs.get(stage.monitor)
        if value is None:
            raise ValueError(f"Stage {stage.name!r} monitors {stage.monitor!r}, not in the logs: {sorted(logs)}.")
        # The deliverable is the best epoch of the final stage (at the final size, on its monitor): earlier stages
        # train at other sizes or with another part frozen, so their monitor values are not comparable.
        best = self.best()
        better = best.get("value") is None or (
            value > best["value"] if monitor_mode(stage.monitor) == "max" else value < best["value"]
        )
        if stage.name == self.stages[-1] and better and math.isfinite(value):
            save_weights_atomic(model, self.best_path, optimizer=False)
            write_atomic(
                self._best_state,
                json.dumps({"monitor": stage.monitor, "value": value, "stage": stage.name, "epoch": epoch + 1}),
            )
        weights = f"epoch-{epoch + 1}.weights.h5"
        save_weights_atomic(model, directory / weights, optimizer=True)
        history = [*state.get("history", []), {"stage": stage.name, "epoch": epoch + 1, **logs}]
        write_atomic(directory / "state.json", json.dumps({"epoch": epoch + 1, "weights": weights, "history": history}))
        for old in directory.glob("epoch-*.weights.h5"):
            if old.name != weights:
                old.unlink()
        self._write_history_csv()

    def finish_stage(self, model: keras.Model, stage: str) -> None:
        directory = self.stage_dir(stage)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.stage_state(stage)
        save_weights_atomic(model, directory / "final.weights.h5", optimizer=False)
        if (
            stage == self.stages[-1] and not self.best_path.exists()
        ):  # Resumed after its last epoch, or no finite value.
            save_weights_atomic(model, self.best_path, optimizer=False)
        write_atomic(directory / "state.json", json.dumps({**state, "weights": "final.weights.h5", "done": True}))
        for old in directory.glob("epoch-*.weights.h5"):
            old.unlink()

    def rows(self) -> list[dict[str, Any]]:
        return [row for stage in self.stages for row in self.stage_state(stage).get("history", [])]

    def epoch_times(self) -> tuple[float, float]:
        """Wall and CPU seconds of the epochs recorded so far (runs from before the times were recorded: 0)."""
        rows = self.rows()
        return sum(r.get("epoch_wall_s", 0.0) for r in rows), sum(r.get("epoch_cpu_s", 0.0) for r in rows)

    def history_columns(self) -> dict[str, list]:
        rows = self.rows()
        columns = list(dict.fromkeys(key for row in rows for key in row))
        return {column: [row.get(column) for row in rows] for column in columns}

    def _write_history_csv(self) -> None:
        history = self.history_columns()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(history)
        writer.writerows(zip(*history.values()))
        write_atomic(self.output_dir / "history.csv", buffer.getvalue())


def prepare_output_dir(output_dir: Path, args: dict[str, Any], resume: bool) -> TrainingResult | None:
    """Return a finished run's result when resuming; check a partial run matches ``args``. Changes nothing."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output_dir {output_dir} is a file; choose a folder.")
    run_file = output_dir / "run.json"
    if not resume or not run_file.exists():
        return None
    previous = read_json(run_file)
    if _comparable(previous) != _comparable(args):
        changed = sorted(k for k in {*previous, *args} if previous.get(k) != args.get(k) and k in _comparable(args))
        raise ValueError(
            f"{output_dir} holds a run with different arguments ({', '.join(changed)}); use another output_dir, "
            "or resume=False to start again (the old run is kept aside until the new one finishes)."
        )
    if (output_dir / "result.json").exists():
        return TrainingResult.load(output_dir)
    return None


def set_aside(output_dir: Path) -> Path | None:
    """Move a previous run's files into ``output_dir/.facezoo-previous-<time>/`` (deleted when the new run ends)."""
    present = [output_dir / name for name in ARTEFACTS if (output_dir / name).exists()]
    if not present:
        return None
    aside = output_dir / f"{PREVIOUS_PREFIX}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    aside.mkdir()
    for path in present:
        os.replace(path, aside / path.name)
    logger.warning("Moved the previous run in %s to %s; it is deleted once this run has finished.", output_dir, aside)
    return aside


def _comparable(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in ("data_dir", "facezoo_version")}


def training_args(
    recipe: Recipe, limit: int | None, replicas: int, strategy: str, mixed: bool, data_dir: Any
) -> dict[str, Any]:
    return json.loads(
        json.dumps(
            {
                **{f.name: getattr(recipe, f.name) for f in dataclasses.fields(recipe)},
                "limit": limit,
                "replicas": replicas,
                "strategy": strategy,
                "mixed_precision": mixed,
                "data_dir": os.fspath(data_dir) if data_dir is not None else None,
                "facezoo_version": __version__,
            },
            default=json_default,
        )
    )


def json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return os.fspath(value)
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "items"):
        return dict(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def plot_curves(history: dict[str, list], path: Path) -> None:
    """Plot each metric (train and validation) per epoch; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = [k for k in history if k not in ("stage", "epoch", *TIME_COLUMNS) and not k.startswith("val_")]
    if not names:
        return
    steps = range(1, len(history["epoch"]) + 1)
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        ax.plot(steps, history[name], label="train", marker=".")
        if f"val_{name}" in history:
            ax.plot(steps, history[f"val_{name}"], label="validation", marker=".")
        ax.set(xlabel="epoch (all stages)", title=name)
        ax.legend()
    fig.tight_layout()
    tmp = path.with_name(f"tmp-{path.name}")
    fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
    os.replace(tmp, path)
