"""The model registry's public face: list, describe and build the zoo's models.

The specs live in :mod:`facezoo.specs`, the registry itself in ``facezoo._registry`` (below the Hub code, so that
model modules register themselves without an import circle) and :func:`create_model` in :mod:`facezoo.factory`;
every name is re-exported here, where it has always been importable.
"""

from __future__ import annotations

from facezoo._registry import (
    ModelSource,
    build_model,
    cut_features,
    list_models,
    measured_on,
    model_info,
    parse_source,
    record_measurement,
    register_model,
    resolve_weights,
)
from facezoo.factory import create_model, feature_extractor
from facezoo.specs import ADAPTABLE, OUTPUT_KINDS, TASKS, FeatureInfo, ModelInfo, OutputSpec, WeightsInfo

__all__ = [
    "OutputSpec",
    "FeatureInfo",
    "WeightsInfo",
    "ModelInfo",
    "ModelSource",
    "register_model",
    "list_models",
    "create_model",
    "feature_extractor",
    "cut_features",
    "model_info",
    "resolve_weights",
    "parse_source",
    "build_model",
    "record_measurement",
    "measured_on",
    "TASKS",
    "OUTPUT_KINDS",
    "ADAPTABLE",
]
