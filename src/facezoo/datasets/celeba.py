"""CelebA aligned faces (Liu et al., ICCV 2015): 202,599 images of 10,177 identities, 40 binary attributes.

Layout (Google Drive, extracted into ``celeba/``): ``img_align_celeba/<000001>.jpg`` (the Kaggle copy's nested
``img_align_celeba/img_align_celeba/`` works too), ``list_attr_celeba.txt`` (row count, the 40 names, then
``000001.jpg -1 1 ...``; or Kaggle's ``list_attr_celeba.csv`` with an ``image_id`` column), ``identity_CelebA.txt``
(``000001.jpg 2880``) and ``list_eval_partition.txt`` (``000001.jpg 0``: 0 train, 1 validation, 2 test; or
Kaggle's ``.csv``).

Splits, by ``protocol``:

- ``"official"`` (default): ``list_eval_partition``'s ``"train"`` / ``"validation"`` / ``"test"`` (its identities
  are disjoint).
- ``"sample"``: the write-up 003's stratified sample: ``"train"`` 10,000 images of each class of ``attribute``
  drawn from the official train partition, ``"validation"`` 5,000 and ``"test"`` 5,000 drawn from the official
  validation and test partitions (identity-disjoint); ``sample_sizes`` changes the three sizes (the first is per
  class), smaller partitions give what they have (with a warning). ``fit_celeba_gender`` trains on it.
- ``"identity"``: a seeded split of the identities (``identity_fractions``, default 0.1 validation, 0.1 test).

``"all"`` is every labelled image. Options: ``attribute`` (default ``"Male"``), ``protocol``, ``missing``
(``"skip"``, the default, drops rows whose image file is absent and logs how many; ``"error"`` raises naming it),
``label_from_identity`` (default False: an image without its own attribute row gets the label its identity's
labelled images agree on; disagreeing identities give none; the counts are logged and kept in ``info``),
``seed`` (default 42), ``sample_sizes``, ``identity_fractions``.

Target: the head named ``attribute``, 1 for an attribute value of 1 and 0 for -1. Annotations: ``identity``
(-1 if unknown), all 40 attributes (int8, 1/-1; 0 for labels inferred from the identity) and ``label_source``
(``"own"`` or ``"identity"``). Non-commercial research use only.
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np

from facezoo.datasets._registry import register_dataset
from facezoo.datasets.core import MARKER_IMAGES, FaceDataset, label_error, parse_number, read_lines, select_split
from facezoo.specs import DatasetCitation, OutputSpec

PARTITIONS = ("train", "validation", "test")
SAMPLE_SIZES = (10_000, 5_000, 5_000)

logger = logging.getLogger("facezoo.datasets")


Rows = list[tuple[int, list[str]]]  # (line number, fields)


def _table(folder: Path, stem: str, *, required: bool = True) -> tuple[Path | None, list[str], Rows]:
    """``(file, header, rows)`` of ``stem.txt`` (whitespace) or Kaggle's ``stem.csv``; rows are
    ``(line, [image, values...])``, each checked to hold one value per header name (2 fields without a header)."""
    txt, kaggle = folder / f"{stem}.txt", folder / f"{stem}.csv"
    if txt.is_file():
        path, lines = txt, [(n, line.split()) for n, line in enumerate(read_lines(txt), 1) if line.strip()]
        if stem == "list_attr_celeba":  # line 1: count, line 2: names
            if len(lines) < 2 or len(lines[0][1]) != 1 or not lines[0][1][0].isdigit():
                found = repr(" ".join(lines[0][1])) if lines else "nothing"
                raise label_error(txt, 1, found, "the row count, then a line of attribute names")
            header, rows = lines[1][1], lines[2:]
        else:
            header, rows = [], lines
    elif kaggle.is_file():
        path = kaggle
        table = [(n, row) for n, row in enumerate(csv.reader(read_lines(kaggle)), 1) if row]
        if not table:
            raise label_error(kaggle, 1, "the file is empty", "a header starting with image_id")
        header, rows = [name.strip() for name in table[0][1][1:]], table[1:]
    elif required:
        raise FileNotFoundError(f"{txt} (or {kaggle.name}) is missing; download it into {folder}")
    else:
        return None, [], []
    width = 1 + (len(header) or 1)
    for number, row in rows:
        if len(row) != width:
            raise label_error(path, number, f"{len(row)} fields", f"{width}: an image name and {width - 1} value(s)")
    return path, header, rows


def _column(path: Path | None, rows: Rows, what: str, allowed: range | None = None) -> dict[str, int]:
    """Image -> the integer in a two-column list (identity or partition), checked against ``allowed``."""
    out = {}
    for number, (image, value) in rows:
        assert path is not None
        number_value = parse_number(value, path, number, what, kind=int)
        if allowed is not None and number_value not in allowed:
            raise label_error(path, number, f"{what} is {value!r}", f"one of {', '.join(map(str, allowed))}")
        out[image] = number_value
    return out


def load(
    folder: Path,
    split: str,
    *,
    attribute: str = "Male",
    protocol: str = "official",
    missing: str = "skip",
    label_from_identity: bool = False,
    seed: int = 42,
    sample_sizes: tuple[int, int, int] = SAMPLE_SIZES,
    identity_fractions: tuple[float, float] = (0.1, 0.1),
) -> FaceDataset:
    """Parse the CelebA lists and return ``split`` of ``protocol`` (see the module docstring)."""
    if missing not in ("skip", "error"):
        raise ValueError(f"missing must be 'skip' or 'error', got {missing!r}")
    images = folder / "img_align_celeba"
    if (images / "img_align_celeba").is_dir():
        images = images / "img_align_celeba"
    present = set(os.listdir(images))
    attr_path, names, numbered = _table(folder, "list_attr_celeba")
    if attribute not in names:
        raise ValueError(f"CelebA has no attribute {attribute!r}; choose from {names}")
    for number, row in numbered:
        bad = next((v for v in row[1:] if v not in ("1", "-1")), None)
        if bad is not None:
            assert attr_path is not None
            raise label_error(attr_path, number, f"{names[row.index(bad, 1) - 1]} is {bad!r}", "1 or -1")
    rows = [row for _, row in numbered]
    identity = _column(*_table(folder, "identity_CelebA", required=False)[::2], "the identity")
    partition = _column(*_table(folder, "list_eval_partition", required=False)[::2], "the partition", range(3))
    info: dict[str, int] = {}

    absent = [row[0] for row in rows if row[0] not in present]
    if absent and missing == "error":
        raise FileNotFoundError(
            f"{len(absent)} CelebA attribute rows name images not in {images}, e.g. {absent[0]}; "
            "pass missing='skip' to leave them out."
        )
    if absent:
        logger.warning("CelebA: skipped %d attribute rows whose image is not in %s", len(absent), images)
    info["skipped_missing_images"] = len(absent)
    image_ids = [row[0] for row in rows if row[0] in present]
    values = np.asarray([row[1:] for row in rows if row[0] in present], dtype=np.int8).reshape(-1, len(names))
    source = ["own"] * len(image_ids)

    if label_from_identity:
        extra, inferred, conflicts = _labels_from_identity(
            image_ids, values[:, names.index(attribute)], identity, present
        )
        info.update(inferred_from_identity=len(extra), identity_conflicts=conflicts)
        logger.warning(
            "CelebA: %s of %d images without their own row taken from their identity's labelled images "
            "(%d left out: their identity's labels disagree)",
            attribute,
            len(extra),
            conflicts,
        )
        rows_inferred = np.zeros((len(extra), len(names)), dtype=np.int8)
        rows_inferred[:, names.index(attribute)] = inferred
        image_ids, values, source = (
            image_ids + extra,
            np.concatenate([values, rows_inferred]),
            source + ["identity"] * len(extra),
        )

    ids = np.asarray([identity.get(i, -1) for i in image_ids], dtype=np.int64)
    target = (values[:, names.index(attribute)] == 1).astype(np.int64)
    full = FaceDataset(
        name="celeba",
        split="all",
        paths=[str(images / i) for i in image_ids],
        targets={attribute: target},
        heads=(attribute_head(attribute),),
        annotations={"identity": ids, "label_source": np.asarray(source, dtype=str)}
        | {name: values[:, k] for k, name in enumerate(names)},
        info=info,
    )
    parts = np.asarray([partition.get(i, -1) for i in image_ids], dtype=np.int64)
    if protocol in ("official", "sample") and not partition:
        raise FileNotFoundError(f"list_eval_partition.txt is missing from {folder}; the {protocol!r} protocol needs it")
    if protocol == "identity" and not identity:
        raise FileNotFoundError(f"identity_CelebA.txt is missing from {folder}; the 'identity' protocol needs it")
    if protocol == "official":
        splits = {name: np.flatnonzero(parts == k) for k, name in enumerate(PARTITIONS)}
    elif protocol == "sample":
        splits = _sample(parts, target, sample_sizes, seed)
    elif protocol == "identity":
        splits = _identity_split(ids, identity_fractions, seed)
    else:
        raise ValueError(f"celeba protocol must be 'official', 'sample' or 'identity', got {protocol!r}")
    return select_split(full, split, {**splits, "all": np.arange(len(image_ids))})


def attribute_head(attribute: str) -> OutputSpec:
    """The head of a CelebA attribute: named as the attribute (upstream spelling), binary, labels ``("no", "yes")``;
    ``Male``'s are ``("female", "male")``."""
    return OutputSpec(attribute, "binary", ("female", "male") if attribute == "Male" else ("no", "yes"))


