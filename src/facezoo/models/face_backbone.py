"""facezoo's face-pretrained MobileNetV2: the backbone of AttractiveNet, trained on the zoo's own face datasets.

Not from a write-up. ImageNet weights cannot be had everywhere (nor here); this model gives the zoo's recipes a
face-specific initialisation instead: ``attractive_net(backbone_weights="runs/face_backbone/pretrained")`` (the
folder ``fit_face_backbone`` writes; a weight name such as ``"face_mobilenet_v2.TAG"`` once weights are published).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facezoo.datasets.faces import HEADS
from facezoo.models._common import check_input_shape, scaled_input
from facezoo.registry import register_model

if TYPE_CHECKING:
    import keras

REFERENCE = "facezoo: MobileNetV2 multi-task pretraining on UTKFace, IMFDB, CelebA and SCUT-FBP5500 (no write-up)"
#: Regression head -> (offset, scale): output = offset + scale * z, so an untrained head starts near the data's
#: mean and spread (UTKFace ages, SCUT-FBP5500 scores).
REGRESSION_PRIORS = {"age": (33.0, 20.0), "beauty": (3.0, 0.7)}


@register_model(
    family="face_backbone",
    task="multi-task classification",
    outputs=HEADS,
    dataset="faces",
    reference=REFERENCE,
    num_params=2_273_356,
)
def face_mobilenet_v2(input_shape: tuple[int, int, int] = (128, 128, 3), dropout: float = 0.2) -> keras.Model:
    """MobileNetV2 (no top, average pooling) with one head per face label of ``facezoo.datasets.faces``.

    The backbone is ``keras.applications.MobileNetV2`` (batch-norm momentum 0.99, as AttractiveNet uses from
    scratch), so its weights drop into any facezoo model built on it. Heads: dropout, then a linear ``age``
    (years) and ``beauty`` (score 1-5), and softmax ``gender``, ``race`` and ``age_class``.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [-1, 1] inside.
        dropout: Dropout rate on the pooled features before the heads.

    Returns:
        A model mapping images to a dict of the five heads.
    """
    import keras
    from keras import layers

    name = "face_mobilenet_v2"
    if not 0 <= dropout < 1:
        raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
    shape = check_input_shape(input_shape, min_size=32, model=name)
    inputs, x = scaled_input(shape, scale=1.0 / 127.5, offset=-1.0)
    backbone = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=shape, pooling="avg")
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.99
    features = layers.Dropout(dropout, name="head_dropout")(backbone(x))
    outputs = {}
    for spec in HEADS:
        if spec.kind == "regression":
            offset, scale = REGRESSION_PRIORS[spec.name]
            z = layers.Dense(1, name=f"{spec.name}_linear")(features)
            outputs[spec.name] = layers.Rescaling(scale, offset=offset, name=spec.name)(z)
        else:
            outputs[spec.name] = layers.Dense(len(spec.labels), activation="softmax", name=spec.name)(features)
    return keras.Model(inputs, outputs, name=name)
