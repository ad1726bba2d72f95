"""Selfie popularity regression (write-up 000): a residual CNN with BatchNorm + LeakyReLU and its plain-CNN ablation.

Reference: "Selfie popularity" notebook (``shared/reference/000``), inspired by Karpathy's selfie post. Dataset: the
CRCV UCF Selfie dataset (46,836 images, popularity score).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facezoo._features import record_backbone
from facezoo._registry import register_model
from facezoo.datasets.selfie import INFO as SELFIE
from facezoo.models._common import check_input_shape, check_positive_int, scaled_input
from facezoo.specs import FeatureInfo

if TYPE_CHECKING:
    import keras

REFERENCE = "000: Selfie popularity, residual CNN with batch norm and LeakyReLU (Huber loss)"
_OUTPUTS = SELFIE.heads
#: The feature maps at the default config (12 blocks of 16, 16, 16, 32, ... filters): one per three blocks.
_FEATURES = tuple(FeatureInfo(16 * 2**stage, 2 ** (stage + 1)) for stage in range(4))


def _min_input_size(n_layers: int) -> int:
    # Every stride-2 block halves the size (rounding up); the 2x2 average pool needs at least 2 pixels left.
    size = 2
    for _ in range(0, n_layers, 3):
        size = 2 * size - 1
    return size


def _selfie_network(
    name: str,
    *,
    n_layers: int,
    n_filters: int,
    batch_norm: bool,
    residual: bool,
    input_shape: tuple[int, int, int],
    leaky_relu_alpha: float,
    freeze_backbone: bool,
) -> keras.Model:
    import keras
    from keras import layers

    check_positive_int(n_layers, name="n_layers", model=name)
    check_positive_int(n_filters, name="n_filters", model=name)
    if not 0 <= leaky_relu_alpha < 1:
        raise ValueError(f"{name}: leaky_relu_alpha must be in [0, 1), got {leaky_relu_alpha!r}.")
    shape = check_input_shape(input_shape, min_size=_min_input_size(n_layers), model=name)

    def activation(x: keras.KerasTensor, name: str | None = None) -> keras.KerasTensor:
        return layers.LeakyReLU(negative_slope=leaky_relu_alpha, name=name)(x)

    inputs, x = scaled_input(shape, scale=1.0 / 255)
    filters = n_filters
    for k in range(n_layers):
        stride = 2 if k % 3 == 0 else 1
        if k % 3 == 0 and k > 0:
            filters *= 2
        block_input = x
        x = layers.Conv2D(filters, 5 if k == 0 else 3, strides=stride, padding="same", name=f"block{k + 1}_cnn_1")(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = activation(x)
        x = layers.Conv2D(filters, 3, padding="same", name=f"block{k + 1}_cnn2")(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = activation(x, name=None if residual else f"block{k + 1}_out")
        if residual:
            channels_change = block_input.shape[-1] != filters
            if stride != 1 or channels_change:
                # A 3x3 kernel whenever the stride changes (also sidesteps the TF CPU crash of 1x1 stride-2 convs).
                kernel = 3 if stride != 1 else 1
                shortcut = layers.Conv2D(
                    filters, kernel, strides=stride, padding="same", name=f"block{k + 1}_residual"
                )(block_input)
            else:
                shortcut = block_input
            shortcut = activation(layers.BatchNormalization()(shortcut))
            x = layers.Add(name=f"block{k + 1}_out")([x, shortcut])
    x = layers.AveragePooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(128, activation="relu", name="linear1")(x)
    x = layers.Dense(32, activation="relu", name="linear2")(x)
    outputs = layers.Dense(1, name="outputs")(x)
    # A feature map ends every third block (before the next stride-2 block) and at the last block.
    ends = [k for k in range(n_layers) if k % 3 == 2 or k == n_layers - 1]
    taps = [(f"block{k + 1}_out", 2 ** (k // 3 + 1)) for k in ends]
    return record_backbone(keras.Model(inputs, outputs, name=name), taps, freeze_backbone=freeze_backbone)


@register_model(
    family="selfie",
    task="regression",
    outputs=_OUTPUTS,
    dataset="selfie",
    reference=REFERENCE,
    num_params=1_598_577,
    features=_FEATURES,
)
def selfie_resnet(
    n_layers: int = 12,
    n_filters: int = 16,
    batch_norm: bool = True,
    residual: bool = True,
    input_shape: tuple[int, int, int] = (150, 150, 3),
    leaky_relu_alpha: float = 0.3,
    freeze_backbone: bool = False,
) -> keras.Model:
    """Selfie popularity ResNet: ``n_layers`` blocks of two convolutions, downsampled every third block.

    Block ``k`` (0-based): Conv(5x5 if k == 0 else 3x3, stride 2 when k % 3 == 0) -> [BN] -> LeakyReLU ->
    Conv3x3 -> [BN] -> LeakyReLU; filters double at every third block after the first. With ``residual``, a
    shortcut (Conv3x3 with the block's stride when stride or channels change, Conv1x1 when only channels change,
    else identity) -> BN -> LeakyReLU is added to the block output; that shortcut BN is kept even when
    ``batch_norm=False``, as in the write-up. Head: AveragePooling2D(2) -> Flatten -> Dense128 -> Dense32 -> Dense1.

    Args:
        n_layers: Number of blocks (write-up: 12 or 18).
        n_filters: Filters of the first blocks (write-up: 8 or 16).
        batch_norm: BatchNormalization after every convolution of the main path.
        residual: Residual shortcuts; ``False`` gives the write-up's "vanilla" CNN (see :func:`selfie_cnn`).
        input_shape: RGB input (height, width, 3); images are floats in [0, 255], scaled to [0, 1] inside.
        leaky_relu_alpha: Negative slope of every LeakyReLU (Keras' old default, 0.3, as in the write-up).
        freeze_backbone: Freeze the convolution blocks (the backbone; the dense layers train).

    Returns:
        A model mapping images to the popularity score, shape (N, 1).
    """
    return _selfie_network(
        "selfie_resnet",
        n_layers=n_layers,
        n_filters=n_filters,
        batch_norm=batch_norm,
        residual=residual,
        input_shape=input_shape,
        leaky_relu_alpha=leaky_relu_alpha,
        freeze_backbone=freeze_backbone,
    )


@register_model(
    family="selfie",
    task="regression",
    outputs=_OUTPUTS,
    dataset="selfie",
    reference=REFERENCE,
    num_params=1_498_257,
    features=_FEATURES,
)
def selfie_cnn(
    n_layers: int = 12,
    n_filters: int = 16,
    batch_norm: bool = True,
    input_shape: tuple[int, int, int] = (150, 150, 3),
    leaky_relu_alpha: float = 0.3,
    freeze_backbone: bool = False,
) -> keras.Model:
    """The write-up's "vanilla" selfie CNN: :func:`selfie_resnet` without residual connections.

    Its best model in the ablation (Table 1, test MAE 0.361) is ``selfie_cnn(batch_norm=False)``.

    Args:
        n_layers: Number of two-convolution blocks, downsampled every third.
        n_filters: Filters of the first blocks; doubled at each downsampling.
        batch_norm: BatchNormalization after every convolution.
        input_shape: RGB input (height, width, 3), floats in [0, 255].
        leaky_relu_alpha: Negative slope of every LeakyReLU.
        freeze_backbone: Freeze the convolution blocks (the backbone; the dense layers train).

    Returns:
        A model mapping images to the popularity score, shape (N, 1).
    """
    return _selfie_network(
        "selfie_cnn",
        n_layers=n_layers,
        n_filters=n_filters,
        batch_norm=batch_norm,
        residual=False,
        input_shape=input_shape,
        leaky_relu_alpha=leaky_relu_alpha,
        freeze_backbone=freeze_backbone,
    )
