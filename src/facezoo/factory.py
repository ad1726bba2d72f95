""":func:`create_model`: one entry point that builds a model from any way of naming one (timm's ``_factory``), and
:func:`feature_extractor`, its pooled-embedding form.

It sits above the registry and :mod:`facezoo.hub`: registered names go to :func:`facezoo.registry.build_model`,
saved models to :func:`facezoo.hub.from_pretrained`; both are told apart by :func:`facezoo.registry.parse_source`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from facezoo._registry import build_model, cut_features, parse_source
from facezoo.hub import from_pretrained

if TYPE_CHECKING:
    import keras

__all__ = ["create_model", "load_model", "feature_extractor"]


def create_model(
    source: str | os.PathLike,
    pretrained: bool | str = False,
    *,
    features_only: bool = False,
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
        features_only: Return the backbone's feature maps instead of the heads' outputs: a model mapping images to
            a list of maps by increasing stride, whose ``feature_info`` attribute holds each map's channels and
            stride (:attr:`facezoo.ModelInfo.feature_info` at the default config).
        force_download: Fetch the weights from the Hub again even if they are cached or embedded.
        endpoint: Hub URL (default: ``HF_ENDPOINT`` or https://huggingface.co).
        **config: Builder keyword arguments (model names only). With pretrained weights, those of
            :attr:`facezoo.ModelInfo.adaptable` may differ from the weights' config (see
            :func:`facezoo.registry.build_model`).

    Raises:
        ValueError: an unknown name (with close matches), arguments a saved model cannot take, or a config the
            weights cannot load into.
    """
    parsed = parse_source(source)
    if parsed.kind == "registered":
        assert parsed.name is not None
        if parsed.tag and pretrained not in (False, True, parsed.tag):
            raise ValueError(f"{source!r} names its weights already; drop pretrained={pretrained!r}.")
        return build_model(
            parsed.name,
            parsed.tag or pretrained,
            features_only=features_only,
            force_download=force_download,
            endpoint=endpoint,
            **config,
        )
    if pretrained not in (False, True) or config:
        raise ValueError(f"{source!r} is a saved model with its own weights: drop pretrained= and builder arguments.")
    model = from_pretrained(source, force_download=force_download, endpoint=endpoint)
    return cut_features(model) if features_only else model


def feature_extractor(
    source: str | os.PathLike,
    pretrained: bool | str = True,
    *,
    pooling: str = "avg",
    force_download: bool = False,
    endpoint: str | None = None,
    **config: Any,
) -> keras.Model:
    """A model mapping images (RGB floats in [0, 255]) to one embedding each: the backbone's last feature map,
    globally pooled. Its size is that map's channels: :attr:`facezoo.ModelInfo.embedding_size` at the default
    config (e.g. 1280 for the MobileNetV2 models, 256 for ``utkface_multitask``).

    Args:
        source: What :func:`create_model` takes: a model name, ``NAME.TAG``, a Hub repository or a local folder.
        pretrained: ``True`` (the default) loads the model's default weights, a string picks a tag; ``False``
            gives random weights.
        pooling: ``"avg"`` (global average pooling) or ``"max"``.
        force_download: Fetch the weights again even if cached or embedded (as for :func:`create_model`).
        endpoint: Hub URL (as for :func:`create_model`).
        **config: Builder keyword arguments, e.g. another ``input_shape`` (any size the backbone takes).

    Returns:
        A model named ``{name}_embedding`` with output shape (N, embedding size).
    """
    import keras

    pools = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D}
    if pooling not in pools:
        raise ValueError(f"pooling must be 'avg' or 'max', got {pooling!r}.")
    features = create_model(
        source, pretrained, features_only=True, force_download=force_download, endpoint=endpoint, **config
    )
    architecture = features._facezoo_architecture
    embedding = pools[pooling](name="embedding")(features.outputs[-1])
    model = keras.Model(features.input, embedding, name=f"{architecture}_embedding")
    object.__setattr__(model, "_facezoo_architecture", architecture)
    return model


def load_model(source: str | os.PathLike | keras.Model, *, force_download: bool = False) -> keras.Model:
    """A model with weights, as the verbs (``predict``, ``evaluate``, ``analyze``, the CLI) take one: a built model
    as it is, a registered name with its default weights, ``NAME.TAG``, a Hub repository or a local folder."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    return create_model(source, pretrained=True, force_download=force_download)
