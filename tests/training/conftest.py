"""Fixtures of the training tests: tiny registered stand-ins for the big backbones, and synthetic datasets."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from facezoo import registry
from facezoo.models.person_attributes import PERSON_ATTRIBUTE_HEADS

TINY = ("tiny_person_attributes", "tiny_attractive_net")


def _backbone(shape, name):
    import keras
    from keras import layers

    inputs = keras.Input(shape)
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, layers.Conv2D(8, 3, padding="same", activation="relu")(x), name=name)


def tiny_person_attributes(input_shape=(32, 32, 3)):
    """DenseNet121's stand-in: a two-conv backbone sub-model and the eight person-attribute heads."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    features = layers.GlobalAveragePooling2D()(_backbone(input_shape, "backbone")(layers.Rescaling(1 / 255)(inputs)))
    outputs = {h: layers.Dense(len(labels), activation="softmax", name=f"{h}_output")(features)
               for h, labels in PERSON_ATTRIBUTE_HEADS.items()}
    return keras.Model(inputs, outputs, name="tiny_person_attributes")


def tiny_attractive_net(input_shape=(32, 32, 3), freeze_backbone=True):
    """MobileNetV2's stand-in: a backbone sub-model -> GAP -> Dense(1)."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    backbone = _backbone(input_shape, "backbone")
    backbone.trainable = not freeze_backbone
    x = layers.GlobalAveragePooling2D()(backbone(layers.Rescaling(1 / 127.5, offset=-1)(inputs)))
    return keras.Model(inputs, layers.Dense(1, name="beauty")(x), name="tiny_attractive_net")


@pytest.fixture(scope="session")
def tiny_models():
    """Register the tiny stand-ins for the session and remove them afterwards."""
    for fn, real in ((tiny_person_attributes, "person_attributes_densenet121"), (tiny_attractive_net, "attractive_net")):
        info = registry.model_info(real)
        registry.register_model(
            family=info.family, task=info.task, outputs=info.outputs, dataset=info.dataset,
            reference="test stand-in", num_params=0,
        )(fn)
    yield TINY
    for name in TINY:
        registry._BUILDERS.pop(name, None)
        registry._INFOS.pop(name, None)


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory) -> Path:
    """A datasets root holding all six datasets in their upstream layouts."""
    pytest.importorskip("facezoo.datasets", reason="facezoo.datasets (issue 4) is not installed yet")
    spec = importlib.util.spec_from_file_location("facezoo_training_fixtures", Path(__file__).with_name("fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    root = tmp_path_factory.mktemp("data")
    for make in fixtures.MAKERS.values():
        make(root)
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = Path(os.environ.get("FACEZOO_SHARED_DATA", "/work/shared/data"))
    if not root.is_dir():
        pytest.skip(f"no shared data at {root} (set FACEZOO_SHARED_DATA)")
    return root
