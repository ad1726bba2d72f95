"""Write the README's and docs' generated tables from the registry and the recipe table.

    python tools/generate_tables.py            # rewrite every stale block
    python tools/generate_tables.py --check    # exit 1, naming the stale files, if any block is stale

A generated block sits between marker comments; the rest of each page stays hand-written::

    <!-- generated: weights-table -->            every registered weight (model.tag, dataset, test split, metrics,
    <!-- end generated -->                      size, parameters, embedded / Hub / staged)
    <!-- generated: weights-table family=age -->     only the weights of one family's models
    <!-- generated: recipe-table -->             every recipe in facezoo.training.recipes.RECIPES, one row a stage
    <!-- generated: recipe-table recipe=person_attributes -->   one recipe
    <!-- generated: recipe-table family=age -->  the recipes that train one family's models
    <!-- generated: ablation-table weights=attractive_net.faces_ft_scut_fbp5500 -->   the runs one weight was chosen from
    <!-- generated: adapt-table -->              every model: what its weights adapt to, its feature maps, embedding
    <!-- generated: experiment-table -->         every write-up experiment in facezoo.training.EXPERIMENTS
    <!-- generated: experiment-table family=age -->  the experiments that train one family's models

The tables follow whatever is registered: new models, several tags per model, new recipes need no change here.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Callable, Iterable, Mapping

import facezoo
from facezoo.datasets.augment import Augmentation
from facezoo.registry import WeightsInfo
from facezoo.specs import ablation_markdown, metric_label
from facezoo.training.fitting import HELPERS
from facezoo.training.recipes import EXPERIMENTS, RECIPES, Experiment, Loss, Optimizer, Recipe, Stage

ROOT = Path(__file__).resolve().parents[1]
#: The files that may hold generated blocks.
FILES = ("README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").rglob("*.md")))
BLOCK = re.compile(
    r"(<!-- generated: (?P<kind>[\w-]+)(?P<args>[^>]*?) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S
)
COMMAND = "python tools/generate_tables.py"


def markdown(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    """A Markdown table; ``|`` inside cells is escaped."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def format_metrics(metrics: Mapping[str, float]) -> str:
    """``{"age/mae": 6.3739, "gender/accuracy": 0.8867}`` -> ``"age MAE 6.374, gender accuracy 0.8867"``."""
    return ", ".join(f"{metric_label(key)} {value:.4g}" for key, value in metrics.items())


def format_config(config: Mapping[str, object]) -> str:
    """Builder arguments of the weights, e.g. ``"160×160, freeze_backbone=False"`` (``None`` values left out)."""
    parts = []
    for key, value in config.items():
        if key == "input_shape":
            parts.insert(0, f"{value[0]}×{value[1]}")  # type: ignore[index]
        elif value is not None:
            parts.append(f"{key}={value!r}")
    return ", ".join(parts) or "defaults"


def where(weights: WeightsInfo) -> str:
    """How ``pretrained=`` gets the weights: embedded in the package, on the Hub, or only staged in ``weights/``."""
    places = (["embedded"] if weights.embedded else []) + ([f"Hub `{weights.repo_id}`"] if weights.uploaded else [])
    return " + ".join(places) or f"staged in `weights/{weights.repo_id.split('/', 1)[-1]}/`, not uploaded"


def weights_table(family: str | None = None) -> str:
    """Every registered weight (of ``family`` if given), in registry order within sorted model names."""
    rows = []
    for name in facezoo.list_models():
        info = facezoo.model_info(name)
        if family is not None and info.family != family:
            continue
        for tag, w in info.weights.items():
            size, params = f"{w.file_size / 1e6:.1f} MB", f"{w.num_params:,}"
            rows.append(
                (
                    f"`{name}.{tag}`",
                    format_config(w.config),
                    w.dataset,
                    w.split,
                    format_metrics(w.metrics)
                    + (f"; with `flip=True`: {format_metrics(w.flip_metrics)}" if w.flip_metrics else ""),
                    size,
                    params,
                    where(w),
                )
            )
    if not rows:
        return f"No published weights{f' for the {family} family' if family else ''} yet.\n"
    return markdown(("weights", "config", "dataset", "test split", "test metrics", "size", "parameters", "where"), rows)


def _number(value: float) -> str:
    """``0.0003`` -> ``"3e-4"``, ``0.9`` -> ``"0.9"``, ``2.0`` -> ``"2"``."""
    if 0 < abs(value) < 0.01:
        mantissa, exponent = f"{value:.0e}".split("e")
        if float(f"{mantissa}e{exponent}") == value:
            return f"{mantissa}e{int(exponent)}"
    return f"{value:g}"


