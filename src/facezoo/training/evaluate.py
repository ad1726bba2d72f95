"""Test-set metrics, per-class and per-group tables, and error plots for any facezoo model."""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from facezoo._registry import measured_on
from facezoo.specs import OutputSpec

if TYPE_CHECKING:
    import keras

    from facezoo.datasets import FaceDataset

__all__ = [
    "Table",
    "Evaluation",
    "evaluate",
    "evaluation_options",
    "load_for_evaluation",
    "missing_labels",
    "regression_metrics",
    "classification_metrics",
]

logger = logging.getLogger("facezoo.training")


@dataclass(frozen=True)
class Table:
    """A small result table (rows of plain values) that prints as Markdown or CSV.

    Attributes:
        columns: Column names.
        rows: One tuple per row, in column order.
        title: Optional caption.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    title: str = ""

    def to_dicts(self) -> list[dict[str, Any]]:
        """The rows as dicts keyed by column."""
        return [dict(zip(self.columns, row)) for row in self.rows]

    def to_markdown(self, digits: int = 3) -> str:
        """A GitHub-flavoured Markdown table, floats rounded to ``digits``."""
        cells = [[_format(v, digits) for v in row] for row in self.rows]
        lines = [f"**{self.title}**", ""] if self.title else []
        lines += ["| " + " | ".join(self.columns) + " |", "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(row) + " |" for row in cells]
        return "\n".join(lines)

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The table as CSV text; also written to ``path`` when given."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        if path is not None:
            with open(path, "w", encoding="utf-8") as file:
                file.write(buffer.getvalue())
        return buffer.getvalue()

    def __str__(self) -> str:
        return self.to_markdown()


def _format(value: Any, digits: int) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


@dataclass
class Evaluation:
    """What :func:`evaluate` measured.

    Attributes:
        metrics: Head -> metric name -> value (``mae``, ``rmse``, ``pearson_r``; or ``accuracy``, ``macro_f1``).
        tables: Named tables: ``"{head}/per_class"`` (precision, recall, F1, support per class) and
            ``"{head}/by_{annotation}"`` (per-group errors).
        confusion: Head -> confusion matrix (rows true class, columns predicted class).
        predictions: Head -> predictions (regression values, or class indices).
        targets: Head -> targets, aligned with ``predictions``.
        specs: Head -> its :class:`~facezoo.registry.OutputSpec`.
        skipped: Images left out with ``on_error="skip"`` (unreadable or undecodable).
    """

    metrics: dict[str, dict[str, float]]
    tables: dict[str, Table] = field(default_factory=dict)
    confusion: dict[str, np.ndarray] = field(default_factory=dict)
    predictions: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    targets: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    specs: dict[str, OutputSpec] = field(default_factory=dict, repr=False)
    skipped: list[str] = field(default_factory=list)

    def flat(self) -> dict[str, float]:
        """Metrics as one flat dict: ``{"mae": ...}`` for one head, ``{"age/mae": ...}`` for several."""
        if len(self.metrics) == 1:
            return dict(next(iter(self.metrics.values())))
        return {f"{head}/{name}": value for head, values in self.metrics.items() for name, value in values.items()}

    def plot_errors(self, path: str | os.PathLike, *, bins: int = 30) -> None:
        """Save a histogram of prediction errors (target - prediction) for each regression head to ``path``.

        Needs matplotlib (``pip install facezoo[plots]``). Raises ``ValueError`` without regression heads.
        """
        heads = [head for head, spec in self.specs.items() if spec.kind == "regression"]
        if not heads:
            raise ValueError("plot_errors needs a regression head; this evaluation has none.")
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(heads), figsize=(5 * len(heads), 3.5), squeeze=False)
        for ax, head in zip(axes[0], heads):
            ax.hist(self.targets[head] - self.predictions[head], bins=bins, color="tab:blue", alpha=0.8)
            ax.set(
                xlabel=f"{head} error (target - prediction)",
                ylabel="images",
                title=f"{head}: MAE {self.metrics[head]['mae']:.3f}",
            )
        fig.tight_layout()
        fig.savefig(path, dpi=100)
        plt.close(fig)


def missing_labels(values: np.ndarray) -> np.ndarray:
    """Where a target array has no label (``facezoo.datasets.faces`` mixes datasets): NaN scores, class index -1."""
    values = np.asarray(values)
    return np.isnan(values) if values.dtype.kind == "f" else values < 0


def regression_metrics(targets: np.ndarray, predictions: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and Pearson r of two 1-D arrays (r is NaN when either is constant)."""
    y, p = np.asarray(targets, np.float64).ravel(), np.asarray(predictions, np.float64).ravel()
    error = y - p
    constant = y.std() == 0 or p.std() == 0
    return {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "pearson_r": float("nan") if constant else float(np.corrcoef(y, p)[0, 1]),
        "count": float(len(y)),
    }


