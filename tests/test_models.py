"""Every registered model, parametrised over ``list_models()`` as timm's tests are."""

from __future__ import annotations

import fnmatch
import functools
import math
import re

import keras
import numpy as np
import pytest

import facezoo
from facezoo.inference import output_specs
from facezoo.models.selfie import selfie_resnet
from facezoo.registry import cut_features

ALL_MODELS = facezoo.list_models()

# The write-ups' numbers (issue 2): name -> (total parameters, trainable parameters or None when all/unspecified).
EXPECTED_PARAMS = {
    "selfie_resnet": (1_598_577, 1_598_577 - 4_320),
    "age_cnn": (652_611, 652_611),
    "age_vgg16": (16_812_867, 2_098_179),
    "celeba_cnn": (16_510_529, 16_510_529),
    "celeba_inception_v3": (28_118_817, 6_305_793),
    "attractive_net": (2_259_265, 1_281),
}


def trainable_count(model: keras.Model) -> int:
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@functools.cache
def built(name: str) -> keras.Model:
    return facezoo.create_model(name)


@functools.cache
def two_images(shape: tuple[int, int, int]) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, size=(2, *shape)).astype("float32")


def as_dict(info: facezoo.ModelInfo, prediction) -> dict[str, np.ndarray]:
    if isinstance(prediction, dict):
        return {k: np.asarray(v) for k, v in prediction.items()}
    assert len(info.outputs) == 1
    return {info.outputs[0].name: np.asarray(prediction)}


def test_registry_lists_the_builders():
    assert ALL_MODELS == sorted(facezoo.models.__all__)  # every builder the package exports, and only those
    assert all(getattr(facezoo.models, name).__name__ == name for name in ALL_MODELS)
    for pattern in ("selfie_*", "*net*", "*_v2", "nothing*"):
        assert facezoo.list_models(pattern) == [name for name in ALL_MODELS if fnmatch.fnmatchcase(name, pattern)]
    with_weights = [name for name in ALL_MODELS if any(w.available for w in facezoo.model_info(name).weights.values())]
    assert facezoo.list_models(pretrained=True) == with_weights


@pytest.mark.parametrize("name", ALL_MODELS)
def test_parameter_counts(name):
    model, info = built(name), facezoo.model_info(name)
    assert model.name == name
    assert model.count_params() == info.num_params
    if name in EXPECTED_PARAMS:
        total, trainable = EXPECTED_PARAMS[name]
        assert (model.count_params(), trainable_count(model)) == (total, trainable)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_forward_and_model_info(name):
    model, info = built(name), facezoo.model_info(name)
    assert tuple(model.input_shape[1:]) == info.input_shape
    assert dict(info.default_config)["input_shape"] == info.input_shape
    outputs = as_dict(info, model.predict(two_images(info.input_shape), verbose=0))
    assert sorted(outputs) == sorted(o.name for o in info.outputs)
    for spec in info.outputs:
        values = outputs[spec.name]
        assert values.shape == (2, spec.width)
        assert np.isfinite(values).all()
        if spec.kind == "classification":
            np.testing.assert_allclose(values.sum(axis=1), 1.0, rtol=1e-5)
            assert len(spec.labels) == values.shape[1]
        if spec.kind == "binary":
            assert ((values >= 0) & (values <= 1)).all() and len(spec.labels) == 2


# Slow round trips, 4-12 s of CPU each: DenseNet121, InceptionV3, and two of the three models that
# mobilenet_v2_with_heads builds (face_mobilenet_v2's runs by default).
SLOW_ROUND_TRIPS = ("person_attributes_densenet121", "celeba_inception_v3", "age_mobilenet_v2", "utkface_mobilenet_v2")


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_ROUND_TRIPS else n for n in ALL_MODELS]
)
def test_keras_file_round_trip(name, tmp_path):
    model, info = built(name), facezoo.model_info(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    images = two_images(info.input_shape)
    expected = as_dict(info, model.predict(images, verbose=0))
    actual = as_dict(info, restored.predict(images, verbose=0))
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key])


