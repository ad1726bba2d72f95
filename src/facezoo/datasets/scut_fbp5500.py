"""SCUT-FBP5500 facial beauty (Liang et al., ICPR 2018): 5,500 faces rated 1-5 by 60 people.

Layout (``SCUT-FBP5500_v2.1.zip`` from Google Drive, extracted): ``SCUT-FBP5500_v2/Images/<name>.jpg`` and
``SCUT-FBP5500_v2/train_test_files/``: ``All_labels.txt`` (``CF437.jpg 2.883333``), the official
``split_of_60%training and 40%testing/{train,test}.txt`` and
``5_folders_cross_validations_files/cross_validation_<k>/{train_<k>,test_<k>}.txt``.

Splits, by ``protocol``:

- ``"reference"`` (default): the write-up 004's 70/20/10 over ``All_labels.txt`` in file order, as scikit-learn's
  ``train_test_split(test_size=0.3, random_state=42)`` and then ``train_test_split(rest, test_size=1/3,
  random_state=42)`` give it: ``"train"``, ``"validation"``, ``"test"``.
- ``"official"``: the official 60/40 ``"train"`` / ``"test"``.
- ``"fold1"`` ... ``"fold5"``: the official cross-validation folds, ``"train"`` / ``"test"``.

The official protocols have no validation part; ``validation_fraction`` (default 0) moves that seeded fraction of
their ``"train"`` (``seed``, default 42) into a ``"validation"`` split, so that model selection never sees the test.

``"all"`` is every row of ``All_labels.txt``. Target: ``beauty`` (float32 mean rating, 1-5).
Non-commercial research use only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import (
    MARKER_IMAGES,
    FaceDataset,
    label_error,
    parse_number,
    read_lines,
    select_split,
    train_test_split_indices,
)
from facezoo.specs import DatasetCitation, OutputSpec

PROTOCOLS = ("reference", "official", "fold1", "fold2", "fold3", "fold4", "fold5")


def _read_labels(path: Path) -> list[tuple[str, float]]:
    rows = []
    for number, line in enumerate(read_lines(path), 1):
        if line.strip():
            fields = line.split()
            if len(fields) != 2:
                expected = "2: '<image> <score>', e.g. 'CF437.jpg 2.883333'"
                raise label_error(path, number, f"{len(fields)} fields ({line!r})", expected)
            rows.append((fields[0], parse_number(fields[1], path, number, "the score", low=1, high=5)))
    return rows


def load(
    folder: Path, split: str, *, protocol: str = "reference", validation_fraction: float = 0.0, seed: int = 42
) -> FaceDataset:
    """Parse ``All_labels.txt`` and the split files; return ``split`` of ``protocol`` (see the module docstring)."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"scut_fbp5500 protocol must be one of {PROTOCOLS}, got {protocol!r}")
    if not 0 <= validation_fraction < 1 or (validation_fraction and protocol == "reference"):
        raise ValueError(
            f"validation_fraction must be in [0, 1) and is for the official protocols only (the 'reference' protocol "
            f"has its own validation split), got {validation_fraction!r} with protocol {protocol!r}"
        )
    files = folder / "train_test_files"
    rows = _read_labels(files / "All_labels.txt")
    full = FaceDataset(
        name="scut_fbp5500",
        split="all",
        paths=[str(folder / "Images" / name) for name, _ in rows],
        targets={"beauty": np.asarray([score for _, score in rows], dtype=np.float32)},
        heads=INFO.heads,
    )
    if protocol == "reference":
        train, rest = train_test_split_indices(len(rows), 0.3, 42)
        valid, test = train_test_split_indices(len(rest), 1 / 3, 42)
        splits = {"train": train, "validation": rest[valid], "test": rest[test]}
    else:
        if protocol == "official":
            base, names = files / "split_of_60%training and 40%testing", ("train.txt", "test.txt")
        else:
            k = protocol[-1]
            base = files / "5_folders_cross_validations_files" / f"cross_validation_{k}"
            names = (f"train_{k}.txt", f"test_{k}.txt")
        position = {name: i for i, (name, _) in enumerate(rows)}
        splits = {}
        for part, name in zip(("train", "test"), names):
            listed = [image for image, _ in _read_labels(base / name)]
            unknown = [image for image in listed if image not in position]
            if unknown:
                raise ValueError(
                    f"{base / name} lists {unknown[0]!r} (and {len(unknown) - 1} more) not in All_labels.txt"
                )
            splits[part] = np.asarray([position[image] for image in listed], dtype=np.int64)
        if validation_fraction:
            keep, held = train_test_split_indices(len(splits["train"]), validation_fraction, seed)
            splits["train"], splits["validation"] = splits["train"][np.sort(keep)], splits["train"][np.sort(held)]
    return select_split(full, split, {**splits, "all": np.arange(len(rows))})


INFO = register_dataset(
    name="scut_fbp5500",
    folder="SCUT-FBP5500_v2",
    markers=("train_test_files/All_labels.txt", ("Images/[AC][FM][0-9]*.jpg", MARKER_IMAGES)),
    contents=("Images", "train_test_files"),
    heads=(OutputSpec("beauty", "regression", units="score 1-5"),),
    num_images=5_500,
    download="automatic (Google Drive)",
    citation=DatasetCitation(
        title="SCUT-FBP5500",
        reference=(
            "L. Liang, L. Lin, L. Jin, D. Xie, M. Li. SCUT-FBP5500: A Diverse Benchmark Dataset for Multi-Paradigm "
            "Facial Beauty Prediction. ICPR 2018. arXiv:1801.06345"
        ),
        bibtex="""@inproceedings{liang2018scutfbp5500,
  title     = {SCUT-FBP5500: A Diverse Benchmark Dataset for Multi-Paradigm Facial Beauty Prediction},
  author    = {Liang, Lingyu and Lin, Luojun and Jin, Lianwen and Xie, Duorui and Li, Mengru},
  booktitle = {24th International Conference on Pattern Recognition (ICPR)},
  year      = {2018},
  eprint    = {1801.06345},
  archivePrefix = {arXiv}
}""",
        url="https://github.com/HCIILAB/SCUT-FBP5500-Database-Release",
    ),
    loader=load,
)