def _labels_from_identity(
    labelled: list[str], labels: np.ndarray, identity: dict[str, int], present: set[str]
) -> tuple[list[str], np.ndarray, int]:
    """Images present without a row, whose identity's labelled images all agree: ``(images, labels, conflicts)``."""
    seen: dict[int, set[int]] = {}
    for image, label in zip(labelled, labels):
        if image in identity:
            seen.setdefault(identity[image], set()).add(int(label))
    own = set(labelled)
    extra, inferred, conflicts = [], [], 0
    for image in sorted(present - own):
        votes = seen.get(identity.get(image, -1))
        if not votes:
            continue
        if len(votes) > 1:
            conflicts += 1
            continue
        extra.append(image)
        inferred.append(next(iter(votes)))
    return extra, np.asarray(inferred, dtype=np.int8), conflicts


def _sample(parts: np.ndarray, target: np.ndarray, sizes: tuple[int, int, int], seed: int) -> dict[str, np.ndarray]:
    """The write-up's stratified sample within the official partitions: ``sizes[0]`` training images of each class
    (10,000 + 10,000 by default, as write-up 003), ``sizes[1]`` validation and ``sizes[2]`` test images."""
    rng = np.random.RandomState(seed)
    n_train, n_valid, n_test = sizes
    train = []
    for c in (0, 1):
        pool = np.flatnonzero((parts == 0) & (target == c))
        train.append(rng.permutation(pool)[:n_train])
        if len(train[-1]) < n_train:
            logger.warning(
                "CelebA sample: train has %d images of class %d, fewer than the write-up's %d",
                len(train[-1]),
                c,
                n_train,
            )
    splits = {"train": np.concatenate(train)}
    for k, name, size in ((1, "validation", n_valid), (2, "test", n_test)):
        splits[name] = rng.permutation(np.flatnonzero(parts == k))[:size]
        if len(splits[name]) < size:
            logger.warning(
                "CelebA sample: %s has %d images, fewer than the write-up's %d", name, len(splits[name]), size
            )
    return splits


