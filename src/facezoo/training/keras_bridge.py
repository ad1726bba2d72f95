"""Recipes in Keras terms: the model a recipe builds, its losses, optimizer, metrics and callbacks, and the
work-arounds Keras needs under ``tf.distribute``. The public seam the engine and the benchmarks build a training step
from."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import keras

from facezoo.training.distribute import multi_worker
from facezoo.training.recipes import Loss, Optimizer, Recipe, Stage
from facezoo.training.run_folder import RunTracker, monitor_mode

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "build_recipe_model",
    "output_kinds",
    "backbones",
    "keras_loss",
    "keras_optimizer",
    "compile_stage",
    "stage_callbacks",
    "fix_keras_distribution",
    "resized",
    "ResumableEarlyStopping",
    "EpochCheckpoint",
]


def build_recipe_model(recipe: Recipe, size: tuple[int, int]) -> keras.Model:
    """The recipe's model with its config, built for ``size`` (height, width)."""
    from facezoo._registry import build_model

    return build_model(recipe.model, **{**recipe.model_config, "input_shape": (*size, 3)})


def output_kinds(model: keras.Model) -> dict[str, str]:
    """Output name -> kind (``"regression"``, ``"binary"``, ``"classification"``) of a built model."""
    from facezoo.inference import output_specs

    return {spec.name: spec.kind for spec in output_specs(model)}


def backbones(model: keras.Model) -> list[keras.Model]:
    """The sub-models (pretrained-style backbones) of ``model``, which a stage may freeze."""
    return [layer for layer in model.layers if isinstance(layer, keras.Model)]


def keras_loss(loss: Loss) -> keras.losses.Loss:
    """The Keras loss of a recipe :class:`~facezoo.training.Loss`."""
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


def keras_optimizer(spec: Optimizer) -> keras.optimizers.Optimizer:
    """The Keras optimizer of a recipe :class:`~facezoo.training.Optimizer` (its initial learning rate).

    ``clipnorm`` clips each variable's gradient of the global batch, as tf.keras 2 did: after the gradients of the
    replicas are summed. Keras 3 clips each replica's gradient before the sum, so that a clipped update would depend
    on the replica count.
    """
    classes = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}
    if spec.name not in classes:
        raise ValueError(f"Unknown optimizer {spec.name!r}; choose from {', '.join(classes)}.")
    if spec.clipnorm is None:
        return classes[spec.name](learning_rate=spec.learning_rate)
    return _clipping_after_all_reduce(classes[spec.name])(learning_rate=spec.learning_rate, clipnorm=spec.clipnorm)


@functools.cache
def _clipping_after_all_reduce(cls: type[keras.optimizers.Optimizer]) -> type[keras.optimizers.Optimizer]:
    """``cls`` with its ``clipnorm`` moved after the all-reduce (Keras 3's TensorFlow optimizer sums the replicas'
    gradients in ``_all_reduce_sum_gradients``, after ``_clip_gradients``); on one device nothing changes."""

    class Clipped(cls):
        def _clip_gradients(self, grads: list) -> list:
            return grads  # clipped once summed, below

        def _all_reduce_sum_gradients(self, grads_and_vars: list) -> list:
            summed = super()._all_reduce_sum_gradients(grads_and_vars)
            return [(grad if grad is None else self._clip_by_norm(grad), var) for grad, var in summed]

    Clipped.__name__ = Clipped.__qualname__ = cls.__name__
    return Clipped


def _metric(kind: str) -> keras.metrics.Metric:
    if kind == "regression":
        return keras.metrics.MeanAbsoluteError(name="mae")
    if kind == "binary":
        return keras.metrics.BinaryAccuracy(name="accuracy")
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


