"""Person attributes (write-up 002): DenseNet121 trained from scratch with one tower + softmax head per attribute.

Reference: "Person attribute classification with DenseNet121" (HVC hackathon, 13,573 images), ``shared/reference/002``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Sequence

from facezoo._features import record_backbone
from facezoo._registry import register_model
from facezoo.datasets.person_attributes import INFO as PERSON_ATTRIBUTES
from facezoo.datasets.person_attributes import LABELS as PERSON_ATTRIBUTE_HEADS  # noqa: F401  (importable here)
from facezoo.models._common import check_choice, check_input_shape, scaled_input
from facezoo.specs import FeatureInfo, resize_heads

if TYPE_CHECKING:
    import keras

REFERENCE = "002: Person attributes with DenseNet121 from scratch, 8 softmax heads"

#: The write-up's per-channel statistics (RGB, pixel values 0-255) of its training images.
REFERENCE_CHANNEL_MEAN = (46.566, 41.469, 41.247)
REFERENCE_CHANNEL_STD = (69.212, 63.936, 63.295)
#: keras.applications' DenseNet121: the layer ending each stride's dense block, and the stride.
DENSENET121_TAPS = (
    ("conv1_relu", 2),
    ("conv2_block6_concat", 4),
    ("conv3_block12_concat", 8),
    ("conv4_block24_concat", 16),
    ("relu", 32),
)


@register_model(
    family="person_attributes",
    task="multi-task classification",
    outputs=PERSON_ATTRIBUTES.heads,
    dataset="person_attributes",
    reference=REFERENCE,
    num_params=8_123_355,
    features=tuple(FeatureInfo(c, s) for c, (_, s) in zip((64, 256, 512, 1024, 1024), DENSENET121_TAPS)),
    pooled=True,
)
def person_attributes_densenet121(
    input_shape: tuple[int, int, int] = (200, 200, 3),
    pooling: str = "avg",
    channel_mean: Sequence[float] = REFERENCE_CHANNEL_MEAN,
    channel_std: Sequence[float] = REFERENCE_CHANNEL_STD,
    freeze_backbone: bool = False,
    num_classes: Mapping[str, int] | None = None,
) -> keras.Model:
    """DenseNet121 (no top, random init) -> global pooling -> per attribute: BN -> Dropout(0.1) -> Dense128 ReLU ->
    Dense(n, softmax) named ``{head}_output``.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255].
        pooling: ``"avg"`` (GlobalAveragePooling, the write-up's model) or ``"avgmax"`` (GAP and GlobalMaxPooling
            concatenated, the write-up's proposed improvement).
        channel_mean: Per-channel (RGB) mean of the training images, subtracted inside the model.
        channel_std: Per-channel (RGB) standard deviation. Both default to the write-up's training-set values;
            nothing computes them from your data: pass your training set's own to the builder or the fit helper.
        freeze_backbone: Freeze DenseNet121 (only the heads train).
        num_classes: Classes per head to change, e.g. ``{"age": 6}`` (labels ``"0"``, ``"1"``, ...).

    Returns:
        A model mapping images to a dict ``{head: probabilities}`` over :data:`PERSON_ATTRIBUTE_HEADS`.
    """
    import keras
    from keras import layers

    name = "person_attributes_densenet121"
    heads = resize_heads(PERSON_ATTRIBUTES.heads, num_classes, model=name)
    check_choice(pooling, ("avg", "avgmax"), name="pooling", model=name)
    shape = check_input_shape(input_shape, min_size=32, model=name)
    mean, std = _channel_stats(channel_mean, channel_std, model=name)

    inputs, x = scaled_input(shape, scale=[1.0 / s for s in std], offset=[-m / s for m, s in zip(mean, std)])
    backbone = keras.applications.DenseNet121(include_top=False, weights=None, input_shape=shape)
    features = backbone(x)
    neck = layers.GlobalAveragePooling2D()(features)
    if pooling == "avgmax":
        neck = layers.Concatenate()([neck, layers.GlobalMaxPooling2D()(features)])
    outputs = {}
    for spec in heads:
        tower = layers.BatchNormalization(name=f"{spec.name}_tower_bn")(neck)
        tower = layers.Dropout(0.1, name=f"{spec.name}_tower_dropout")(tower)
        tower = layers.Dense(128, activation="relu", name=f"{spec.name}_tower_dense")(tower)
        outputs[spec.name] = layers.Dense(spec.width, activation="softmax", name=f"{spec.name}_output")(tower)
    model = keras.Model(inputs, outputs, name=name)
    return record_backbone(model, DENSENET121_TAPS, freeze_backbone=freeze_backbone)


def _channel_stats(
    mean: Sequence[float], std: Sequence[float], *, model: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise ValueError(f"{model}: channel_mean and channel_std need 3 values (RGB), std > 0; got {mean}, {std}.")
    return mean, std
