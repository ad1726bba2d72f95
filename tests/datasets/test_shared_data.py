"""Integration tests on ``../shared/data`` (skipped when absent), asserting the counts its README gives."""

from __future__ import annotations

import numpy as np
import pytest

from facezoo import datasets


def test_scut_fbp5500(shared_data):
    folder = shared_data / "SCUT-FBP5500_v2"
    assert len(datasets.load("scut_fbp5500", folder, split="all")) == 4400
    assert [len(datasets.load("scut_fbp5500", folder, split=s, protocol="official")) for s in ("train", "test")] == [
        3300,
        1100,
    ]
    assert [len(datasets.load("scut_fbp5500", shared_data, split=s)) for s in ("train", "validation", "test")] == [
        3080,
        880,
        440,
    ]
    scores = datasets.load("scut_fbp5500", folder, split="all").targets["beauty"]
    assert 1 <= scores.min() and scores.max() <= 5


def test_imfdb_age(shared_data):
    full = datasets.load("imfdb_age", shared_data / "imfdb-age", split="all")
    assert len(full) == 16906 and set(np.unique(full.targets["age"])) == {0, 1, 2}
    train = datasets.load("imfdb_age", shared_data, split="train", protocol="reference")
    assert np.bincount(train.targets["age"]).tolist() == [1600, 1600, 1600]


def test_celeba(shared_data):
    full = datasets.load("celeba", shared_data / "celeba", split="all", label_from_identity=True)
    info = full.info
    assert info["skipped_missing_images"] + len(full) - info["inferred_from_identity"] == 19894
    assert len(full) + info["identity_conflicts"] == 3570 and len(np.unique(full.annotations["identity"])) == 119


def test_utkface(shared_data):
    with pytest.warns(UserWarning, match="malformed"):
        full = datasets.load("utkface", shared_data / "UTKFace", split="all")
    assert len(full) + full.info["skipped_malformed_names"] == 9000 and full.info["skipped_malformed_names"] > 0
    images, y = next(iter(full.take(8).as_tf_dataset((64, 64), 8)))
    assert images.shape == (8, 64, 64, 3) and set(y) == {"age", "gender", "race"}


def test_person_attributes_labels(shared_data):
    full = datasets.load("person_attributes", shared_data / "hvc", split="all")
    assert len(full) == 13573 and len(full.targets) == 8
