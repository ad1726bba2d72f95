""":func:`create_model`: one entry point that builds a model from any way of naming one (timm's ``_factory``).

It sits above the registry and :mod:`facezoo.hub`: registered names go to :func:`facezoo.registry.build_model`,
saved models to :func:`facezoo.hub.from_pretrained`; both are told apart by :func:`facezoo.registry.parse_source`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from facezoo._registry import build_model, parse_source
from facezoo.hub import from_pretrained

if TYPE_CHECKING:
    import keras

__all__ = ["create_model", "load_model"]


def create_model(
    source: str | os.PathLike,
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
    parsed = parse_source(source)
    if parsed.kind == "registered":
        assert parsed.name is not None
        if parsed.tag and pretrained not in (False, True, parsed.tag):
            raise ValueError(f"{source!r} names its weights already; drop pretrained={pretrained!r}.")
        return build_model(
            parsed.name, parsed.tag or pretrained, force_download=force_download, endpoint=endpoint, **config
        )
    if pretrained not in (False, True) or config:
        raise ValueError(f"{source!r} is a saved model with its own weights: drop pretrained= and builder arguments.")
    return from_pretrained(source, force_download=force_download, endpoint=endpoint)


def load_model(source: str | os.PathLike | keras.Model, *, force_download: bool = False) -> keras.Model:
    """A model with weights, as the verbs (``predict``, ``evaluate``, ``analyze``, the CLI) take one: a built model
    as it is, a registered name with its default weights, ``NAME.TAG``, a Hub repository or a local folder."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    return create_model(source, pretrained=True, force_download=force_download)