def classification_metrics(
    targets: np.ndarray, predicted: np.ndarray, labels: Sequence[str]
) -> tuple[dict[str, float], Table, np.ndarray]:
    """Accuracy and macro F1, the per-class precision / recall / F1 table and the confusion matrix.

    Args:
        targets: True class indices.
        predicted: Predicted class indices.
        labels: Class labels, indexed by class.
    """
    n = len(labels)
    y, p = np.asarray(targets, np.int64).ravel(), np.asarray(predicted, np.int64).ravel()
    confusion = np.zeros((n, n), dtype=np.int64)
    np.add.at(confusion, (y, p), 1)
    true_pos = np.diag(confusion).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # 0/0 counts as 0, as sklearn's zero_division=0.
        precision = np.nan_to_num(true_pos / confusion.sum(axis=0))
        recall = np.nan_to_num(true_pos / confusion.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    rows = tuple(
        (label, float(precision[i]), float(recall[i]), float(f1[i]), int(confusion[i].sum()))
        for i, label in enumerate(labels)
    )
    present = confusion.sum(axis=1) > 0
    metrics = {
        "accuracy": float(true_pos.sum() / max(len(y), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "count": float(len(y)),
    }
    return metrics, Table(("class", "precision", "recall", "f1", "support"), rows), confusion


def evaluation_options(model: Any, dataset: str, dataset_options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The ``facezoo.datasets.load`` options to evaluate ``model`` on dataset ``dataset`` with: those its weights
    were measured with (``WeightsInfo.dataset_options``, the ``dataset_options`` of a published folder's
    ``facezoo.json``) when they were measured on that dataset, updated by ``dataset_options``.

    Options matter: e.g. ``attractive_net.scut_fbp5500`` was measured on SCUT-FBP5500's official 40 % test split;
    the default split's test part holds images it was trained on.
    """
    measured, options = measured_on(model)
    return {**(options if measured == dataset else {}), **dict(dataset_options or {})}


def load_for_evaluation(
    model: Any,
    dataset: str,
    *,
    split: str = "test",
    data_dir: str | os.PathLike | None = None,
    dataset_options: Mapping[str, Any] | None = None,
) -> FaceDataset:
    """Split ``split`` of dataset ``dataset`` loaded with :func:`evaluation_options`; its ``info["options"]`` records
    the options used."""
    from facezoo import datasets

    options = evaluation_options(model, dataset, dataset_options)
    loaded = datasets.load(dataset, data_dir, split=split, **options)
    return dataclasses.replace(loaded, info={**loaded.info, "options": options})


def evaluate(
    model: keras.Model | str | os.PathLike,
    dataset: FaceDataset | str,
    *,
    split: str = "test",
    data_dir: str | os.PathLike | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    by: str | Sequence[str] | None = None,
    batch_size: int = 32,
    targets: dict[str, str] | None = None,
    on_error: str = "raise",
    flip: bool = False,
) -> Evaluation:
    """Evaluate a model on a ``facezoo.datasets`` dataset.

    Regression heads get MAE, RMSE and Pearson r; classification heads accuracy, macro F1, a per-class
    precision / recall / F1 table and a confusion matrix. ``by`` names annotations of the dataset (e.g.
    ``"gender"``, ``"age_category"``, ``"race"``) to tabulate the errors per group, as write-up 000 did. Images
    without a head's label (NaN score, class -1) are left out of that head's metrics.

    Args:
        model: A facezoo model, or any source :func:`facezoo.create_model` takes (a registered name with its default
            weights, ``NAME.TAG``, ``hf://org/repo[@rev]``, ``org/repo`` or a folder). Its outputs are matched to
            the dataset's targets by name, case-insensitively.
        dataset: A ``facezoo.datasets.FaceDataset``, or a dataset name: then its split ``split`` is loaded from
            ``data_dir`` with the options the model's weights were measured with, updated by ``dataset_options``
            (:func:`evaluation_options`). Images are resized to the model's input size.
        split: With a dataset name: the split to evaluate on.
        data_dir: With a dataset name: the datasets root or the dataset's folder (default as ``datasets.load``).
        dataset_options: With a dataset name: ``facezoo.datasets.load`` options replacing the recorded ones.
        by: Annotation name(s) to group by; also accepts a target head (e.g. ``"gender"`` on UTKFace).
        batch_size: Prediction batch size.
        targets: Model output name -> dataset target head, where the names differ (e.g. ``{"male": "Male"}``).
        on_error: An image that is missing, not an image or fails to decode: ``"raise"`` a ``ValueError`` naming
            it, or ``"skip"`` it (each skipped file is logged once and listed in :attr:`Evaluation.skipped`).
        flip: Average each prediction over the image and its mirror image (test-time augmentation).

    Returns:
        An :class:`Evaluation`.

    Raises:
        ValueError: the dataset is empty, an output has no matching target or one of another kind or class count,
            ``by`` names no annotation of the dataset, an image is unreadable with ``on_error="raise"``, or
            ``dataset_options`` come with a ``FaceDataset``.
    """
    from facezoo.factory import load_model
    from facezoo.inference import output_specs

    model = load_model(model)
    if isinstance(dataset, str):
        dataset = load_for_evaluation(model, dataset, split=split, data_dir=data_dir, dataset_options=dataset_options)
    elif dataset_options is not None:
        raise ValueError("dataset_options apply to a dataset name; load the FaceDataset with those options instead.")
    if len(dataset) == 0:
        raise ValueError(f"{getattr(dataset, 'name', 'the dataset')}: nothing to evaluate, the dataset is empty.")
    specs = {spec.name: spec for spec in output_specs(model)}
    mapping = _match_targets(list(specs), dict(dataset.targets), targets or {})
    _check_kinds(specs, mapping, dataset)
    by_names = [by] if isinstance(by, str) else list(by or ())
    _groups(dataset, by_names)  # unknown names fail before predicting
    full = dataset
    dataset = dataset.readable(on_error)
    raw, kept = _predict(model, dataset, batch_size, on_error, next(iter(specs)), flip)
    if len(kept) < len(dataset):
        for i in np.setdiff1d(np.arange(len(dataset)), kept):
            logger.warning("%s: skipped %s: it fails to decode", dataset.name, dataset.paths[i])
    dataset = dataset.subset(kept)
    if len(dataset) == 0:
        raise ValueError(f"{dataset.name}: no image of the {len(full)} could be read.")
    skipped = sorted(set(full.paths) - set(dataset.paths))
    groups = _groups(dataset, by_names)

    result = Evaluation(metrics={}, specs={head: specs[head] for head in mapping}, skipped=skipped)
    for head, target_name in mapping.items():
        truth = np.asarray(dataset.targets[target_name]).reshape(len(dataset), -1)[:, 0]
        known = ~missing_labels(truth)  # Each head is measured on the images that have its label.
        if not known.any():
            continue
        spec, values, truth = specs[head], np.asarray(raw[head], dtype=np.float64)[known], truth[known]
        if spec.kind == "regression":
            predicted = values.reshape(len(values), -1)[:, 0]
            result.metrics[head] = regression_metrics(truth, predicted)
        else:
            predicted = (values.reshape(-1) >= 0.5).astype(np.int64) if spec.kind == "binary" else values.argmax(-1)
            labels = spec.labels or tuple(map(str, range(max(int(truth.max()), int(predicted.max())) + 1)))
            metrics, per_class, confusion = classification_metrics(truth, predicted, labels)
            result.metrics[head], result.confusion[head] = metrics, confusion
            result.tables[f"{head}/per_class"] = per_class
        result.predictions[head], result.targets[head] = predicted, truth.astype(predicted.dtype)
        for name, (group_values, group_labels) in groups.items():
            group = (group_values[known], group_labels)
            result.tables[f"{head}/by_{name}"] = _group_table(spec, truth, predicted, group, name)
    return result


def _predict(
    model: keras.Model, dataset: Any, batch_size: int, on_error: str, single: str, flip: bool
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Predictions per output and the indices of the images they are for (``on_error="skip"`` drops some)."""
    from facezoo.datasets.core import naming_undecodable
    from facezoo.inference import forward

    height, width = (int(d) for d in model.input_shape[1:3])
    indexed = dataclasses.replace(dataset, targets={"index": np.arange(len(dataset))}, heads=())
    outputs: dict[str, list[np.ndarray]] = {}
    kept = []
    with naming_undecodable(dataset):
        for images, index in indexed.as_tf_dataset((height, width), batch_size, on_error=on_error):
            for name, values in forward(model, images.numpy(), single, flip=flip).items():
                outputs.setdefault(name, []).append(values)
            kept.append(index.numpy())
    if not kept:
        return {}, np.zeros(0, dtype=np.int64)
    return {name: np.concatenate(parts) for name, parts in outputs.items()}, np.concatenate(kept)


def _check_kinds(specs: dict[str, OutputSpec], mapping: dict[str, str], dataset: Any) -> None:
    """Each output and its target are both regression, or both classes of the same count within range."""
    heads = {spec.name: spec for spec in getattr(dataset, "heads", ())}
    for output, target in mapping.items():
        spec, head = specs[output], heads.get(target)
        name = getattr(dataset, "name", "the dataset")
        values = np.asarray(dataset.targets[target])
        if spec.kind == "regression":
            if head is not None and head.kind != "regression":
                raise ValueError(
                    f"Model output {output!r} is a regression, but {name}'s target {target!r} is {head.kind} "
                    f"({', '.join(head.labels)}); evaluate the model on a dataset with its heads."
                )
            continue
        n = len(spec.labels) if spec.labels else 2
        if head is not None and head.kind == "regression":
            raise ValueError(
                f"Model output {output!r} is {spec.kind} over {', '.join(spec.labels) or n} classes, but {name}'s "
                f"target {target!r} is a regression ({head.units or 'values'}); evaluate the model on a dataset "
                "with its heads."
            )
        values = values[~missing_labels(values)]  # -1: no label (mixed datasets); left out of the metrics
        bad = values[(values >= n) | (values != np.round(values))]
        if bad.size:
            raise ValueError(
                f"{name}'s target {target!r} holds {bad[0]!r}, not a class index of model output {output!r} "
                f"(0..{n - 1}: {', '.join(spec.labels)}); evaluate the model on a dataset with its heads."
            )


def _match_targets(outputs: list[str], available: dict[str, Any], explicit: dict[str, str]) -> dict[str, str]:
    lower = {name.lower(): name for name in available}
    mapping = {}
    for output in outputs:
        target = explicit.get(output) or lower.get(output.lower())
        if target is None or target not in available:
            raise ValueError(
                f"Model output {output!r} has no target in the dataset (targets: {', '.join(available)}); "
                "pass targets={output: target}."
            )
        mapping[output] = target
    return mapping


def _groups(dataset: Any, names: list[str]) -> dict[str, tuple[np.ndarray, tuple[str, ...] | None]]:
    """Each ``by`` name's values, with the class labels when it is a labelled target head (e.g. UTKFace race)."""
    sources = {**dict(dataset.targets), **dict(getattr(dataset, "annotations", {}) or {})}
    missing = [name for name in names if name not in sources]
    if missing:
        raise ValueError(f"by={missing} names no annotation of this dataset; available: {', '.join(sources)}.")
    labels = {spec.name: spec.labels for spec in getattr(dataset, "heads", ()) if spec.labels}
    return {
        name: (
            np.asarray(sources[name]).reshape(len(dataset), -1)[:, 0],
            labels.get(name) if name in dataset.targets else None,
        )
        for name in names
    }


def _group_table(
    spec: OutputSpec,
    truth: np.ndarray,
    predicted: np.ndarray,
    group: tuple[np.ndarray, tuple[str, ...] | None],
    name: str,
) -> Table:
    values, labels = group
    rows: list[tuple[Any, ...]] = []
    for value in sorted(set(values.tolist()), key=lambda v: (isinstance(v, str), v)):
        mask = values == value
        shown = labels[int(value)] if labels else value
        if spec.kind == "regression":
            error = truth[mask] - predicted[mask]
            rows.append((shown, int(mask.sum()), float(np.mean(np.abs(error))), float(np.mean(error))))
        else:
            rows.append((shown, int(mask.sum()), float(np.mean(truth[mask] == predicted[mask]))))
    columns = (name, "count", "mae", "mean_error") if spec.kind == "regression" else (name, "count", "accuracy")
    return Table(columns, tuple(rows), title=f"{spec.name} by {name}")
