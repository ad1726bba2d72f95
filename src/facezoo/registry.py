"""The model registry: every builder, its metadata and its pretrained weights.

Builders register themselves with :func:`register_model` (as in timm). Nothing here imports TensorFlow, so listing
and describing models is instant; only building a model imports Keras.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Callable, Mapping

if TYPE_CHECKING:
    import keras

    from facezoo.faces import FaceGeometry

__all__ = [
    "OutputSpec",
    "WeightsInfo",
    "ModelInfo",
    "register_model",
    "list_models",
    "create_model",
    "model_info",
]

TASKS = ("regression", "classification", "multi-task classification")
OUTPUT_KINDS = ("regression", "binary", "classification")


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
        split: The split the metrics were measured on.
        dataset: Dataset name (``facezoo.datasets``).
        dataset_options: Options of ``facezoo.datasets.load`` that give that split (e.g. ``{"protocol": "official"}``).
        license: License of the weights.
        recipe: Short description of, or link to, the training recipe.
        num_params: Total parameter count of the model with these weights.
        embedded: Package resource holding the same bytes, so loading needs no network; ``None`` when not shipped.
        extra: Anything else (training args, hardware, wall time).
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
    split: str = ""
    dataset: str = ""
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    license: str = ""
    recipe: str = ""
    num_params: int = 0
    embedded: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    commit: str | None = None

    def __post_init__(self) -> None:
        for name in ("config", "metrics", "dataset_options", "extra"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

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
    def face_geometry(self) -> FaceGeometry | None:
        """Where the five face landmarks sit in the crops of :attr:`dataset`, as measured from its training images
        (``facezoo.faces.face_geometry``); ``None`` if its images are not face crops."""
        from facezoo.faces import face_geometry

        return face_geometry(self.dataset)


_BUILDERS: dict[str, Callable[..., keras.Model]] = {}
_INFOS: dict[str, ModelInfo] = {}


def register_model(
    *,
    family: str,
    task: str,
    outputs: tuple[OutputSpec, ...],
    dataset: str,
    reference: str,
    num_params: int,
    weights: tuple[WeightsInfo, ...] = (),
) -> Callable[[Callable[..., keras.Model]], Callable[..., keras.Model]]:
    """Register a builder; its signature's defaults become the model's default config.

    The returned builder takes ``pretrained=False`` first: ``True`` loads the default weights, a string picks a tag.
    """

    def decorator(fn: Callable[..., keras.Model]) -> Callable[..., keras.Model]:
        name = fn.__name__
        if name in _BUILDERS:
            raise ValueError(f"model {name!r} is registered twice")
        defaults = {
            p.name: p.default
            for p in inspect.signature(fn).parameters.values()
            if p.default is not inspect.Parameter.empty
        }
        _INFOS[name] = ModelInfo(
            name=name,
            family=family,
            task=task,
            input_shape=tuple(defaults["input_shape"]),
            outputs=tuple(outputs),
            dataset=dataset,
            reference=reference,
            default_config=defaults,
            num_params=num_params,
            weights={w.tag: w for w in weights},
        )

        @functools.wraps(fn)
        def builder(pretrained: bool | str = False, **config: Any) -> keras.Model:
            return _build(name, pretrained, config)

        builder.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("pretrained", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)]
            + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(fn).parameters.values()]
        )
        _BUILDERS[name] = fn
        return builder

    return decorator


def _ensure_registered() -> None:
    from facezoo import models  # noqa: F401  (importing the package registers every builder)


def _info(name: str) -> ModelInfo:
    _ensure_registered()
    if name not in _INFOS:
        close = difflib.get_close_matches(name, list(_INFOS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Available: {', '.join(sorted(_INFOS))}.")
    return _INFOS[name]


#: Datasets whose images could not be had to train facezoo's weights: why their models have none.
_DATASETS_NOT_HAD = {
    "selfie": "the Selfie dataset could not be obtained to train them",
    "person_attributes": "the person-attribute images could not be obtained (only their labels)",
}
#: Model without weights -> the ``facezoo.training`` call that trains them.
_HOW_TO_TRAIN = {
    "selfie_resnet": "fit_selfie_resnet(DATA_DIR)",
    "selfie_cnn": "fit_selfie_resnet(DATA_DIR, model='selfie_cnn')",
    "age_vgg16": "fit_age_cnn(DATA_DIR, model='age_vgg16')",
    "age_mobilenet_v2": "run_recipe(facezoo.training.RECIPES['age_mobilenet_v2'], DATA_DIR, 'runs/age_mobilenet_v2')",
    "celeba_inception_v3": "fit_celeba_gender(DATA_DIR, model='celeba_inception_v3')",
    "person_attributes_densenet121": "fit_person_attributes(DATA_DIR)",
    "face_mobilenet_v2": "fit_face_backbone(DATA_DIR)",
    "utkface_mobilenet_v2": (
        "run_recipe(facezoo.training.RECIPES['utkface_mobilenet_v2'], DATA_DIR, 'runs/utkface_mobilenet_v2')"
    ),
}


def _no_weights_message(name: str) -> str:
    """Why model ``name`` has no weights, how to train them, and which models have weights: one line."""
    info = _info(name)
    why = _DATASETS_NOT_HAD.get(info.dataset, "none have been trained yet")
    train = _HOW_TO_TRAIN.get(name, "run_recipe(facezoo.training.RECIPES[NAME], DATA_DIR, OUTPUT_DIR)")
    return (
        f"Model {name!r} has no pretrained weights: {why}. Train your own with facezoo.training.{train} on the "
        f"{info.dataset} dataset (get it with `facezoo download {info.dataset}`; see facezoo.datasets.{info.dataset}), "
        f"or use a model that has weights: {', '.join(list_models(pretrained=True))} "
        "(facezoo.list_models(pretrained=True))."
    )


def resolve_weights(name: str, pretrained: bool | str) -> WeightsInfo:
    """Return the :class:`WeightsInfo` that ``pretrained`` (``True`` or a tag) selects for model ``name``."""
    info = _info(name)
    if not info.weights:
        raise ValueError(_no_weights_message(name))
    available = ", ".join(f"{name}.{tag}" for tag in info.weights)
    if pretrained is True:
        return _check_available(name, next(iter(info.weights.values())))
    tag = str(pretrained).removeprefix(f"{name}.")
    if tag not in info.weights:
        raise ValueError(f"Model {name!r} has no weights tagged {pretrained!r} (available tags: {available}).")
    return _check_available(name, info.weights[tag])


def _check_available(name: str, weights: WeightsInfo) -> WeightsInfo:
    if not weights.available:
        folder = weights.repo_id.split("/", 1)[-1]
        raise ValueError(
            f"{name}.{weights.tag} is staged but not uploaded to the Hub yet; in a facezoo source checkout load the "
            f"staged folder with facezoo.hub.from_pretrained('weights/{folder}')."
        )
    return weights


def _build(
    name: str,
    pretrained: bool | str,
    config: dict[str, Any],
    *,
    force_download: bool = False,
    endpoint: str | None = None,
) -> keras.Model:
    info = _info(name)
    unknown = sorted(set(config) - set(info.default_config))
    if unknown:
        raise ValueError(
            f"{name}() got unknown config {', '.join(unknown)}; allowed: {', '.join(info.default_config)}."
        )
    if not pretrained:
        return _record_config(_BUILDERS[name](**config), name, {**info.default_config, **config})
    weights = resolve_weights(name, pretrained)
    conflicts = {k: v for k, v in config.items() if k in weights.config and _normalise(weights.config[k]) != _normalise(v)}
    if conflicts:
        detail = ", ".join(f"{k}={v!r} (weights: {weights.config[k]!r})" for k, v in conflicts.items())
        raise ValueError(
            f"{name}.{weights.tag} was trained with a different config: {detail}. "
            "Drop those arguments, or build with pretrained=False."
        )
    if config.get("backbone_weights"):
        raise ValueError("backbone_weights cannot be combined with pretrained weights; pass one of them.")
    resolved = {**weights.config, **config}
    model = _record_config(_BUILDERS[name](**resolved), name, {**info.default_config, **resolved})
    from facezoo import hub

    hub.load_registered_weights(model, weights, force_download=force_download, endpoint=endpoint)
    return record_measurement(model, weights.dataset, weights.dataset_options)


def _record_config(model: keras.Model, name: str, config: dict[str, Any]) -> keras.Model:
    """Record on ``model`` the builder and the full config it was built with (``facezoo.hub.save_pretrained`` reads
    ``_facezoo_architecture`` and ``_facezoo_config``); set past Keras' attribute tracking."""
    object.__setattr__(model, "_facezoo_architecture", name)
    object.__setattr__(model, "_facezoo_config", {key: _normalise(value) for key, value in config.items()})
    return model