def assert_maps_fit(shapes, feature_info, input_shape) -> None:
    """Each map (shape ``(N, height, width, channels)``) has its channels and a size its stride explains, within the
    pixels valid convolutions lose; strides increase."""
    assert len(shapes) == len(feature_info)
    for shape, info in zip(shapes, feature_info):
        for side, full in zip(shape[1:3], input_shape[:2]):
            nominal = math.ceil(full / info.stride)
            assert nominal / 2 - 1 <= side <= nominal, (shape, info)
        assert shape[-1] == info.channels
    assert [info.stride for info in feature_info] == sorted({info.stride for info in feature_info})


@pytest.mark.parametrize("name", ALL_MODELS)
def test_feature_maps_match_the_registry(name):
    info = facezoo.model_info(name)
    features = cut_features(built(name))
    assert info.feature_info and features.feature_info == info.feature_info
    assert_maps_fit([tuple(o.shape) for o in features.outputs], info.feature_info, info.input_shape)
    assert info.embedding_size == info.feature_info[-1].channels


@pytest.mark.parametrize("name", ALL_MODELS)
def test_pooled_models_fit_any_size_and_every_backbone_freezes(name):
    """``pooled`` (so ``input_shape`` is adaptable) exactly when the weights do not depend on the input size; the
    others flatten a feature map (as the refusal says); ``freeze_backbone`` freezes what ``features_only`` returns."""
    info = facezoo.model_info(name)
    height, width, _ = info.input_shape
    other = facezoo.create_model(name, input_shape=(height + 32, width, 3), freeze_backbone=True)
    assert ([w.shape for w in other.weights] == [w.shape for w in built(name).weights]) == info.pooled
    assert ("input_shape" in info.adaptable) == info.pooled
    flattens = any(isinstance(layer, keras.layers.Flatten) and len(layer.input.shape) == 4 for layer in other.layers)
    assert flattens != info.pooled
    assert not cut_features(other).trainable_weights and other.trainable_weights


MULTI_HEAD = [name for name in ALL_MODELS if facezoo.model_info(name).default_config.get("num_classes", 0) is None]


@pytest.mark.parametrize("name", MULTI_HEAD)
def test_multi_head_builders_take_classes_per_head(name):
    head = [spec for spec in facezoo.model_info(name).outputs if spec.kind == "classification"][0]
    config = {"input_shape": (64, 64, 3), "num_classes": {head.name: head.width + 1}}
    model = facezoo.create_model(name, **config)
    assert model.output[head.name].shape[-1] == head.width + 1
    assert output_specs(model) == output_specs(name, config)
    assert dict((s.name, s.labels) for s in output_specs(name, config))[head.name] == tuple(
        map(str, range(head.width + 1))
    )


def test_selfie_parameter_counts_of_the_write_up_variants():
    deep = facezoo.models.selfie_cnn(n_layers=18, n_filters=16, batch_norm=True)
    non_trainable = deep.count_params() - trainable_count(deep)
    assert (deep.count_params(), non_trainable) == (17_397_393, 12_096)
    assert facezoo.models.selfie_cnn(n_layers=12, n_filters=16, batch_norm=False).count_params() == 1_492_497


@pytest.mark.parametrize("batch_norm", [True, False])
@pytest.mark.parametrize("residual", [True, False])
def test_selfie_ablation_variants_build(batch_norm, residual):
    model = selfie_resnet(batch_norm=batch_norm, residual=residual, n_layers=6, n_filters=8)
    names = {layer.name for layer in model.layers}
    assert {"block1_cnn_1", "block1_cnn2", "block6_cnn2", "linear1", "linear2", "outputs"} <= names
    assert ("block1_residual" in names) == residual
    main_path_bn = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    # 2 per block on the main path when batch_norm; shortcut BN per block whenever residual.
    assert len(main_path_bn) == 6 * (2 * batch_norm + residual)


