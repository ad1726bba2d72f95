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

from facezoo.pretrained import load_registered_weights
from facezoo.specs import ModelInfo, OutputSpec, WeightsInfo

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
            return build_model(name, pretrained, **config)

        builder.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("pretrained", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False)]
            + [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(fn).parameters.values()]
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
    force_download: bool = False,
    endpoint: str | None = None,
    **config: Any,
) -> keras.Model:
    """Build registered model ``name`` with builder arguments ``config``; ``pretrained=True`` loads its default
    weights, a string the weights of that tag (checked by sha256). The model records its builder and config for
    :func:`facezoo.hub.save_pretrained`. Raises ``ValueError`` on unknown arguments or a config the weights were not
    trained with."""
    info = _info(name)
    unknown = sorted(set(config) - set(info.default_config))
    if unknown:
        raise ValueError(
            f"{name}() got unknown config {', '.join(unknown)}; allowed: {', '.join(info.default_config)}."
        )
    if not pretrained:
        return _record_config(_BUILDERS[name](**config), name, {**info.default_config, **config})
    weights = resolve_weights(name, pretrained)
    conflicts = {
        k: v for k, v in config.items() if k in weights.config and _normalise(weights.config[k]) != _normalise(v)
    }
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
    load_registered_weights(model, weights, force_download=force_download, endpoint=endpoint)
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