def _identity_split(ids: np.ndarray, fractions: tuple[float, float], seed: int) -> dict[str, np.ndarray]:
    """Identities permuted with ``seed``; the first ``fractions[0]`` of them validation, the next test."""
    known = np.unique(ids[ids >= 0])
    known = known[np.random.RandomState(seed).permutation(len(known))]
    n_valid, n_test = round(fractions[0] * len(known)), round(fractions[1] * len(known))
    groups = {
        "validation": known[:n_valid],
        "test": known[n_valid : n_valid + n_test],
        "train": known[n_valid + n_test :],
    }
    return {name: np.flatnonzero(np.isin(ids, group)) for name, group in groups.items()}


INFO = register_dataset(
    name="celeba",
    folder="celeba",
    markers=(("img_align_celeba/**/[0-9][0-9][0-9][0-9][0-9][0-9].jpg", MARKER_IMAGES), "list_attr_celeba.*"),
    contents=("img_align_celeba", "list_*.txt", "list_*.csv", "identity_CelebA.txt"),
    heads=(attribute_head("Male"),),  # the default attribute; ``attribute=`` picks any of the 40
    num_images=202_599,
    download="automatic (Google Drive, often quota-limited)",
    citation=DatasetCitation(
        title="CelebA",
        reference="Z. Liu, P. Luo, X. Wang, X. Tang. Deep Learning Face Attributes in the Wild. ICCV 2015",
        bibtex="""@inproceedings{liu2015faceattributes,
  title     = {Deep Learning Face Attributes in the Wild},
  author    = {Liu, Ziwei and Luo, Ping and Wang, Xiaogang and Tang, Xiaoou},
  booktitle = {Proceedings of International Conference on Computer Vision (ICCV)},
  year      = {2015}
}""",
        url="https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html",
    ),
    loader=load,
)
