"""Training entry points: :func:`fit` runs any recipe of :data:`~facezoo.training.RECIPES`; the ``fit_*`` helpers
are named shortcuts to it, generated from :data:`HELPERS`, their docstrings listing their recipe's defaults as the
recipe table holds them (``help(facezoo.training.fit_age_cnn)``; :func:`describe_recipe` gives the same list for
any recipe).

Every entry point takes ``data_dir`` (datasets root or the dataset's folder), ``output_dir`` (default
``runs/<recipe>``), and keyword-only ``model``, ``epochs``, ``batch_size`` (global), ``image_size``, ``strategy``
(one of :data:`STRATEGIES` or a ``tf.distribute.Strategy``), ``mixed_precision``, ``resume``, ``limit``, ``seed``,
``experiment`` (a write-up experiment of :data:`~facezoo.training.EXPERIMENTS`) and ``**overrides``; ``None`` keeps
the recipe's value. See :func:`fit` and :func:`~facezoo.training.engine.run_recipe` for their meaning.
"""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facezoo.training.distribute import STRATEGIES
from facezoo.training.evaluate import Table
from facezoo.training.recipes import EXPERIMENTS, RECIPES, Recipe, Stage, find_experiment

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from facezoo.training.run_folder import TrainingResult

__all__ = [
    "STRATEGIES",
    "HELPERS",
    "Helper",
    "fit",
    "describe_recipe",
    "fit_selfie_resnet",
    "fit_age_cnn",
    "fit_person_attributes",
    "fit_celeba_gender",
    "fit_attractive_net",
    "fit_utkface",
    "fit_face_backbone",
]

PathLike = str | os.PathLike


def fit(
    recipe: str | Recipe,
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
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
    experiment: str | None = None,
    ablation: bool | str = False,
    **overrides: Any,
) -> TrainingResult:
    """Train, test and package a model by a recipe: the one implementation behind every ``fit_*`` helper and
    ``facezoo train``.

    Args:
        recipe: A name from :data:`~facezoo.training.RECIPES` (e.g. ``"age_vgg16"``) or a :class:`Recipe`.
        data_dir: Datasets root or the dataset's own folder (``None``: ``facezoo.datasets``' default root).
        output_dir: Run folder (default ``runs/<recipe>``, ``runs/<recipe>-<experiment>`` for an experiment,
            ``runs/selfie_ablation`` for an ablation).
        model: A registered model name replacing the recipe's, or a built facezoo model whose weights start the run.
        experiment: Run the recipe as a write-up ran one of its experiments (a name of
            ``EXPERIMENTS[recipe]``, e.g. ``"baseline"`` for ``"age_cnn"``); the other arguments apply on top.
        ablation: Recipe ``selfie_resnet`` only. ``True``: train the four residual x batch-norm experiments
            (write-up Table 1) into ``output_dir/<experiment>``; ``"grid"``: the four layers x filters experiments
            of the vanilla CNN without batch norm (Table 2). The result is the best experiment's, with ``table``
            comparing the test MAE to the write-up's and ``variants`` holding every experiment's result.
        **overrides: Builder arguments (e.g. ``variant="regularized"``), stage and optimizer fields, ``stages``,
            ``splits``, ``dataset_options`` (see :func:`~facezoo.training.recipes.resolve_recipe`), ``verbose``,
            ``jit_compile`` and ``on_error``; the other arguments as for
            :func:`~facezoo.training.engine.run_recipe`.

    Returns:
        A :class:`~facezoo.training.TrainingResult`.

    Raises:
        ValueError: an unknown recipe (naming close matches), experiment (naming the recipe's) or override,
            ``ablation`` for another recipe or with an experiment; see :func:`~facezoo.training.engine.run_recipe`
            for the rest.
    """
    recipe = _recipe(recipe)
    options = dict(
        model=model, epochs=epochs, batch_size=batch_size, image_size=image_size, strategy=strategy,
        mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )  # fmt: skip
    if ablation:
        if experiment is not None:
            raise ValueError("ablation= runs a write-up table's experiments itself; pass ablation or experiment.")
        return _fit_ablation(recipe, ablation, data_dir, output_dir, options)
    from facezoo.training.engine import run_recipe

    run_name = recipe.name
    if experiment is not None:
        run_name = f"{recipe.name}-{experiment}"
        recipe = find_experiment(recipe.name, experiment).recipe
    return run_recipe(recipe, data_dir, output_dir or Path("runs") / run_name, **options)


