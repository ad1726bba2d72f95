"""Selfie dataset (Kalayeh et al., ACM MM 2015): 46,836 Instagram selfies, popularity score and 36 attributes.

Layout (``Selfie-dataset.tar.gz`` from the CRCV UCF site, extracted): ``Selfie-dataset/images/<name>.jpg`` and
``Selfie-dataset/selfie_dataset.txt``, one whitespace-separated line per image: ``<name> <popularity score>
<36 attribute values>`` (1 yes, -1 no, 0 unknown) in :data:`ATTRIBUTES` order.

Splits (the write-up 000's): the rows permuted by ``np.random.seed(1234); np.random.permutation(n)``; ``"train"``
the first ``int(0.7 n)``, ``"validation"`` the next ``int(0.2 n)``, ``"test"`` the rest; ``"all"`` every row.
No options.

Targets: ``popularity`` (float32 score). Annotations: the 36 attributes (int8, 1/-1/0), ``gender``
(``"female"``/``"male"``/``"unknown"`` from ``is_female``) and ``age_category`` (the first of baby, child, teenager,
youth, middle_age, senior set to 1, else ``"unknown"``). Non-commercial research use only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import MARKER_IMAGES, FaceDataset, label_error, parse_number, read_lines, select_split
from facezoo.specs import DatasetCitation, OutputSpec

ATTRIBUTES = (
    "partial_faces is_female baby child teenager youth middle_age senior white black asian oval_face round_face "
    "heart_face smiling mouth_open frowning wearing_glasses wearing_sunglasses wearing_lipstick tongue_out duck_face "
    "black_hair blond_hair brown_hair red_hair curly_hair straight_hair braid_hair showing_cellphone using_earphone "
    "using_mirror braces wearing_hat harsh_lighting dim_lighting"
).split()
AGE_CATEGORIES = ("baby", "child", "teenager", "youth", "middle_age", "senior")


def load(folder: Path, split: str) -> FaceDataset:
    """Parse ``selfie_dataset.txt`` and return ``split`` (see the module docstring)."""
    path = folder / "selfie_dataset.txt"
    names, scores, attributes = [], [], []
    for number, line in enumerate(read_lines(path), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 2 + len(ATTRIBUTES):
            expected = f"{2 + len(ATTRIBUTES)}: '<image> <score> <36 attributes 1/-1/0>'"
            raise label_error(path, number, f"{len(fields)} fields", expected)
        names.append(fields[0] if fields[0].lower().endswith(".jpg") else fields[0] + ".jpg")
        scores.append(parse_number(fields[1], path, number, "the popularity score"))
        for attribute, value in zip(ATTRIBUTES, fields[2:]):
            if value not in ("1", "-1", "0"):
                raise label_error(path, number, f"{attribute} is {value!r}", "1, -1 or 0")
        attributes.append([int(v) for v in fields[2:]])
    values = np.asarray(attributes, dtype=np.int8).reshape(-1, len(ATTRIBUTES))
    columns = {a: values[:, i] for i, a in enumerate(ATTRIBUTES)}
    gender = np.where(columns["is_female"] == 1, "female", np.where(columns["is_female"] == -1, "male", "unknown"))
    age = np.full(len(names), "unknown", dtype=object)
    for category in reversed(AGE_CATEGORIES):  # the first category set wins
        age[columns[category] == 1] = category
    n = len(names)
    perm = np.random.RandomState(1234).permutation(n)
    n_train, n_valid = int(0.7 * n), int(0.2 * n)
    splits = {
        "train": perm[:n_train],
        "validation": perm[n_train : n_train + n_valid],
        "test": perm[n_train + n_valid :],
        "all": np.arange(n),
    }
    full = FaceDataset(
        name="selfie",
        split="all",
        paths=[str(folder / "images" / name) for name in names],
        targets={"popularity": np.asarray(scores, dtype=np.float32)},
        heads=INFO.heads,
        annotations={**columns, "gender": gender.astype(str), "age_category": age.astype(str)},
    )
    return select_split(full, split, splits)


INFO = register_dataset(
    name="selfie",
    folder="Selfie-dataset",
    markers=("selfie_dataset.txt", ("images/*.jpg", MARKER_IMAGES)),
    contents=("selfie_dataset.txt", "images"),
    heads=(OutputSpec("popularity", "regression", units="popularity score"),),
    num_images=46_836,
    download="automatic (CRCV UCF)",
    citation=DatasetCitation(
        title="CRCV UCF Selfie dataset",
        reference="M. Kalayeh, M. Seifu, W. LaLanne, M. Shah. How to Take a Good Selfie? ACM Multimedia 2015",
        bibtex="""@inproceedings{kalayeh2015selfie,
  title     = {How to Take a Good Selfie?},
  author    = {Kalayeh, Mahdi M. and Seifu, Misrak and LaLanne, Wesna and Shah, Mubarak},
  booktitle = {Proceedings of the 23rd ACM International Conference on Multimedia},
  year      = {2015}
}""",
        url="https://www.crcv.ucf.edu/data/Selfie/",
    ),
    loader=load,
)
