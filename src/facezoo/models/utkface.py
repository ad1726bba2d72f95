"""UTKFace age / gender / race: a compact multi-task CNN designed for CPU training.

Not from a write-up: facezoo's own design (see :func:`utkface_multitask`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from facezoo._features import record_backbone
from facezoo._registry import register_model
from facezoo.datasets.utkface import INFO as UTKFACE
from facezoo.models._common import (
    MOBILENET_V2_FEATURES,
    check_input_shape,
    check_positive_int,
    mobilenet_v2_with_heads,
    scaled_input,
)
from facezoo.specs import FeatureInfo, WeightsInfo, resize_heads

if TYPE_CHECKING:
    import keras

REFERENCE = "facezoo: compact multi-task CNN for UTKFace (age, gender, race); no write-up"
OUTPUTS = UTKFACE.heads
GENDER_LABELS = UTKFACE.head("gender").labels
RACE_LABELS = UTKFACE.head("race").labels
MOBILENET_REFERENCE = "facezoo: MobileNetV2 from the face backbone, fine-tuned on UTKFace (no write-up)"
#: Age head output = AGE_OFFSET + AGE_SCALE * z, so an untrained head starts near UTKFace's mean age and spread.
AGE_OFFSET, AGE_SCALE = 33.0, 20.0

#: Weights trained by ``facezoo.training.fit_utkface`` (card: ``weights/utkface_multitask-utkface/README.md``).
UTKFACE_WEIGHTS = WeightsInfo(
    tag="utkface",
    repo_id="facezoo/utkface_multitask-utkface",
    revision="main",
    filename="model.weights.h5",
    sha256="3489b8e90dba26e27a6c483d877f19132b7339ad5bca748e7ce1c5c421460f99",
    file_size=5252640,
    config={"input_shape": (64, 64, 3), "width": 32, "dropout": 0.3, "freeze_backbone": False, "num_classes": None},
    metrics={
        "age/mae": 6.3739,
        "age/rmse": 8.9192,
        "age/pearson_r": 0.903,
        "gender/accuracy": 0.8867,
        "gender/macro_f1": 0.8863,
        "race/accuracy": 0.7422,
        "race/macro_f1": 0.6219,
    },
    flip_metrics={
        "age/mae": 6.1511,
        "age/rmse": 8.6736,
        "age/pearson_r": 0.9084,
        "gender/accuracy": 0.8956,
        "gender/macro_f1": 0.8951,
        "race/accuracy": 0.7511,
        "race/macro_f1": 0.6249,
    },
    split="test (seeded 10%, 900 images, of facezoo's UTKFace copy)",
    dataset="utkface",
    dataset_options={},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'utkface' at 64x64, 25 epochs",
    num_params=1284200,
    embedded="facezoo/weights/utkface_multitask-utkface/model.weights.h5",
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other jobs, TensorFlow 2.21",
        "wall_time_s": 1017,
        "epochs": 25,
        "command": "python -c \"import facezoo.training as t; t.fit_utkface('../shared/data/UTKFace', "
        "'runs/utkface64', image_size=64, epochs=25, seed=0)\"",
        "training_args": "weights/utkface_multitask-utkface/facezoo.json",
    },
    ablation=(
        {
            "variant": "from scratch, 64 px (these weights)",
            "init": None,
            "image_size": 64,
            "epochs": 25,
            "cpu_time_s": None,
            "metrics": {
                "age/mae": 6.3739,
                "age/rmse": 8.9192,
                "age/pearson_r": 0.903,
                "gender/accuracy": 0.8867,
                "gender/macro_f1": 0.8863,
                "race/accuracy": 0.7422,
                "race/macro_f1": 0.6219,
            },
        },
        {
            "variant": "face backbone fine-tune (utkface_mobilenet_v2, not published)",
            "init": "face_mobilenet_v2.faces",
            "image_size": 128,
            "epochs": 10,
            "cpu_time_s": 1803,
            "metrics": {
                "age/mae": 7.0275,
                "age/rmse": 10.0205,
                "age/pearson_r": 0.8755,
                "gender/accuracy": 0.8722,
                "gender/macro_f1": 0.8717,
                "race/accuracy": 0.7111,
                "race/macro_f1": 0.5629,
            },
        },
    ),
    commit=None,
)


@register_model(
    family="utkface",
    task="multi-task classification",
    outputs=OUTPUTS,
    dataset="utkface",
    reference=REFERENCE,
    num_params=1_284_200,
    features=(FeatureInfo(32, 2), FeatureInfo(32, 4), FeatureInfo(64, 8), FeatureInfo(128, 16), FeatureInfo(256, 32)),
    pooled=True,
    weights=(UTKFACE_WEIGHTS,),
)
def utkface_multitask(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    width: int = 32,
    dropout: float = 0.3,
    freeze_backbone: bool = False,
    num_classes: Mapping[str, int] | None = None,
) -> keras.Model:
    """A VGG-style CNN with batch norm and three heads: age (years), gender and race.

    Design: a 3x3 stride-2 stem, then four stages of two Conv3x3-BN-ReLU and a 2x2 max pool (``width`` x 1, 2, 4, 8
    filters), global average pooling, and per head Dense128-ReLU-Dropout -> output. At 128x128 the stride-2 stem
    keeps the cost near 0.25 GMAC per image, so an epoch over 9,000 images takes about a minute on two CPU cores;
    batch norm lets it train from scratch at a high learning rate, and GAP keeps the parameter count (1.3 M) small
    for a dataset of this size. The age head ends in a fixed affine map (33 + 20 z) so it starts in the right range.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [0, 1] inside.
        width: Filters of the first stage.
        dropout: Dropout rate in each head.
        freeze_backbone: Freeze the stem and the four stages (the backbone; the heads train).
        num_classes: Classes of ``gender`` and ``race`` to change, e.g. ``{"race": 7}`` (labels ``"0"``, ``"1"``, ...).

    Returns:
        A model mapping images to ``{"age": (N, 1) years, "gender": (N, 2), "race": (N, 5)}``.
    """
    import keras
    from keras import layers

    name = "utkface_multitask"
    heads = {spec.name: spec for spec in resize_heads(OUTPUTS, num_classes, model=name)}
    check_positive_int(width, name="width", model=name)
    if not 0 <= dropout < 1:
        raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
    shape = check_input_shape(input_shape, min_size=32, model=name)

    def conv_bn_relu(
        x: keras.KerasTensor, filters: int, strides: int = 1, name: str | None = None
    ) -> keras.KerasTensor:
        x = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(x)
        return layers.ReLU(name=name)(layers.BatchNormalization()(x))

    inputs, x = scaled_input(shape, scale=1.0 / 255)
    x = conv_bn_relu(x, width, strides=2, name="stem")
    for stage, multiplier in enumerate((1, 2, 4, 8), 1):
        x = conv_bn_relu(x, width * multiplier)
        x = conv_bn_relu(x, width * multiplier)
        x = layers.MaxPooling2D(2, padding="same", name=f"stage{stage}")(x)
    features = layers.GlobalAveragePooling2D()(x)

    def head(head_name: str) -> keras.KerasTensor:
        h = layers.Dense(128, activation="relu", name=f"{head_name}_dense")(features)
        return layers.Dropout(dropout, name=f"{head_name}_dropout")(h)

    age = layers.Dense(1, name="age_linear")(head("age"))
    outputs = {"age": layers.Rescaling(AGE_SCALE, offset=AGE_OFFSET, name="age")(age)}
    for head_name in ("gender", "race"):
        dense = layers.Dense(heads[head_name].width, activation="softmax", name=head_name)
        outputs[head_name] = dense(head(head_name))
    taps = [("stem", 2), *((f"stage{stage}", 2 ** (stage + 1)) for stage in range(1, 5))]
    return record_backbone(keras.Model(inputs, outputs, name=name), taps, freeze_backbone=freeze_backbone)


@register_model(
    family="utkface",
    task="multi-task classification",
    outputs=OUTPUTS,
    dataset="utkface",
    reference=MOBILENET_REFERENCE,
    num_params=2_268_232,
    features=MOBILENET_V2_FEATURES,
    pooled=True,
)
def utkface_mobilenet_v2(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    dropout: float = 0.2,
    backbone_weights: str | None = None,
    freeze_backbone: bool = False,
    num_classes: Mapping[str, int] | None = None,
) -> keras.Model:
    """MobileNetV2 (no top, average pooling) -> dropout -> age (years), gender and race heads, meant to start from
    the face backbone (``backbone_weights="face_mobilenet_v2.faces"``). facezoo's own design.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [-1, 1] inside.
        dropout: Dropout rate on the pooled features.
        backbone_weights: ``None`` (random init), ``"imagenet"`` or the MobileNetV2 of a facezoo model (a weight
            name, a ``save_pretrained`` folder or an ``hf://`` repository).
        freeze_backbone: Freeze MobileNetV2 (only the heads train).
        num_classes: Classes of ``gender`` and ``race`` to change, e.g. ``{"race": 7}`` (labels ``"0"``, ``"1"``, ...).

    Returns:
        A model mapping images to ``{"age": (N, 1) years, "gender": (N, 2), "race": (N, 5)}``.
    """
    name = "utkface_mobilenet_v2"
    return mobilenet_v2_with_heads(
        name,
        input_shape,
        resize_heads(OUTPUTS, num_classes, model=name),
        dropout=dropout,
        backbone_weights=backbone_weights,
        freeze_backbone=freeze_backbone,
        priors={"age": (AGE_OFFSET, AGE_SCALE)},
    )