@pytest.mark.parametrize(
    "name, config",
    [
        ("selfie_resnet", {"n_layers": 18, "n_filters": 8, "input_shape": (160, 160, 3)}),
        ("selfie_cnn", {"n_layers": 4, "n_filters": 4, "input_shape": (20, 20, 3)}),
        ("age_cnn", {"variant": "regularized"}),
        ("age_cnn", {"num_classes": 5, "input_shape": (96, 120, 3)}),
        pytest.param(  # builds a second DenseNet121 (6 s of CPU)
            "person_attributes_densenet121", {"pooling": "avgmax", "input_shape": (100, 100, 3)}, marks=pytest.mark.slow
        ),
        ("attractive_net", {"input_shape": (224, 224, 3), "freeze_backbone": False}),
        ("utkface_multitask", {"width": 8, "input_shape": (64, 64, 3)}),
    ],
)
def test_config_variants_build_and_run(name, config):
    model = facezoo.create_model(name, **config)
    shape = config.get("input_shape", facezoo.model_info(name).input_shape)
    prediction = model.predict(np.zeros((1, *shape), "float32"), verbose=0)
    leaves = prediction.values() if isinstance(prediction, dict) else [prediction]
    assert all(np.isfinite(np.asarray(v)).all() for v in leaves)


def test_age_cnn_regularized_normalises_channels():
    model = facezoo.models.age_cnn(variant="regularized")
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 6 and all(norm.axis in (-1, 3) for norm in norms)
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in model.layers) == 2


def test_person_attributes_stores_channel_statistics_without_weights():
    model = facezoo.models.person_attributes_densenet121(
        channel_mean=(10, 20, 30), channel_std=(2, 4, 5), input_shape=(64, 64, 3)
    )
    scaling = model.get_layer("input_scaling")
    assert scaling.weights == []
    out = scaling(np.full((1, 1, 1, 3), 40.0, "float32"))
    np.testing.assert_allclose(np.asarray(out).ravel(), [15.0, 5.0, 2.0], rtol=1e-6)
    assert sorted(layer.name for layer in model.layers if layer.name.endswith("_output")) == sorted(
        f"{head}_output" for head in ("gender", "image_quality", "age", "weight", "bag", "footwear", "pose", "emotion")
    )


def test_no_layer_hits_the_tf_cpu_stride2_1x1_crash():
    """NOTES.md: a 1x1 stride-2 Conv2D applied to < 16 channels segfaults TF on CPU in training."""
    variants = [selfie_resnet(n_layers=n, n_filters=f, input_shape=(64, 64, 3)) for n in (1, 4, 7) for f in (1, 8)]
    for model in variants + [built(name) for name in ("selfie_resnet", "utkface_multitask")]:
        for layer in model.layers:
            if isinstance(layer, keras.layers.Conv2D) and layer.kernel_size == (1, 1):
                assert layer.strides == (1, 1) or layer.input.shape[-1] >= 16, (model.name, layer.name)


@pytest.mark.slow  # 7 s of CPU; test_fit_one_epoch[fit_selfie_resnet] trains selfie_resnet on CPU in the default run
def test_selfie_resnet_trains_a_step_on_cpu():
    model = selfie_resnet(n_layers=4, n_filters=4, input_shape=(32, 32, 3))
    model.compile(optimizer="adam", loss=keras.losses.Huber(delta=0.05))
    loss = model.train_on_batch(np.ones((4, 32, 32, 3), "float32") * 128, np.ones((4, 1), "float32"))
    assert np.isfinite(loss)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: facezoo.create_model("selfie_resnt"), "Did you mean selfie_resnet"),
        (lambda: facezoo.model_info("vgg"), "Unknown model 'vgg'"),
        (lambda: facezoo.models.selfie_resnet(n_layers=0), "n_layers must be an integer >= 1"),
        (lambda: facezoo.models.selfie_cnn(n_filters=2.5), "n_filters must be an integer >= 1"),
        (lambda: facezoo.models.selfie_resnet(input_shape=(16, 16, 3)), "at least 17"),
        (lambda: facezoo.models.age_cnn(input_shape=(128, 128, 1)), "3 (RGB) channels"),
        (lambda: facezoo.models.age_cnn(input_shape=(64, 64, 3)), "at least 94"),
        (lambda: facezoo.models.age_cnn(variant="big"), "variant must be one of 'baseline', 'regularized'"),
        (lambda: facezoo.models.age_cnn(num_classes=1), "num_classes must be an integer >= 2"),
        (lambda: facezoo.models.celeba_inception_v3(input_shape=(64, 64, 3)), "at least 75"),
        (lambda: facezoo.models.attractive_net(input_shape=(224, 224)), "(height, width, 3)"),
        (
            lambda: facezoo.models.attractive_net(backbone_weights="places"),
            "backbone_weights must be None, 'imagenet' or",
        ),
        (lambda: facezoo.models.person_attributes_densenet121(pooling="max"), "pooling must be one of"),
        (lambda: facezoo.models.utkface_multitask(dropout=1.5), "dropout must be in [0, 1)"),
        (lambda: facezoo.create_model("age_cnn", layers=3), "unknown config layers; allowed: variant"),
        (lambda: facezoo.models.age_cnn(pretrained="imdb"), "no weights tagged 'imdb'"),
    ],
)
def test_bad_input_gives_a_clear_value_error(call, message):
    with pytest.raises(ValueError, match=_literal(message)):
        call()


