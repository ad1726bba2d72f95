"""facezoo's face-pretrained MobileNetV2: the backbone of AttractiveNet, trained on the zoo's own face datasets.

Not from a write-up. ImageNet weights cannot be had everywhere (nor here); this model gives the zoo's recipes a
face-specific initialisation instead: ``attractive_net(backbone_weights="runs/face_backbone/pretrained")`` (the
folder ``fit_face_backbone`` writes; a weight name such as ``"face_mobilenet_v2.TAG"`` once weights are published).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from facezoo._registry import register_model
from facezoo.datasets.faces import INFO as FACES
from facezoo.models._common import mobilenet_v2_with_heads

if TYPE_CHECKING:
    import keras

REFERENCE = "facezoo: MobileNetV2 multi-task pretraining on UTKFace, IMFDB, CelebA and SCUT-FBP5500 (no write-up)"
#: Regression head -> (offset, scale): output = offset + scale * z, so an untrained head starts near the data's
#: mean and spread (UTKFace ages, SCUT-FBP5500 scores).
REGRESSION_PRIORS = {"age": (33.0, 20.0), "beauty": (3.0, 0.7)}


@register_model(
    family="face_backbone",
    task="multi-task classification",
    outputs=FACES.heads,
    dataset="faces",
    reference=REFERENCE,
    num_params=2_273_356,
)
def face_mobilenet_v2(
    input_shape: tuple[int, int, int] = (128, 128, 3), dropout: float = 0.2, backbone_weights: str | None = None
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

    Returns:
        A model mapping images to a dict of the five heads.
    """
    return mobilenet_v2_with_heads(
        "face_mobilenet_v2",
        input_shape,
        FACES.heads,
        dropout=dropout,
        backbone_weights=backbone_weights,
        priors=REGRESSION_PRIORS,
    )
