"""The one training engine: runs any :class:`~facezoo.training.recipes.Recipe`, distributed, in mixed precision,
checkpointed every epoch and resumable.

Output folder layout (``output_dir``)::

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
import functools
import io
import json
import logging
import math
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import keras

from facezoo._registry import model_info
from facezoo.training.evaluate import Evaluation, Table, evaluate, missing_labels
from facezoo.training.fit import STRATEGIES
from facezoo.datasets.augment import Augmentation
from facezoo.training.recipes import Loss, Optimizer, Recipe, Stage

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["TrainingResult", "run_recipe", "resolve_recipe", "make_strategy"]

logger = logging.getLogger("facezoo.training")

_RUN_OPTIONS = ("verbose", "jit_compile")
_ARTEFACTS = ("run.json", "checkpoints", "best.weights.h5", "history.csv", "curves.png", "pretrained", "result.json")
_PREVIOUS = ".facezoo-previous-"


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
        wall_time_s: Training and test time of the run that produced this result.
        cpu_time_s: CPU time (all threads of this process) of that run: the compute it cost, whatever else ran.
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
        data = _read_json(output_dir / "result.json")
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


def resolve_recipe(
    recipe: Recipe,
    *,
    model: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> Recipe:
    """Apply a ``fit_*`` call's arguments to a recipe.

    ``overrides`` may hold builder arguments of the model (e.g. ``n_layers=6``), :class:`Stage` fields
    (``augmentation=None``, ``freeze_backbone``, ...), :class:`Optimizer` fields (``learning_rate``, ``clipnorm``,
    ``lr_decay``) applied to every stage, ``stages`` (names of the stages to run) and the recipe's ``splits`` or
    ``dataset_options``. ``epochs`` and ``image_size`` replace every stage's.

    Raises:
        ValueError: an unknown override or a non-positive size.
    """
    changes: dict[str, Any] = {}
    name = model or recipe.model
    info = model_info(name)
    config = {k: v for k, v in recipe.model_config.items() if k in info.default_config}
    stage_fields = {f.name for f in dataclasses.fields(Stage)} - {"name", "epochs", "image_size"}
    optimizer_fields = {f.name for f in dataclasses.fields(Optimizer)} - {"name"}
    stage_changes, optimizer_changes = {}, {}
    for key, value in overrides.items():
        if key in info.default_config and key != "input_shape":
            config[key] = value
        elif key in stage_fields:
            stage_changes[key] = value
        elif key in optimizer_fields:
            optimizer_changes[key] = value
        elif key in ("splits", "dataset_options"):
            changes[key] = tuple(value) if key == "splits" else value
        elif key != "stages":
            allowed = sorted({*info.default_config} - {"input_shape"} | stage_fields | optimizer_fields | {"stages", "splits", "dataset_options"})
            raise ValueError(f"Unknown override {key!r} for recipe {recipe.name!r}; allowed: {', '.join(allowed)}.")
    stages = recipe.stages
    if "stages" in overrides:
        wanted = [overrides["stages"]] if isinstance(overrides["stages"], str) else list(overrides["stages"])
        unknown = [s for s in wanted if s not in {stage.name for stage in stages}]
        if unknown or not wanted:
            raise ValueError(f"Unknown stages {unknown or wanted}; recipe {recipe.name!r} has {[s.name for s in stages]}.")
        stages = tuple(stage for stage in stages if stage.name in wanted)
    size = None
    if image_size is not None:
        size = (image_size, image_size) if isinstance(image_size, int) else tuple(int(s) for s in image_size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f"image_size must be an int or (height, width), got {image_size!r}.")
        changes["image_size"] = size
    if epochs is not None and (not isinstance(epochs, int) or epochs < 1):
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")

    def stage_with(stage: Stage) -> Stage:
        new = dict(stage_changes)
        if optimizer_changes:
            new["optimizer"] = dataclasses.replace(stage_changes.get("optimizer", stage.optimizer), **optimizer_changes)
        if epochs is not None:
            new["epochs"] = epochs
        if size is not None:
            new["image_size"] = size
        return dataclasses.replace(stage, **new)

    if batch_size is not None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        changes["batch_size"] = batch_size
    if seed is not None:
        changes["seed"] = int(seed)
    return dataclasses.replace(
        recipe, model=name, model_config=config, stages=tuple(stage_with(s) for s in stages), **changes
    )


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
        raise ValueError(f"Unknown strategy {name!r}; choose from {', '.join(STRATEGIES)} or pass a tf.distribute.Strategy.")
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
        raise ValueError(f"TF_CONFIG is not valid JSON ({error.msg} at character {error.pos}); expected e.g. {example}.") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster or not all(
        isinstance(hosts, list) and hosts and all(isinstance(h, str) and ":" in h for h in hosts) for hosts in cluster.values()
    ):
        raise ValueError(f"TF_CONFIG needs a \"cluster\" of \"host:port\" lists, e.g. {example}; got {text[:200]}.")
    other = sorted(set(cluster) - {"chief", "worker"})
    if other or len(cluster.get("chief", [])) > 1:
        found = f"{other} tasks" if other else f"{len(cluster['chief'])} chiefs"
        raise ValueError(
            f"TF_CONFIG's cluster has {found}; MultiWorkerMirroredStrategy takes \"worker\" tasks and at most one \"chief\"."
        )
    task = config.get("task")
    kind, index = (task.get("type"), task.get("index")) if isinstance(task, dict) else (None, None)
    if kind not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[kind]):
        sizes = ", ".join(f"{len(hosts)} {role}" for role, hosts in cluster.items())
        raise ValueError(
            f"TF_CONFIG's task {task!r} is not in its cluster ({sizes}); set \"task\": "
            '{"type": "worker", "index": i} with i this worker\'s position in the cluster\'s list.'
        )
    return config


def run_recipe(
    recipe: Recipe,
    data_dir: str | os.PathLike | None,
    output_dir: str | os.PathLike,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    on_error: str = "raise",
    **overrides: Any,
) -> TrainingResult:
    """Train, test and package a model by ``recipe``; every ``fit_*`` helper calls this.

    Nothing in ``output_dir`` is changed before the arguments, the data and the model have been checked. With
    ``resume=False`` a previous run's files are moved aside into ``output_dir/.facezoo-previous-<time>/`` and
    deleted only once the new run has written its ``result.json``.

    Args:
        recipe: The recipe.
        data_dir: Datasets root or the dataset's own folder (``None``: ``facezoo.datasets``' default root).
        output_dir: Run folder (checkpoints, logs, best weights, ``pretrained/``, ``result.json``).
        model: A registered model name replacing the recipe's, or a built facezoo model whose weights start the run.
        epochs: Epochs of every stage (default: the recipe's).
        batch_size: Global batch size, split over the strategy's replicas.
        image_size: ``(height, width)`` or an int, for every stage.
        strategy: ``"auto"``, ``"one"``, ``"mirrored"``, ``"multi-worker"`` (see :func:`make_strategy`) or a
            ``tf.distribute.Strategy``. Under ``"multi-worker"`` run the same call on every worker: only the chief
            writes ``output_dir``, which every worker must be able to read (to resume from the same epoch).
        mixed_precision: ``"auto"`` (``mixed_float16`` on GPUs of compute capability >= 7.0), ``True`` or ``False``.
        resume: Continue an interrupted run from its last finished epoch (model and optimizer state) and return a
            finished run's stored result; ``False`` starts again (the previous run is kept aside until the new one
            has finished).
        limit: Use at most this many images of each split (smoke tests, CI).
        seed: Seed of initialisation, shuffling and augmentation (default: the recipe's).
        on_error: An image that is missing or not an image (missing file, wrong format, truncated JPEG or PNG):
            ``"raise"`` a ``ValueError`` naming it before training starts, or ``"skip"`` it (each skipped file is
            logged once).
        **overrides: See :func:`resolve_recipe`; also ``verbose`` (Keras ``fit`` verbosity, default ``"auto"``) and
            ``jit_compile`` (XLA; default: on GPUs only, since on CPU it helps some models and slows others).

    Returns:
        A :class:`TrainingResult`.

    Raises:
        facezoo.datasets.DatasetNotFoundError: the data is not in ``data_dir`` (the message says how to get it).
        ValueError: bad arguments (image size too small for the model, batch size not divisible by the replica
            count, unknown overrides, an ``output_dir`` holding a different run, a damaged run file or given as a
            URL, a ``pretrained/`` folder holding files of its own, a malformed ``TF_CONFIG``), all before any
            training.
        RuntimeError: on a worker other than the chief, the chief stopped before training (its error says why).
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    options = {key: overrides.pop(key) for key in _RUN_OPTIONS if key in overrides}
    initial_model = model if model is not None and not isinstance(model, str) else None
    if initial_model is not None:
        if not hasattr(initial_model, "_facezoo_architecture"):
            raise ValueError("model= takes a registered model name or a model built by facezoo (create_model).")
        model = initial_model._facezoo_architecture
        built_with = {k: v for k, v in initial_model._facezoo_config.items() if k not in ("input_shape", "backbone_weights")}
        overrides = {**built_with, **overrides}
    recipe = resolve_recipe(
        recipe, model=model, epochs=epochs, batch_size=batch_size, image_size=image_size, seed=seed, **overrides
    )
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}.")
    strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
    replicas = strategy.num_replicas_in_sync
    if recipe.batch_size % replicas:
        raise ValueError(
            f"batch_size {recipe.batch_size} is the global batch and must be divisible by the {replicas} replicas "
            f"of {type(strategy).__name__}; use e.g. {recipe.batch_size // replicas * replicas or replicas}."
        )
    use_mixed = _use_mixed_precision(mixed_precision)
    if "://" in os.fspath(output_dir):
        raise ValueError(f"output_dir {os.fspath(output_dir)!r} is a URL; mount the bucket (e.g. with gcsfuse) and pass its path.")
    shared_dir = output_dir = Path(output_dir)
    args = _training_args(recipe, limit, replicas, type(strategy).__name__, use_mixed, data_dir)
    if not _is_chief(strategy):  # Other workers write to a temporary folder, removed at the end.
        output_dir = Path(tempfile.mkdtemp(prefix="facezoo-worker-"))
    finished = _follow_chief(strategy, shared_dir, output_dir, lambda: _prepare_output_dir(shared_dir, args, resume))
    if finished is not None:
        return finished

    start, cpu_start = time.perf_counter(), time.process_time()
    previous_policy = keras.mixed_precision.global_policy()
    try:
        data = _Data(recipe, data_dir, limit, on_error)
        data.check(recipe.splits)
        from facezoo.hub import check_replaceable

        check_replaceable(output_dir / "pretrained")  # a user's file there would be lost, or fail the run at its end
        keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
        keras.utils.set_random_seed(recipe.seed)
        with strategy.scope():
            net = _build(recipe, recipe.stage_image_size(recipe.stages[0]))
            if initial_model is not None:
                net.set_weights(initial_model.get_weights())
        for stage in recipe.stages:  # Validate every stage's size before training starts.
            if recipe.stage_image_size(stage) != recipe.stage_image_size(recipe.stages[0]):
                _build(recipe, recipe.stage_image_size(stage))
        (output_dir / "run.json").parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            _set_aside(output_dir)
        _write_atomic(output_dir / "run.json", json.dumps(args, indent=2))
        tracker = _RunTracker(output_dir, [stage.name for stage in recipe.stages])
        for stage in recipe.stages:
            net = _run_stage(recipe, stage, net, data, strategy, tracker, options)
        # A fresh, uncompiled model holding the best weights is the run's deliverable; it is tested on one device
        # (outside the strategy, whose replicas could not split a last, uneven test batch).
        net = _build(recipe, recipe.stage_image_size(recipe.stages[-1]))
        net.load_weights(tracker.best_path)
        test = data.dataset(recipe.splits[2])
        evaluation = evaluate(net, test, batch_size=recipe.batch_size, targets=dict(recipe.targets), on_error=on_error)
        history = tracker.history_columns()
        _plot_curves(history, output_dir / "curves.png")
        pretrained = output_dir / "pretrained"
        _save_pretrained(net, pretrained, recipe, evaluation.flat(), args)
        result = TrainingResult(
            recipe=recipe.name,
            output_dir=output_dir,
            history=history,
            test_metrics=evaluation.flat(),
            best_weights=tracker.best_path,
            pretrained_dir=pretrained,
            training_args=args,
            wall_time_s=time.perf_counter() - start,
            cpu_time_s=time.process_time() - cpu_start,
            model=net,
            evaluation=evaluation,
        )
        _write_atomic(output_dir / "result.json", json.dumps(result.to_json(), indent=2, default=_json_default))
        for previous in output_dir.glob(f"{_PREVIOUS}*"):
            shutil.rmtree(previous, ignore_errors=True)
        if output_dir != shared_dir:  # Another worker's result points at the chief's files.
            result = dataclasses.replace(
                result, output_dir=shared_dir, best_weights=shared_dir / tracker.best_path.name,
                pretrained_dir=shared_dir / pretrained.name,
            )
        return result
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
        if output_dir != shared_dir:
            shutil.rmtree(output_dir, ignore_errors=True)