def _recipe(recipe: str | Recipe) -> Recipe:
    if isinstance(recipe, Recipe):
        return recipe
    if recipe not in RECIPES:
        close = difflib.get_close_matches(str(recipe), list(RECIPES), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown recipe {recipe!r}.{hint} Recipes: {', '.join(RECIPES)}.")
    return RECIPES[recipe]


def _fit_ablation(
    recipe: Recipe, ablation: bool | str, data_dir: PathLike | None, output_dir: PathLike | None, options: dict
) -> TrainingResult:
    """The selfie write-up's ablation tables: one run per experiment of the table, the best one's result with the
    table."""
    from facezoo.training.engine import run_recipe

    if recipe.name != "selfie_resnet":
        raise ValueError(f"ablation= reproduces the selfie write-up's tables; recipe {recipe.name!r} has none.")
    if ablation not in (True, "grid"):
        raise ValueError(f"ablation must be False, True (Table 1) or 'grid' (Table 2), got {ablation!r}.")
    root = Path(output_dir or Path("runs") / "selfie_ablation")
    table, keys = (
        ("Table 1", ("residual", "batch_norm")) if ablation is True else ("Table 2", ("n_layers", "n_filters"))
    )
    cell = lambda value: ("yes" if value else "no") if isinstance(value, bool) else value  # noqa: E731
    columns = (*keys, "test_mae", "write_up_test_mae")
    results, rows = {}, []
    for name, experiment in EXPERIMENTS[recipe.name].items():
        if not experiment.row.startswith(f"{table},"):
            continue
        clash = sorted(set(experiment.overrides) & set(options))
        if clash:
            raise ValueError(f"ablation={ablation!r} sets {clash} itself; do not pass them.")
        result = run_recipe(experiment.recipe, data_dir, root / name, **options)
        results[name] = result
        key = (cell(experiment.overrides[k]) for k in keys)
        rows.append((*key, result.test_metrics["mae"], experiment.reported["mae"]))
    best = min(results.values(), key=lambda r: r.test_metrics["mae"])
    title = (
        "Table 1: test MAE by residual connection and batch norm"
        if ablation is True
        else "Table 2: test MAE of the vanilla CNN by layers and filters"
    )
    best.table, best.variants = Table(columns, tuple(rows), title=title), results
    return best


# ------------------------------------------------------------------------------------------------ fit_* helpers


@dataclass(frozen=True)
class Helper:
    """A named ``fit_*`` shortcut to :func:`fit`.

    Attributes:
        recipe: The recipe it runs (a key of :data:`~facezoo.training.RECIPES`).
        summary: What it trains, in one sentence; the recipe's numbers are added from the recipe table.
        data: What ``data_dir`` holds.
        notes: Extra prose (arguments of its own, where the recipe departs from the write-up).
        model_recipes: ``model=`` values that run another recipe instead (model name -> recipe name), unless an
            ``experiment`` is given.
    """

    recipe: str
    summary: str
    data: str
    notes: str = ""
    model_recipes: Mapping[str, str] = field(default_factory=dict)


#: Helper name -> :class:`Helper`; ``fit_<name>`` functions are generated from it.
HELPERS: Mapping[str, Helper] = {
    "fit_selfie_resnet": Helper(
        "selfie_resnet",
        "Selfie popularity (write-up 000); validation MAE every epoch, the best epoch is kept.",
        "Datasets root or the ``Selfie-dataset`` folder.",
        '``ablation=True`` or ``"grid"`` trains the write-up\'s Table 1 or Table 2 variants (see :func:`fit`).',
    ),
    "fit_age_cnn": Helper(
        "age_cnn",
        "Age class on IMFDB (write-up 001); the best epoch on validation accuracy is kept.",
        "Datasets root or the ``imfdb-age`` folder (``train.csv`` + ``Train/``).",
        '``variant="regularized"`` selects the batch-norm + dropout CNN; ``model="age_vgg16"`` runs the VGG16 '
        "recipe ``age_vgg16`` instead (output folder ``runs/age_vgg16``). The recipe trains on the stratified split "
        "of all images; the experiments train on the write-up's balanced split and test on its validation part.",
        {"age_vgg16": "age_vgg16"},
    ),
    "fit_person_attributes": Helper(
        "person_attributes",
        "Person attributes (write-up 002): DenseNet121 from scratch with one cross-entropy head per attribute.",
        "Datasets root or the ``hvc`` folder (``hvc_annotations.csv`` + ``resized/``).",
        "``epochs`` caps every stage, ``image_size`` replaces every stage's size and ``stages=[...]`` runs a subset.",
    ),
    "fit_celeba_gender": Helper(
        "celeba_gender",
        "CelebA ``Male`` (write-up 003); the best epoch on validation accuracy is kept.",
        "Datasets root or the ``celeba`` folder.",
        '``model="celeba_inception_v3"`` trains the transfer model instead of the simple CNN (from a random '
        'InceptionV3 unless ``backbone_weights`` is given; ``experiment="inception_v3"`` starts from ImageNet).',
    ),
    "fit_attractive_net": Helper(
        "attractive_net",
        "AttractiveNet on SCUT-FBP5500 (write-up 004): a frozen backbone, then every layer.",
        "Datasets root or the ``SCUT-FBP5500_v2`` folder.",
        'Pass ``backbone_weights="imagenet"`` for the write-up\'s ImageNet start (``experiment="two_stage"``).',
    ),
    "fit_utkface": Helper(
        "utkface",
        "UTKFace age / gender / race (facezoo's own recipe).",
        "Datasets root or the ``UTKFace`` folder.",
        "The age weight brings the three losses to a similar scale at the start (age Huber ~ 5 x years of error); "
        "Huber rather than MSE keeps UTKFace's noisy ages from dominating.",
    ),
    "fit_face_backbone": Helper(
        "face_backbone",
        "facezoo's face backbone (``face_mobilenet_v2``): multi-task pretraining on ``facezoo.datasets.faces``, the "
        "training splits of UTKFace, IMFDB, CelebA and SCUT-FBP5500 (none of their test images); each head's loss "
        "is masked to the images labelled for it.",
        "Datasets root holding ``UTKFace/``, ``imfdb-age/``, ``celeba/`` and ``SCUT-FBP5500_v2/``.",
        'E.g. ``dataset_options={"members": ("utkface",)}`` pretrains on one member.',
    ),
}


def describe_recipe(recipe: Recipe) -> str:
    """The recipe's defaults in words, one line per item (a Markdown list), read from the recipe itself."""
    lines = [
        f"- model ``{recipe.model}``"
        + (f" ({', '.join(f'{k}={v!r}' for k, v in recipe.model_config.items())})" if recipe.model_config else "")
        + f", dataset ``{recipe.dataset}``"
        + (f" ({', '.join(f'{k}={v!r}' for k, v in recipe.dataset_options.items())})" if recipe.dataset_options else "")
        + f", splits {', '.join(recipe.splits)}, batch {recipe.batch_size}, "
        f"seed {recipe.seed}",
        "- targets: " + ", ".join(out if out == head else f"{out} <- {head}" for out, head in recipe.targets.items()),
    ]
    lines += [f"- stage ``{stage.name}``: {_describe_stage(recipe, stage)}" for stage in recipe.stages]
    return "\n".join(lines)


def _describe_experiments(recipe: str) -> str:
    """The write-up experiments of ``recipe`` as a Markdown list (``""`` if none)."""
    experiments = EXPERIMENTS.get(recipe, {})
    if not experiments:
        return ""
    lines = [
        f"- ``{name}``: {e.row} (write-up {e.write_up}: {e.reported_split} "
        + ", ".join(f"{metric} {value:g}" for metric, value in e.reported.items())
        + ")"
        for name, e in experiments.items()
    ]
    return "Write-up experiments (``experiment=``; ``facezoo.training.EXPERIMENTS``):\n\n" + "\n".join(lines) + "\n\n"


def _describe_stage(recipe: Recipe, stage: Stage) -> str:
    height, width = recipe.stage_image_size(stage)
    opt = stage.optimizer
    optimizer = f"{opt.name} {opt.learning_rate:g}"
    if opt.clipnorm is not None:
        optimizer += f", clipnorm {opt.clipnorm:g}"
    if opt.lr_decay is not None:
        optimizer += f" x {opt.lr_decay:g} per epoch"
    if opt.warmup_epochs:
        optimizer += f", {opt.warmup_epochs} warm-up epoch{'s' if opt.warmup_epochs > 1 else ''}"
    if opt.schedule:
        optimizer += f", {opt.schedule} decay"
    losses = ", ".join(
        (f"{stage.loss_weights[head]:g} x " if stage.loss_weights.get(head, 1.0) != 1.0 else "")
        + loss.name
        + (f"(delta {loss.delta:g})" if loss.delta is not None else "")
        + f" on {head}"
        for head, loss in stage.losses.items()
    )
    parts = [f"{stage.epochs} epochs at {height}x{width}", optimizer, losses, f"monitor {stage.monitor}"]
    if stage.freeze_backbone is not None:
        parts.append("backbone frozen" if stage.freeze_backbone else "every layer trains")
    if stage.augmentation is not None:
        changed = {
            name: value
            for name, value in vars(stage.augmentation).items()
            if value != getattr(type(stage.augmentation)(), name)
        }
        parts.append("augmentation " + ", ".join(f"{k} {v}" for k, v in changed.items()))
    if stage.early_stopping is not None:
        e = stage.early_stopping
        parts.append(
            f"early stopping (patience {e.patience}, min_delta {e.min_delta:g}"
            + (", restore best)" if e.restore_best_weights else ")")
        )
    if stage.reduce_lr_on_plateau is not None:
        r = stage.reduce_lr_on_plateau
        parts.append(
            f"reduce lr on plateau (x{r.factor:g}, patience {r.patience}, min_lr {r.min_lr:g}, "
            f"min_delta {r.min_delta:g})"
        )
    return "; ".join(parts)


def _make_helper(name: str, helper: Helper) -> Callable[..., TrainingResult]:
    def helper_fn(data_dir: PathLike | None = None, output_dir: PathLike | None = None, **options: Any):
        model = options.get("model")
        model_name = model if isinstance(model, str) else getattr(model, "name", None)
        recipe = (
            helper.recipe if options.get("experiment") else helper.model_recipes.get(model_name or "", helper.recipe)
        )
        return fit(recipe, data_dir, output_dir, **options)

    recipe = RECIPES[helper.recipe]
    parameters = [p for p in inspect.signature(fit).parameters.values() if p.name != "recipe"]
    if helper.recipe != "selfie_resnet":
        parameters = [p for p in parameters if p.name != "ablation"]
    helper_fn.__name__ = helper_fn.__qualname__ = name
    helper_fn.__module__ = __name__
    helper_fn.__signature__ = inspect.Signature(parameters, return_annotation="TrainingResult")  # type: ignore[attr-defined]
    helper_fn.__doc__ = (
        f"{helper.summary} Runs :func:`fit` with recipe ``{helper.recipe}`` ({recipe.reference}).\n\n"
        + (f"{helper.notes}\n\n" if helper.notes else "")
        + f"Recipe defaults (``facezoo.training.RECIPES[{helper.recipe!r}]``):\n\n{describe_recipe(recipe)}\n\n"
        + _describe_experiments(helper.recipe)
        + f"Args:\n    data_dir: {helper.data}\n    output_dir: Run folder (default ``runs/{helper.recipe}``"
        + (f", ``runs/{helper.recipe}-<experiment>`` for an experiment" if helper.recipe in EXPERIMENTS else "")
        + ").\n"
        "    **overrides: As for :func:`fit`.\n\n"
        "Returns:\n    A :class:`~facezoo.training.TrainingResult`.\n"
    )
    return helper_fn


fit_selfie_resnet = _make_helper("fit_selfie_resnet", HELPERS["fit_selfie_resnet"])
fit_age_cnn = _make_helper("fit_age_cnn", HELPERS["fit_age_cnn"])
fit_person_attributes = _make_helper("fit_person_attributes", HELPERS["fit_person_attributes"])
fit_celeba_gender = _make_helper("fit_celeba_gender", HELPERS["fit_celeba_gender"])
fit_attractive_net = _make_helper("fit_attractive_net", HELPERS["fit_attractive_net"])
fit_utkface = _make_helper("fit_utkface", HELPERS["fit_utkface"])
fit_face_backbone = _make_helper("fit_face_backbone", HELPERS["fit_face_backbone"])
