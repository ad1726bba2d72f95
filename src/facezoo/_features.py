"""The backbone inside a built facezoo model: its feature maps (``features_only=True``), freezing it, and moving
weights between two builds of one model (pretrained weights into an adapted config).

Builders record their backbone's feature maps with :func:`record_backbone`: the layers (in the model or in a
sub-model such as keras.applications' MobileNetV2) whose outputs are the feature maps, by increasing stride. The
backbone is every layer the last feature map depends on; the rest are the heads. Below the registry: this module
imports only :mod:`facezoo.specs`, and Keras when called.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from facezoo.specs import FeatureInfo

if TYPE_CHECKING:
    import keras

__all__ = ["record_backbone", "features_model", "transfer_weights", "head_layers"]

_TAPS = "_facezoo_feature_taps"


def record_backbone(
    model: keras.Model, taps: Sequence[tuple[str, int]], *, freeze_backbone: bool = False
) -> keras.Model:
    """Record on ``model`` its backbone's feature maps, ``(layer name, stride)`` by increasing stride, and with
    ``freeze_backbone`` make the backbone's layers untrainable. Returns ``model``."""
    object.__setattr__(model, _TAPS, tuple((str(layer), int(stride)) for layer, stride in taps))
    if freeze_backbone:
        import keras

        last_layer, inner = _locate(model, taps[-1][0])
        last = last_layer.output if inner is None else _called(last_layer).output_tensors[0]
        for layer in keras.Model(model.input, last).layers:
            layer.trainable = False
    return model


def features_model(model: keras.Model) -> keras.Model:
    """A model sharing ``model``'s layers (and weights) that maps its input to the backbone's feature maps, a list
    by increasing stride, named ``{model.name}_features``; its ``feature_info`` attribute describes each map.

    Raises:
        ValueError: ``model`` records no feature maps (it was not built by a facezoo builder).
    """
    import keras

    taps = getattr(model, _TAPS, None)
    if not taps:
        raise ValueError(
            f"{model.name} records no backbone feature maps: build it with facezoo.create_model(NAME, "
            "features_only=True), or load it with facezoo.create_model or facezoo.hub.from_pretrained."
        )
    located = [_locate(model, layer) for layer, _ in taps]
    maps: dict[int, keras.KerasTensor] = {}
    nested: dict[str, list[tuple[int, keras.layers.Layer]]] = {}
    for index, (outer, inner) in enumerate(located):
        if inner is None:
            maps[index] = outer.output
        else:
            nested.setdefault(outer.name, []).append((index, inner))
    for name, inside in nested.items():
        outer = model.get_layer(name)
        cut = keras.Model(outer.input, [inner.output for _, inner in inside], name=f"{name}_features")
        maps.update(zip((index for index, _ in inside), cut(_called(outer).input_tensors[0])))
    ordered = [maps[i] for i in range(len(taps))]
    features = keras.Model(model.input, ordered, name=f"{model.name}_features")
    info = tuple(FeatureInfo(int(m.shape[-1]), stride) for m, (_, stride) in zip(ordered, taps))
    object.__setattr__(features, "feature_info", info)
    return features


def transfer_weights(donor: keras.Model, target: keras.Model) -> set[int]:
    """Copy into ``target`` the weights of every layer of ``donor`` (built by the same builder, with another config)
    whose weights have the same shapes, pairing the layers by position. Returns the ``id`` of every variable of
    ``target`` that was set."""
    if [type(layer) for layer in donor.layers] != [type(layer) for layer in target.layers]:
        raise ValueError(f"{target.name}: the two builds differ in their layers; their weights cannot be paired.")
    loaded: set[int] = set()
    for source, layer in zip(donor.layers, target.layers):
        if [tuple(w.shape) for w in source.weights] == [tuple(w.shape) for w in layer.weights]:
            layer.set_weights(source.get_weights())
            loaded.update(id(w) for w in layer.weights)
    return loaded


def head_layers(model: keras.Model, single: str) -> dict[str, keras.layers.Layer]:
    """Output name -> the layer computing it (``single`` names a model's lone, unnamed output)."""
    outputs = model.output if isinstance(model.output, dict) else {single: model.output}
    return {name: next(layer for layer in model.layers if layer.output is tensor) for name, tensor in outputs.items()}


def _locate(model: keras.Model, name: str) -> tuple[keras.layers.Layer, keras.layers.Layer | None]:
    """``(layer of model, None)`` for a layer of ``model``, ``(sub-model, its layer)`` for a layer of a sub-model."""
    import keras

    for layer in model.layers:
        if layer.name == name:
            return layer, None
    for layer in model.layers:
        if isinstance(layer, keras.Model) and any(inner.name == name for inner in layer.layers):
            return layer, layer.get_layer(name)
    raise ValueError(f"{model.name} has no layer {name!r} for its feature maps.")


def _called(layer: keras.layers.Layer) -> Any:
    """The (only) call of a sub-model inside the outer model: its input and output tensors there."""
    return layer._inbound_nodes[0]