def record_measurement(model: keras.Model, dataset: str, options: Mapping[str, Any]) -> keras.Model:
    """Record on ``model`` the dataset its weights were measured on and the ``facezoo.datasets.load`` options that
    give the measured split (``_facezoo_measured_on``): ``facezoo.evaluate`` loads that dataset with them by default."""
    object.__setattr__(model, "_facezoo_measured_on", (dataset, dict(options)))
    return model


def measured_on(model: Any) -> tuple[str, dict[str, Any]]:
    """``(dataset, options)`` the weights of ``model`` were measured with; ``("", {})`` when not known."""
    dataset, options = getattr(model, "_facezoo_measured_on", ("", {}))
    return dataset, dict(options)


def _normalise(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Sorted names of registered models matching a shell-style ``pattern``; ``pretrained=True`` keeps only
    models with weights ``pretrained=`` can load (embedded in the package or uploaded to the Hub)."""
    _ensure_registered()
    return sorted(
        name
        for name, info in _INFOS.items()
        if fnmatch.fnmatchcase(name, pattern) and (not pretrained or any(w.available for w in info.weights.values()))
    )


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model. Raises ``ValueError`` naming close matches if unknown."""
    return _info(name)


def create_model(
    source: str,
    pretrained: bool | str = False,
    *,
    force_download: bool = False,
    endpoint: str | None = None,
    **config: Any,
) -> keras.Model:
    """Build a model from any way of naming one.

    Args:
        source: A registered model name (``"age_cnn"``), a weight name ``"NAME.TAG"`` (its weights, as
            ``pretrained="TAG"``), or a saved model: ``"hf://org/repo[@revision]"``, ``"org/repo"`` or a local
            folder written by ``facezoo.hub.save_pretrained`` (loaded with ``facezoo.hub.from_pretrained``).
        pretrained: For a model name: ``True`` loads its default weights, a string picks a tag.
        force_download: Fetch the weights from the Hub again even if they are cached or embedded.
        endpoint: Hub URL (default: ``HF_ENDPOINT`` or https://huggingface.co).
        **config: Builder keyword arguments (model names only).

    Raises:
        ValueError: an unknown name (with close matches), or arguments a saved model cannot take.
    """
    _ensure_registered()
    name, dot, tag = str(source).partition(".")
    if name in _INFOS and (not dot or tag in _INFOS[name].weights):
        if dot and pretrained not in (False, True, tag):
            raise ValueError(f"{source!r} names its weights already; drop pretrained={pretrained!r}.")
        return _build(name, tag or pretrained, config, force_download=force_download, endpoint=endpoint)
    if str(source).startswith("hf://") or "/" in str(source) or os.path.isdir(source):
        if pretrained not in (False, True) or config:
            raise ValueError(f"{source!r} is a saved model with its own weights: drop pretrained= and builder arguments.")
        from facezoo.hub import from_pretrained

        return from_pretrained(source, force_download=force_download, endpoint=endpoint)
    if dot and name in _INFOS:
        resolve_weights(name, tag)  # raises, naming the available tags
    _info(str(source))  # raises the unknown-model error with close matches
    raise AssertionError("unreachable")
