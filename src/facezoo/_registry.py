"""The model registry: every builder, its metadata and its pretrained weights (timm's ``_registry``).

:mod:`facezoo.registry` is its public face (with :func:`facezoo.create_model`); this module sits below the Hub code so
that model modules can register themselves without an import circle.

Builders register themselves with :func:`register_model`; ``import facezoo`` imports
:mod:`facezoo.models`, which registers every builder. Nothing here imports TensorFlow, so listing and describing
models is instant; only building a model imports Keras. :func:`parse_source` is the one parser of the ways to name
a model; :func:`facezoo.create_model` builds from any of them.
"""

from __future__ import annotations

import difflib
import fnmatch
import functools
import inspect
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facezoo._features import features_model, head_layers, transfer_weights
from facezoo.pretrained import load_registered_weights
from facezoo.specs import FeatureInfo, ModelInfo, OutputSpec, WeightsInfo, resize_heads

if TYPE_CHECKING:
    import keras

__all__ = [
    "ModelSource",
    "register_model",
    "list_models",
    "model_info",
    "resolve_weights",
    "parse_source",
    "build_model",
    "cut_features",
]

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
    features: tuple[FeatureInfo, ...] = (),
    pooled: bool = False,
    weights: tuple[WeightsInfo, ...] = (),
) -> Callable[[Callable[..., keras.Model]], Callable[..., keras.Model]]:
    """Register a builder; its signature's defaults become the model's default config. ``features`` are its
    backbone's feature maps at that config (the builder records their layers with
    ``facezoo._features.record_backbone``); ``pooled`` says its heads see globally pooled features.

    The returned builder takes ``pretrained=False`` first: ``True`` loads the default weights, a string picks a tag;
    and ``features_only=False`` (see :func:`build_model`).
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
            feature_info=tuple(features),
            pooled=pooled,
        )

        @functools.wraps(fn)
        def builder(pretrained: bool | str = False, *, features_only: bool = False, **config: Any) -> keras.Model:
            return build_model(name, pretrained, features_only=features_only, **config)

        builder.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("pretrained", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)]
            + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(fn).parameters.values()]
            + [inspect.Parameter("features_only", inspect.Parameter.KEYWORD_ONLY, default=False)]
        )
        _BUILDERS[name] = fn
        return builder

    return decorator


def _info(name: str) -> ModelInfo:
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


def _no_weights_message(name: str) -> str:
    """Why model ``name`` has no weights, how to train them, and which models have weights: one line."""
    info = _info(name)
    why = _DATASETS_NOT_HAD.get(info.dataset, "none have been trained yet")
    return (
        f"Model {name!r} has no pretrained weights: {why}. Train your own with facezoo.training.fit(RECIPE, "
        f"DATA_DIR, model={name!r}) on the {info.dataset} dataset (RECIPE: a recipe of facezoo.training.RECIPES for "
        f"it; get the data with `facezoo download {info.dataset}`, see facezoo.datasets.{info.dataset}), "
        f"or use a model that has weights: {', '.join(list_models(pretrained=True))} "
        "(facezoo.list_models(pretrained=True))."
    )


def resolve_weights(name: str, pretrained: bool | str) -> WeightsInfo:
    """Return the :class:`WeightsInfo` that ``pretrained`` (``True`` or a tag) selects for model ``name``."""
    info = _info(name)
    if info.default_weights is None:
        raise ValueError(_no_weights_message(name))
    available = ", ".join(f"{name}.{tag}" for tag in info.weights)
    if pretrained is True:
        return _check_available(name, info.default_weights)
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


def build_model(
    name: str,
    pretrained: bool | str = False,
    *,
    features_only: bool = False,
    force_download: bool = False,
    endpoint: str | None = None,
    **config: Any,
) -> keras.Model:
    """Build registered model ``name`` with builder arguments ``config``; ``pretrained=True`` loads its default
    weights, a string the weights of that tag (checked by sha256). The model records its builder and config for
    :func:`facezoo.hub.save_pretrained`.

    With pretrained weights, ``config`` may differ from the weights' own in the model's adaptable arguments
    (:attr:`facezoo.ModelInfo.adaptable`): ``num_classes`` re-initialises the heads it resizes (their labels
    become ``"0"``, ``"1"``, ...) and every other layer loads; ``input_shape`` (models whose heads see pooled
    features), ``freeze_backbone`` and ``dropout`` load every weight. ``features_only=True`` returns the backbone's
    feature maps instead (see :func:`cut_features`), at any ``input_shape``.

    Raises:
        ValueError: unknown arguments, ``num_classes`` on a model or head without classes, or a config the weights
            cannot load into (each message says what to do).
    """
    info = _info(name)
    unknown = sorted(set(config) - set(info.default_config))
    if "num_classes" in unknown:
        resize_heads(info.outputs, config["num_classes"], model=name)  # raises: no classification head
    if unknown:
        raise ValueError(
            f"{name}() got unknown config {', '.join(unknown)}; allowed: {', '.join(info.default_config)}."
        )
    if features_only and config.get("num_classes") is not None:
        raise ValueError(
            "features_only=True returns the backbone's feature maps, which have no heads: drop num_classes."
        )
    if pretrained:
        model = _build_pretrained(
            info, pretrained, config, features_only=features_only, force_download=force_download, endpoint=endpoint
        )
    else:
        model = _record_config(_BUILDERS[name](**config), name, {**info.default_config, **config})
    return cut_features(model) if features_only else model


def _build_pretrained(
    info: ModelInfo, pretrained: bool | str, config: dict[str, Any], *, features_only: bool, **download: Any
) -> keras.Model:
    """The whole model at ``config`` with the weights ``pretrained`` names loaded into every layer but the heads
    ``num_classes`` resizes (and, with ``features_only``, the layers after the backbone)."""
    name = info.name
    weights = resolve_weights(name, pretrained)
    if config.get("backbone_weights"):
        raise ValueError("backbone_weights cannot be combined with pretrained weights; pass one of them.")
    trained = {**info.default_config, **weights.config}
    changed = {k: v for k, v in config.items() if _normalise(v) != _normalise(trained[k])}
    _check_adaptable(info, weights, changed, features_only=features_only)
    resolved = {**weights.config, **config}
    model = _record_config(_BUILDERS[name](**resolved), name, {**info.default_config, **resolved})
    if not {"num_classes", "input_shape"} & set(changed):
        load_registered_weights(model, weights, **download)
        return record_measurement(model, weights.dataset, weights.dataset_options)
    # Weight shapes change: load the weights into a build of their own config, then copy every layer that fits.
    donor = _BUILDERS[name](**weights.config)
    load_registered_weights(donor, weights, **download)
    loaded = transfer_weights(donor, model)
    before = resize_heads(info.outputs, trained.get("num_classes"), model=name)
    after = resize_heads(info.outputs, resolved.get("num_classes"), model=name)
    resized = [new.name for old, new in zip(before, after) if old != new]
    heads = head_layers(model, info.outputs[0].name)
    fresh = {id(w) for head in resized for w in heads[head].weights}  # the resized heads start anew
    needed = features_model(model).layers if features_only else model.layers
    missing = [layer.name for layer in needed if any(id(w) not in loaded | fresh for w in layer.weights)]
    if missing:
        raise ValueError(
            f"{name}.{weights.tag}: layers {', '.join(missing)} have weights of other shapes at this config; build "
            "with pretrained=False."
        )
    return model if resized else record_measurement(model, weights.dataset, weights.dataset_options)


def _check_adaptable(info: ModelInfo, weights: WeightsInfo, changed: Mapping[str, Any], *, features_only: bool) -> None:
    """Raise a one-line ``ValueError`` if the weights cannot load with the ``changed`` config arguments."""
    name, tag = info.name, weights.tag
    fixed = {k: v for k, v in changed.items() if k not in info.adaptable}
    if "input_shape" in fixed and features_only:
        del fixed["input_shape"]  # the backbone's convolutions take any size
    if "input_shape" in fixed:
        height, width = weights.config.get("input_shape", info.input_shape)[:2]
        raise ValueError(
            f"{name}.{tag} fits {height}x{width} inputs only: {name} flattens its last feature map into a Dense "
            f"layer, whose weights depend on the input size. Resize images to {height}x{width} (facezoo.predict "
            "does), or take the backbone's features, which fit any size (features_only=True or "
            "facezoo.feature_extractor)."
        )
    if fixed:
        detail = ", ".join(
            f"{k}={v!r} (weights: {weights.config.get(k, info.default_config[k])!r})" for k, v in fixed.items()
        )
        adaptable = ", ".join(info.adaptable) or "none"
        raise ValueError(
            f"{name}.{tag} was trained with a different config: {detail}. Those arguments change the architecture: "
            f"drop them, or build with pretrained=False (arguments the weights adapt to: {adaptable})."
        )


def cut_features(model: keras.Model) -> keras.Model:
    """The backbone of a facezoo model as a model of its own, sharing its layers and weights: it maps images to the
    backbone's feature maps, a list by increasing stride, and its ``feature_info`` attribute holds the
    :class:`~facezoo.FeatureInfo` (channels, stride) of each."""
    features = features_model(model)
    object.__setattr__(features, "_facezoo_architecture", getattr(model, "_facezoo_architecture", model.name))
    return features


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
    return sorted(
        name
        for name, info in _INFOS.items()
        if fnmatch.fnmatchcase(name, pattern) and (not pretrained or any(w.available for w in info.weights.values()))
    )


def model_info(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of a registered model. Raises ``ValueError`` naming close matches if unknown."""
    return _info(name)


