"""Training: one engine running each write-up's recipe (``fit_*``), and :func:`evaluate`.

``import facezoo.training`` does not import TensorFlow; the engine is loaded on the first ``fit_*`` call.
"""

from __future__ import annotations

import importlib
from typing import Any

from facezoo.training.evaluate import Evaluation, Table, evaluate
from facezoo.training.fit import (
    STRATEGIES,
    fit_age_cnn,
    fit_attractive_net,
    fit_celeba_gender,
    fit_face_backbone,
    fit_person_attributes,
    fit_selfie_resnet,
    fit_utkface,
)
from facezoo.training.recipes import (
    AGE,
    AGE_VGG16,
    ATTRACTIVE_NET,
    CELEBA,
    FACE_BACKBONE,
    PERSON_ATTRIBUTES,
    RECIPES,
    SELFIE,
    UTKFACE,
    Augmentation,
    EarlyStopping,
    Loss,
    Optimizer,
    Recipe,
    ReduceLROnPlateau,
    Stage,
)

__all__ = [
    "fit_selfie_resnet",
    "fit_age_cnn",
    "fit_person_attributes",
    "fit_celeba_gender",
    "fit_attractive_net",
    "fit_utkface",
    "fit_face_backbone",
    "STRATEGIES",
    "make_strategy",
    "TrainingResult",
    "run_recipe",
    "evaluate",
    "Evaluation",
    "Table",
    "Recipe",
    "Stage",
    "Optimizer",
    "Loss",
    "Augmentation",
    "EarlyStopping",
    "ReduceLROnPlateau",
    "RECIPES",
    "SELFIE",
    "AGE",
    "AGE_VGG16",
    "PERSON_ATTRIBUTES",
    "CELEBA",
    "ATTRACTIVE_NET",
    "UTKFACE",
    "FACE_BACKBONE",
]

_ENGINE = {"TrainingResult", "run_recipe", "resolve_recipe", "make_strategy"}


def __getattr__(name: str) -> Any:
    if name in _ENGINE:
        return getattr(importlib.import_module("facezoo.training.engine"), name)
    raise AttributeError(f"module 'facezoo.training' has no attribute {name!r}")
