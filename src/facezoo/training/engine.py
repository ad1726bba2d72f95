"""The one training engine: runs any :class:`~facezoo.training.recipes.Recipe`, distributed, in mixed precision,
checkpointed every epoch and resumable.

It orchestrates: the recipe is resolved by :func:`~facezoo.training.recipes.resolve_recipe`, the data comes from
:class:`~facezoo.training.data.RecipeData`, the model, losses and callbacks from :mod:`facezoo.training.keras_bridge`,
the strategy from :mod:`facezoo.training.distribute`, and every file of the run folder (its layout is documented in
:mod:`facezoo.training.run_folder`) is written by that module.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras

from facezoo._registry import model_info
from facezoo.datasets.core import naming_undecodable
from facezoo.training.data import RecipeData
from facezoo.training.distribute import follow_chief, is_chief, make_strategy, use_mixed_precision
from facezoo.training.evaluate import evaluate
from facezoo.training.keras_bridge import (
    backbones,
    build_recipe_model,
    compile_stage,
    fix_keras_distribution,
    output_kinds,
    resized,
    stage_callbacks,
)
from facezoo.training.recipes import Recipe, Stage, random_backbone, resolve_recipe
from facezoo.training.run_folder import (
    PREVIOUS_PREFIX,
    RunTracker,
    TrainingResult,
    json_default,
    load_checkpoint,
    plot_curves,
    prepare_output_dir,
    set_aside,
    training_args,
    write_atomic,
)

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["TrainingResult", "run_recipe", "resolve_recipe", "make_strategy"]

_RUN_OPTIONS = ("verbose", "jit_compile")


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
        built_with = {
            k: v for k, v in initial_model._facezoo_config.items() if k not in ("input_shape", "backbone_weights")
        }
        overrides = {**built_with, **overrides}
    recipe = resolve_recipe(
        recipe, model=model, epochs=epochs, batch_size=batch_size, image_size=image_size, seed=seed, **overrides
    )
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer, got {limit!r}.")
    if initial_model is None and random_backbone(recipe):
        _warn_random_backbone(recipe)
    strategy = make_strategy(strategy) if isinstance(strategy, str) else strategy
    replicas = strategy.num_replicas_in_sync
    if recipe.batch_size % replicas:
        raise ValueError(
            f"batch_size {recipe.batch_size} is the global batch and must be divisible by the {replicas} replicas "
            f"of {type(strategy).__name__}; use e.g. {recipe.batch_size // replicas * replicas or replicas}."
        )
    use_mixed = use_mixed_precision(mixed_precision)
    if "://" in os.fspath(output_dir):
        raise ValueError(
            f"output_dir {os.fspath(output_dir)!r} is a URL; mount the bucket (e.g. with gcsfuse) and pass its path."
        )
    shared_dir = output_dir = Path(output_dir)
    args = training_args(recipe, limit, replicas, type(strategy).__name__, use_mixed, data_dir)
    if not is_chief(strategy):  # Other workers write to a temporary folder, removed at the end.
        output_dir = Path(tempfile.mkdtemp(prefix="facezoo-worker-"))
    finished = follow_chief(strategy, shared_dir, output_dir, lambda: prepare_output_dir(shared_dir, args, resume))
    if finished is not None:
        return finished

    start, cpu_start = time.perf_counter(), time.process_time()
    previous_policy = keras.mixed_precision.global_policy()
    try:
        data = RecipeData(recipe, data_dir, limit, on_error)
        data.check(recipe.splits)
        from facezoo.hub import check_replaceable

        check_replaceable(output_dir / "pretrained")  # a user's file there would be lost, or fail the run at its end
        keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
        keras.utils.set_random_seed(recipe.seed)
        with strategy.scope():
            net = build_recipe_model(recipe, recipe.stage_image_size(recipe.stages[0]))
            if initial_model is not None:
                net.set_weights(initial_model.get_weights())
        for stage in recipe.stages:  # Validate every stage's size before training starts.
            if recipe.stage_image_size(stage) != recipe.stage_image_size(recipe.stages[0]):
                build_recipe_model(recipe, recipe.stage_image_size(stage))
        (output_dir / "run.json").parent.mkdir(parents=True, exist_ok=True)
        if not resume:
            set_aside(output_dir)
        write_atomic(output_dir / "run.json", json.dumps(args, indent=2))
        tracker = RunTracker(output_dir, [stage.name for stage in recipe.stages])
        earlier_wall, earlier_cpu = tracker.epoch_times()  # epochs a cut-off process finished before this one
        for stage in recipe.stages:
            net = _run_stage(recipe, stage, net, data, strategy, tracker, options)
        # A fresh, uncompiled model holding the best weights is the run's deliverable; it is tested on one device
        # (outside the strategy, whose replicas could not split a last, uneven test batch).
        net = build_recipe_model(recipe, recipe.stage_image_size(recipe.stages[-1]))
        net.load_weights(tracker.best_path)
        test = data.dataset(recipe.splits[2])
        evaluation = evaluate(net, test, batch_size=recipe.batch_size, targets=dict(recipe.targets), on_error=on_error)
        history = tracker.history_columns()
        plot_curves(history, output_dir / "curves.png")
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
            wall_time_s=time.perf_counter() - start + earlier_wall,
            cpu_time_s=time.process_time() - cpu_start + earlier_cpu,
            model=net,
            evaluation=evaluation,
        )
        write_atomic(output_dir / "result.json", json.dumps(result.to_json(), indent=2, default=json_default))
        for previous in output_dir.glob(f"{PREVIOUS_PREFIX}*"):
            shutil.rmtree(previous, ignore_errors=True)
        if output_dir != shared_dir:  # Another worker's result points at the chief's files.
            result = dataclasses.replace(
                result,
                output_dir=shared_dir,
                best_weights=shared_dir / tracker.best_path.name,
                pretrained_dir=shared_dir / pretrained.name,
            )
        return result
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
        if output_dir != shared_dir:
            shutil.rmtree(output_dir, ignore_errors=True)


def _warn_random_backbone(recipe: Recipe) -> None:
    """One line on what a random backbone means for ``recipe`` and what to pass instead."""
    built_frozen = {**model_info(recipe.model).default_config, **recipe.model_config}["freeze_backbone"]
    frozen = any(built_frozen if stage.freeze_backbone is None else stage.freeze_backbone for stage in recipe.stages)
    what = "trains a head on the random features of its frozen backbone" if frozen else "fine-tunes a random backbone"
    warnings.warn(
        f"{recipe.name}: {recipe.model} starts from a random backbone (backbone_weights=None), so it {what}: no "
        'transfer learning. Pass backbone_weights="imagenet" (the write-ups\' start; downloaded once) or the backbone '
        "of a facezoo model with weights (a weight name or save_pretrained folder; for MobileNetV2 models the face "
        'backbone, e.g. backbone_weights="face_mobilenet_v2.faces", see docs/models/face_backbone.md).',
        UserWarning,
        stacklevel=2,
    )


def _run_stage(
    recipe: Recipe,
    stage: Stage,
    net: keras.Model,
    data: RecipeData,
    strategy: tf.distribute.Strategy,
    tracker: RunTracker,
    options: dict[str, Any],
) -> keras.Model:
    import tensorflow as tf

    size = recipe.stage_image_size(stage)
    state = tracker.stage_state(stage.name)
    if state.get("done"):
        with strategy.scope():
            net = resized(net, recipe, size)
        load_checkpoint(net, tracker.stage_dir(stage.name) / state["weights"])
        return net
    with strategy.scope():
        net = resized(net, recipe, size)
        if stage.freeze_backbone is not None:
            frozen = backbones(net)
            if not frozen:
                raise ValueError(f"Stage {stage.name!r} freezes a backbone, but {net.name} has no backbone sub-model.")
            for backbone in frozen:
                backbone.trainable = not stage.freeze_backbone
        jit = options.get("jit_compile", "auto" if tf.config.list_logical_devices("GPU") else False)
        compile_stage(net, recipe, stage, jit)
        net.optimizer.build(net.trainable_variables)
        fix_keras_distribution(net, strategy)
    initial_epoch = 0
    if state:
        load_checkpoint(net, tracker.stage_dir(stage.name) / state["weights"])
        initial_epoch = int(state["epoch"])
    if initial_epoch < stage.epochs:
        kinds = output_kinds(net)
        seed = recipe.seed + 1000 * recipe.stages.index(stage) + initial_epoch
        train = data.pipeline(
            recipe.splits[0], size, recipe.batch_size, kinds, training=True, augmentation=stage.augmentation, seed=seed
        )
        val = data.pipeline(
            recipe.splits[1],
            size,
            recipe.batch_size,
            kinds,
            training=False,
            augmentation=None,
            seed=seed,
            replicas=strategy.num_replicas_in_sync,
        )
        callbacks = stage_callbacks(stage, tracker, [row[stage.monitor] for row in state.get("history", [])])
        with warnings.catch_warnings(), naming_undecodable(*map(data.dataset, recipe.splits[:2])):
            if data.on_error == "skip":  # skipping makes the epoch length unknown in advance, as Keras then warns
                warnings.filterwarnings("ignore", message="Your input ran out of data")
            net.fit(
                train,
                validation_data=val,
                epochs=stage.epochs,
                initial_epoch=initial_epoch,
                callbacks=callbacks,
                shuffle=False,
                verbose=options.get("verbose", "auto"),
            )
    tracker.finish_stage(net, stage.name)
    return net


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
