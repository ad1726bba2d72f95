"""AttractiveNet (write-up 004): MobileNetV2 + Dense(1) facial beauty regression on SCUT-FBP5500.

Reference: ``shared/reference/004``; two-stage training (frozen backbone, then all layers), MAE 0.212 / RMSE 0.286.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facezoo._features import record_backbone
from facezoo._registry import register_model
from facezoo.datasets.scut_fbp5500 import INFO as SCUT_FBP5500
from facezoo.models._common import (
    MOBILENET_V2_FEATURES,
    MOBILENET_V2_TAPS,
    backbone_weights_arg,
    check_input_shape,
    copy_backbone_weights,
    mobilenet_v2_file,
    scaled_input,
)
from facezoo.specs import WeightsInfo

if TYPE_CHECKING:
    import keras

REFERENCE = "004: AttractiveNet, MobileNetV2 beauty regression on SCUT-FBP5500, two-stage training"

#: Weights fine-tuned from ``face_mobilenet_v2.faces`` (card: ``weights/attractive_net-faces_ft_scut_fbp5500/README.md``).
FACE_FINE_TUNED_WEIGHTS = WeightsInfo(
    tag="faces_ft_scut_fbp5500",
    repo_id="facezoo/attractive_net-faces_ft_scut_fbp5500",
    revision="main",
    filename="model.weights.h5",
    sha256="e5b0862a08119e327ab392fdbfe5753ebda3fb1c47b72f10286eaa69a9b29b00",
    file_size=9465432,
    config={"input_shape": (160, 160, 3), "backbone_weights": None, "freeze_backbone": True},
    metrics={"mae": 0.2868, "rmse": 0.3705, "pearson_r": 0.8348},
    flip_metrics={"mae": 0.2811, "rmse": 0.3627, "pearson_r": 0.8411},
    split="test (official 40% test split, the 1,100 images of it in facezoo's SCUT-FBP5500 copy)",
    dataset="scut_fbp5500",
    dataset_options={"protocol": "official", "validation_fraction": 0.1},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'attractive_net' from face_mobilenet_v2.faces: stage 'fine_tune', Adam 3e-4 warm-up + cosine, 160x160",
    num_params=2259265,
    embedded="facezoo/weights/attractive_net-faces_ft_scut_fbp5500/model.weights.h5",
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 2197,
        "epochs": 12,
        "command": "python -c \"import facezoo.training as t; t.fit_attractive_net('../shared/data', "
        "'runs/attractive_face2', image_size=160, epochs=12, seed=0, stages='fine_tune', "
        "learning_rate=3e-4, schedule='cosine', warmup_epochs=1, dataset_options={'protocol': "
        "'official', 'validation_fraction': 0.1}, "
        "backbone_weights='face_mobilenet_v2.faces')\"",
        "cpu_time_s": 3126,
    },
    ablation=(
        {
            "variant": "face backbone (these weights)",
            "init": "face_mobilenet_v2.faces",
            "image_size": 160,
            "epochs": 12,
            "cpu_time_s": 3126,
            "metrics": {"mae": 0.2868, "rmse": 0.3705, "pearson_r": 0.8348},
        },
        {
            "variant": "face backbone run 1",
            "init": "face backbone run 1",
            "image_size": 160,
            "epochs": 12,
            "cpu_time_s": 1963,
            "metrics": {"mae": 0.3102, "rmse": 0.4013, "pearson_r": 0.8047},
        },
        {
            "variant": "from scratch (scut_fbp5500 weights)",
            "init": None,
            "image_size": 160,
            "epochs": 47,
            "cpu_time_s": None,
            "metrics": {"mae": 0.3025, "rmse": 0.3954, "pearson_r": 0.8035},
        },
        {
            "variant": "face backbone, 224 px",
            "init": "face_mobilenet_v2.faces",
            "image_size": 224,
            "epochs": 12,
            "cpu_time_s": 3182,
            "metrics": {"mae": 0.2961, "rmse": 0.3744, "pearson_r": 0.8317},
        },
    ),
    commit=None,
)


#: Weights trained by ``facezoo.training`` from scratch (card: ``weights/attractive_net-scut_fbp5500/README.md``).
SCRATCH_WEIGHTS = WeightsInfo(
    tag="scut_fbp5500",
    repo_id="facezoo/attractive_net-scut_fbp5500",
    revision="main",
    filename="model.weights.h5",
    sha256="b538dd17f466c010bc6991fb9f1be44e8f19d0ca80aa52b0ebaf5b73c82bff4c",
    file_size=9_465_432,
    config={"input_shape": (160, 160, 3), "backbone_weights": None, "freeze_backbone": False},
    metrics={"mae": 0.3025, "rmse": 0.3954, "pearson_r": 0.8035},
    flip_metrics={"mae": 0.2986, "rmse": 0.3867, "pearson_r": 0.8123},
    split="test (official 40% test split, the 1,100 images of it in facezoo's SCUT-FBP5500 copy)",
    dataset="scut_fbp5500",
    dataset_options={"protocol": "official", "validation_fraction": 0.1},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'attractive_net' from scratch: stage 'fine_tune' at lr 1e-3, then 1e-4, 160x160",
    num_params=2_259_265,
    embedded=None,
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 3447,
        "epochs": 47,
        "command": 'python -c "import facezoo, facezoo.training as t; '
        "opts = {'protocol': 'official', 'validation_fraction': 0.1}; "
        "a = t.fit_attractive_net('../shared/data', 'runs/attractive_a', image_size=160, epochs=40, seed=0, "
        "stages='fine_tune', learning_rate=1e-3, dataset_options=opts); "
        "m = facezoo.create_model('attractive_net', input_shape=(160, 160, 3), freeze_backbone=False); "
        "m.load_weights(a.output_dir / 'best.weights.h5'); "
        "t.fit_attractive_net('../shared/data', 'runs/attractive_b', model=m, image_size=160, epochs=20, seed=0, "
        "stages='fine_tune', learning_rate=1e-4, dataset_options=opts)\"",
        "training_args": "weights/attractive_net-scut_fbp5500/facezoo.json",
    },
    ablation=(
        {
            "variant": "from scratch (these weights)",
            "init": None,
            "image_size": 160,
            "epochs": 47,
            "cpu_time_s": None,
            "metrics": {"mae": 0.3025, "rmse": 0.3954, "pearson_r": 0.8035},
        },
        FACE_FINE_TUNED_WEIGHTS.as_ablation_row("face backbone fine-tune (attractive_net.faces_ft_scut_fbp5500)"),
    ),
)


@register_model(
    family="attractive_net",
    task="regression",
    outputs=SCUT_FBP5500.heads,
    dataset="scut_fbp5500",
    reference=REFERENCE,
    num_params=2_259_265,
    features=MOBILENET_V2_FEATURES,
    pooled=True,
    weights=(FACE_FINE_TUNED_WEIGHTS, SCRATCH_WEIGHTS),
)
def attractive_net(
    input_shape: tuple[int, int, int] = (350, 350, 3),
    backbone_weights: str | None = None,
    freeze_backbone: bool = True,
) -> keras.Model:
    """MobileNetV2 (no top, average pooling) -> Dense(1): a face image to a beauty score (1-5).

    Inputs are scaled to [-1, 1] inside, MobileNetV2's own preprocessing. The write-up divided images by 0.255
    (meaning 255) by mistake, feeding values up to 1000; facezoo does not reproduce that bug.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255].
        backbone_weights: ``None`` (random init), ``"imagenet"`` (keras.applications weights) or the backbone of
            a facezoo model: a weight name (``"NAME.TAG"``), a ``save_pretrained`` folder (e.g. ``fit_face_backbone``'s) or
            ``hf://`` repository of a MobileNetV2-based facezoo model. Batch-norm momentum is 0.99 except for
            ImageNet weights (0.999, keras.applications' own).
        freeze_backbone: Freeze MobileNetV2 (stage 1 of the recipe: 1,281 trainable parameters).

    Returns:
        A model mapping images to the beauty score, shape (N, 1).
    """
    import keras
    from keras import layers

    name = "attractive_net"
    shape = check_input_shape(input_shape, min_size=32, model=name)
    weights = backbone_weights_arg(backbone_weights, model=name, file_name=mobilenet_v2_file(shape))
    inputs, x = scaled_input(shape, scale=1.0 / 127.5, offset=-1.0)
    backbone = keras.applications.MobileNetV2(include_top=False, weights=weights, input_shape=shape, pooling="avg")
    if weights is None:
        # keras.applications' 0.999 suits fine-tuning ImageNet statistics; from scratch it leaves the moving
        # statistics far from the batch ones for thousands of steps, so validation lags training badly.
        for layer in backbone.layers:
            if isinstance(layer, layers.BatchNormalization):
                layer.momentum = 0.99
    copy_backbone_weights(backbone, backbone_weights, model=name)
    outputs = layers.Dense(1, name="beauty")(backbone(x))
    model = keras.Model(inputs, outputs, name=name)
    return record_backbone(model, MOBILENET_V2_TAPS, freeze_backbone=freeze_backbone)
