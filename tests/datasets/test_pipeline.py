"""``FaceDataset.as_tf_dataset``: shapes, colour modes, bad files, shuffling and augmentation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import write_image

from facezoo import datasets
from facezoo.datasets.augment import Augmentation, from_image_data_generator
from facezoo.datasets.core import FaceDataset
from facezoo.registry import OutputSpec


def _dataset(tmp_path, n=6, heads=("score",)) -> FaceDataset:
    paths = [str(write_image(tmp_path / f"{i}.jpg", i, size=(10 + i, 8))) for i in range(n)]
    return FaceDataset(
        name="toy",
        split="train",
        paths=paths,
        targets={h: np.arange(n, dtype=np.float32) + k for k, h in enumerate(heads)},
        heads=tuple(OutputSpec(h, "regression") for h in heads),
    )


def test_batches_single_and_multi_head(tmp_path):
    images, y = next(iter(_dataset(tmp_path).as_tf_dataset((12, 16), 4)))
    assert images.shape == (4, 12, 16, 3) and images.dtype.name == "float32" and y.shape == (4,)
    assert 0 <= float(images.numpy().min()) and float(images.numpy().max()) <= 255
    _, y = next(iter(_dataset(tmp_path, heads=("a", "b")).as_tf_dataset((12, 16), 4, drop_remainder=True)))
    assert set(y) == {"a", "b"} and y["b"].numpy().tolist() == [1, 2, 3, 4]


def test_colour_modes_become_rgb(tmp_path):
    paths = [
        write_image(tmp_path / "gray.jpg", mode="L"),
        write_image(tmp_path / "cmyk.jpg", mode="CMYK"),
        write_image(tmp_path / "rgba.png", mode="RGBA", fmt="PNG"),
    ]
    ds = FaceDataset(
        "toy", "train", [str(p) for p in paths], {"y": np.zeros(3, np.float32)}, (OutputSpec("y", "regression"),)
    )
    images, _ = next(iter(ds.as_tf_dataset((8, 8), 3)))
    assert images.shape == (3, 8, 8, 3)
    gray = images.numpy()[0]
    np.testing.assert_allclose(gray[..., 0], gray[..., 2])


def test_images_are_decoded_as_a_viewer_shows_them(tmp_path):
    """EXIF orientations 1-8 are applied as PIL's exif_transpose (and facezoo.predict) applies them; 16-bit PNGs are
    scaled, not clipped to white."""
    from PIL import Image, ImageOps

    pixels = np.zeros((24, 40, 3), np.uint8)  # blocks of four colours: any wrong turn or mirror moves them
    pixels[:12, :20], pixels[:12, 20:], pixels[12:, :20] = (250, 0, 0), (0, 250, 0), (0, 0, 250)
    paths, shown = [], []
    for orientation in range(1, 9):
        image = Image.fromarray(pixels)
        exif = image.getexif()
        exif[0x0112] = orientation
        path = tmp_path / f"o{orientation}.jpg"
        image.save(path, exif=exif, quality=95)
        paths.append(str(path))
        with Image.open(path) as stored:
            shown.append(np.asarray(ImageOps.exif_transpose(stored).convert("RGB"), np.float32))
    gray16 = tmp_path / "gray16.png"
    Image.fromarray(np.full((24, 40), 32768, np.uint16)).save(gray16)
    for path, expected in [*zip(paths, shown), (str(gray16), np.full((24, 40, 3), 128, np.float32))]:
        ds = FaceDataset("toy", "train", [path], {"y": np.zeros(1, np.float32)}, (OutputSpec("y", "regression"),))
        images, _ = next(iter(ds.as_tf_dataset(expected.shape[:2], 1)))
        assert np.abs(images.numpy()[0] - expected).mean() < 4, path


def test_bad_files_raise_or_skip(tmp_path, caplog):
    ds = _dataset(tmp_path, n=4)
    (tmp_path / "1.jpg").write_text("not an image")
    truncated = tmp_path / "2.jpg"
    truncated.write_bytes(truncated.read_bytes()[:200])  # a JPEG header without its end: would fail to decode
    with pytest.raises(ValueError, match=r"1\.jpg.*\(and 1 more\).*on_error='skip'"):
        ds.as_tf_dataset((8, 8), 2)
    (tmp_path / "1.jpg").write_bytes((tmp_path / "0.jpg").read_bytes())
    with pytest.raises(ValueError, match=r"2\.jpg.*missing or not an image"):
        ds.as_tf_dataset((8, 8), 2)
    (tmp_path / "1.jpg").write_text("not an image")
    with caplog.at_level("WARNING", logger="facezoo.datasets"):
        batches = list(ds.as_tf_dataset((8, 8), 2, on_error="skip"))
    assert "skipped 2" in caplog.text
    assert sum((y.numpy().tolist() for _, y in batches), []) == [0.0, 3.0]


def test_shuffle_is_seeded(tmp_path):
    ds = _dataset(tmp_path, n=6)

    def order(seed):
        return [v for _, y in ds.as_tf_dataset((8, 8), 6, shuffle=True, seed=seed) for v in y.numpy()]

    assert order(1) == order(1) and sorted(order(1)) == list(range(6)) and order(1) != list(range(6))
    cached = ds.as_tf_dataset((8, 8), 6, shuffle=True, seed=1, cache=True)
    assert sorted(next(iter(cached))[1].numpy().tolist()) == list(range(6))


def test_augmentation_is_seeded_and_changes_images(tmp_path):
    ds = _dataset(tmp_path, n=4)
    aug = Augmentation(
        horizontal_flip=True,
        rotation_range=30,
        width_shift_range=0.2,
        height_shift_range=0.2,
        shear_range=10,
        zoom_range=0.3,
        random_erasing=1.0,
        erasing_area=(0.2, 0.3),
    )
    plain = next(iter(ds.as_tf_dataset((16, 16), 4)))[0].numpy()
    a = next(iter(ds.as_tf_dataset((16, 16), 4, augment=aug, seed=7)))[0].numpy()
    b = next(iter(ds.as_tf_dataset((16, 16), 4, augment=aug, seed=7)))[0].numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, plain) and a.min() >= 0 and a.max() <= 255
    erased = next(
        iter(ds.as_tf_dataset((16, 16), 4, augment=Augmentation(random_erasing=1.0, erasing_area=(0.2, 0.3)), seed=0))
    )[0].numpy()
    changed = (erased != plain).any(axis=-1).mean(axis=(1, 2))
    assert ((changed > 0.08) & (changed < 0.5)).all()


def test_image_data_generator_options():
    assert from_image_data_generator(rotation_range=20, erasing_area=[0.1, 0.2]).erasing_area == (0.1, 0.2)
    with pytest.raises(TypeError, match="brightness_range"):
        from_image_data_generator(brightness_range=(0.5, 1.5))
    with pytest.raises(ValueError, match="fill_mode"):
        Augmentation(fill_mode="mirror")


def test_subset_and_take(tmp_path):
    ds = _dataset(tmp_path, n=5)
    assert ds.take(2).paths == ds.paths[:2] and len(ds.take(10)) == 5
    assert ds.subset([4, 0]).targets["score"].tolist() == [4.0, 0.0]
    assert datasets.FaceDataset is FaceDataset
