"""Adapting pretrained models (issue 16): ``num_classes``, ``freeze_backbone``, another ``input_shape``,
``features_only`` and ``facezoo.feature_extractor``, each on every published weight where it applies."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from test_models import assert_maps_fit

import facezoo
from facezoo import faces, hub, registry
from facezoo.inference import output_specs

ASTRONAUT = Path(__file__).resolve().parents[1] / "examples" / "images" / "astronaut.jpg"
#: Every weight ``pretrained=`` can load.
PUBLISHED = [
    (name, tag)
    for name in facezoo.list_models(pretrained=True)
    for tag, weights in facezoo.model_info(name).weights.items()
    if weights.available
]


def test_every_published_model_is_covered():
    assert {name for name, _ in PUBLISHED} == set(facezoo.list_models(pretrained=True))


@functools.cache
def pretrained(name: str, tag: str):
    """The published model as it is, the reference the adapted ones are held against."""
    return facezoo.create_model(name, pretrained=tag)


def trained_shape(name: str, tag: str) -> tuple[int, int, int]:
    info = facezoo.model_info(name)
    return tuple(info.weights[tag].config.get("input_shape", info.input_shape))


def images(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, size=(2, *shape)).astype("float32")


def run(model, shape: tuple[int, ...]) -> list[np.ndarray]:
    """The model's outputs on two images, called eagerly (quicker than tracing ``predict`` for one batch)."""
    outputs = model(images(shape), training=False)
    return [np.asarray(o) for o in outputs] if isinstance(outputs, (list, tuple)) else [np.asarray(outputs)]


def assert_same_weights(model, reference) -> None:
    ours, theirs = model.get_weights(), reference.get_weights()
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_num_classes_reinitialises_only_the_heads_it_resizes(name, tag):
    info = facezoo.model_info(name)
    classifiers = [spec for spec in info.outputs if spec.kind == "classification"]
    if not classifiers:
        with pytest.raises(ValueError) as error:
            facezoo.create_model(name, pretrained=tag, num_classes=4)
        message = str(error.value)
        assert "\n" not in message and "no classification head" in message
        assert f"facezoo.feature_extractor({name!r})" in message
        return
    head, count = classifiers[-1].name, classifiers[-1].width + 2
    override = count if isinstance(info.default_config["num_classes"], int) else {head: count}
    adapted = facezoo.create_model(name, pretrained=tag, num_classes=override)
    reference = pretrained(name, tag)
    changed = []
    for old, new in zip(reference.layers, adapted.layers, strict=True):
        if [w.shape for w in old.weights] == [w.shape for w in new.weights]:
            for a, b in zip(old.get_weights(), new.get_weights()):
                np.testing.assert_array_equal(a, b, err_msg=new.name)
        else:
            changed.append(new)
    output = adapted.output[head] if isinstance(adapted.output, dict) else adapted.output
    assert len(changed) == 1 and changed[0].output is output and output.shape[-1] == count
    specs = {spec.name: spec for spec in output_specs(adapted)}
    assert specs[head].labels == tuple(str(i) for i in range(count))
    assert all(specs[spec.name] == spec for spec in info.outputs if spec.name != head)
    assert registry.measured_on(adapted) == ("", {})  # the resized head was never measured


@pytest.mark.parametrize("freeze", [True, False])
@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_freeze_backbone_leaves_only_the_heads_trainable(name, tag, freeze):
    model = facezoo.create_model(name, pretrained=tag, freeze_backbone=freeze)
    assert_same_weights(model, pretrained(name, tag))
    backbone = registry.cut_features(model)
    trainable = {id(w) for w in model.trainable_weights}
    in_backbone = {id(w) for w in backbone.weights}
    heads = trainable - in_backbone
    assert heads  # the heads always train
    if freeze:
        assert not backbone.trainable_weights and not trainable & in_backbone
    else:
        assert backbone.trainable_weights and {id(w) for w in backbone.trainable_weights} <= trainable


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_another_input_size_loads_every_weight_of_pooled_models(name, tag):
    info = facezoo.model_info(name)
    height, width, _ = trained_shape(name, tag)
    shape = (height - 32, width, 3)
    if not info.pooled:
        with pytest.raises(ValueError) as error:
            facezoo.create_model(name, pretrained=tag, input_shape=shape)
        message = str(error.value)
        assert "\n" not in message and f"fits {height}x{width} inputs only" in message
        assert "flattens its last feature map" in message and "features_only=True" in message
        return
    model = facezoo.create_model(name, pretrained=tag, input_shape=shape)
    assert tuple(model.input_shape[1:]) == shape
    assert_same_weights(model, pretrained(name, tag))
    result = facezoo.predict(model, ASTRONAUT)[0]
    for spec in info.outputs:
        values = [result[spec.name]["score"]] if spec.kind == "regression" else result[spec.name]["probabilities"]
        assert np.isfinite(list(values.values()) if isinstance(values, dict) else values).all()
    # Faces are aligned to the same measured geometry, at the new size.
    landmarks = {"left_eye": (30, 30), "right_eye": (50, 30), "nose": (40, 40), "mouth_left": (32, 50)}
    face = {"landmarks": {**landmarks, "mouth_right": (48, 50)}}
    assert faces.align_face(np.zeros((100, 100, 3), np.uint8), face, model).shape == shape
    geometry = info.face_geometry
    for size in (shape[:2], (height, width)):
        matrix = faces.alignment_matrix(face["landmarks"], geometry, size)
        eye = matrix @ [30, 30, 1]
        left_eye = np.array(geometry.landmarks["left_eye"])
        np.testing.assert_allclose(eye / [size[1], size[0]], left_eye, atol=0.03)


