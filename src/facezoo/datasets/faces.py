"""The zoo's face datasets as one: UTKFace, IMFDB age, CelebA and SCUT-FBP5500, for face-backbone pretraining.

Layout: a datasets folder (``data_dir``) holding each member's own folder (``UTKFace/``, ``imfdb-age/``, ``celeba/``,
``SCUT-FBP5500_v2/``), as ``facezoo.datasets.download`` lays them out.

Splits: each member's split of the same name, made with the options its published weights were measured with
(:data:`MEMBER_OPTIONS`), so that ``"train"`` holds no image of any member's test split; ``"all"`` is every
member's ``"all"``. Options: ``members`` (default all four) picks which members take part.

Targets, one head per source label; an image has only its own dataset's labels, the others are missing
(``-1`` for classes, ``NaN`` for scores) and the training engine masks them out of the losses and metrics:
``age`` (years; UTKFace), ``gender`` (``male`` / ``female``; UTKFace, and CelebA's ``Male``), ``race`` (UTKFace),
``age_class`` (``YOUNG`` / ``MIDDLE`` / ``OLD``; IMFDB), ``beauty`` (score 1-5; SCUT-FBP5500). Annotation:
``source`` (the member dataset of each image). Non-commercial research use only (every member's terms).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from facezoo.datasets import celeba, imfdb_age, scut_fbp5500, utkface
from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import FaceDataset
from facezoo.specs import DatasetCitation

#: Member -> the ``facezoo.datasets.load`` options of the splits its published weights were measured on.
MEMBER_OPTIONS: dict[str, dict[str, Any]] = {
    "utkface": {},
    "imfdb_age": {},
    "celeba": {"protocol": "identity", "label_from_identity": True, "identity_fractions": (0.15, 0.15)},
    "scut_fbp5500": {"protocol": "official", "validation_fraction": 0.1},
}
MEMBERS = tuple(MEMBER_OPTIONS)
_INFOS = (utkface.INFO, imfdb_age.INFO, celeba.INFO, scut_fbp5500.INFO)


def _targets(part: FaceDataset) -> dict[str, np.ndarray]:
    """The union's targets of one member's images: its own labels, the rest missing."""
    n = len(part)
    out = {
        spec.name: np.full(n, np.nan, np.float32) if spec.kind == "regression" else np.full(n, -1, np.int64)
        for spec in INFO.heads
    }
    if part.name == "utkface":
        out.update(age=part.targets["age"], gender=part.targets["gender"], race=part.targets["race"])
    elif part.name == "imfdb_age":
        out["age_class"] = part.targets["age"]
    elif part.name == "celeba":
        out["gender"] = 1 - part.targets["Male"]  # CelebA Male 1 -> gender 0 ("male").
    else:
        out["beauty"] = part.targets["beauty"]
    return out


def load(data_dir: Path, split: str, *, members: tuple[str, ...] = MEMBERS) -> FaceDataset:
    """Load ``split`` of every member under ``data_dir`` and concatenate them (see the module docstring)."""
    from facezoo import datasets

    unknown = sorted(set(members) - set(MEMBERS))
    if unknown or not members:
        raise ValueError(f"faces: members must be a non-empty subset of {MEMBERS}, got {members!r}.")
    parts = [datasets.load(name, data_dir, split=split, **MEMBER_OPTIONS[name]) for name in members]
    targets = [_targets(part) for part in parts]
    return FaceDataset(
        name="faces",
        split=split,
        paths=[path for part in parts for path in part.paths],
        targets={spec.name: np.concatenate([t[spec.name] for t in targets]) for spec in INFO.heads},
        heads=INFO.heads,
        annotations={"source": np.asarray([part.name for part in parts for _ in part.paths], dtype=str)},
        info={f"{part.name}_images": len(part) for part in parts},
    )


INFO = register_dataset(
    name="faces",
    members=MEMBERS,
    heads=(
        utkface.INFO.head("age"),
        utkface.INFO.head("gender"),
        utkface.INFO.head("race"),
        *imfdb_age.INFO.heads_as(age_class="age"),
        scut_fbp5500.INFO.head("beauty"),
    ),
    num_images=sum(member.num_images for member in _INFOS),
    download="each member's own (see utkface, imfdb_age, celeba, scut_fbp5500)",
    citation=DatasetCitation(
        title="facezoo faces (" + " + ".join(member.citation.title for member in _INFOS) + ")",
        reference="; ".join(member.citation.reference for member in _INFOS),
        bibtex="\n\n".join(member.citation.bibtex for member in _INFOS),
    ),
    loader=load,
)
