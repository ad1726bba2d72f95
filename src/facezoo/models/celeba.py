"""CelebA ``Male`` (write-up 003): a simple CNN and an InceptionV3 transfer head on aligned 218x178 faces; and
facezoo's own MobileNetV2 fine-tuned from the face backbone.

Reference: ``shared/reference/003``; InceptionV3 transfer 92.4 %, simple CNN 94.2 % test accuracy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facezoo._features import record_backbone
from facezoo._registry import register_model
from facezoo.datasets.celeba import INFO as CELEBA
from facezoo.models._common import (
    MOBILENET_V2_FEATURES,
    backbone_weights_arg,
    check_input_shape,
    copy_backbone_weights,
    mobilenet_v2_with_heads,
    scaled_input,
)
from facezoo.specs import FeatureInfo, WeightsInfo

if TYPE_CHECKING:
    import keras

REFERENCE = "003: CelebA gender (Male attribute), InceptionV3 transfer vs simple CNN"
FACEZOO_REFERENCE = "facezoo: MobileNetV2 from the face backbone, fine-tuned on CelebA Male (no write-up)"
#: CelebA's ``Male`` head (labels female, male) as the output ``male``: output names are facezoo's snake_case, dataset
#: heads keep the upstream attribute's spelling (CONTRIBUTING.md, "Names").
_OUTPUTS = CELEBA.heads_as(male="Male")

#: Weights trained by ``facezoo.training`` (card: ``weights/celeba_cnn-celeba/README.md``); 66 MB, not embedded.
CELEBA_CNN_WEIGHTS = WeightsInfo(
    tag="celeba",
    repo_id="facezoo/celeba_cnn-celeba",
    revision="main",
    filename="model.weights.h5",
    sha256="95700228074f4072feb3e2cda9379fd85c9b4730aef5dcff02145d1e42787ac7",
    file_size=66085808,
    config={"input_shape": (218, 178, 3), "freeze_backbone": False},
    metrics={"accuracy": 0.8907, "macro_f1": 0.8618},
    flip_metrics={"accuracy": 0.887, "macro_f1": 0.8565},
    split="test (identity-disjoint, 18 identities, 540 images of facezoo's CelebA copy)",
    dataset="celeba",
    dataset_options={"protocol": "identity", "label_from_identity": True, "identity_fractions": [0.15, 0.15]},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'celeba_gender', batch 32, 45 epochs, Adam 1e-3 with warm-up + cosine",
    num_params=16510529,
    embedded=None,
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 2975,
        "epochs": 45,
        "command": "python -c \"import facezoo.training as t; t.fit('celeba_gender', '../shared/data', "
        "'runs/celeba_cnn45', epochs=45, batch_size=32, seed=0, dataset_options={'protocol': "
        "'identity', 'label_from_identity': True, 'identity_fractions': (0.15, 0.15)}, "
        "optimizer=t.Optimizer('adam', 1e-3, schedule='cosine', warmup_epochs=1))\"",
        "cpu_time_s": 2578,
    },
    ablation=(
        {
            "variant": "write-up 003 CNN, 45 epochs, warm-up + cosine (these weights)",
            "init": None,
            "image_size": [218, 178],
            "epochs": 45,
            "cpu_time_s": 2578,
            "metrics": {"accuracy": 0.8907, "macro_f1": 0.8618},
        },
        {
            "variant": "write-up 003 CNN, 30 epochs, constant rate (previous celeba_cnn.celeba)",
            "init": None,
            "image_size": [218, 178],
            "epochs": 30,
            "cpu_time_s": None,
            "metrics": {"accuracy": 0.8593, "macro_f1": 0.8151},
        },
        {
            "variant": "face backbone fine-tune (celeba_mobilenet_v2)",
            "init": "face_mobilenet_v2.faces",
            "image_size": 128,
            "epochs": 10,
            "cpu_time_s": 758,
            "metrics": {"accuracy": 0.9463, "macro_f1": 0.9348},
        },
    ),
    commit=None,
)


@register_model(
    family="celeba",
    task="classification",
    outputs=_OUTPUTS,
    dataset="celeba",
    reference=REFERENCE,
    num_params=16_510_529,
    features=(FeatureInfo(32, 2), FeatureInfo(64, 4), FeatureInfo(128, 8)),
    weights=(CELEBA_CNN_WEIGHTS,),
)
def celeba_cnn(input_shape: tuple[int, int, int] = (218, 178, 3), freeze_backbone: bool = False) -> keras.Model:
    """Conv32-MaxPool-Conv64-MaxPool-Dropout.25-Conv128-MaxPool-Dropout.25 (3x3 valid, ReLU) -> Flatten ->
    Dense256-Dropout.4-Dense128-Dropout.3 -> Dense(1, sigmoid).

    Args:
        input_shape: RGB input (height, width, 3) of aligned CelebA faces, floats in [0, 255], scaled by 1/255 inside.
        freeze_backbone: Freeze the three convolution stages (the backbone; the dense layers train).

    Returns:
        A model mapping images to P(``Male``), shape (N, 1).
    """
    import keras
    from keras import layers

    name = "celeba_cnn"
    shape = check_input_shape(input_shape, min_size=22, model=name)
    inputs, x = scaled_input(shape, scale=1.0 / 255)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2, name="pool1")(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2, name="pool2")(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Conv2D(128, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2, name="pool3")(x)
    x = layers.Dropout(0.25)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(1, activation="sigmoid", name="male")(x)
    taps = [("pool1", 2), ("pool2", 4), ("pool3", 8)]
    return record_backbone(keras.Model(inputs, outputs, name=name), taps, freeze_backbone=freeze_backbone)


@register_model(
    family="celeba",
    task="classification",
    outputs=_OUTPUTS,
    dataset="celeba",
    reference=REFERENCE,
    num_params=28_118_817,
    features=(
        FeatureInfo(64, 2),
        FeatureInfo(192, 4),
        FeatureInfo(288, 8),
        FeatureInfo(768, 16),
        FeatureInfo(2048, 32),
    ),
    pooled=True,
)
def celeba_inception_v3(
    input_shape: tuple[int, int, int] = (218, 178, 3),
    backbone_weights: str | None = None,
    freeze_backbone: bool = True,
) -> keras.Model:
    """InceptionV3 (no top, average pooling) -> Flatten -> BN -> Dense2048 -> BN -> Dropout.5 -> Dense1024 -> BN ->
    Dense(1, sigmoid).

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [-1, 1] inside (InceptionV3's own
            preprocessing).
        backbone_weights: ``None`` (random init) or ``"imagenet"`` (keras.applications weights).
        freeze_backbone: Freeze InceptionV3 (6,305,793 trainable parameters remain at the defaults).

    Returns:
        A model mapping images to P(``Male``), shape (N, 1).
    """
    import keras
    from keras import layers

    name = "celeba_inception_v3"
    shape = check_input_shape(input_shape, min_size=75, model=name)
    weights = backbone_weights_arg(
        backbone_weights, model=name, file_name="inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    inputs, x = scaled_input(shape, scale=1.0 / 127.5, offset=-1.0)
    backbone = keras.applications.InceptionV3(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    copy_backbone_weights(backbone, backbone_weights, model=name)
    x = backbone(x)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dense(2048, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    x = layers.Dropout(0.5)(x)
    x = layers.Dense(1024, activation="relu")(x)
    x = layers.BatchNormalization()(x)
    outputs = layers.Dense(1, activation="sigmoid", name="male")(x)
    # The stem's layers are unnamed in keras.applications: its feature maps are those its two max pools take.
    stem = [
        backbone.layers[i - 1].name for i, layer in enumerate(backbone.layers) if isinstance(layer, layers.MaxPooling2D)
    ]
    taps = [(stem[0], 2), (stem[1], 4), ("mixed2", 8), ("mixed7", 16), ("mixed10", 32)]
    return record_backbone(keras.Model(inputs, outputs, name=name), taps, freeze_backbone=freeze_backbone)


#: Fine-tuned from the face backbone (card: ``weights/celeba_mobilenet_v2-faces_ft_celeba/README.md``); staged for
#: the Hub, not embedded (the wheel's budget).
FACE_FINE_TUNED_WEIGHTS = WeightsInfo(
    tag="faces_ft_celeba",
    repo_id="facezoo/celeba_mobilenet_v2-faces_ft_celeba",
    revision="main",
    filename="model.weights.h5",
    sha256="8ec9126e5f99c6f83a6f9dba28a89762642fab645e357a833b945e61c856a426",
    file_size=9467264,
    config={"input_shape": (128, 128, 3), "dropout": 0.2, "backbone_weights": None, "freeze_backbone": False},
    metrics={"accuracy": 0.9463, "macro_f1": 0.9348},
    flip_metrics={"accuracy": 0.9556, "macro_f1": 0.9459},
    split="test (identity-disjoint, 18 identities, 540 images of facezoo's CelebA copy)",
    dataset="celeba",
    dataset_options={"protocol": "identity", "label_from_identity": True, "identity_fractions": [0.15, 0.15]},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'celeba_mobilenet_v2' from face_mobilenet_v2.faces: 8 epochs at 96x96, 2 at 128x128",
    num_params=2259265,
    embedded=None,
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 840,
        "epochs": 10,
        "command": "python -c \"import facezoo.training as t; t.fit('celeba_mobilenet_v2', "
        "'../shared/data', 'runs/celeba_mobilenet_v2', seed=0, "
        "backbone_weights='face_mobilenet_v2.faces')\"",
        "cpu_time_s": 758,
    },
    ablation=(
        {
            "variant": "face backbone fine-tune (these weights)",
            "init": "face_mobilenet_v2.faces",
            "image_size": 128,
            "epochs": 10,
            "cpu_time_s": 758,
            "metrics": {"accuracy": 0.9463, "macro_f1": 0.9348},
        },
        CELEBA_CNN_WEIGHTS.as_ablation_row("write-up 003 CNN from scratch, 45 epochs (celeba_cnn.celeba)"),
    ),
    commit=None,
)


@register_model(
    family="celeba",
    task="classification",
    outputs=_OUTPUTS,
    dataset="celeba",
    reference=FACEZOO_REFERENCE,
    num_params=2_259_265,
    features=MOBILENET_V2_FEATURES,
    pooled=True,
    weights=(FACE_FINE_TUNED_WEIGHTS,),
)
def celeba_mobilenet_v2(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    dropout: float = 0.2,
    backbone_weights: str | None = None,
    freeze_backbone: bool = False,
) -> keras.Model:
    """facezoo's CelebA ``Male`` model, not the write-up's: MobileNetV2 (no top, average pooling) -> dropout ->
    Dense(1, sigmoid), meant to start from the face backbone (``backbone_weights="face_mobilenet_v2.faces"``).

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [-1, 1] inside; whole aligned
            CelebA images are resized to it.
        dropout: Dropout rate on the pooled features.
        backbone_weights: ``None`` (random init), ``"imagenet"`` or the MobileNetV2 of a facezoo model (a weight
            name, a ``save_pretrained`` folder or an ``hf://`` repository).
        freeze_backbone: Freeze MobileNetV2 (only the head trains).

    Returns:
        A model mapping images to P(``Male``), shape (N, 1).
    """
    return mobilenet_v2_with_heads(
        "celeba_mobilenet_v2",
        input_shape,
        _OUTPUTS,
        dropout=dropout,
        backbone_weights=backbone_weights,
        freeze_backbone=freeze_backbone,
    )
