"""Specs: what a model outputs or a dataset labels (:class:`OutputSpec`), a model's backbone feature maps
(:class:`FeatureInfo`) and pretrained weights (:class:`WeightsInfo`), everything known about a model without building
it (:class:`ModelInfo`) and about a dataset without reading it (:class:`DatasetInfo`, with its
:class:`DatasetCitation`).

The bottom layer of facezoo: this module imports nothing else of facezoo at import time, and no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from facezoo.geometry import FaceGeometry

__all__ = [
    "TASKS",
    "OUTPUT_KINDS",
    "ADAPTABLE",
    "OutputSpec",
    "FeatureInfo",
    "WeightsInfo",
    "ModelInfo",
    "Marker",
    "DatasetCitation",
    "DatasetInfo",
    "resize_heads",
    "ablation_markdown",
    "metric_label",
]

TASKS = ("regression", "classification", "multi-task classification")
OUTPUT_KINDS = ("regression", "binary", "classification")
#: Builder arguments that pretrained weights still load with when they differ from the weights' config:
#: ``num_classes`` (re-initialises the heads it resizes), ``input_shape`` (for models whose heads see globally pooled
#: features, :attr:`ModelInfo.pooled`), ``freeze_backbone`` and ``dropout`` (no weights depend on them).
ADAPTABLE = ("num_classes", "input_shape", "freeze_backbone", "dropout")


def _frozen(mapping: Mapping | None) -> Mapping:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class OutputSpec:
    """One output (head) of a model.

    Attributes:
        name: Output name; the key in the prediction dict of multi-output models.
        kind: ``"regression"`` (one value), ``"binary"`` (probability of ``labels[1]``, shape (N, 1)) or
            ``"classification"`` (softmax over ``labels``).
        labels: Class labels in output order (empty for regression).
        units: Unit of a regression value, e.g. ``"years"`` or ``"score 1-5"``.
    """

    name: str
    kind: str
    labels: tuple[str, ...] = ()
    units: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in OUTPUT_KINDS:
            raise ValueError(f"output kind must be one of {OUTPUT_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def width(self) -> int:
        """Number of values this output has per image."""
        return len(self.labels) if self.kind == "classification" else 1


def resize_heads(
    outputs: tuple[OutputSpec, ...], num_classes: int | Mapping[str, int] | None, *, model: str
) -> tuple[OutputSpec, ...]:
    """``outputs`` with the classification heads that ``num_classes`` names resized: an int for a model with one
    classification head, ``{head: classes}`` for any model. A head whose class count changes gets the labels
    ``"0"``, ``"1"``, ...; ``None`` changes nothing. Raises ``ValueError`` (one line, saying what applies) for a
    regression or binary head, an unknown head, or a count below 2."""
    if num_classes is None:
        return outputs
    classifiers = [spec.name for spec in outputs if spec.kind == "classification"]
    if not classifiers:
        kinds = ", ".join(f"{spec.name} ({spec.kind})" for spec in outputs)
        raise ValueError(
            f"{model} has no classification head (outputs: {kinds}), so num_classes does not apply; for features to "
            f"train a head of your own on, use facezoo.feature_extractor({model!r})."
        )
    if not isinstance(num_classes, Mapping):
        if len(classifiers) > 1:
            raise ValueError(
                f"{model} has several classification heads ({', '.join(classifiers)}): give num_classes per head, "
                f"e.g. num_classes={{{classifiers[-1]!r}: {num_classes!r}}}."
            )
        num_classes = {classifiers[0]: num_classes}
    for head, count in num_classes.items():
        if head not in classifiers:
            other = {spec.name: spec.kind for spec in outputs}.get(head)
            what = f"{model}: head {head!r} is {other}" if other else f"{model} has no head {head!r}"
            raise ValueError(f"{what}; num_classes applies to its classification heads: {', '.join(classifiers)}.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 2:
            raise ValueError(f"{model}: num_classes of head {head!r} must be an integer >= 2, got {count!r}.")
    return tuple(
        OutputSpec(spec.name, spec.kind, tuple(map(str, range(num_classes[spec.name]))), spec.units)
        if spec.name in num_classes and num_classes[spec.name] != spec.width
        else spec
        for spec in outputs
    )


@dataclass(frozen=True)
class FeatureInfo:
    """One feature map of a model's backbone, as ``features_only=True`` returns them (timm's ``feature_info``).

    Attributes:
        channels: Channels of the map.
        stride: How many input pixels one step of the map spans (timm's ``reduction``); its height is about the
            input's divided by the stride (exactly, rounded up, where the backbone pads its convolutions).
    """

    channels: int
    stride: int


@dataclass(frozen=True)
class WeightsInfo:
    """Metadata of one set of pretrained weights (torchvision's ``Weights.meta``).

    Attributes:
        tag: Weight tag, e.g. ``"scut_fbp5500"``; the full name is ``"{model}.{tag}"``.
        repo_id: Hugging Face Hub repository holding the weights.
        revision: Git revision (commit sha, branch or tag) on the Hub.
        filename: Weights file inside the repository.
        sha256: Hex sha256 of the weights file, checked after every download and cache hit.
        file_size: Size of the weights file in bytes.
        config: Builder keyword arguments the weights were trained with.
        metrics: Measured metrics, e.g. ``{"mae": 0.24}``.
        flip_metrics: The same metrics on the same split with ``flip=True`` (each prediction averaged over the image
            and its mirror image); empty when not measured.
        split: The split the metrics were measured on.
        dataset: Dataset name (``facezoo.datasets``).
        dataset_options: Options of ``facezoo.datasets.load`` that give that split (e.g. ``{"protocol": "official"}``).
        license: License of the weights.
        recipe: Short description of, or link to, the training recipe.
        num_params: Total parameter count of the model with these weights.
        embedded: Package resource holding the same bytes, so loading needs no network; ``None`` when not shipped.
        extra: Anything else (training args, hardware, wall time).
        ablation: The runs these weights were chosen from, each measured once on the same split: mappings with
            ``variant``, ``init`` (the starting weights), ``image_size`` (an int, or ``[height, width]``),
            ``epochs``, ``cpu_time_s`` (``None`` if not recorded) and ``metrics``; one row's ``metrics`` are these
            weights' :attr:`metrics`. Rendered by :func:`ablation_markdown` in the card and the docs.
        commit: The Hub commit the weights were uploaded (and measured) at; ``None`` while they are only staged
            in the source tree's ``weights/`` folder, not uploaded yet.
    """

    tag: str
    repo_id: str
    revision: str
    filename: str
    sha256: str
    file_size: int
    config: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    flip_metrics: Mapping[str, float] = field(default_factory=dict)
    split: str = ""
    dataset: str = ""
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    license: str = ""
    recipe: str = ""
    num_params: int = 0
    embedded: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    ablation: tuple[Mapping[str, Any], ...] = ()
    commit: str | None = None

    def __post_init__(self) -> None:
        for name in ("config", "metrics", "flip_metrics", "dataset_options", "extra"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))
        object.__setattr__(self, "ablation", tuple(_frozen(row) for row in self.ablation))

    @property
    def own_ablation_row(self) -> Mapping[str, Any] | None:
        """The :attr:`ablation` row of these weights (the one with their :attr:`metrics`), if any."""
        return next((row for row in self.ablation if dict(row["metrics"]) == dict(self.metrics)), None)

    def as_ablation_row(self, variant: str) -> dict[str, Any]:
        """These weights' own ablation row under another label, for the table of weights compared with them.

        Raises:
            ValueError: the weights have no ablation row of their own.
        """
        own = self.own_ablation_row
        if own is None:
            raise ValueError(f"weights {self.repo_id} have no ablation row of their own; add one to their ablation.")
        return {**own, "variant": variant, "metrics": dict(own["metrics"])}

    @property
    def uploaded(self) -> bool:
        """Whether the weights are on the Hub (at :attr:`commit`)."""
        return self.commit is not None

    @property
    def available(self) -> bool:
        """Whether ``pretrained=`` can load them: embedded in the package or uploaded to the Hub."""
        return self.uploaded or self.embedded is not None


@dataclass(frozen=True)
class ModelInfo:
    """Everything known about a registered model without building it.

    Attributes:
        name: Builder name; also ``model.name``.
        family: Model family (one per reference system).
        task: ``"regression"``, ``"classification"`` or ``"multi-task classification"``.
        input_shape: Default input shape (height, width, channels); inputs are RGB floats in [0, 255].
        outputs: The outputs at the default config.
        dataset: Dataset the model is designed for (a ``facezoo.datasets`` name).
        reference: The write-up the model reproduces.
        default_config: The builder's keyword arguments and their defaults.
        num_params: Parameter count at the default config.
        weights: Weight tag -> :class:`WeightsInfo`.
        feature_info: The backbone's feature maps at the default config, by increasing stride: what
            ``features_only=True`` returns.
        pooled: Whether the heads see globally pooled features, so that the weights fit any input size.
    """

    name: str
    family: str
    task: str
    input_shape: tuple[int, int, int]
    outputs: tuple[OutputSpec, ...]
    dataset: str
    reference: str
    default_config: Mapping[str, Any]
    num_params: int
    weights: Mapping[str, WeightsInfo] = field(default_factory=dict)
    feature_info: tuple[FeatureInfo, ...] = ()
    pooled: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        object.__setattr__(self, "default_config", _frozen(self.default_config))
        object.__setattr__(self, "weights", _frozen(self.weights))

    @property
    def default_weights(self) -> WeightsInfo | None:
        """The weights ``pretrained=True`` loads (the first registered tag), or ``None``."""
        return next(iter(self.weights.values()), None)

    @property
    def adaptable(self) -> tuple[str, ...]:
        """The builder arguments (of :data:`ADAPTABLE`) that pretrained weights still load with when they differ from
        the weights' config; ``input_shape`` only for :attr:`pooled` models."""
        return tuple(key for key in ADAPTABLE if key in self.default_config and (key != "input_shape" or self.pooled))

    @property
    def embedding_size(self) -> int:
        """Size of the pooled embedding :func:`facezoo.feature_extractor` returns at the default config: the
        channels of the last feature map."""
        if not self.feature_info:
            raise ValueError(f"{self.name} declares no backbone feature maps, so it has no embedding.")
        return self.feature_info[-1].channels

    @property
    def face_geometry(self) -> FaceGeometry | None:
        """Where the five face landmarks sit in the crops of :attr:`dataset`, as measured from its training images
        (:func:`facezoo.faces.face_geometry`); ``None`` if its images are not face crops."""
        from facezoo.geometry import face_geometry

        return face_geometry(self.dataset)


_METRIC_LABELS = {"mae": "MAE", "rmse": "RMSE", "pearson_r": "Pearson r", "macro_f1": "macro F1"}


def ablation_markdown(rows: tuple[Mapping[str, Any], ...] | list[Mapping[str, Any]]) -> str:
    """A Markdown table of ablation rows (see :attr:`WeightsInfo.ablation`): one row per run, one column per
    metric of the first row."""
    metrics = [name for name in rows[0]["metrics"] if not name.endswith("count")] if rows else []
    header = ["variant", "init", "size", "epochs", "CPU time", *(metric_label(name) for name in metrics)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cpu = row.get("cpu_time_s")
        cells = [
            row["variant"],
            row.get("init") or "random",
            _size_label(row.get("image_size")),
            str(row.get("epochs", "")),
            f"{cpu / 60:.0f} min" if cpu else "not recorded",
            *(f"{row['metrics'][name]:.4g}" if name in row["metrics"] else "" for name in metrics),
        ]
        lines.append("| " + " | ".join(str(cell).replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _size_label(size: int | list[int] | tuple[int, int] | None) -> str:
    """``128`` -> ``"128 px"``, ``[218, 178]`` -> ``"218×178 px"`` (height × width)."""
    if not size:
        return ""
    return f"{size} px" if isinstance(size, int) else f"{size[0]}×{size[1]} px"


def metric_label(name: str) -> str:
    """``"age/mae"`` -> ``"age MAE"``, ``"pearson_r"`` -> ``"Pearson r"``."""
    head, _, metric = name.rpartition("/")
    return f"{head + ' ' if head else ''}{_METRIC_LABELS.get(metric, metric.replace('_', ' '))}"


#: A dataset marker: a path inside the dataset's folder (a glob if it has ``*``) that must exist, or ``(glob, n)``:
#: at least ``n`` entries match.
Marker = str | tuple[str, int]


@dataclass(frozen=True)
class DatasetCitation:
    """How to cite a dataset.

    Attributes:
        title: Human-readable dataset name.
        reference: One-line citation (authors, title, venue, year).
        bibtex: BibTeX entry.
        url: Home page of the dataset (also the link to its terms of use), or ``""`` when it has none.
    """

    title: str
    reference: str
    bibtex: str
    url: str = ""


@dataclass(frozen=True)
class DatasetInfo:
    """Everything known about a registered dataset without reading it (TensorFlow Datasets' ``DatasetInfo`` and the
    facts its ``DatasetBuilder`` holds): one declaration per dataset, ``INFO = register_dataset(...)`` at the end of
    its module in :mod:`facezoo.datasets`. Its upstream files, with their sizes and sha256, are listed in the
    ``<name>_checksums.tsv`` beside that module (:attr:`checksums_file`).

    Attributes:
        name: Dataset name (``facezoo.datasets.load(name)``).
        folder: The dataset's folder inside ``data_dir`` (``""`` for a union: each member keeps its own).
        markers: What a folder must hold to be the dataset (see :data:`Marker`).
        contents: Globs of the dataset's own entries, the only ones copied from a ``manual_dir`` folder.
        heads: The dataset's targets at its default options, with their labels (class index -> label); models
            trained on it take their outputs from here.
        num_images: Images in the upstream dataset (all splits).
        download: How it is downloaded, for listings, e.g. ``"automatic (Google Drive)"``.
        citation: How to cite it.
        loader: ``loader(folder, split, **options) -> FaceDataset`` parses one split of the dataset's folder (a
            union's loader gets ``data_dir``, holding its members' folders); its keyword-only parameters are the
            dataset's options.
        members: For a union of datasets, their names (each downloads into its own folder); else empty.
    """

    name: str
    folder: str
    markers: tuple[Marker, ...]
    contents: tuple[str, ...]
    heads: tuple[OutputSpec, ...]
    num_images: int
    download: str
    citation: DatasetCitation
    loader: Callable[..., Any] = field(repr=False)  # returns a facezoo.datasets.FaceDataset
    members: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("markers", "contents", "heads", "members"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if not self.heads:
            raise ValueError(f"dataset {self.name!r} declares no heads")
        if not self.members and not (self.folder and self.markers):
            raise ValueError(f"dataset {self.name!r} needs a folder and markers (or members, for a union)")

    def head(self, name: str) -> OutputSpec:
        """The head called ``name``. Raises ``ValueError`` listing the heads if there is none."""
        for spec in self.heads:
            if spec.name == name:
                return spec
        raise ValueError(f"dataset {self.name!r} has no head {name!r}; its heads: {', '.join(self.head_names)}")

    def heads_as(self, **outputs: str) -> tuple[OutputSpec, ...]:
        """Model outputs taken from heads under other names: ``heads_as(male="Male")`` is the ``Male`` head named
        ``male``, with the head's kind, labels and units."""
        return tuple(dataclasses.replace(self.head(head), name=output) for output, head in outputs.items())

    @property
    def head_names(self) -> tuple[str, ...]:
        """The heads' names, in order."""
        return tuple(spec.name for spec in self.heads)

    @property
    def options(self) -> Mapping[str, Any]:
        """The dataset's options (the loader's keyword-only parameters) and their defaults."""
        parameters = inspect.signature(self.loader).parameters.values()
        return MappingProxyType({p.name: p.default for p in parameters if p.kind is p.KEYWORD_ONLY})

    @property
    def checksums_file(self) -> Path | None:
        """``<name>_checksums.tsv`` beside the module that declares the dataset (one row per upstream file:
        filename, URL, size, sha256); ``None`` for a union, whose members have their own."""
        if self.members:
            return None
        module = sys.modules[self.loader.__module__]
        assert module.__file__ is not None  # dataset modules are files
        return Path(module.__file__).with_name(f"{self.name}_checksums.tsv")
