"""IMFDB age classes ("Age Detection of Indian Actors", Analytics Vidhya): face crops labelled YOUNG / MIDDLE / OLD.

Layout (``train.zip``, behind a login, so a manual download only, extracted into ``imfdb-age/``):
``imfdb-age/train.csv`` (``ID,Class``) and ``imfdb-age/Train/<ID>`` (face crops of varying size).

Splits, by ``protocol``:

- ``"stratified"`` (default): all labelled images, stratified by class with a seeded permutation:
  ``"validation"`` and ``"test"`` get ``validation_fraction`` and ``test_fraction`` (default 0.1 each), ``"train"``
  the rest.
- ``"reference"``: the write-up 001's balanced sample: per class, a seeded shuffle, the first 1,600 images
  ``"train"``, the next 800 ``"validation"`` (fewer, with a warning, where a class has fewer than 2,400);
  ``sample_sizes`` changes the two per-class sizes. No ``"test"``: the write-up measured on its validation part
  (the ``fit_age_cnn`` experiments test there, see ``facezoo.training.EXPERIMENTS``).

``"all"`` is every labelled image. Options: ``protocol``, ``validation_fraction``, ``test_fraction``, ``seed``
(default 42), ``sample_sizes`` (default ``(1600, 800)``). Target: ``age``, class index into :data:`LABELS`. Non-commercial research use only.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import MARKER_IMAGES, FaceDataset, fraction_split, label_error, read_csv, select_split
from facezoo.specs import DatasetCitation, OutputSpec

LABELS = ("YOUNG", "MIDDLE", "OLD")
REFERENCE_SIZES = (1600, 800)

logger = logging.getLogger("facezoo.datasets")


def load(
    folder: Path,
    split: str,
    *,
    protocol: str = "stratified",
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 42,
    sample_sizes: tuple[int, int] = REFERENCE_SIZES,
) -> FaceDataset:
    """Parse ``train.csv`` and return ``split`` of ``protocol`` (see the module docstring)."""
    path = folder / "train.csv"
    numbered = read_csv(path, ("ID", "Class"))
    rows = [row for _, row in numbered]
    for number, row in numbered:
        if row["Class"].strip() not in LABELS:
            raise label_error(path, number, f"Class is {row['Class']!r}", f"one of {', '.join(LABELS)}")
        if not row["ID"].strip():
            raise label_error(path, number, "ID is empty", "an image file name under Train/")
    labels = np.asarray([LABELS.index(row["Class"].strip()) for row in rows], dtype=np.int64)
    full = FaceDataset(
        name="imfdb_age",
        split="all",
        paths=[str(folder / "Train" / row["ID"].strip()) for row in rows],
        targets={"age": labels},
        heads=INFO.heads,
    )
    if protocol == "stratified":
        splits = fraction_split(len(rows), (validation_fraction, test_fraction), seed, labels=labels)
    elif protocol == "reference":
        splits = reference_split(labels, seed, sample_sizes)
    else:
        raise ValueError(f"imfdb_age protocol must be 'stratified' or 'reference', got {protocol!r}")
    return select_split(full, split, splits)


def reference_split(labels: np.ndarray, seed: int, sizes: tuple[int, int] = REFERENCE_SIZES) -> dict[str, np.ndarray]:
    """The write-up's balanced sample: per class ``sizes`` (1,600 train, 800 validation) images after a seeded
    shuffle."""
    if len(sizes) != 2 or not all(isinstance(n, int) and n > 0 for n in sizes):
        raise ValueError(f"imfdb_age sample_sizes must be two positive integers (train, validation), got {sizes!r}")
    rng = np.random.RandomState(seed)
    n_train, n_valid = sizes
    train, valid = [], []
    for c, label in enumerate(LABELS):
        members = np.flatnonzero(labels == c)
        members = members[rng.permutation(len(members))]
        if len(members) < n_train + n_valid:
            logger.warning(
                "imfdb_age reference split: %s has %d images, fewer than %d", label, len(members), n_train + n_valid
            )
        train.append(members[:n_train])
        valid.append(members[n_train : n_train + n_valid])
    return {"train": np.concatenate(train), "validation": np.concatenate(valid), "all": np.arange(len(labels))}


INFO = register_dataset(
    name="imfdb_age",
    folder="imfdb-age",
    markers=("train.csv", ("Train/[0-9]*.jpg", MARKER_IMAGES)),
    contents=("train.csv", "Train"),
    heads=(OutputSpec("age", "classification", LABELS),),
    num_images=19_906,
    download="manual (login): train.zip",
    citation=DatasetCitation(
        title="IMFDB age detection (Analytics Vidhya 'Age Detection of Indian Actors')",
        reference=(
            "S. Setty et al. Indian Movie Face Database: A Benchmark for Face Recognition Under Wide Variations. "
            "NCVPRIPG 2013; age labels from the Analytics Vidhya 'Age Detection of Indian Actors' practice problem"
        ),
        bibtex="""@inproceedings{setty2013imfdb,
  title     = {Indian Movie Face Database: A Benchmark for Face Recognition Under Wide Variations},
  author    = {Setty, Shankar and Husain, Moula and Beham, Parisa and Gudavalli, Jyothi and Kandasamy, Menaka
               and Vaddi, Radhesyam and Hemadri, Vidyagouri and Karure, J. C. and Raju, Raja and Rajan, B.
               and Kumar, Vijay and Jawahar, C. V.},
  booktitle = {National Conference on Computer Vision, Pattern Recognition, Image Processing and Graphics (NCVPRIPG)},
  year      = {2013}
}""",
        url="https://cvit.iiit.ac.in/projects/IMFDB/",
    ),
    loader=load,
)
