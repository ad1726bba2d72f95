"""Download, verify, extract and parse the zoo's face and person datasets, and feed them to Keras with ``tf.data``.

```python
from facezoo import datasets

datasets.list_datasets()            # ['celeba', 'faces', 'imfdb_age', 'person_attributes', 'scut_fbp5500', ...]
datasets.dataset_info("utkface")    # DatasetInfo: folder, heads and labels, image count, citation, options
datasets.download("utkface")        # -> ~/.cache/facezoo/datasets/UTKFace
train = datasets.load("utkface", split="train")
ds = train.as_tf_dataset((128, 128), 64, shuffle=True, augment=datasets.Augmentation(horizontal_flip=True))
```

Every dataset is declared once, in its module, as a :class:`~facezoo.specs.DatasetInfo` registered with
``register_dataset`` (its upstream files, sizes and sha256 in the ``<name>_checksums.tsv`` beside the module).
The default ``data_dir`` is ``$FACEZOO_HOME/datasets``, else ``~/.cache/facezoo/datasets``; ``load`` also accepts
the dataset's own folder as ``data_dir``. Each dataset module documents its layout, splits and options:
:mod:`~facezoo.datasets.celeba`, :mod:`~facezoo.datasets.faces`, :mod:`~facezoo.datasets.imfdb_age`,
:mod:`~facezoo.datasets.person_attributes`, :mod:`~facezoo.datasets.scut_fbp5500`, :mod:`~facezoo.datasets.selfie`,
:mod:`~facezoo.datasets.utkface`. Augmentation is configured with :class:`Augmentation` (``ImageDataGenerator``-style
ranges plus random erasing), applied with TensorFlow ops inside the pipeline. The errors are those of
:mod:`facezoo.errors` (re-exported here).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from facezoo._deprecation import pop_renamed, renamed_arguments
from facezoo.datasets._registry import dataset_info, list_datasets, register_dataset
from facezoo.datasets.augment import Augmentation
from facezoo.datasets.core import FaceDataset, default_data_dir, default_root, is_dataset_dir
from facezoo.datasets.downloader import prepare, read_checksums
from facezoo.errors import (
    ArchiveError,
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    ManualDownloadRequired,
    UnsafeArchiveError,
)
from facezoo.specs import DatasetCitation, DatasetInfo

__all__ = [
    "Augmentation",
    "ArchiveError",
    "ChecksumError",
    "DatasetCitation",
    "DatasetError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "DownloadError",
    "FaceDataset",
    "ManualDownloadRequired",
    "UnsafeArchiveError",
    "dataset_info",
    "default_data_dir",
    "default_root",
    "describe",
    "download",
    "list_datasets",
    "load",
    "register_dataset",
]


def describe(name: str) -> tuple[str, str, str]:
    """``(images, targets, how to download)`` of a dataset, as text for listings (``facezoo datasets``)."""
    info = dataset_info(name)
    images = f"{info.num_images:,}" + (f" ({len(info.members)} members)" if info.members else "")
    return images, ", ".join(info.head_names), info.download


@renamed_arguments(root="data_dir")
def download(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    manual_dir: str | os.PathLike | None = None,
    force: bool = False,
) -> Path:
    """Download (or take from ``manual_dir``), verify and extract a dataset into ``data_dir``.

    Archives are fetched with resume, retries and size / sha256 checks into ``data_dir/downloads/`` and extracted
    into ``data_dir/<folder>``; nothing partial is left behind on failure.

    Args:
        name: Dataset name.
        data_dir: The datasets folder; default ``$FACEZOO_HOME/datasets`` or ``~/.cache/facezoo/datasets``
            (:func:`default_data_dir`). Formerly ``root=``, still accepted with a ``DeprecationWarning``.
        manual_dir: A folder holding the archive(s) you downloaded by hand, or the already extracted dataset.
        force: Download and extract again even if the dataset is already there.

    Returns:
        The dataset folder.

    Raises:
        ManualDownloadRequired: The file is behind a login or a Google Drive quota; the message names it.
        ChecksumError: A file's size or sha256 does not match.
        DownloadError: The server kept failing after every retry.
    """
    info = dataset_info(name)
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    if info.members:  # A union of datasets: each member downloads into its own folder.
        for member in info.members:
            download(member, base, manual_dir=manual_dir, force=force)
        return base
    return prepare(info, base, manual_dir, force=force)


def load(name: str, data_dir: str | os.PathLike | None = None, *, split: str = "train", **options: Any) -> FaceDataset:
    """Parse one split of a dataset.

    Args:
        name: Dataset name.
        data_dir: The datasets folder (holding the dataset's folder) or the dataset's folder itself; default as
            ``download``. Formerly ``root=``, still accepted with a ``DeprecationWarning``.
        split: Split name; ``"train"``, ``"validation"``, ``"test"`` and ``"all"`` everywhere they exist, plus the
            dataset's own (see its module).
        **options: The dataset's options (``dataset_info(name).options``; see its module), e.g.
            ``attribute="Smiling"`` for CelebA.

    Returns:
        The split as a :class:`FaceDataset`.

    Raises:
        DatasetNotFoundError: The dataset is not under ``data_dir``; the message says how to get it.
        ValueError: An unknown dataset or option (the message lists the dataset's options).
    """
    data_dir = pop_renamed(options, "root", "data_dir", data_dir, "facezoo.datasets.load")
    info = dataset_info(name)
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise ValueError(
            f"{name} has no option {', '.join(map(repr, unknown))}; its options: {', '.join(info.options) or 'none'} "
            f"(see facezoo.datasets.{name})."
        )
    base = Path(data_dir) if data_dir is not None else default_data_dir()
    if info.members:  # A union: each member finds its own folder (or says how to get it).
        return info.loader(base, split, **options)
    for folder in (base / info.folder, base):
        if is_dataset_dir(info.markers, folder):
            return info.loader(folder, split, **options)
    files = ", ".join(row.filename for row in read_checksums(info))
    raise DatasetNotFoundError(
        f"{name} is not in {base} (looked for {base / info.folder}). Get it with "
        f"facezoo.datasets.download({name!r}, {str(base)!r}) or `facezoo download {name} --data-dir {base}`; "
        f"if the download is refused, download {files} by hand into a folder DIR and call "
        f"facezoo.datasets.download({name!r}, {str(base)!r}, manual_dir=DIR) (`--manual-dir DIR`)."
    )
