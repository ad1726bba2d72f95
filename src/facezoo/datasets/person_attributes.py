"""Person attributes (the "HVC" set of the person-attribute write-up): 13,573 people, eight attributes each.

Layout (``hvc_data.zip`` from Google Drive, extracted into ``hvc/``): ``hvc/hvc_annotations.csv``
(``filename,gender,imagequality,age,weight,carryingbag,footwear,emotion,bodypose,image_path``) and
``hvc/resized/<n>.jpg`` (``image_path`` is relative to ``hvc/``).

Splits: no official one; a seeded permutation of the rows: ``"validation"`` and ``"test"`` get
``validation_fraction`` and ``test_fraction`` (default 0.1 each), ``"train"`` the rest; ``"all"`` every row.
Options: ``validation_fraction``, ``test_fraction``, ``seed`` (default 42).

Targets: the eight heads of :data:`HEADS` (class indices into their labels), from the CSV columns of
:data:`COLUMNS`. Annotation: ``filename`` (the original image name). The write-up's augmentation is
``facezoo.datasets.augment.PERSON_ATTRIBUTES``. Non-commercial research use only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from facezoo.datasets.core import FaceDataset, fraction_split, label_error, read_csv, select_split
from facezoo.models.person_attributes import PERSON_ATTRIBUTE_HEADS
from facezoo.registry import OutputSpec

FOLDER = "hvc"
MARKERS = ("hvc_annotations.csv",)
#: The dataset's own entries, the only ones copied from a ``manual_dir`` folder.
CONTENTS = ("hvc_annotations.csv", "resized")
IMAGES = "13,573"
DOWNLOAD = "automatic (Google Drive)"
#: Head -> labels: the model's own vocabularies.
LABELS: dict[str, tuple[str, ...]] = PERSON_ATTRIBUTE_HEADS
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
HEADS = tuple(OutputSpec(head, "classification", labels) for head, labels in LABELS.items())


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
        heads=HEADS,
        annotations={"filename": np.asarray([row["filename"] for row in rows], dtype=str)},
    )
    return select_split(full, split, fraction_split(len(rows), (validation_fraction, test_fraction), seed))
