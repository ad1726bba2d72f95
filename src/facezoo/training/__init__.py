"""Training: :func:`fit` runs any recipe of :data:`RECIPES` (the ``fit_*`` helpers are named shortcuts to it), and
:func:`evaluate`.

``import facezoo.training`` does not import TensorFlow; the engine is loaded on the first ``fit`` call.
"""

from __future__ import annotations

import importlib
from typing import Any

from facezoo.training.distribute import STRATEGIES, make_strategy
from facezoo.training.evaluate import Evaluation, Table, evaluate
from facezoo.training.fitting import (
    HELPERS,
    fit,
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
    EXPERIMENTS,
    FACE_BACKBONE,
    PERSON_ATTRIBUTES,
    RECIPES,
    SELFIE,
    UTKFACE,
    Augmentation,
    EarlyStopping,
    Experiment,
    Loss,
    Optimizer,
    Recipe,
    ReduceLROnPlateau,
    Stage,
    resolve_recipe,
)
from facezoo.training.run_folder import TrainingResult

__all__ = [
    "fit",
    "HELPERS",
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
    "resolve_recipe",
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
    "Experiment",
    "EXPERIMENTS",
    "SELFIE",
    "AGE",
    "AGE_VGG16",
    "PERSON_ATTRIBUTES",
    "CELEBA",
    "ATTRACTIVE_NET",
    "UTKFACE",
    "FACE_BACKBONE",
]


def __getattr__(name: str) -> Any:
    if name == "run_recipe":  # the engine imports Keras
        return importlib.import_module("facezoo.training.engine").run_recipe
    raise AttributeError(f"module 'facezoo.training' has no attribute {name!r}")
