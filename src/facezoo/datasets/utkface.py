"""UTKFace aligned & cropped faces (Zhang et al., CVPR 2017): 23,708 faces with age, gender and race in the name.

Layout (``UTKFace.tar.gz``, extracted): ``UTKFace/[age]_[gender]_[race]_[datetime].jpg.chip.jpg``; gender 0 male,
1 female; race 0 White, 1 Black, 2 Asian, 3 Indian, 4 Others. Names lacking a field are skipped with one warning
giving their count.

Splits: no official one. Files sorted by name, then a seeded permutation: ``"validation"`` and ``"test"`` get
``validation_fraction`` and ``test_fraction`` (default 0.1 each), ``"train"`` the rest; ``"all"`` every image.
Options: ``validation_fraction``, ``test_fraction``, ``seed`` (default 42).

Targets: ``age`` (float32 years), ``gender`` (0 male, 1 female), ``race`` (0..4). Annotation: ``datetime``.
Non-commercial research use only.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

import numpy as np

from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import MARKER_IMAGES, FaceDataset, fraction_split, select_split
from facezoo.specs import DatasetCitation, OutputSpec

GENDER_LABELS = ("male", "female")
RACE_LABELS = ("White", "Black", "Asian", "Indian", "Others")

logger = logging.getLogger("facezoo.datasets")


def parse_name(name: str) -> tuple[int, int, int, str] | None:
    """``(age, gender, race, datetime)`` from a UTKFace file name, or ``None`` if it is malformed."""
    fields = name.split(".", 1)[0].split("_")
    if len(fields) != 4 or not all(f.isdigit() for f in fields):
        return None
    age, gender, race = int(fields[0]), int(fields[1]), int(fields[2])
    if gender not in (0, 1) or race not in range(len(RACE_LABELS)):
        return None
    return age, gender, race, fields[3]


def load(
    folder: Path, split: str, *, validation_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 42
) -> FaceDataset:
    """Parse the file names under ``folder`` and return ``split`` (see the module docstring)."""
    names, rows, skipped = [], [], []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith(".jpg"):
            continue
        parsed = parse_name(name)
        if parsed is None:
            skipped.append(name)
        else:
            names.append(name)
            rows.append(parsed)
    if skipped:
        warnings.warn(
            f"UTKFace: skipped {len(skipped)} file(s) with malformed names, e.g. {skipped[0]!r}", stacklevel=3
        )
    ages, genders, races, stamps = zip(*rows) if rows else ((), (), (), ())
    splits = fraction_split(len(names), (validation_fraction, test_fraction), seed)
    full = FaceDataset(
        name="utkface",
        split="all",
        paths=[str(folder / n) for n in names],
        targets={
            "age": np.asarray(ages, dtype=np.float32),
            "gender": np.asarray(genders, dtype=np.int64),
            "race": np.asarray(races, dtype=np.int64),
        },
        heads=INFO.heads,
        annotations={"datetime": np.asarray(stamps, dtype=str)},
        info={"skipped_malformed_names": len(skipped)},
    )
    return select_split(full, split, splits)


INFO = register_dataset(
    name="utkface",
    folder="UTKFace",
    markers=(("[0-9]*_[01]_[0-4]_[0-9]*.jpg.chip.jpg", MARKER_IMAGES),),  # [age]_[gender]_[race]_[datetime]
    contents=("[0-9]*_*chip.jpg",),  # also the few upstream names that lack a field
    heads=(
        OutputSpec("age", "regression", units="years"),
        OutputSpec("gender", "classification", GENDER_LABELS),
        OutputSpec("race", "classification", RACE_LABELS),
    ),
    num_images=23_708,
    download="automatic (Google Drive)",
    citation=DatasetCitation(
        title="UTKFace",
        reference=(
            "Z. Zhang, Y. Song, H. Qi. Age Progression/Regression by Conditional Adversarial Autoencoder. CVPR 2017"
        ),
        bibtex="""@inproceedings{zhang2017age,
  title     = {Age Progression/Regression by Conditional Adversarial Autoencoder},
  author    = {Zhang, Zhifei and Song, Yang and Qi, Hairong},
  booktitle = {IEEE Conference on Computer Vision and Pattern Recognition (CVPR)},
  year      = {2017}
}""",
        url="https://susanqq.github.io/UTKFace/",
    ),
    loader=load,
)