# --------------------------------------------------------------------------------------------------------------
# Data


class _Data:
    """The recipe's dataset splits, loaded once, as ``tf.data`` pipelines with targets keyed by model output."""

    def __init__(self, recipe: Recipe, data_dir: str | os.PathLike | None, limit: int | None, on_error: str) -> None:
        self.recipe, self.data_dir, self.limit, self.on_error = recipe, data_dir, limit, on_error
        self._splits: dict[str, Any] = {}

    def check(self, splits: tuple[str, ...]) -> None:
        for split in splits:
            self.dataset(split)

    def dataset(self, split: str) -> Any:
        if split not in self._splits:
            from facezoo import datasets

            ds = datasets.load(self.recipe.dataset, self.data_dir, split=split, **self.recipe.dataset_options)
            missing = [t for t in self.recipe.targets.values() if t not in ds.targets]
            if missing:
                raise ValueError(f"{self.recipe.dataset} {split} has no target(s) {missing}; it has {list(ds.targets)}.")
            if len(ds) == 0:
                raise ValueError(f"{self.recipe.dataset} split {split!r} is empty.")
            ds = ds.take(self.limit) if self.limit is not None and len(ds) > self.limit else ds
            ds = ds.readable(self.on_error)
            if len(ds) == 0:
                raise ValueError(f"{self.recipe.dataset} split {split!r} has no readable image.")
            self._splits[split] = ds
        return self._splits[split]

    def pipeline(
        self, split: str, size: tuple[int, int], batch_size: int, kinds: dict[str, str], *,
        training: bool, augmentation: Augmentation | None, seed: int, replicas: int = 1,
    ) -> tf.data.Dataset:
        import tensorflow as tf

        ds = self.dataset(split)
        usable = len(ds) - len(ds) % replicas
        if not training and 0 < usable < len(ds):
            # TF cannot split a last batch that is not a multiple of the replica count over the replicas: validate
            # on all but the last len % replicas images (model selection only; the test runs on one device).
            logger.info("%s: validating on %d of %d images, a multiple of the %d replicas", split, usable, len(ds), replicas)
            ds = ds.take(usable)
        targets = dict(self.recipe.targets)
        single = len(targets) == 1
        # A dataset with missing labels (facezoo.datasets.faces: -1 classes, NaN scores) trains each head only on
        # the images that have its label: the missing ones get sample weight 0.
        masked = any(missing_labels(ds.targets[head]).any() for head in targets.values())

        def select(images, y):
            y = y if isinstance(y, dict) else {next(iter(ds.targets)): y}
            out, weights = {}, {}
            for output, head in targets.items():
                value = tf.cast(y[head], tf.float32)
                if masked:
                    known = value >= 0 if kinds[output] != "regression" else tf.math.is_finite(value)
                    value = tf.where(known, value, tf.zeros_like(value))
                    weights[output] = tf.cast(known, tf.float32)
                if kinds[output] == "classification":
                    out[output] = tf.cast(value, tf.int32)
                else:
                    out[output] = tf.reshape(value, (-1, 1))
            pick = (lambda d: next(iter(d.values()))) if single else (lambda d: d)
            return (images, pick(out), pick(weights)) if masked else (images, pick(out))

        # Training drops the last, smaller batch (reshuffled each epoch, so every image is still used): every step
        # then has the global batch, whatever the replica count (TF cannot split some uneven batches over replicas).
        pipeline = ds.as_tf_dataset(
            size, batch_size, shuffle=training, augment=augmentation if training else None, seed=seed,
            drop_remainder=training and len(ds) >= batch_size, on_error=self.on_error,
        )
        return pipeline.map(select, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


# --------------------------------------------------------------------------------------------------------------
# Model, compile, stages


def _build(recipe: Recipe, size: tuple[int, int]) -> keras.Model:
    from facezoo._registry import build_model

    return build_model(recipe.model, **{**recipe.model_config, "input_shape": (*size, 3)})


def _output_kinds(model: keras.Model) -> dict[str, str]:
    from facezoo.inference import _output_specs

    return {spec.name: spec.kind for spec in _output_specs(model)}


def _backbones(model: keras.Model) -> list[keras.Model]:
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def _keras_loss(loss: Loss) -> keras.losses.Loss:
    factories: dict[str, Callable[[], keras.losses.Loss]] = {
        "huber": lambda: keras.losses.Huber(delta=loss.delta if loss.delta is not None else 1.0),
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    }
    if loss.name not in factories:
        raise ValueError(f"Unknown loss {loss.name!r}; choose from {', '.join(factories)}.")
    return factories[loss.name]()


def _keras_optimizer(spec: Optimizer) -> keras.optimizers.Optimizer:
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    if spec.name not in classes:
        raise ValueError(f"Unknown optimizer {spec.name!r}; choose from {', '.join(classes)}.")
    return classes[spec.name](learning_rate=spec.learning_rate, clipnorm=spec.clipnorm)


def _metric(kind: str) -> keras.metrics.Metric:
    if kind == "regression":
        return keras.metrics.MeanAbsoluteError(name="mae")
    if kind == "binary":
        return keras.metrics.BinaryAccuracy(name="accuracy")
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def _compile(model: keras.Model, recipe: Recipe, stage: Stage, jit_compile: bool | str) -> None:
    kinds = _output_kinds(model)
    missing = sorted(set(kinds) - set(stage.losses))
    if missing:
        raise ValueError(f"Stage {stage.name!r} of recipe {recipe.name!r} has no loss for output(s) {missing}.")
    single = len(kinds) == 1
    losses = {name: _keras_loss(stage.losses[name]) for name in kinds}
    metrics = {name: [_metric(kind)] for name, kind in kinds.items()}
    weights = {name: float(stage.loss_weights.get(name, 1.0)) for name in kinds}
    model.compile(
        optimizer=_keras_optimizer(stage.optimizer),
        loss=next(iter(losses.values())) if single else losses,
        loss_weights=next(iter(weights.values())) if single else weights,
        # Weighted, so that heads masked by sample weight 0 (missing labels) are measured on labelled images only.
        weighted_metrics=next(iter(metrics.values())) if single else metrics,
        jit_compile=jit_compile,
    )


def _run_stage(
    recipe: Recipe,
    stage: Stage,
    net: keras.Model,
    data: _Data,
    strategy: tf.distribute.Strategy,
    tracker: _RunTracker,
    options: dict[str, Any],
) -> keras.Model:
    import tensorflow as tf

    size = recipe.stage_image_size(stage)
    state = tracker.stage_state(stage.name)
    if state.get("done"):
        with strategy.scope():
            net = _resized(net, recipe, size)
        _load_checkpoint(net, tracker.stage_dir(stage.name) / state["weights"])
        return net
    with strategy.scope():
        net = _resized(net, recipe, size)
        if stage.freeze_backbone is not None:
            backbones = _backbones(net)
            if not backbones:
                raise ValueError(f"Stage {stage.name!r} freezes a backbone, but {net.name} has no backbone sub-model.")
            for backbone in backbones:
                backbone.trainable = not stage.freeze_backbone
        jit = options.get("jit_compile", "auto" if tf.config.list_logical_devices("GPU") else False)
        _compile(net, recipe, stage, jit)
        net.optimizer.build(net.trainable_variables)
        _fix_keras_distribution(net, strategy)
    initial_epoch = 0
    if state:
        _load_checkpoint(net, tracker.stage_dir(stage.name) / state["weights"])
        initial_epoch = int(state["epoch"])
    if initial_epoch < stage.epochs:
        kinds = _output_kinds(net)
        seed = recipe.seed + 1000 * recipe.stages.index(stage) + initial_epoch
        train = data.pipeline(recipe.splits[0], size, recipe.batch_size, kinds, training=True, augmentation=stage.augmentation, seed=seed)
        val = data.pipeline(
            recipe.splits[1], size, recipe.batch_size, kinds, training=False, augmentation=None, seed=seed,
            replicas=strategy.num_replicas_in_sync,
        )
        callbacks: list[keras.callbacks.Callback] = []
        optimizer = stage.optimizer
        if optimizer.lr_decay is not None or optimizer.schedule or optimizer.warmup_epochs:
            callbacks.append(keras.callbacks.LearningRateScheduler(
                lambda epoch: optimizer.learning_rate_at(epoch, stage.epochs)
            ))
        if stage.reduce_lr_on_plateau is not None:
            r = stage.reduce_lr_on_plateau
            callbacks.append(keras.callbacks.ReduceLROnPlateau(
                monitor=stage.monitor, factor=r.factor, patience=r.patience, min_lr=r.min_lr, min_delta=r.min_delta
            ))
        if stage.early_stopping is not None:
            e = stage.early_stopping
            callbacks.append(_ResumableEarlyStopping(
                [row[stage.monitor] for row in state.get("history", [])],
                monitor=stage.monitor, patience=e.patience, min_delta=e.min_delta,
                restore_best_weights=e.restore_best_weights, mode=_mode(stage.monitor),
            ))
        callbacks.append(_EpochCheckpoint(tracker, stage))  # Last: sees the learning rate the others set.
        with warnings.catch_warnings():
            if data.on_error == "skip":  # skipping makes the epoch length unknown in advance, as Keras then warns
                warnings.filterwarnings("ignore", message="Your input ran out of data")
            net.fit(
                train, validation_data=val, epochs=stage.epochs, initial_epoch=initial_epoch, callbacks=callbacks,
                shuffle=False, verbose=options.get("verbose", "auto"),
            )
    tracker.finish_stage(net, stage.name)
    return net


def _fix_keras_distribution(net: keras.Model, strategy: tf.distribute.Strategy) -> None:
    """Work around Keras 3's ``fit`` under ``tf.distribute`` (keras-team/keras#20585).

    1. To build the compiled metrics and losses, ``fit`` and ``evaluate`` open an iterator over the data and reduce
       its first batch over the replicas. That reduction fails under ``MultiWorkerMirroredStrategy`` (a batch of
       several tensors), and the extra iterator advances a reshuffling dataset, so epoch 1 would see another order
       than without a strategy. Build from the dataset's element spec instead: only shapes and dtypes matter.
    2. Under ``MultiWorkerMirroredStrategy`` Keras reduces every step's logs (scalar metric results) over the
       workers with ``reduce(MEAN, axis=0)``, which fails on scalars: the steps return them with a batch axis of 1.
    """
    import tensorflow as tf

    original = type(net)._maybe_symbolic_build

    def build(iterator: Any = None, data_batch: Any = None) -> None:
        if iterator is not None:
            data_batch = iterator.data_adapter.get_tf_dataset().element_spec
        original(net, data_batch=data_batch)

    def with_batch_axis(step: Callable[[Any], dict]) -> Callable[[Any], dict]:
        return lambda data: tf.nest.map_structure(lambda value: tf.reshape(value, [1]), step(data))

    net._maybe_symbolic_build = build
    if _multi_worker(strategy):
        net.train_step, net.test_step = with_batch_axis(net.train_step), with_batch_axis(net.test_step)


class _ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` that, in a resumed stage, counts from the monitor values of the epochs before the resume.

    Keras resets its counters at every ``fit``. With ``restore_best_weights`` and a best epoch before the resume,
    the weights restored are those of the first resumed epoch (the best epoch's are in ``best.weights.h5``).
    """

    def __init__(self, previous: list[float], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.previous = previous

    def on_train_begin(self, logs: dict | None = None) -> None:
        super().on_train_begin(logs)
        if self.previous and self.monitor_op is None:
            self._set_monitor_op()
        for epoch, value in enumerate(self.previous):
            self.wait += 1
            if self._is_improvement(value, self.best):
                self.best, self.best_epoch, self.wait = value, epoch, 0


def _resized(net: keras.Model, recipe: Recipe, size: tuple[int, int]) -> keras.Model:
    """``net`` itself at its size, else the same model rebuilt at ``size`` with its weights (all layers before
    global pooling are size-independent)."""
    if tuple(net.input_shape[1:3]) == tuple(size):
        return net
    resized = _build(recipe, size)
    resized.set_weights(net.get_weights())
    return resized


def _mode(monitor: str) -> str:
    return "max" if monitor.endswith(("accuracy", "pearson_r", "f1")) else "min"


# --------------------------------------------------------------------------------------------------------------
# Checkpoints, logs and the output folder


def _read_json(path: Path) -> Any:
    """A run file's JSON; a damaged one is a ``ValueError`` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{path} is damaged ({error}); delete it to redo what it recorded, or pass resume=False "
            "(--no-resume) to start the run again."
        ) from None


def _load_checkpoint(model: keras.Model, path: Path) -> None:
    try:
        model.load_weights(path)
    except Exception as error:  # noqa: BLE001 (h5py and Keras raise many types for a damaged file)
        raise ValueError(
            f"{path} is damaged or missing ({type(error).__name__}); delete {path.parent / 'state.json'} to redo "
            "that stage, or pass resume=False (--no-resume) to start the run again."
        ) from error


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _save_weights_atomic(model: keras.Model, path: Path, *, optimizer: bool) -> None:
    """Write ``model``'s weights (with or without optimizer state) to a temporary file, then rename it."""
    tmp = path.with_name(f"tmp-{path.name}")
    model.save_weights(tmp)
    if not optimizer:
        import h5py

        with h5py.File(tmp, "a") as file:
            if "optimizer" in file:
                del file["optimizer"]
    os.replace(tmp, path)


class _RunTracker:
    """Per-stage state files, the run's best weights and its history, all replaced atomically."""

    def __init__(self, output_dir: Path, stages: list[str]) -> None:
        self.output_dir, self.stages = output_dir, stages
        self.best_path = output_dir / "best.weights.h5"
        self._best_state = output_dir / "checkpoints" / "best.json"

    def stage_dir(self, stage: str) -> Path:
        return self.output_dir / "checkpoints" / stage

    def stage_state(self, stage: str) -> dict[str, Any]:
        path = self.stage_dir(stage) / "state.json"
        return _read_json(path) if path.exists() else {}

    def best(self) -> dict[str, Any]:
        return _read_json(self._best_state) if self._best_state.exists() else {}

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
        better = best.get("value") is None or (value > best["value"] if _mode(stage.monitor) == "max" else value < best["value"])
        if stage.name == self.stages[-1] and better and math.isfinite(value):
            _save_weights_atomic(model, self.best_path, optimizer=False)
            _write_atomic(self._best_state, json.dumps({"monitor": stage.monitor, "value": value, "stage": stage.name, "epoch": epoch + 1}))
        weights = f"epoch-{epoch + 1}.weights.h5"
        _save_weights_atomic(model, directory / weights, optimizer=True)
        history = [*state.get("history", []), {"stage": stage.name, "epoch": epoch + 1, **logs}]
        _write_atomic(directory / "state.json", json.dumps({"epoch": epoch + 1, "weights": weights, "history": history}))
        for old in directory.glob("epoch-*.weights.h5"):
            if old.name != weights:
                old.unlink()
        self._write_history_csv()

    def finish_stage(self, model: keras.Model, stage: str) -> None:
        directory = self.stage_dir(stage)
        directory.mkdir(parents=True, exist_ok=True)
        state = self.stage_state(stage)
        _save_weights_atomic(model, directory / "final.weights.h5", optimizer=False)
        if stage == self.stages[-1] and not self.best_path.exists():  # Resumed after its last epoch, or no finite value.
            _save_weights_atomic(model, self.best_path, optimizer=False)
        _write_atomic(directory / "state.json", json.dumps({**state, "weights": "final.weights.h5", "done": True}))
        for old in directory.glob("epoch-*.weights.h5"):
            old.unlink()

    def rows(self) -> list[dict[str, Any]]:
        return [row for stage in self.stages for row in self.stage_state(stage).get("history", [])]

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
        _write_atomic(self.output_dir / "history.csv", buffer.getvalue())


class _EpochCheckpoint(keras.callbacks.Callback):
    """Checkpoint model + optimizer every epoch (atomically), track the best weights and the history."""

    def __init__(self, tracker: _RunTracker, stage: Stage) -> None:
        super().__init__()
        self.tracker, self.stage = tracker, stage

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row = {key: float(value) for key, value in (logs or {}).items()}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        self.tracker.end_epoch(self.model, self.stage, epoch, row)


def _prepare_output_dir(output_dir: Path, args: dict[str, Any], resume: bool) -> TrainingResult | None:
    """Return a finished run's result when resuming; check a partial run matches ``args``. Changes nothing."""
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"output_dir {output_dir} is a file; choose a folder.")
    run_file = output_dir / "run.json"
    if not resume or not run_file.exists():
        return None
    previous = _read_json(run_file)
    if _comparable(previous) != _comparable(args):
        changed = sorted(k for k in {*previous, *args} if previous.get(k) != args.get(k) and k in _comparable(args))
        raise ValueError(
            f"{output_dir} holds a run with different arguments ({', '.join(changed)}); use another output_dir, "
            "or resume=False to start again (the old run is kept aside until the new one finishes)."
        )
    if (output_dir / "result.json").exists():
        return TrainingResult.load(output_dir)
    return None


def _set_aside(output_dir: Path) -> Path | None:
    """Move a previous run's files into ``output_dir/.facezoo-previous-<time>/`` (deleted when the new run ends)."""
    present = [output_dir / name for name in _ARTEFACTS if (output_dir / name).exists()]
    if not present:
        return None
    aside = output_dir / f"{_PREVIOUS}{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    aside.mkdir()
    for path in present:
        os.replace(path, aside / path.name)
    logger.warning("Moved the previous run in %s to %s; it is deleted once this run has finished.", output_dir, aside)
    return aside


def _comparable(args: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in args.items() if k not in ("data_dir", "facezoo_version")}


def _training_args(
    recipe: Recipe, limit: int | None, replicas: int, strategy: str, mixed: bool, data_dir: Any
) -> dict[str, Any]:
    from facezoo import __version__

    return json.loads(json.dumps({
        **{f.name: getattr(recipe, f.name) for f in dataclasses.fields(recipe)},
        "limit": limit,
        "replicas": replicas,
        "strategy": strategy,
        "mixed_precision": mixed,
        "data_dir": os.fspath(data_dir) if data_dir is not None else None,
        "facezoo_version": __version__,
    }, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return os.fspath(value)
    if dataclasses.is_dataclass(value):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if hasattr(value, "items"):
        return dict(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"not JSON serialisable: {value!r}")


def _use_mixed_precision(mixed_precision: bool | str) -> bool:
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


def _multi_worker(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return False
    cluster = resolver.cluster_spec().as_dict()
    return len(cluster.get("chief", [])) + len(cluster.get("worker", [])) > 1


_TRAIN, _FINISHED, _FAILED = 1, 2, 3


def _follow_chief(
    strategy: tf.distribute.Strategy, shared_dir: Path, work_dir: Path, prepare: Callable[[], TrainingResult | None]
) -> TrainingResult | None:
    """Prepare ``shared_dir`` on the chief (``prepare``); the other workers follow its outcome.

    The chief checks the run folder (or clears it) and tells the others whether to train, return the finished run
    or stop. Each other worker then copies the chief's checkpoints to its own ``work_dir``, so that every worker
    resumes from the same epoch (the chief writes nothing more until all workers have joined the first step).
    """
    if not _multi_worker(strategy):
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

    share = status / len(strategy.extended.worker_devices) if _is_chief(strategy) else 0.0  # per local replica
    return round(float(strategy.reduce("SUM", strategy.run(lambda: tf.constant(share)), axis=None)))


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not getattr(resolver, "task_type", None):
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker" and resolver.task_id == 0)


def _plot_curves(history: dict[str, list], path: Path) -> None:
    """Plot each metric (train and validation) per epoch; skipped without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        return
    names = [k for k in history if k not in ("stage", "epoch") and not k.startswith("val_")]
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


def _save_pretrained(model: keras.Model, directory: Path, recipe: Recipe, metrics: dict, args: dict) -> None:
    """Write the Hub folder (atomically) with ``facezoo.hub.save_pretrained``."""
    from facezoo import hub

    hub.save_pretrained(
        model,
        directory,
        metrics={k: v for k, v in metrics.items() if math.isfinite(v) and not k.endswith("count")},
        dataset=recipe.dataset,
        dataset_options=recipe.dataset_options,
        split=recipe.splits[2],
        training_args={k: v for k, v in args.items() if k != "data_dir"},  # the dataset and options, not a local path
        license=recipe.license,
        tags=(recipe.name,),
        notes=f"Trained with the facezoo.training recipe `{recipe.name}`: {recipe.reference}.",
    )
