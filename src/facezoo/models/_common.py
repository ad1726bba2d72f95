"""Helpers shared by the model families: config validation, the in-model input scaling and the MobileNetV2
backbone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from facezoo._features import record_backbone
from facezoo.specs import FeatureInfo

if TYPE_CHECKING:
    import keras

    from facezoo.specs import OutputSpec

#: keras.applications' MobileNetV2: the layer ending each stride's blocks, and the stride.
MOBILENET_V2_TAPS = (
    ("expanded_conv_project_BN", 2),
    ("block_2_add", 4),
    ("block_5_add", 8),
    ("block_12_add", 16),
    ("out_relu", 32),
)
MOBILENET_V2_FEATURES = tuple(FeatureInfo(c, s) for c, (_, s) in zip((16, 24, 32, 96, 1280), MOBILENET_V2_TAPS))


def check_input_shape(input_shape: Sequence[int], *, min_size: int, model: str) -> tuple[int, int, int]:
    """Validate an ``(height, width, 3)`` input shape; ``min_size`` is the smallest side the model's
    downsampling allows. Raises ``ValueError`` saying what is allowed."""
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 3:
        raise ValueError(f"{model}: input_shape must be (height, width, 3), got {tuple(input_shape)!r}.")
    if shape[2] != 3:
        raise ValueError(f"{model}: input_shape must have 3 (RGB) channels, got {shape[2]}; convert images to RGB.")
    if min(shape[:2]) < min_size:
        raise ValueError(
            f"{model}: input_shape {shape} is too small for the model's downsampling; "
            f"height and width must each be at least {min_size}."
        )
    return shape


def check_positive_int(value: int, *, name: str, model: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{model}: {name} must be an integer >= {minimum}, got {value!r}.")
    return value


def check_choice(value: object, choices: Sequence[object], *, name: str, model: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{model}: {name} must be one of {', '.join(map(repr, choices))}; got {value!r}.")


def scaled_input(
    input_shape: tuple[int, int, int],
    *,
    scale: float | Sequence[float],
    offset: float | Sequence[float] = 0.0,
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """An RGB input taking floats in [0, 255] and a weightless ``Rescaling`` layer (``x * scale + offset``,
    per channel when sequences) that applies the recipe's own scaling inside the model."""
    import keras

    inputs = keras.Input(shape=input_shape, name="image")
    to_list = lambda v: [float(x) for x in v] if isinstance(v, (list, tuple)) else float(v)  # noqa: E731
    x = keras.layers.Rescaling(scale=to_list(scale), offset=to_list(offset), name="input_scaling")(inputs)
    return inputs, x