@pytest.mark.parametrize("shrink", [0, 32])
@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_features_only_returns_the_backbones_maps_at_any_size(name, tag, shrink):
    height, width, _ = trained_shape(name, tag)
    shape = (height - shrink, width - shrink // 2, 3)
    features = facezoo.create_model(name, pretrained=tag, features_only=True, input_shape=shape)
    reference = registry.cut_features(pretrained(name, tag))
    assert features.feature_info == reference.feature_info
    assert_same_weights(features, reference)
    maps = run(features, shape)
    assert_maps_fit([m.shape for m in maps], features.feature_info, shape)
    if not shrink:
        for ours, theirs in zip(maps, run(reference, shape)):
            np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_feature_extractor_pools_the_last_map(name, tag):
    extractor = facezoo.feature_extractor(f"{name}.{tag}")
    shape = trained_shape(name, tag)
    (embeddings,) = run(extractor, shape)
    assert extractor.name == f"{name}_embedding"
    assert embeddings.shape == (2, facezoo.model_info(name).embedding_size)
    last = run(registry.cut_features(pretrained(name, tag)), shape)[-1]
    np.testing.assert_allclose(embeddings, last.mean(axis=(1, 2)), rtol=1e-4, atol=1e-5)


def test_feature_extractor_max_pools_takes_saved_folders_and_other_sizes(tmp_path):
    model = facezoo.create_model("utkface_multitask", pretrained=True)
    hub.save_pretrained(model, tmp_path / "saved")
    extractor = facezoo.feature_extractor(str(tmp_path / "saved"), pooling="max")
    last = run(registry.cut_features(model), (64, 64, 3))[-1]
    np.testing.assert_allclose(run(extractor, (64, 64, 3))[0], last.max(axis=(1, 2)), rtol=1e-5)
    resized = facezoo.feature_extractor("age_cnn", input_shape=(96, 112, 3))  # a flattening model: its backbone
    assert resized.output_shape == (None, 128)
    with pytest.raises(ValueError, match="is the backbone of age_cnn .* keras.saving.save_model"):
        hub.save_pretrained(resized, tmp_path / "embedding")
    with pytest.raises(ValueError, match="pooling must be 'avg' or 'max'"):
        facezoo.feature_extractor("utkface_multitask", pooling="sum")


def test_an_adapted_model_saves_and_loads_with_its_heads(tmp_path):
    model = facezoo.models.utkface_multitask(pretrained=True, num_classes={"race": 7}, freeze_backbone=True)
    hub.save_pretrained(model, tmp_path / "adapted")
    loaded = hub.from_pretrained(tmp_path / "adapted")
    assert_same_weights(loaded, model)
    race = next(
        spec for spec in hub.check_folder(tmp_path / "adapted", card=False)["outputs"] if spec["name"] == "race"
    )
    assert race["labels"] == [str(i) for i in range(7)]
    assert not registry.cut_features(loaded).trainable_weights


@pytest.mark.parametrize(
    "config, message",
    [
        ({"num_classes": 7}, "several classification heads (gender, race): give num_classes per head"),
        ({"num_classes": {"age": 7}}, "head 'age' is regression; num_classes applies to its classification heads"),
        ({"num_classes": {"eyes": 2}}, "has no head 'eyes'; num_classes applies to its classification heads"),
        ({"num_classes": {"race": 1}}, "num_classes of head 'race' must be an integer >= 2"),
        ({"width": 16}, "change the architecture: drop them, or build with pretrained=False (arguments the weights"),
        ({"features_only": True, "num_classes": {"race": 7}}, "features_only=True returns the backbone's feature maps"),
    ],
)
def test_meaningless_adaptations_are_refused_in_one_line(config, message):
    with pytest.raises(ValueError) as error:
        facezoo.create_model("utkface_multitask", pretrained=True, **config)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_celeba_and_selfie_refuse_num_classes_naming_the_feature_extractor():
    with pytest.raises(ValueError, match=r"no classification head \(outputs: male \(binary\)\)"):
        facezoo.create_model("celeba_cnn", num_classes=3)
    with pytest.raises(ValueError, match=r"facezoo.feature_extractor\('selfie_cnn'\)"):
        facezoo.models.selfie_cnn(num_classes=3)