def format_optimizer(opt: Optimizer) -> str:
    """E.g. ``"Adam 1e-3 x 0.9^epoch, clipnorm 2"``."""
    name = {"adam": "Adam", "rmsprop": "RMSprop", "sgd": "SGD"}.get(opt.name, opt.name)
    text = f"{name} {_number(opt.learning_rate)}"
    if opt.lr_decay is not None:
        text += f" × {_number(opt.lr_decay)}^epoch"
    if opt.warmup_epochs:
        text += f", {opt.warmup_epochs} warm-up epoch{'s' * (opt.warmup_epochs > 1)}"
    if opt.schedule:
        text += f", {opt.schedule}"
    if opt.clipnorm is not None:
        text += f", clipnorm {_number(opt.clipnorm)}"
    return text


def format_losses(losses: Mapping[str, Loss], weights: Mapping[str, float]) -> str:
    """E.g. ``"age: 0.1 × huber(δ 5); gender: CE"``; ``"CE on each of 8 heads"`` when all heads share one loss."""
    if len(losses) > 1 and len(set(losses.values())) == 1 and all(weights.get(h, 1.0) == 1 for h in losses):
        return f"{format_losses({'': next(iter(losses.values()))}, {})} on each of {len(losses)} heads"
    parts = []
    for head, loss in losses.items():
        name = {"sparse_categorical_crossentropy": "CE", "binary_crossentropy": "binary CE"}.get(loss.name, loss.name)
        if loss.delta is not None:
            name += f"(δ {_number(loss.delta)})"
        weight = weights.get(head, 1.0)
        parts.append(f"{head}: {_number(weight) + ' × ' if weight != 1 else ''}{name}")
    return "; ".join(parts) if len(parts) > 1 else parts[0].split(": ", 1)[1]


def format_augmentation(aug: Augmentation | None) -> str:
    """The non-default fields of an augmentation, e.g. ``"flip, rotation 40°, shift 0.2/0.2"``."""
    if aug is None:
        return "none"
    parts = ["flip"] if aug.horizontal_flip else []
    if aug.rotation_range:
        parts.append(f"rotation {_number(aug.rotation_range)}°")
    if aug.width_shift_range or aug.height_shift_range:
        parts.append(f"shift {_number(aug.width_shift_range)}/{_number(aug.height_shift_range)}")
    if aug.shear_range:
        parts.append(f"shear {_number(aug.shear_range)}")
    if aug.zoom_range:
        parts.append(f"zoom {_number(aug.zoom_range)}")
    if aug.random_erasing:
        low, high = aug.erasing_area
        parts.append(f"erasing p {_number(aug.random_erasing)} ({_number(low)}–{_number(high)} of the area)")
    return ", ".join(parts) or "none"


def format_callbacks(stage: Stage) -> str:
    """Early stopping and learning-rate reduction of a stage."""
    parts = []
    if stage.early_stopping:
        es = stage.early_stopping
        parts.append(f"early stop (patience {es.patience}{', best restored' if es.restore_best_weights else ''})")
    if stage.reduce_lr_on_plateau:
        rl = stage.reduce_lr_on_plateau
        parts.append(f"reduce LR ×{_number(rl.factor)} (patience {rl.patience})")
    return ", ".join(parts) or "–"


def _backbone(stage: Stage) -> str:
    return {True: "frozen", False: "trainable", None: "as built"}[stage.freeze_backbone]


def recipe_rows(recipe: Recipe, with_name: bool) -> list[tuple[object, ...]]:
    """One row per stage of ``recipe``."""
    rows = []
    for stage in recipe.stages:
        height, width = recipe.stage_image_size(stage)
        row = (
            f"`{stage.name}`",
            stage.epochs,
            f"{height}×{width}",
            recipe.batch_size,
            format_optimizer(stage.optimizer),
            format_losses(stage.losses, stage.loss_weights),
            format_augmentation(stage.augmentation),
            _backbone(stage),
            stage.monitor,
            format_callbacks(stage),
        )
        options = ", ".join(f"{key}={value!r}" for key, value in recipe.dataset_options.items())
        dataset = f"{recipe.dataset} ({options})" if options else recipe.dataset
        rows.append(((f"`{recipe.name}`", f"`{recipe.model}`", dataset) if with_name else ()) + row)
    return rows


def recipe_table(recipe: str | None = None, family: str | None = None) -> str:
    """Every recipe's stages, one recipe's, or those of the recipes training a ``family``'s models."""
    if recipe is not None and recipe not in RECIPES:
        raise ValueError(f"unknown recipe {recipe!r} in a recipe-table marker; choose from {', '.join(RECIPES)}")
    header = (
        "stage",
        "epochs",
        "size",
        "batch",
        "optimizer",
        "loss",
        "augmentation",
        "backbone",
        "monitor",
        "callbacks",
    )
    if recipe is not None:
        return markdown(header, recipe_rows(RECIPES[recipe], with_name=False))
    chosen = [r for r in RECIPES.values() if family is None or facezoo.model_info(r.model).family == family]
    if not chosen:
        return f"No recipe trains the {family} family's models yet.\n"
    rows = [row for r in chosen for row in recipe_rows(r, with_name=True)]
    return markdown(("recipe", "model", "dataset", *header), rows)


