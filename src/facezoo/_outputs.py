"""The output specs of a model as built: the one resolver behind ``facezoo.predict``'s decoding, ``evaluate``'s
metrics, ``facezoo.json`` and the model card. It sits on the registry and below :mod:`facezoo.hub` and
:mod:`facezoo.inference` (which re-exports :func:`output_specs`), so both use it without an import circle.
Nothing here imports TensorFlow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from facezoo._registry import model_info
from facezoo.specs import OutputSpec, resize_heads

if TYPE_CHECKING:
    import keras

__all__ = ["output_specs"]


def output_specs(model: keras.Model | str, config: Mapping[str, Any] | None = None) -> tuple[OutputSpec, ...]:
    """The outputs of a built ``model``, or of the registered model named ``model`` built with ``config``.

    They are the registry's specs (whose labels come from the model's dataset), with labels replaced by class
    indices where the build changed an output's width (a ``num_classes`` other than the dataset's, an int or
    ``{head: classes}``), and generic specs (regression for one value, else classes by index) for outputs the
    registry does not know.
    """
    if isinstance(model, str):
        return resize_heads(model_info(model).outputs, (config or {}).get("num_classes"), model=model)
    try:
        specs = model_info(getattr(model, "_facezoo_architecture", model.name)).outputs
    except ValueError:  # not a registered model
        specs = ()
    tensors = model.output if isinstance(model.output, dict) else {specs[0].name if specs else "output": model.output}
    widths = {name: int(tensor.shape[-1]) for name, tensor in tensors.items()}
    by_name = {spec.name: spec for spec in specs}
    resolved = []
    for name, width in widths.items():
        spec = by_name.get(name)
        if spec is None or spec.width != width:
            labels = tuple(map(str, range(width)))
            spec = OutputSpec(name, "regression") if width == 1 else OutputSpec(name, "classification", labels)
        resolved.append(spec)
    return tuple(resolved)