@dataclass(frozen=True)
class ModelSource:
    """A way of naming a model, as :func:`parse_source` reads it.

    Attributes:
        kind: ``"registered"`` (a model name, or ``NAME.TAG`` naming its weights), ``"hub"`` (a Hub repository)
            or ``"folder"`` (a local ``save_pretrained`` folder).
        name: The registered model name (``"registered"`` only).
        tag: The weight tag of ``NAME.TAG`` (``None`` for a bare name).
        repo_id: The Hub repository ``org/name`` (``"hub"`` only).
        revision: The Hub revision of ``hf://org/name@revision`` (``None``: ``main``).
        folder: The local folder (``"folder"`` only).
    """

    kind: str
    name: str | None = None
    tag: str | None = None
    repo_id: str | None = None
    revision: str | None = None
    folder: Path | None = None


def parse_source(source: str | os.PathLike, *, revision: str | None = None, registered: bool = True) -> ModelSource:
    """Read any way of naming a model: a registered name (``"age_cnn"``), a weight name ``"NAME.TAG"``,
    ``"hf://org/repo[@revision]"``, ``"org/repo"`` or a local ``save_pretrained`` folder. Registered names win
    over folders of the same name; ``registered=False`` reads only Hub repositories and folders.

    Raises:
        ValueError: an unknown name (naming close matches), a weight tag the model does not have (naming its tags),
            a text that is neither, or ``@revision`` contradicting ``revision``.
    """
    text = os.fspath(source)
    name, dot, tag = text.partition(".")
    if registered and name in _INFOS and (not dot or tag in _INFOS[name].weights):
        return ModelSource("registered", name=name, tag=tag or None)
    if not text.startswith("hf://") and Path(text).is_dir():
        return ModelSource("folder", folder=Path(text))
    if not registered or text.startswith("hf://") or "/" in text:
        repo_id, _, at_revision = text.removeprefix("hf://").partition("@")
        if at_revision and revision and at_revision != revision:
            raise ValueError(f"{text!r} names revision {at_revision!r} but revision={revision!r} was passed; give one.")
        if not re.fullmatch(r"[\w.\-]+/[\w.\-]+", repo_id):
            raise ValueError(
                f"{text!r} is not a local folder, 'hf://org/name[@revision]' or 'org/name'."
                + (
                    " (It looks like a path, but no such folder exists.)"
                    if os.sep in text or text.startswith(".")
                    else ""
                )
            )
        return ModelSource("hub", repo_id=repo_id, revision=at_revision or revision)
    if dot and name in _INFOS:
        resolve_weights(name, tag)  # raises, naming the available tags
    _info(text)  # raises the unknown-model error with close matches
    raise AssertionError("unreachable")
