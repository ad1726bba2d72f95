"""facezoo's face-pretrained MobileNetV2: the backbone of AttractiveNet, trained on the zoo's own face datasets.

Not from a write-up. ImageNet weights cannot be had everywhere (nor here); this model gives the zoo's recipes a
face-specific initialisation instead: ``attractive_net(backbone_weights="runs/face_backbone/pretrained")`` (the
folder ``fit_face_backbone`` writes) or ``backbone_weights="face_mobilenet_v2.faces"`` (the published weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from facezoo._registry import register_model
from facezoo.datasets.faces import INFO as FACES
from facezoo.models._common import MOBILENET_V2_FEATURES, mobilenet_v2_with_heads
from facezoo.specs import WeightsInfo, resize_heads

if TYPE_CHECKING:
    import keras

REFERENCE = "facezoo: MobileNetV2 multi-task pretraining on UTKFace, IMFDB, CelebA and SCUT-FBP5500 (no write-up)"
#: Regression head -> (offset, scale): output = offset + scale * z, so an untrained head starts near the data's
#: mean and spread (UTKFace ages, SCUT-FBP5500 scores).
REGRESSION_PRIORS = {"age": (33.0, 20.0), "beauty": (3.0, 0.7)}

FACE_MOBILENET_V2_WEIGHTS = WeightsInfo(
    tag="faces",
    repo_id="facezoo/face_mobilenet_v2-faces",
    revision="main",
    filename="model.weights.h5",
    sha256="24e075f3f5d258788a3116a3aee02dad0e66da68a25fe0ec9ce045ee74eeb71a",
    file_size=9538488,
    config={"input_shape": (128, 128, 3), "dropout": 0.2, "backbone_weights": None},
    metrics={
        "age/mae": 7.666,
        "age/rmse": 10.6077,
        "age/pearson_r": 0.8603,
        "gender/accuracy": 0.8694,
        "gender/macro_f1": 0.8666,
        "race/accuracy": 0.6667,
        "race/macro_f1": 0.5282,
        "age_class/accuracy": 0.6959,
        "age_class/macro_f1": 0.5836,
        "beauty/mae": 0.3248,
        "beauty/rmse": 0.4135,
        "beauty/pearson_r": 0.8189,
    },
    split=(
        "test (each member's test split: UTKFace seeded 10% (900), CelebA identity-disjoint test sample "
        "(540, gender only), IMFDB stratified 10% (1,690), SCUT-FBP5500 official 40% (1,100))"
    ),
    dataset="faces",
    dataset_options={},
    license="other: non-commercial research only (the dataset's terms)",
    recipe="facezoo.training recipe 'face_backbone', then 11 more epochs from its MobileNetV2 (see the command)",
    num_params=2273356,
    embedded="facezoo/weights/face_mobilenet_v2-faces/model.weights.h5",
    extra={
        "hardware": "2 CPU cores (x86-64, no GPU) shared with other training jobs, TensorFlow 2.21",
        "wall_time_s": 6420,
        "epochs": 11,
        "command": 'python -c "from dataclasses import replace; import facezoo.training as t; from '
        "facezoo.training.recipes import FACE_BACKBONE, Optimizer; "
        "t.fit_face_backbone('../shared/data', 'runs/face_backbone', seed=0); s96, s128 = "
        "FACE_BACKBONE.stages; recipe = replace(FACE_BACKBONE, stages=(replace(s96, epochs=10, "
        "optimizer=Optimizer('adam', 1e-3, schedule='cosine', warmup_epochs=1)), replace(s128, "
        "epochs=1))); t.run_recipe(recipe, '../shared/data', 'runs/face_backbone2', seed=1, "
        "backbone_weights='runs/face_backbone/pretrained')\"",
    },
    ablation=(
        {
            "variant": "run 2: run 1 + 10 epochs at 96 px, 1 at 128 px",
            "init": "run 1's MobileNetV2",
            "image_size": 128,
            "epochs": 11,
            "cpu_time_s": None,
            "metrics": {
                "age/mae": 7.666,
                "age/rmse": 10.6077,
                "age/pearson_r": 0.8603,
                "gender/accuracy": 0.8694,
                "gender/macro_f1": 0.8666,
                "race/accuracy": 0.6667,
                "race/macro_f1": 0.5282,
                "age_class/accuracy": 0.6959,
                "age_class/macro_f1": 0.5836,
                "beauty/mae": 0.3248,
                "beauty/rmse": 0.4135,
                "beauty/pearson_r": 0.8189,
            },
        },
        {
            "variant": "run 1: the default recipe (6 epochs at 96 px, 2 at 128 px)",
            "init": None,
            "image_size": 128,
            "epochs": 8,
            "cpu_time_s": None,
            "metrics": {
                "age/mae": 8.7483,
                "age/rmse": 12.2371,
                "age/pearson_r": 0.8147,
                "gender/accuracy": 0.8028,
                "gender/macro_f1": 0.7987,
                "race/accuracy": 0.6178,
                "race/macro_f1": 0.4193,
                "age_class/accuracy": 0.6728,
                "age_class/macro_f1": 0.5031,
                "beauty/mae": 0.3356,
                "beauty/rmse": 0.4319,
                "beauty/pearson_r": 0.7699,
            },
        },
    ),
    commit=None,
)


@register_model(
    family="face_backbone",
    task="multi-task classification",
    outputs=FACES.heads,
    dataset="faces",
    reference=REFERENCE,
    num_params=2_273_356,
    features=MOBILENET_V2_FEATURES,
    pooled=True,
    weights=(FACE_MOBILENET_V2_WEIGHTS,),
)
def face_mobilenet_v2(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    dropout: float = 0.2,
    backbone_weights: str | None = None,
    freeze_backbone: bool = False,
    num_classes: Mapping[str, int] | None = None,
) -> keras.Model:
    """MobileNetV2 (no top, average pooling) with one head per face label of ``facezoo.datasets.faces``.

    The backbone is ``keras.applications.MobileNetV2`` (batch-norm momentum 0.99, as AttractiveNet uses from
    scratch), so its weights drop into any facezoo model built on it. Heads: dropout, then a linear ``age``
    (years) and ``beauty`` (score 1-5), and softmax ``gender``, ``race`` and ``age_class``.

    Args:
        input_shape: RGB input (height, width, 3), floats in [0, 255], scaled to [-1, 1] inside.
        dropout: Dropout rate on the pooled features before the heads.
        backbone_weights: ``None`` (random init), ``"imagenet"`` (keras.applications weights: pretraining from
            ImageNet, where they can be downloaded) or the MobileNetV2 of a facezoo model (a weight name, a
            ``save_pretrained`` folder or ``hf://`` repository), e.g. an earlier face backbone to train further.
        freeze_backbone: Freeze MobileNetV2 (only the heads train).
        num_classes: Classes per classification head to change, e.g. ``{"race": 7}`` (labels ``"0"``, ``"1"``, ...).

    Returns:
        A model mapping images to a dict of the five heads.
    """
    name = "face_mobilenet_v2"
    return mobilenet_v2_with_heads(
        name,
        input_shape,
        resize_heads(FACES.heads, num_classes, model=name),
        dropout=dropout,
        backbone_weights=backbone_weights,
        freeze_backbone=freeze_backbone,
        priors=REGRESSION_PRIORS,
    )