def backbone_weights_arg(backbone_weights: str | None, *, model: str, file_name: str) -> str | None:
    """The ``weights`` argument for ``keras.applications``: ``"imagenet"`` (after checking that Keras can get
    ``file_name``, else an error naming the file and the folder Keras looks in) or ``None`` (random init, and for a
    facezoo source, which :func:`copy_backbone_weights` loads once the backbone is built)."""
    if backbone_weights is not None and not isinstance(backbone_weights, str):
        raise ValueError(
            f"{model}: backbone_weights must be None, 'imagenet' or a facezoo model source such as "
            f"'face_mobilenet_v2.faces'; got {backbone_weights!r}."
        )
    if backbone_weights != "imagenet":
        return None
    import os

    import keras

    cache_dir = os.path.join(os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras")), "models")
    if os.path.exists(os.path.join(cache_dir, file_name)):
        return "imagenet"
    try:
        keras.utils.get_file(
            file_name,
            f"https://storage.googleapis.com/tensorflow/keras-applications/{_subdir(file_name)}/{file_name}",
            cache_subdir="models",
        )
    except Exception as error:  # noqa: BLE001 (any failure to fetch is reported the same way)
        raise ValueError(
            f"{model}: ImageNet weights file {file_name!r} could not be downloaded ({type(error).__name__}). "
            f"Place it by hand in {cache_dir} (Keras looks there; set KERAS_HOME to move it), "
            "or use backbone_weights=None or a facezoo backbone (a fit_face_backbone folder)."
        ) from error
    return "imagenet"


def copy_backbone_weights(backbone: keras.Model, source: str | None, *, model: str) -> None:
    """Load into ``backbone`` the weights of the same backbone inside another facezoo model: ``source`` is anything
    ``facezoo.create_model`` takes with weights (a weight name ``"NAME.TAG"``, a ``save_pretrained`` folder,
    ``hf://...``); ``None`` and ``"imagenet"`` (which keras.applications loads itself) do nothing. Weights of
    convolutional backbones do not depend on the input size."""
    if source is None or source == "imagenet":
        return
    import keras

    from facezoo.factory import create_model

    try:
        donor = create_model(source, pretrained=True)
    except (ValueError, FileNotFoundError) as error:
        raise ValueError(
            f"{model}: backbone_weights must be None, 'imagenet' or a facezoo model with weights such as "
            f"'face_mobilenet_v2.faces'; {source!r} gave: {error}"
        ) from error
    shapes = [tuple(w.shape) for w in backbone.weights]
    for layer in donor.layers:
        if isinstance(layer, keras.Model) and [tuple(w.shape) for w in layer.weights] == shapes:
            backbone.set_weights(layer.get_weights())
            return
    raise ValueError(
        f"{model}: {source!r} has no backbone like {backbone.name}; pass a facezoo model built on the same one, "
        "e.g. the folder fit_face_backbone writes."
    )


def mobilenet_v2_with_heads(
    name: str,
    input_shape: Sequence[int],
    heads: Sequence[OutputSpec],
    *,
    dropout: float,
    backbone_weights: str | None,
    freeze_backbone: bool = False,
    priors: dict[str, tuple[float, float]] | None = None,
) -> keras.Model:
    """MobileNetV2 (no top, average pooling, batch-norm momentum 0.99), dropout, then one head per output spec:
    softmax for classification, sigmoid for binary, linear for regression (``offset + scale * z`` with ``priors[head]``, so an untrained
    head starts near the data's mean and spread); a single head is the model's only output, several a dict. Inputs
    in [0, 255] are scaled to [-1, 1] inside.
    ``backbone_weights`` as for :func:`backbone_weights_arg` and :func:`copy_backbone_weights`; the feature maps are
    :data:`MOBILENET_V2_TAPS`."""
    import keras
    from keras import layers

    if not 0 <= dropout < 1:
        raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout!r}.")
    shape = check_input_shape(input_shape, min_size=32, model=name)
    weights = backbone_weights_arg(backbone_weights, model=name, file_name=mobilenet_v2_file(shape))
    inputs, x = scaled_input(shape, scale=1.0 / 127.5, offset=-1.0)
    backbone = keras.applications.MobileNetV2(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    for layer in backbone.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.99
    copy_backbone_weights(backbone, backbone_weights, model=name)
    features = layers.Dropout(dropout, name="head_dropout")(backbone(x))
    outputs = {}
    for spec in heads:
        if spec.kind == "regression":
            offset, scale = (priors or {}).get(spec.name, (0.0, 1.0))
            z = layers.Dense(1, name=f"{spec.name}_linear")(features)
            outputs[spec.name] = layers.Rescaling(scale, offset=offset, name=spec.name)(z)
        elif spec.kind == "binary":
            outputs[spec.name] = layers.Dense(1, activation="sigmoid", name=spec.name)(features)
        else:
            outputs[spec.name] = layers.Dense(len(spec.labels), activation="softmax", name=spec.name)(features)
    model = keras.Model(inputs, outputs if len(outputs) > 1 else next(iter(outputs.values())), name=name)
    return record_backbone(model, MOBILENET_V2_TAPS, freeze_backbone=freeze_backbone)


def mobilenet_v2_file(shape: tuple[int, int, int]) -> str:
    """The keras.applications ImageNet weights file MobileNetV2 (no top) loads for ``shape``."""
    # keras.applications picks the 224 weights for sizes it has no weights for.
    rows = shape[0] if shape[0] == shape[1] and shape[0] in (96, 128, 160, 192, 224) else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"


def _subdir(file_name: str) -> str:
    for prefix, folder in (
        ("vgg16", "vgg16"),
        ("inception_v3", "inception_v3"),
        ("mobilenet_v2", "mobilenet_v2"),
        ("densenet", "densenet"),
    ):
        if file_name.startswith(prefix):
            return folder
    raise ValueError(f"no known Keras applications folder for {file_name!r}")