@pytest.mark.parametrize("name", [n for n in ALL_MODELS if not facezoo.model_info(n).weights])
@pytest.mark.parametrize("pretrained", [True, "some_tag"])
def test_pretrained_without_weights_says_why_and_what_to_do(name, pretrained):
    info = facezoo.model_info(name)
    with pytest.raises(ValueError) as raised:
        getattr(facezoo.models, name)(pretrained=pretrained)
    message = str(raised.value)
    assert "\n" not in message and message.startswith(f"Model {name!r} has no pretrained weights: ")
    why = "could not be obtained" if info.dataset in ("selfie", "person_attributes") else "none have been trained yet"
    assert why in message
    call = re.search(r"facezoo\.training\.(\w+)\((.*?)\) on the", message)
    assert call and callable(getattr(facezoo.training, call[1])), message  # an existing helper, with its arguments
    assert call[1] == "fit" and f"model={name!r}" in call[2], message
    assert any(recipe.dataset == info.dataset for recipe in facezoo.training.RECIPES.values()), message
    assert f"`facezoo download {info.dataset}`" in message
    assert ", ".join(facezoo.list_models(pretrained=True)) in message


def test_imagenet_weights_missing_names_the_file_and_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(keras.utils, "get_file", no_network)
    with pytest.raises(ValueError) as error:
        facezoo.models.age_vgg16(backbone_weights="imagenet")
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in str(error.value)
    assert str(tmp_path / "models") in str(error.value)


def _literal(text: str) -> str:
    import re

    return re.escape(text)


def test_attractive_net_from_scratch_uses_fast_batch_norm_statistics():
    from keras import layers

    model = facezoo.models.attractive_net(input_shape=(64, 64, 3))
    momenta = {
        layer.momentum
        for layer in model.get_layer("mobilenetv2_1.00_64").layers
        if isinstance(layer, layers.BatchNormalization)
    }
    assert momenta == {0.99}


def test_create_model_takes_every_way_of_naming_a_model(tmp_path):
    by_tag = facezoo.create_model("age_cnn.imfdb_age")
    by_pretrained = facezoo.create_model("age_cnn", pretrained="imfdb_age")
    assert all(np.array_equal(a, b) for a, b in zip(by_tag.get_weights(), by_pretrained.get_weights()))
    facezoo.hub.save_pretrained(by_tag, tmp_path / "saved")
    from_folder = facezoo.create_model(str(tmp_path / "saved"))
    assert all(np.array_equal(a, b) for a, b in zip(by_tag.get_weights(), from_folder.get_weights()))
    images = two_images((128, 128, 3))
    assert facezoo.predict("age_cnn.imfdb_age", list(images)) == facezoo.predict(by_tag, list(images))
    with pytest.raises(ValueError, match=r"no weights tagged 'nope' \(available tags: age_cnn.imfdb_age\)"):
        facezoo.create_model("age_cnn.nope")
    with pytest.raises(ValueError, match="names its weights already"):
        facezoo.create_model("age_cnn.imfdb_age", pretrained="other")
    with pytest.raises(ValueError, match="saved model with its own weights"):
        facezoo.create_model(str(tmp_path / "saved"), num_classes=4)
    with pytest.raises(ValueError, match="Did you mean age_cnn"):
        facezoo.create_model("age_cn")
