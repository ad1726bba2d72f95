"""facezoo.predict: input conversion, batching and output decoding."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from PIL import Image

import facezoo
from facezoo.inference import decode_output, expand_image_paths, load_image
from facezoo.registry import OutputSpec


@functools.cache
def small_multitask():
    return facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3))


@pytest.fixture
def image_files(tmp_path):
    rng = np.random.default_rng(1)
    paths = []
    for i, mode in enumerate(["RGB", "L", "RGBA", "CMYK", "P"]):
        image = Image.fromarray(rng.integers(0, 255, (40, 30, 3), dtype=np.uint8)).convert(mode)
        path = tmp_path / f"img{i}.{'png' if mode in ('RGBA', 'P') else 'jpg'}"
        image.save(path)
        paths.append(path)
    return paths


def test_load_image_converts_modes_and_resizes(image_files):
    for path in image_files:
        array = load_image(path, (32, 32))
        assert array.shape == (32, 32, 3) and array.dtype == np.float32
        assert 0 <= array.min() and array.max() <= 255
    gray = load_image(np.full((10, 10), 7, np.uint8), (4, 4))
    np.testing.assert_array_equal(gray, np.full((4, 4, 3), 7.0))
    rgba = load_image(np.dstack([np.full((8, 8, 3), 9, np.uint8), np.zeros((8, 8), np.uint8)]), (8, 8))
    np.testing.assert_array_equal(rgba, np.full((8, 8, 3), 9.0))


def test_load_image_rejects_bad_files_with_their_name(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="notes.jpg"):
        load_image(text, (8, 8))
    good = tmp_path / "good.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(good, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match="truncated.jpg"):
        load_image(truncated, (8, 8))
    with pytest.raises(ValueError, match="HxW"):
        load_image(np.zeros((2, 2, 2, 3)), (8, 8))


def test_batched_predict_equals_per_image(image_files):
    model = small_multitask()
    batched = facezoo.predict(model, image_files, batch_size=2)
    single = [facezoo.predict(model, path)[0] for path in image_files]
    assert [r["image"] for r in batched] == [str(p) for p in image_files]
    for b, s in zip(batched, single):
        assert b["gender"]["label"] == s["gender"]["label"]
        assert b["age"]["score"] == pytest.approx(s["age"]["score"], rel=1e-5, abs=1e-4)
        for label, p in b["race"]["probabilities"].items():
            assert p == pytest.approx(s["race"]["probabilities"][label], abs=1e-5)


def test_predict_decodes_every_head():
    result = facezoo.predict(small_multitask(), np.zeros((2, 50, 50, 3), np.uint8))
    assert [r["image"] for r in result] == [0, 1]
    assert set(result[0]) == {"image", "age", "gender", "race"}
    assert np.isfinite(result[0]["age"]["score"])
    assert set(result[0]["gender"]["probabilities"]) == {"male", "female"}
    assert sum(result[0]["race"]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)


def test_decode_binary_and_regression():
    spec = OutputSpec("male", "binary", ("female", "male"))
    assert decode_output(spec, np.array([0.8])) == {
        "label": "male",
        "probability": pytest.approx(0.8),
        "probabilities": {"female": pytest.approx(0.2), "male": pytest.approx(0.8)},
    }
    assert decode_output(OutputSpec("beauty", "regression"), np.array([3.25])) == {"score": 3.25}


def test_predict_without_weights_or_with_bad_batch_size():
    with pytest.raises(ValueError, match="no pretrained weights"):
        facezoo.predict("selfie_cnn", np.zeros((8, 8, 3)))
    with pytest.raises(ValueError, match="batch_size"):
        facezoo.predict(small_multitask(), np.zeros((8, 8, 3)), batch_size=0)


def test_expand_image_paths(tmp_path, image_files):
    (tmp_path / "readme.txt").write_text("x")
    assert expand_image_paths([tmp_path]) == sorted(image_files)
    with pytest.raises(FileNotFoundError, match="missing.jpg"):
        expand_image_paths([tmp_path / "missing.jpg"])


def test_flip_averages_the_image_and_its_mirror():
    model = small_multitask()
    image = np.random.default_rng(2).uniform(0, 255, (32, 32, 3)).astype(np.float32)
    plain, mirrored, flipped = (
        facezoo.predict(model, im, flip=f)[0] for im, f in ((image, False), (image[:, ::-1], False), (image, True))
    )
    assert flipped["age"]["score"] == pytest.approx((plain["age"]["score"] + mirrored["age"]["score"]) / 2, rel=1e-5)
    for label, p in flipped["race"]["probabilities"].items():
        expected = (plain["race"]["probabilities"][label] + mirrored["race"]["probabilities"][label]) / 2
        assert p == pytest.approx(expected, abs=1e-6)
    assert plain["age"]["score"] != pytest.approx(mirrored["age"]["score"], rel=1e-6)  # the test can fail
    symmetric = np.concatenate([image[:, :16], image[:, :16][:, ::-1]], axis=1)
    assert facezoo.predict(model, symmetric, flip=True)[0]["age"]["score"] == pytest.approx(
        facezoo.predict(model, symmetric)[0]["age"]["score"], rel=1e-5
    )
