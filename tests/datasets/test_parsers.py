"""Parsers and splits on fixtures written in each upstream layout."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from conftest import make_selfie, make_utkface, write_image

from facezoo import datasets
from facezoo.datasets.core import MARKER_IMAGES, fraction_split, train_test_split_indices


def test_list_datasets_and_describe():
    assert datasets.list_datasets() == [
        "celeba",
        "faces",
        "imfdb_age",
        "person_attributes",
        "scut_fbp5500",
        "selfie",
        "utkface",
    ]
    assert all(len(datasets.describe(name)) == 3 for name in datasets.list_datasets())


def test_not_found_says_how_to_download(tmp_path):
    with pytest.raises(datasets.DatasetNotFoundError, match=r"Selfie-dataset\.tar\.gz.*manual_dir"):
        datasets.load("selfie", tmp_path)


def test_selfie_split_and_derived_columns(tmp_path):
    make_selfie(tmp_path, n=20)
    parts = {s: datasets.load("selfie", tmp_path, split=s) for s in ("train", "validation", "test")}
    assert [len(p) for p in parts.values()] == [14, 4, 2]
    perm = np.random.RandomState(1234).permutation(20)
    assert parts["train"].paths == [str(tmp_path / "Selfie-dataset" / "images" / f"img_{i}.jpg") for i in perm[:14]]
    np.testing.assert_allclose(parts["test"].targets["popularity"], perm[18:] / 10, atol=1e-4)
    full = datasets.load("selfie", tmp_path / "Selfie-dataset", split="all")
    a = full.annotations
    expected_gender = np.select([a["is_female"] == 1, a["is_female"] == -1], ["female", "male"], "unknown")
    assert a["gender"].tolist() == expected_gender.tolist()
    for i in range(len(full)):
        first = next(
            (c for c in ("baby", "child", "teenager", "youth", "middle_age", "senior") if a[c][i] == 1), "unknown"
        )
        assert a["age_category"][i] == first


def test_utkface_names_and_split(tmp_path):
    make_utkface(tmp_path, n=20)
    with pytest.warns(UserWarning, match="skipped 1 file"):
        full = datasets.load("utkface", tmp_path, split="all")
    assert len(full) == 20 and full.info["skipped_malformed_names"] == 1
    i = full.paths.index(str(tmp_path / "UTKFace" / "23_1_3_20170110000003.jpg.chip.jpg"))
    assert (full.targets["age"][i], full.targets["gender"][i], full.targets["race"][i]) == (23.0, 1, 3)
    assert full.targets["age"].dtype == np.float32 and [h.name for h in full.heads] == ["age", "gender", "race"]
    with pytest.warns(UserWarning):
        parts = [datasets.load("utkface", tmp_path, split=s, seed=3).paths for s in ("train", "validation", "test")]
    assert [len(p) for p in parts] == [16, 2, 2] and len(set(sum(parts, []))) == 20
    with pytest.warns(UserWarning):
        assert datasets.load("utkface", tmp_path, split="test", seed=3).paths == parts[2]


def _imfdb(root: Path, per_class: dict[str, int]) -> Path:
    folder = root / "imfdb-age"
    labels = [label for label, n in per_class.items() for _ in range(n)]
    rows = [f"{i}.jpg,{label}" for i, label in enumerate(labels)]
    for i in range(MARKER_IMAGES):  # the labels are parsed; a few images mark the folder
        write_image(folder / "Train" / f"{i}.jpg", i)
    (folder / "train.csv").write_text("ID,Class\n" + "\n".join(rows) + "\n")
    return folder


def test_imfdb_stratified_and_reference(tmp_path):
    _imfdb(tmp_path, {"YOUNG": 2500, "MIDDLE": 2600, "OLD": 2000})
    val = datasets.load("imfdb_age", tmp_path, split="validation")
    assert np.bincount(val.targets["age"]).tolist() == [250, 260, 200]
    assert val.heads[0].labels == ("YOUNG", "MIDDLE", "OLD")
    train = datasets.load("imfdb_age", tmp_path, split="train", protocol="reference")
    valid = datasets.load("imfdb_age", tmp_path, split="validation", protocol="reference")
    assert np.bincount(train.targets["age"]).tolist() == [1600, 1600, 1600]
    assert np.bincount(valid.targets["age"]).tolist() == [800, 800, 400]
    assert not set(train.paths) & set(valid.paths)
    with pytest.raises(ValueError, match="no split 'test'"):
        datasets.load("imfdb_age", tmp_path, split="test", protocol="reference")
    small = datasets.load("imfdb_age", tmp_path, split="validation", protocol="reference", sample_sizes=(10, 5))
    assert np.bincount(small.targets["age"]).tolist() == [5, 5, 5]
    assert set(small.paths) < set(datasets.load("imfdb_age", tmp_path, split="all").paths)
    with pytest.raises(ValueError, match="sample_sizes must be two positive integers"):
        datasets.load("imfdb_age", tmp_path, split="train", protocol="reference", sample_sizes=(10,))


def test_person_attributes_vocabularies(tmp_path):
    folder = tmp_path / "hvc"
    folder.mkdir()
    header = "filename,gender,imagequality,age,weight,carryingbag,footwear,emotion,bodypose,image_path"
    rows = [
        "a.jpg,male,Good,55+,underweight,None,Fancy,Sad,Side,resized/1.jpg",
        "b.jpg,female,Average,15-25,normal-healthy,Daily/Office/Work Bag,CantSee,Angry/Serious,Back,resized/2.jpg",
    ]
    (folder / "hvc_annotations.csv").write_text("\n".join([header, *rows]) + "\n")
    ds = datasets.load("person_attributes", folder, split="all")
    assert {k: v.tolist() for k, v in ds.targets.items()} == {
        "gender": [1, 0],
        "image_quality": [2, 0],
        "age": [4, 0],
        "weight": [3, 0],
        "bag": [2, 0],
        "footwear": [1, 0],
        "pose": [2, 0],
        "emotion": [3, 0],
    }
    assert ds.paths[0] == str(folder / "resized" / "1.jpg")
    (folder / "hvc_annotations.csv").write_text(
        header + "\nc.jpg,male,Great,55+,underweight,None,Fancy,Sad,Side,r/3.jpg\n"
    )
    with pytest.raises(ValueError, match="line 2: imagequality is 'Great'; expected one of Average, Bad, Good"):
        datasets.load("person_attributes", folder, split="all")


def _celeba(root: Path, *, kaggle: bool = False) -> Path:
    """Identities 1..4 with 3 images each; rows only for the first two images of each, and one absent image row.
    Identity 4 disagrees on Male."""
    folder = root / "celeba"
    names = [f"{i:06d}.jpg" for i in range(1, 13)]
    for i, name in enumerate(names):
        write_image(folder / "img_align_celeba" / name, i)
    identity = {name: i // 3 + 1 for i, name in enumerate(names)}
    male = {1: 1, 2: -1, 3: 1, 4: None}
    attr = {}
    for name in names:
        ident = identity[name]
        if int(name[:6]) % 3 == 0:
            continue  # no row of its own
        value = male[ident] if male[ident] is not None else (1 if int(name[:6]) % 3 == 1 else -1)
        attr[name] = (-1, value, 1)
    attr["999999.jpg"] = (1, 1, 1)  # a row whose image is absent
    columns = ["5_o_Clock_Shadow", "Male", "Smiling"]
    if kaggle:
        lines = ["image_id," + ",".join(columns)] + [f"{n}," + ",".join(map(str, v)) for n, v in attr.items()]
        (folder / "list_attr_celeba.csv").write_text("\n".join(lines) + "\n")
        (folder / "list_eval_partition.csv").write_text(
            "image_id,partition\n" + "\n".join(f"{n},{(identity[n] - 1) % 3}" for n in names) + "\n"
        )
    else:
        lines = [str(len(attr)), " ".join(columns)] + [
            f"{n} " + " ".join(f"{x:2d}" for x in v) for n, v in attr.items()
        ]
        (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
        (folder / "list_eval_partition.txt").write_text("\n".join(f"{n} {(identity[n] - 1) % 3}" for n in names) + "\n")
    (folder / "identity_CelebA.txt").write_text("\n".join(f"{n} {i}" for n, i in identity.items()) + "\n")
    return folder


@pytest.mark.parametrize("kaggle", [False, True], ids=["txt", "kaggle-csv"])
def test_celeba_rows_missing_and_identity_labels(tmp_path, kaggle):
    _celeba(tmp_path, kaggle=kaggle)
    full = datasets.load("celeba", tmp_path, split="all")
    assert len(full) == 8 and full.info["skipped_missing_images"] == 1
    assert full.targets["Male"].tolist() == [1, 1, 0, 0, 1, 1, 1, 0]
    assert full.annotations["identity"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    with pytest.raises(FileNotFoundError, match="999999.jpg"):
        datasets.load("celeba", tmp_path, split="all", missing="error")
    inferred = datasets.load("celeba", tmp_path, split="all", label_from_identity=True)
    assert inferred.info["inferred_from_identity"] == 3 and inferred.info["identity_conflicts"] == 1
    extra = inferred.annotations["label_source"] == "identity"
    assert inferred.targets["Male"][extra].tolist() == [1, 0, 1]
    smiling = datasets.load("celeba", tmp_path, split="all", attribute="Smiling")
    assert list(smiling.targets) == ["Smiling"] and smiling.targets["Smiling"].all()


def test_celeba_protocols_are_identity_disjoint(tmp_path):
    _celeba(tmp_path)
    for protocol in ("official", "identity", "sample"):
        kwargs = {"protocol": protocol, "label_from_identity": True, "identity_fractions": (0.25, 0.25)}
        parts = {s: datasets.load("celeba", tmp_path, split=s, **kwargs) for s in ("train", "validation", "test")}
        ids = {s: set(p.annotations["identity"].tolist()) for s, p in parts.items()}
        assert all(ids.values()), protocol
        assert not (ids["train"] & ids["validation"] or ids["train"] & ids["test"] or ids["validation"] & ids["test"])


def test_celeba_sample_draws_its_training_size_per_class(tmp_path, caplog):
    """Write-up 003's 10,000 + 10,000: the first sample size is per class (the fixture's train has 3 male, 1 female)."""
    _celeba(tmp_path)
    sample = datasets.load("celeba", tmp_path, split="train", protocol="sample", sample_sizes=(2, 1, 1))
    assert sorted(sample.targets["Male"].tolist()) == [0, 1, 1]
    assert "train has 1 images of class 0, fewer than the write-up's 2" in caplog.text
    one = datasets.load("celeba", tmp_path, split="train", protocol="sample", sample_sizes=(1, 1, 1))
    assert sorted(one.targets["Male"].tolist()) == [0, 1]


def _scut(root: Path, n: int = 50) -> Path:
    folder = root / "SCUT-FBP5500_v2"
    files = folder / "train_test_files"
    names = [f"{('AF', 'AM', 'CF', 'CM')[i % 4]}{i}.jpg" for i in range(n)]
    lines = [f"{name} {1 + i * 4 / n:.6f}" for i, name in enumerate(names)]
    for i, name in enumerate(names[:MARKER_IMAGES]):  # the labels are parsed; a few images mark the folder
        write_image(folder / "Images" / name, i)
    official = files / "split_of_60%training and 40%testing"
    official.mkdir(parents=True)
    (files / "All_labels.txt").write_text("\n".join(lines) + "\n")
    (official / "train.txt").write_text("\n".join(lines[:30]) + "\n")
    (official / "test.txt").write_text("\n".join(lines[30:]) + "\n")
    for k in range(1, 6):
        fold = files / "5_folders_cross_validations_files" / f"cross_validation_{k}"
        fold.mkdir(parents=True)
        (fold / f"train_{k}.txt").write_text("\n".join(lines[10:]) + "\n")
        (fold / f"test_{k}.txt").write_text("\n".join(lines[:10]) + "\n")
    return folder


def test_scut_protocols(tmp_path):
    folder = _scut(tmp_path)
    ref = {s: datasets.load("scut_fbp5500", folder, split=s) for s in ("train", "validation", "test")}
    assert [len(p) for p in ref.values()] == [35, 10, 5]
    assert len(set(sum((p.paths for p in ref.values()), []))) == 50
    assert ref["train"].targets["beauty"].dtype == np.float32
    official = datasets.load("scut_fbp5500", tmp_path, split="test", protocol="official")
    assert official.paths[0].endswith("CF30.jpg") and len(official) == 20
    assert len(datasets.load("scut_fbp5500", tmp_path, split="test", protocol="fold3")) == 10
    with pytest.raises(ValueError, match="no split 'validation'"):
        datasets.load("scut_fbp5500", tmp_path, split="validation", protocol="official")


def test_scut_validation_fraction_carves_the_official_train(tmp_path):
    _scut(tmp_path)
    parts = {
        s: datasets.load("scut_fbp5500", tmp_path, split=s, protocol="official", validation_fraction=0.2)
        for s in ("train", "validation", "test")
    }
    assert [len(p) for p in parts.values()] == [24, 6, 20]
    official_train = set(datasets.load("scut_fbp5500", tmp_path, split="train", protocol="official").paths)
    assert set(parts["train"].paths) | set(parts["validation"].paths) == official_train
    assert not set(parts["train"].paths) & set(parts["validation"].paths)
    with pytest.raises(ValueError, match="official protocols only"):
        datasets.load("scut_fbp5500", tmp_path, split="train", validation_fraction=0.1)


def test_train_test_split_matches_scikit_learn():
    sklearn = pytest.importorskip("sklearn.model_selection")
    for n, size in ((5500, 0.3), (1650, 1 / 3), (17, 0.25)):
        train, test = sklearn.train_test_split(np.arange(n), test_size=size, random_state=42)
        ours = train_test_split_indices(n, size, 42)
        assert ours[0].tolist() == train.tolist() and ours[1].tolist() == test.tolist()


def test_train_test_split_sizes_and_fraction_split():
    train, test = train_test_split_indices(10, 0.25, 42)
    assert len(test) == math.ceil(2.5) and sorted(np.concatenate([train, test]).tolist()) == list(range(10))
    labels = np.repeat([0, 1], [80, 20])
    parts = fraction_split(100, (0.1, 0.2), seed=0, labels=labels)
    assert [np.bincount(labels[parts[s]]).tolist() for s in ("train", "validation", "test")] == [
        [56, 14],
        [8, 2],
        [16, 4],
    ]
    assert fraction_split(100, (0.1, 0.2), 0)["test"].tolist() == fraction_split(100, (0.1, 0.2), 0)["test"].tolist()
