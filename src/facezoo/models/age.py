"""Age class (young / middle / old) from a face crop (write-up 001): a small CNN baseline, its regularised variant
and VGG16 transfer.

Reference: "Age detection of Indian actors" (Analytics Vidhya, IMFDB), ``shared/reference/001``: baseline 68 %,
with batch norm + dropout 70 %, with augmentation and VGG16 74 % validation accuracy on a balanced subset.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facezoo._features import record_backbone
from facezoo._registry import register_model
from facezoo.datasets.imfdb_age import INFO as IMFDB_AGE
from facezoo.models._common import (
    MOBILENET_V2_FEATURES,
    backbone_weights_arg,
    check_choice,
    check_input_shape,
    check_positive_int,
    copy_backbone_weights,
    mobilenet_v2_with_heads,
    scaled_input,
)
from facezoo.specs import FeatureInfo, WeightsInfo, resize_heads

if TYPE_CHECKING:
    import keras

REFERENCE = "001: Age detection of Indian actors (IMFDB), small CNN and VGG16 transfer"
FACEZOO_REFERENCE = "facezoo: MobileNetV2 from the face backbone, fine-tuned on IMFDB age classes (no write-up)"
AGE_OUTPUTS = IMFDB_AGE.heads
AGE_LABELS = IMFDB_AGE.head("age").labels
#: Filters of age_cnn's five Conv3x3 + MaxPool stages, and of VGG16's five blocks.
AGE_CNN_FILTERS = (32, 64, 128, 128, 128)
VGG16_FILTERS = (64, 128, 256, 512, 512)


#: Weights trained by ``facezoo.training`` (card: ``weights/age_cnn-imfdb_age/README.md``).
AGE_CNN_WEIGHTS = WeightsInfo(
    tag="imfdb_age",
    repo_id="facezoo/age_cnn-imfdb_age",
    revision="main",
    filename="model.weights.h5",
    sha256="337f54ad4d6ca8477eacc163aa0b4f97e537942f0eb425617ad65adb85c2c8a8",
    file_size=2692744,
    config={"variant": "regularized", "input_shape": (128, 128, 3), "num_classes": 3, "freeze_backbone": False},
    metrics={"accuracy": 0.8077, "macro_f1": 0.7572},
    flip_metrics={"accuracy": 0.8124, "macro_f1": 0.7588},
    split="test (stratified 10%, 1,690 images, of facezoo's IMFDB copy)",
    dataset="imfdb_age",
    dataset_options={},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'age_cnn', 30 epochs, Adam 1e-3 with warm-up + cosine",
    num_params=656579,
    embedded="facezoo/weights/age_cnn-imfdb_age/model.weights.h5",
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 7118,
        "epochs": 30,
        "command": "python -c \"import facezoo.training as t; t.fit('age_cnn', '../shared/data', "
        "'runs/age_cnn30', variant='regularized', epochs=30, seed=0, "
        "optimizer=t.Optimizer('adam', 1e-3, schedule='cosine', warmup_epochs=1))\"",
        "cpu_time_s": 6775,
    },
    ablation=(
        {
            "variant": "write-up 001 CNN, 30 epochs, Adam + cosine (these weights)",
            "init": None,
            "image_size": 128,
            "epochs": 30,
            "cpu_time_s": 6775,
            "metrics": {"accuracy": 0.8077, "macro_f1": 0.7572},
        },
        {
            "variant": "write-up 001 CNN, 12 epochs, RMSprop 1e-4 (previous age_cnn.imfdb_age)",
            "init": None,
            "image_size": 128,
            "epochs": 12,
            "cpu_time_s": None,
            "metrics": {"accuracy": 0.7355, "macro_f1": 0.6018},
        },
        {
            "variant": "face backbone fine-tune (age_mobilenet_v2)",
            "init": "face_mobilenet_v2.faces",
            "image_size": 128,
            "epochs": 8,
            "cpu_time_s": 2932,
            "metrics": {"accuracy": 0.7911, "macro_f1": 0.7341},
        },
    ),
    commit=None,
)


@register_model(
    family="age",
    task="classification",
    outputs=AGE_OUTPUTS,
    dataset="imfdb_age",
    reference=REFERENCE,
    num_params=652_611,
    features=tuple(FeatureInfo(filters, 2 ** (i + 1)) for i, filters in enumerate(AGE_CNN_FILTERS)),
    weights=(AGE_CNN_WEIGHTS,),
)
def age_cnn(
    variant: str = "baseline",
    input_shape: tuple[int, int, int] = (128, 128, 3),
    num_classes: int = 3,
    freeze_backbone: bool = False,
) -> keras.Model:
    """Five Conv3x3 (32-64-128-128-128, valid, ReLU) + MaxPool stages -> Dense512 -> softmax.

    ``variant="regularized"`` adds BatchNormalization after each convolution and after Dense512, and Dropout(0.3)
    before and after Dense512. The write-up used ``BatchNormalization(axis=1)``, which normalises over image rows
    (a bug); here BatchNormalization normalises the channel axis.

    Args:
        variant: ``"baseline"`` (652,611 parameters) or ``"regularized"``.
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled by 1/255 inside.
        num_classes: Output classes; 3 means YOUNG, MIDDLE, OLD in that order.
        freeze_backbone: Freeze the convolution stages (the backbone; the dense layers train).

    Returns:
        A model mapping images to class probabilities, shape (N, num_classes).
    """
    import keras
    from keras import layers

    name = "age_cnn"
    check_choice(variant, ("baseline", "regularized"), name="variant", model=name)
    check_positive_int(num_classes, name="num_classes", model=name, minimum=2)
    shape = check_input_shape(input_shape, min_size=94, model=name)
    regularized = variant == "regularized"

    inputs, x = scaled_input(shape, scale=1.0 / 255)
    for stage, filters in enumerate(AGE_CNN_FILTERS, 1):
        x = layers.Conv2D(filters, 3, activation="relu")(x)
        if regularized:
            x = layers.BatchNormalization()(x)
        x = layers.MaxPooling2D(2, name=f"pool{stage}")(x)
    x = layers.Flatten()(x)
    if regularized:
        x = layers.Dropout(0.3)(x)
    x = layers.Dense(512, activation="relu")(x)
    if regularized:
        x = layers.BatchNormalization()(x)
        x = layers.Dropout(0.3)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="age")(x)
    taps = [(f"pool{stage}", 2**stage) for stage in range(1, 6)]
    return record_backbone(keras.Model(inputs, outputs, name=name), taps, freeze_backbone=freeze_backbone)


@register_model(
    family="age",
    task="classification",
    outputs=AGE_OUTPUTS,
    dataset="imfdb_age",
    reference=REFERENCE,
    num_params=16_812_867,
    features=tuple(FeatureInfo(filters, 2 ** (i + 1)) for i, filters in enumerate(VGG16_FILTERS)),
)
def age_vgg16(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    num_classes: int = 3,
    backbone_weights: str | None = None,
    freeze_backbone: bool = True,
) -> keras.Model:
    """VGG16 (no top) -> Flatten -> Dense256 ReLU -> softmax: the write-up's transfer model.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255]; VGG16's own preprocessing (BGR, ImageNet
            mean subtraction) is applied inside.
        num_classes: Output classes; 3 means YOUNG, MIDDLE, OLD.
        backbone_weights: ``None`` (random init) or ``"imagenet"`` (keras.applications weights).
        freeze_backbone: Freeze VGG16 (2,098,179 trainable parameters remain at the defaults).

    Returns:
        A model mapping images to class probabilities, shape (N, num_classes).
    """
    import keras
    from keras import layers

    from facezoo.models._layers import ChannelReverse

    name = "age_vgg16"
    check_positive_int(num_classes, name="num_classes", model=name, minimum=2)
    shape = check_input_shape(input_shape, min_size=32, model=name)
    weights = backbone_weights_arg(
        backbone_weights, model=name, file_name="vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    )
    # keras.applications.vgg16.preprocess_input, as a weightless layer: RGB -> BGR, minus the ImageNet means.
    inputs = keras.Input(shape=shape, name="image")
    x = ChannelReverse(name="rgb_to_bgr")(inputs)
    x = layers.Rescaling(1.0, offset=[-103.939, -116.779, -123.68], name="input_scaling")(x)
    backbone = keras.applications.VGG16(include_top=False, weights=weights, input_shape=shape)
    copy_backbone_weights(backbone, backbone_weights, model=name)
    x = backbone(x)
    x = layers.Flatten()(x)
    x = layers.Dense(256, activation="relu")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="age")(x)
    taps = [(f"block{block}_pool", 2**block) for block in range(1, 6)]
    return record_backbone(keras.Model(inputs, outputs, name=name), taps, freeze_backbone=freeze_backbone)


#: Fine-tuned from the face backbone (card: ``weights/age_mobilenet_v2-faces_ft_imfdb_age/README.md``).
FACE_FINE_TUNED_WEIGHTS = WeightsInfo(
    tag="faces_ft_imfdb_age",
    repo_id="facezoo/age_mobilenet_v2-faces_ft_imfdb_age",
    revision="main",
    filename="model.weights.h5",
    sha256="18b7b1c0b1f7f1b7a2b021ff3b020d0de346862c81e38bfba4ec575f2661da3e",
    file_size=9477504,
    config={
        "input_shape": (128, 128, 3),
        "num_classes": 3,
        "dropout": 0.2,
        "backbone_weights": None,
        "freeze_backbone": False,
    },
    metrics={"accuracy": 0.7911, "macro_f1": 0.7341},
    flip_metrics={"accuracy": 0.7882, "macro_f1": 0.7227},
    split="test (stratified 10%, 1,690 images, of facezoo's IMFDB copy)",
    dataset="imfdb_age",
    dataset_options={},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'age_mobilenet_v2' from face_mobilenet_v2.faces: 6 epochs at 96x96, 2 at 128x128",
    num_params=2261827,
    embedded="facezoo/weights/age_mobilenet_v2-faces_ft_imfdb_age/model.weights.h5",
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 3173,
        "epochs": 8,
        "command": "python -c \"import facezoo.training as t; t.fit('age_mobilenet_v2', "
        "'../shared/data', 'runs/age_mobilenet_v2', seed=0, "
        "backbone_weights='face_mobilenet_v2.faces')\"",
        "cpu_time_s": 2932,
    },
    ablation=(
        {
            "variant": "face backbone fine-tune (these weights)",
            "init": "face_mobilenet_v2.faces",
            "image_size": 128,
            "epochs": 8,
            "cpu_time_s": 2932,
            "metrics": {"accuracy": 0.7911, "macro_f1": 0.7341},
        },
        AGE_CNN_WEIGHTS.as_ablation_row("write-up 001 CNN from scratch, 30 epochs (age_cnn.imfdb_age)"),
    ),
    commit=None,
)


@register_model(
    family="age",
    task="classification",
    outputs=AGE_OUTPUTS,
    dataset="imfdb_age",
    reference=FACEZOO_REFERENCE,
    num_params=2_261_827,
    features=MOBILENET_V2_FEATURES,
    pooled=True,
    weights=(FACE_FINE_TUNED_WEIGHTS,),
)
def age_mobilenet_v2(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    num_classes: int = 3,
    dropout: float = 0.2,
    backbone_weights: str | None = None,
    freeze_backbone: bool = False,
) -> keras.Model:
    """facezoo's age-class model, not the write-up's: MobileNetV2 (no top, average pooling) -> dropout -> softmax,
    meant to start from the face backbone (``backbone_weights="face_mobilenet_v2.faces"``).

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [-1, 1] inside.
        num_classes: Output classes; 3 means YOUNG, MIDDLE, OLD.
        dropout: Dropout rate on the pooled features.
        backbone_weights: ``None`` (random init), ``"imagenet"`` or the MobileNetV2 of a facezoo model (a weight
            name, a ``save_pretrained`` folder or an ``hf://`` repository).
        freeze_backbone: Freeze MobileNetV2 (only the head trains).

    Returns:
        A model mapping images to class probabilities, shape (N, num_classes).
    """
    name = "age_mobilenet_v2"
    check_positive_int(num_classes, name="num_classes", model=name, minimum=2)
    return mobilenet_v2_with_heads(
        name,
        input_shape,
        resize_heads(AGE_OUTPUTS, num_classes, model=name),
        dropout=dropout,
        backbone_weights=backbone_weights,
        freeze_backbone=freeze_backbone,
    )
