"""Person attributes (write-up 002): DenseNet121 trained from scratch with one tower + softmax head per attribute.

Reference: "Person attribute classification with DenseNet121" (HVC hackathon, 13,573 images), ``shared/reference/002``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from facezoo._registry import register_model
from facezoo.datasets.person_attributes import INFO as PERSON_ATTRIBUTES
from facezoo.datasets.person_attributes import LABELS as PERSON_ATTRIBUTE_HEADS
from facezoo.models._common import check_choice, check_input_shape, scaled_input

if TYPE_CHECKING:
    import keras

REFERENCE = "002: Person attributes with DenseNet121 from scratch, 8 softmax heads"

#: The write-up's per-channel statistics (RGB, pixel values 0-255) of its training images.
REFERENCE_CHANNEL_MEAN = (46.566, 41.469, 41.247)
REFERENCE_CHANNEL_STD = (69.212, 63.936, 63.295)


@register_model(
    family="person_attributes",
    task="multi-task classification",
    outputs=PERSON_ATTRIBUTES.heads,
    dataset="person_attributes",
    reference=REFERENCE,
    num_params=8_123_355,
)
def person_attributes_densenet121(
    input_shape: tuple[int, int, int] = (200, 200, 3),
    pooling: str = "avg",
    channel_mean: Sequence[float] = REFERENCE_CHANNEL_MEAN,
    channel_std: Sequence[float] = REFERENCE_CHANNEL_STD,
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

    Returns:
        A model mapping images to a dict ``{head: probabilities}`` over :data:`PERSON_ATTRIBUTE_HEADS`.
    """
    import keras
    from keras import layers

    name = "person_attributes_densenet121"
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
    for head, labels in PERSON_ATTRIBUTE_HEADS.items():
        tower = layers.BatchNormalization(name=f"{head}_tower_bn")(neck)
        tower = layers.Dropout(0.1, name=f"{head}_tower_dropout")(tower)
        tower = layers.Dense(128, activation="relu", name=f"{head}_tower_dense")(tower)
        outputs[head] = layers.Dense(len(labels), activation="softmax", name=f"{head}_output")(tower)
    return keras.Model(inputs, outputs, name=name)


def _channel_stats(
    mean: Sequence[float], std: Sequence[float], *, model: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    mean, std = tuple(float(m) for m in mean), tuple(float(s) for s in std)
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise ValueError(f"{model}: channel_mean and channel_std need 3 values (RGB), std > 0; got {mean}, {std}.")
    return mean, std
