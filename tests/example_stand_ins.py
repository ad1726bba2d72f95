"""Tiny registered stand-ins for DenseNet121, MobileNetV2, the selfie CNNs and the UTKFace CNN, so example smoke-runs
and fit tests train in seconds.

Importing this module registers ``stand_in_person_attributes``, ``stand_in_attractive_net``,
``stand_in_face_backbone``, ``stand_in_selfie`` and ``stand_in_utkface`` with the outputs of the real models:
``tests/test_examples.py`` imports it in the example's process before running the script, and the ``tiny_models``
fixture (``tests/conftest.py``) registers them for a test module.
"""

from __future__ import annotations

from facezoo import _registry as registry
from facezoo.models.person_attributes import PERSON_ATTRIBUTE_HEADS


def _backbone(shape, name: str):
    import keras
    from keras import layers

    inputs = keras.Input(shape)
    x = layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, layers.Conv2D(8, 3, padding="same", activation="relu")(x), name=name)


def stand_in_person_attributes(input_shape=(32, 32, 3)):
    """A two-convolution backbone sub-model and the eight person-attribute heads."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    features = layers.GlobalAveragePooling2D()(_backbone(input_shape, "backbone")(layers.Rescaling(1 / 255)(inputs)))
    outputs = {
        head: layers.Dense(len(labels), activation="softmax", name=f"{head}_output")(features)
        for head, labels in PERSON_ATTRIBUTE_HEADS.items()
    }
    return keras.Model(inputs, outputs, name="stand_in_person_attributes")


def stand_in_attractive_net(input_shape=(32, 32, 3), freeze_backbone=True):
    """A backbone sub-model -> global average pooling -> Dense(1) named ``beauty``."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    backbone = _backbone(input_shape, "backbone")
    backbone.trainable = not freeze_backbone
    x = layers.GlobalAveragePooling2D()(backbone(layers.Rescaling(1 / 127.5, offset=-1)(inputs)))
    return keras.Model(inputs, layers.Dense(1, name="beauty")(x), name="stand_in_attractive_net")


def stand_in_face_backbone(input_shape=(32, 32, 3)):
    """A backbone sub-model -> global average pooling -> the face backbone's five heads."""
    import keras
    from keras import layers

    from facezoo.datasets import dataset_info

    inputs = keras.Input(input_shape, name="image")
    scaled = layers.Rescaling(1 / 127.5, offset=-1)(inputs)
    x = layers.GlobalAveragePooling2D()(_backbone(input_shape, "backbone")(scaled))
    outputs = {
        spec.name: layers.Dense(1, name=spec.name)(x)
        if spec.kind == "regression"
        else layers.Dense(len(spec.labels), activation="softmax", name=spec.name)(x)
        for spec in dataset_info("faces").heads
    }
    return keras.Model(inputs, outputs, name="stand_in_face_backbone")


def stand_in_selfie(input_shape=(32, 32, 3), n_layers=12, n_filters=16, batch_norm=True, residual=True):
    """One convolution of ``n_filters`` -> global average pooling -> Dense(1) named ``popularity``; takes the selfie
    ablation's arguments (the layer count, batch norm and shortcuts are not built)."""
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="image")
    x = layers.Conv2D(n_filters, 3, strides=2, padding="same", activation="relu")(layers.Rescaling(1 / 255)(inputs))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(1, name="popularity")(x), name="stand_in_selfie")


def stand_in_utkface(input_shape=(32, 32, 3)):
    """A backbone sub-model -> global average pooling -> the UTKFace heads (age in years, gender, race), for tests of
    the training engine that need no particular architecture."""
    import keras
    from keras import layers

    from facezoo.models.utkface import GENDER_LABELS, RACE_LABELS

    inputs = keras.Input(input_shape, name="image")
    x = layers.GlobalAveragePooling2D()(_backbone(input_shape, "backbone")(layers.Rescaling(1 / 255)(inputs)))
    outputs = {
        "age": layers.Dense(1, name="age")(x),
        "gender": layers.Dense(len(GENDER_LABELS), activation="softmax", name="gender")(x),
        "race": layers.Dense(len(RACE_LABELS), activation="softmax", name="race")(x),
    }
    return keras.Model(inputs, outputs, name="stand_in_utkface")


STAND_INS = {
    "stand_in_person_attributes": "person_attributes_densenet121",
    "stand_in_attractive_net": "attractive_net",
    "stand_in_face_backbone": "face_mobilenet_v2",
    "stand_in_selfie": "selfie_resnet",
    "stand_in_utkface": "utkface_multitask",
}


def register() -> tuple[str, ...]:
    """Register the stand-ins (once) with the outputs of the real models; returns their names."""
    for name, real in STAND_INS.items():
        if name not in registry.list_models():
            info = registry.model_info(real)
            registry.register_model(
                family=info.family,
                task=info.task,
                outputs=info.outputs,
                dataset=info.dataset,
                reference="test stand-in",
                num_params=0,
            )(globals()[name])
    return tuple(STAND_INS)


def unregister() -> None:
    """Remove the stand-ins from the registry."""
    for name in STAND_INS:
        registry._BUILDERS.pop(name, None)
        registry._INFOS.pop(name, None)


register()
