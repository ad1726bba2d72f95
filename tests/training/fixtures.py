"""Tiny synthetic copies of each dataset in its upstream layout (see shared/data/README.md), for fast fit tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SELFIE_ATTRIBUTES = 36
PERSON_COLUMNS = {
    "gender": ("female", "male"),
    "imagequality": ("Average", "Bad", "Good"),
    "age": ("15-25", "25-35", "35-45", "45-55", "55+"),
    "weight": ("normal-healthy", "over-weight", "slightly-overweight", "underweight"),
    "carryingbag": ("Daily/Office/Work Bag", "Grocery/Home/Plastic Bag", "None"),
    "footwear": ("CantSee", "Fancy", "Normal"),
    "emotion": ("Angry/Serious", "Happy", "Neutral", "Sad"),
    "bodypose": ("Back", "Front-Frontish", "Side"),
}


def _jpeg(path: Path, rng: np.random.Generator, size: tuple[int, int] = (16, 16)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, quality=90)


def make_selfie(root: Path, n: int = 16, seed: int = 0) -> Path:
    """``Selfie-dataset/images/*.jpg`` and ``selfie_dataset.txt`` (name, score, 36 attributes in 1/-1/0)."""
    rng, folder = np.random.default_rng(seed), root / "Selfie-dataset"
    lines = []
    for i in range(n):
        name = f"{1000 + i}_selfie_{i}_a"
        _jpeg(folder / "images" / f"{name}.jpg", rng)
        attributes = rng.choice([-1, 0, 1], SELFIE_ATTRIBUTES)
        attributes[1] = 1 if i % 2 else -1  # is_female
        lines.append(f"{name} {rng.uniform(1, 6):.4f} " + " ".join(map(str, attributes)))
    (folder / "selfie_dataset.txt").write_text("\n".join(lines) + "\n")
    return folder


def make_imfdb_age(root: Path, n: int = 24, seed: int = 0) -> Path:
    """``imfdb-age/train.csv`` (``ID,Class``) and ``Train/<ID>`` crops of varying size."""
    rng, folder = np.random.default_rng(seed), root / "imfdb-age"
    rows = ["ID,Class"]
    for i in range(n):
        _jpeg(folder / "Train" / f"{i}.jpg", rng, size=(12 + i % 5, 16 + i % 3))
        rows.append(f"{i}.jpg,{('YOUNG', 'MIDDLE', 'OLD')[i % 3]}")
    (folder / "train.csv").write_text("\n".join(rows) + "\n")
    return folder


def make_person_attributes(root: Path, n: int = 24, seed: int = 0) -> Path:
    """``hvc/hvc_annotations.csv`` and ``hvc/resized/<n>.jpg``."""
    rng, folder = np.random.default_rng(seed), root / "hvc"
    rows = ["filename," + ",".join(PERSON_COLUMNS) + ",image_path"]
    for i in range(n):
        _jpeg(folder / "resized" / f"{i + 1}.jpg", rng)
        values = [labels[(i + k) % len(labels)] for k, labels in enumerate(PERSON_COLUMNS.values())]
        rows.append(f"{i + 1}.jpg," + ",".join(values) + f",resized/{i + 1}.jpg")
    (folder / "hvc_annotations.csv").write_text("\n".join(rows) + "\n")
    return folder


def make_celeba(root: Path, n: int = 24, seed: int = 0) -> Path:
    """``celeba/img_align_celeba/*.jpg`` with ``list_attr_celeba.txt``, ``list_eval_partition.txt`` and
    ``identity_CelebA.txt`` in the original formats (partitions 0/1/2 in thirds)."""
    rng, folder = np.random.default_rng(seed), root / "celeba"
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    attributes = ["5_o_Clock_Shadow", "Male", "Smiling"]
    attr_rows, partition, identity = [str(n), " ".join(attributes)], [], []
    for i, name in enumerate(names):
        _jpeg(folder / "img_align_celeba" / name, rng, size=(18, 22))
        attr_rows.append(f"{name} " + " ".join(str(1 if (i + k) % 2 else -1) for k in range(len(attributes))))
        partition.append(f"{name} {i * 3 // n}")
        identity.append(f"{name} {i // 2 + 1}")
    (folder / "list_attr_celeba.txt").write_text("\n".join(attr_rows) + "\n")
    (folder / "list_eval_partition.txt").write_text("\n".join(partition) + "\n")
    (folder / "identity_CelebA.txt").write_text("\n".join(identity) + "\n")
    return folder


def make_scut_fbp5500(root: Path, n: int = 24, seed: int = 0) -> Path:
    """``SCUT-FBP5500_v2/Images/*.jpg``, ``train_test_files/All_labels.txt`` and the 60/40 split files."""
    rng, folder = np.random.default_rng(seed), root / "SCUT-FBP5500_v2"
    names = [f"{('AF', 'AM', 'CF', 'CM')[i % 4]}{i + 1}.jpg" for i in range(n)]
    labels = []
    for name in names:
        _jpeg(folder / "Images" / name, rng)
        labels.append(f"{name} {rng.uniform(1, 5):.6f}")
    files = folder / "train_test_files"
    split = files / "split_of_60%training and 40%testing"
    split.mkdir(parents=True)
    (files / "All_labels.txt").write_text("\n".join(labels) + "\n")
    cut = n * 6 // 10
    (split / "train.txt").write_text("\n".join(labels[:cut]) + "\n")
    (split / "test.txt").write_text("\n".join(labels[cut:]) + "\n")
    return folder


def make_utkface(root: Path, n: int = 24, seed: int = 0) -> Path:
    """``UTKFace/[age]_[gender]_[race]_[datetime].jpg.chip.jpg``."""
    rng, folder = np.random.default_rng(seed), root / "UTKFace"
    for i in range(n):
        _jpeg(folder / f"{int(rng.integers(1, 90))}_{i % 2}_{i % 5}_2017011{i:07d}.jpg.chip.jpg", rng)
    return folder


MAKERS = {
    "selfie": make_selfie,
    "imfdb_age": make_imfdb_age,
    "person_attributes": make_person_attributes,
    "celeba": make_celeba,
    "scut_fbp5500": make_scut_fbp5500,
    "utkface": make_utkface,
}