def compile_stage(model: keras.Model, recipe: Recipe, stage: Stage, jit_compile: bool | str) -> None:
    """Compile ``model`` for ``stage``: a loss, weight and weighted metric per output, the stage's optimizer."""
    kinds = output_kinds(model)
    missing = sorted(set(kinds) - set(stage.losses))
    if missing:
        raise ValueError(f"Stage {stage.name!r} of recipe {recipe.name!r} has no loss for output(s) {missing}.")
    single = len(kinds) == 1
    losses = {name: keras_loss(stage.losses[name]) for name in kinds}
    metrics = {name: [_metric(kind)] for name, kind in kinds.items()}
    weights = {name: float(stage.loss_weights.get(name, 1.0)) for name in kinds}
    model.compile(
        optimizer=keras_optimizer(stage.optimizer),
        loss=next(iter(losses.values())) if single else losses,
        loss_weights=next(iter(weights.values())) if single else weights,
        # Weighted, so that heads masked by sample weight 0 (missing labels) are measured on labelled images only.
        weighted_metrics=next(iter(metrics.values())) if single else metrics,
        jit_compile=jit_compile,
    )


def fix_keras_distribution(net: keras.Model, strategy: tf.distribute.Strategy) -> None:
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
    if multi_worker(strategy):
        net.train_step, net.test_step = with_batch_axis(net.train_step), with_batch_axis(net.test_step)


class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
    """``EarlyStopping`` that, in a resumed stage, counts from the monitor values of the epochs before the resume.

    Keras resets its counters at every ``fit``. With ``restore_best_weights`` and a best epoch before the resume,
    the weights restored are those of the first resumed epoch (the best epoch's are in ``best.weights.h5``).
    """

    wait: int
    best: float

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


def resized(net: keras.Model, recipe: Recipe, size: tuple[int, int]) -> keras.Model:
    """``net`` itself at its size, else the same model rebuilt at ``size`` with its weights (all layers before
    global pooling are size-independent)."""
    if tuple(net.input_shape[1:3]) == tuple(size):
        return net
    resized = build_recipe_model(recipe, size)
    resized.set_weights(net.get_weights())
    return resized


class EpochCheckpoint(keras.callbacks.Callback):
    """Checkpoint model + optimizer every epoch (atomically), track the best weights and the history (with each
    epoch's wall and CPU time, so a resumed run still knows what it cost)."""

    def __init__(self, tracker: RunTracker, stage: Stage) -> None:
        super().__init__()
        self.tracker, self.stage = tracker, stage
        self._started = (0.0, 0.0)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._started = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        row = {key: float(value) for key, value in (logs or {}).items()}
        row["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        row["epoch_wall_s"] = time.perf_counter() - self._started[0]
        row["epoch_cpu_s"] = time.process_time() - self._started[1]
        self.tracker.end_epoch(self.model, self.stage, epoch, row)


def stage_callbacks(stage: Stage, tracker: RunTracker, previous: list[float]) -> list[keras.callbacks.Callback]:
    """The callbacks of a stage: its learning-rate schedule, plateau reduction and early stopping (counting from
    ``previous``, the monitor values of the epochs before a resume), then the per-epoch checkpoint."""
    callbacks: list[keras.callbacks.Callback] = []
    optimizer = stage.optimizer
    if optimizer.lr_decay is not None or optimizer.schedule or optimizer.warmup_epochs:
        callbacks.append(
            keras.callbacks.LearningRateScheduler(lambda epoch: optimizer.learning_rate_at(epoch, stage.epochs))
        )
    if stage.reduce_lr_on_plateau is not None:
        r = stage.reduce_lr_on_plateau
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=stage.monitor, factor=r.factor, patience=r.patience, min_lr=r.min_lr, min_delta=r.min_delta
            )
        )
    if stage.early_stopping is not None:
        e = stage.early_stopping
        callbacks.append(
            ResumableEarlyStopping(
                previous,
                monitor=stage.monitor,
                patience=e.patience,
                min_delta=e.min_delta,
                restore_best_weights=e.restore_best_weights,
                mode=monitor_mode(stage.monitor),
            )
        )
    callbacks.append(EpochCheckpoint(tracker, stage))  # Last: sees the learning rate the others set.
    return callbacks
