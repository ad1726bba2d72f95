"""Person attributes (the "HVC" set of the person-attribute write-up): 13,573 people, eight attributes each.

Layout (``hvc_data.zip`` from Google Drive, extracted into ``hvc/``): ``hvc/hvc_annotations.csv``
(``filename,gender,imagequality,age,weight,carryingbag,footwear,emotion,bodypose,image_path``) and
``hvc/resized/<n>.jpg`` (``image_path`` is relative to ``hvc/``).

Splits: no official one; a seeded permutation of the rows: ``"validation"`` and ``"test"`` get
``validation_fraction`` and ``test_fraction`` (default 0.1 each), ``"train"`` the rest; ``"all"`` every row.
Options: ``validation_fraction``, ``test_fraction``, ``seed`` (default 42).

Targets: the eight heads of :data:`LABELS` (class indices into their labels), from the CSV columns of
:data:`COLUMNS`. Annotation: ``filename`` (the original image name). The write-up's augmentation is
``facezoo.datasets.augment.PERSON_ATTRIBUTES``. Non-commercial research use only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import FaceDataset, fraction_split, label_error, read_csv, select_split
from facezoo.specs import DatasetCitation, OutputSpec

#: Head -> labels (the model's outputs too), sorted as ``pandas.get_dummies`` sorts them (the write-up's encoding).
LABELS: dict[str, tuple[str, ...]] = {
    "gender": ("female", "male"),
    "image_quality": ("Average", "Bad", "Good"),
    "age": ("15-25", "25-35", "35-45", "45-55", "55+"),
    "weight": ("normal-healthy", "over-weight", "slightly-overweight", "underweight"),
    "bag": ("Daily/Office/Work Bag", "Grocery/Home/Plastic Bag", "None"),
    "footwear": ("CantSee", "Fancy", "Normal"),
    "pose": ("Back", "Front-Frontish", "Side"),
    "emotion": ("Angry/Serious", "Happy", "Neutral", "Sad"),
}
#: Head -> CSV column.
COLUMNS = {
    "gender": "gender",
    "image_quality": "imagequality",
    "age": "age",
    "weight": "weight",
    "bag": "carryingbag",
    "footwear": "footwear",
    "pose": "bodypose",
    "emotion": "emotion",
}


def load(
    folder: Path, split: str, *, validation_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 42
) -> FaceDataset:
    """Parse ``hvc_annotations.csv`` and return ``split`` (see the module docstring)."""
    path = folder / "hvc_annotations.csv"
    numbered = read_csv(path, ("filename", *COLUMNS.values(), "image_path"))
    rows = [row for _, row in numbered]
    targets = {}
    for head, labels in LABELS.items():
        index = {label: i for i, label in enumerate(labels)}
        values = []
        for number, row in numbered:
            value = row[COLUMNS[head]].strip()
            if value not in index:
                raise label_error(path, number, f"{COLUMNS[head]} is {value!r}", f"one of {', '.join(labels)}")
            values.append(index[value])
        targets[head] = np.asarray(values, dtype=np.int64)
    full = FaceDataset(
        name="person_attributes",
        split="all",
        paths=[str(folder / row["image_path"].strip()) for row in rows],
        targets=targets,
        heads=INFO.heads,
        annotations={"filename": np.asarray([row["filename"] for row in rows], dtype=str)},
    )
    return select_split(full, split, fraction_split(len(rows), (validation_fraction, test_fraction), seed))


INFO = register_dataset(
    name="person_attributes",
    folder="hvc",
    markers=("hvc_annotations.csv",),
    contents=("hvc_annotations.csv", "resized"),
    heads=tuple(OutputSpec(head, "classification", labels) for head, labels in LABELS.items()),
    num_images=13_573,
    download="automatic (Google Drive)",
    citation=DatasetCitation(
        title="Person attributes (HVC hackathon dataset)",
        reference="Person attribute recognition dataset of the HVC hackathon (no paper; cite the hackathon)",
        bibtex="""@misc{hvc_person_attributes,
  title        = {Person Attribute Recognition},
  howpublished = {HVC hackathon dataset}
}""",
    ),
    loader=load,
)