def ablation_table(weights: str) -> str:
    """The ablation rows of one registered weight, ``MODEL.TAG``."""
    name, _, tag = weights.partition(".")
    rows = facezoo.model_info(name).weights[tag].ablation
    return ablation_markdown(rows) if rows else f"No ablation is recorded for `{weights}`.\n"


def adapt_table() -> str:
    """Every registered model: the arguments its pretrained weights adapt to, its backbone's feature maps and the
    size of ``facezoo.feature_extractor``'s embedding."""
    rows = []
    for name in facezoo.list_models():
        info = facezoo.model_info(name)
        heads = ", ".join(spec.name for spec in info.outputs if spec.kind == "classification") or "none"
        sizes = "any (pooled features)" if info.pooled else "the weights' own (it flattens a feature map)"
        maps = ", ".join(f"{f.channels}@{f.stride}" for f in info.feature_info)
        rows.append((f"`{name}`", ", ".join(info.adaptable), heads, sizes, maps, f"{info.embedding_size:,}"))
    header = ("model", "adaptable", "num_classes heads", "input size", "feature maps (channels@stride)", "embedding")
    return markdown(header, rows)


def _call(recipe: str, experiment: str) -> str:
    """``fit_age_cnn(experiment="baseline")``, or ``fit("recipe", experiment=...)`` for a recipe without a helper."""
    helper = next((name for name, h in HELPERS.items() if h.recipe == recipe), None)
    return f'`{helper}(experiment="{experiment}")`' if helper else f'`fit("{recipe}", experiment="{experiment}")`'


def experiment_row(recipe: str, experiment: Experiment) -> tuple[object, ...]:
    """One row of the experiment table: the call, what the write-up ran and reported, the settings that differ."""
    r = experiment.recipe
    settings = ", ".join(
        f"{key}={value!r}"
        for key, value in experiment.overrides.items()
        if key not in ("model", "splits", "dataset_options")
    )
    options = ", ".join(f"{key}={value!r}" for key, value in r.dataset_options.items())
    data = f"{r.dataset}{f' ({options})' if options else ''}: " + " / ".join(r.splits)
    epochs = " + ".join(str(stage.epochs) for stage in r.stages)
    names = {key.rpartition("/")[2] for key in experiment.reported}
    if len(experiment.reported) > 1 and len(names) == 1 and all("/" in key for key in experiment.reported):
        per_head = ", ".join(f"{key.split('/')[0]} {value:.3g}" for key, value in experiment.reported.items())
        name = names.pop()
        reported = f"{experiment.reported_split} {metric_label(name)} per head: {per_head}"
    else:
        reported = f"{experiment.reported_split} " + format_metrics(experiment.reported)
    return (
        _call(recipe, experiment.name),
        f"{experiment.write_up}: {experiment.row}",
        f"`{r.model}`" + (f" {settings}" if settings else ""),
        data,
        epochs,
        reported,
    )


def experiment_table(family: str | None = None) -> str:
    """Every write-up experiment (of the experiments training ``family``'s models if given)."""
    rows = [
        experiment_row(recipe, experiment)
        for recipe, experiments in EXPERIMENTS.items()
        for experiment in experiments.values()
        if family is None or facezoo.model_info(experiment.recipe.model).family == family
    ]
    if not rows:
        return f"No write-up experiment trains the {family} family's models.\n"
    header = ("call", "write-up experiment", "model and settings", "data: train / validation / test", "epochs")
    return markdown((*header, "write-up result"), rows)


GENERATORS: dict[str, Callable[..., str]] = {
    "weights-table": weights_table,
    "recipe-table": recipe_table,
    "ablation-table": ablation_table,
    "adapt-table": adapt_table,
    "experiment-table": experiment_table,
}


def render(text: str, source: str = "") -> str:
    """``text`` with every generated block rewritten."""

    def replace(match: re.Match) -> str:
        kind = match["kind"]
        if kind not in GENERATORS:
            raise ValueError(f"{source}: unknown generated block {kind!r}; use one of {', '.join(GENERATORS)}")
        args = dict(arg.split("=", 1) for arg in match["args"].split())
        return match[1] + GENERATORS[kind](**args) + match[5]

    return BLOCK.sub(replace, text)


def stale_files(root: Path = ROOT) -> list[str]:
    """The files (relative to ``root``) whose generated blocks differ from what :func:`render` writes."""
    stale = []
    for name in FILES:
        path = root / name
        if path.is_file() and render(text := path.read_text(), name) != text:
            stale.append(name)
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report stale files (exit 1 if any)")
    args = parser.parse_args(argv)
    stale = stale_files()
    if args.check:
        if stale:
            print(f"stale generated tables in {', '.join(stale)}; run: {COMMAND}", file=sys.stderr)
        return 1 if stale else 0
    for name in stale:
        path = ROOT / name
        path.write_text(render(path.read_text(), name))
        print(f"updated {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
