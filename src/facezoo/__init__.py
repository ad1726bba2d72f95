"""facezoo: a Keras 3 model zoo for face and person analysis.

Importing facezoo is cheap: TensorFlow is imported only when a model is built or a dataset is read.
"""

from __future__ import annotations

import importlib
from typing import Any

from facezoo import models  # noqa: F401  (registers every builder)
from facezoo._registry import list_models, model_info
from facezoo._version import __version__
from facezoo.errors import FacezooError
from facezoo.factory import create_model, feature_extractor
from facezoo.specs import DatasetInfo, FeatureInfo, ModelInfo, OutputSpec, WeightsInfo

__all__ = [
    "__version__",
    "DatasetInfo",
    "FacezooError",
    "FeatureInfo",
    "ModelInfo",
    "OutputSpec",
    "WeightsInfo",
    "create_model",
    "feature_extractor",
    "list_models",
    "model_info",
    "list_datasets",
    "dataset_info",
    "evaluate",
    "predict",
    "analyze",
    "detect_faces",
    "align_face",
    "datasets",
    "errors",
    "faces",
    "hub",
    "models",
    "training",
]

_SUBMODULES = {
    "datasets",
    "errors",
    "factory",
    "faces",
    "geometry",
    "hub",
    "inference",
    "models",
    "pretrained",
    "registry",
    "specs",
    "training",
}
_FUNCTIONS = {
    "predict": "facezoo.inference",
    "evaluate": "facezoo.training",
    "analyze": "facezoo.faces",
    "detect_faces": "facezoo.faces",
    "align_face": "facezoo.faces",
    "list_datasets": "facezoo.datasets",
    "dataset_info": "facezoo.datasets",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"facezoo.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(_FUNCTIONS[name]), name)
    raise AttributeError(f"module 'facezoo' has no attribute {name!r}")
