"""Download, verify, extract and parse the zoo's face and person datasets, and feed them to Keras with ``tf.data``.

```python
from facezoo import datasets

datasets.list_datasets()            # ['celeba', 'imfdb_age', 'person_attributes', 'scut_fbp5500', 'selfie', 'utkface']
datasets.download("utkface")        # -> ~/.cache/facezoo/datasets/UTKFace
train = datasets.load("utkface", split="train")
ds = train.as_tf_dataset((128, 128), 64, shuffle=True, augment=datasets.Augmentation(horizontal_flip=True))
```

The default root is ``$FACEZOO_HOME/datasets``, else ``~/.cache/facezoo/datasets``; ``load`` also accepts the
dataset's own folder as ``root``. Each dataset module documents its layout, splits and options:
:mod:`~facezoo.datasets.celeba`, :mod:`~facezoo.datasets.imfdb_age`, :mod:`~facezoo.datasets.person_attributes`,
:mod:`~facezoo.datasets.scut_fbp5500`, :mod:`~facezoo.datasets.selfie`, :mod:`~facezoo.datasets.utkface`.
Augmentation is configured with :class:`Augmentation` (``ImageDataGenerator``-style ranges plus random erasing),
applied with TensorFlow ops inside the pipeline.
"""

from __future__ import annotations

import importlib
import inspect
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from facezoo.datasets.augment import Augmentation
from facezoo.datasets.core import DatasetNotFoundError, FaceDataset, default_root, is_dataset_dir
from facezoo.datasets.downloader import ChecksumError, DownloadError, ManualDownloadRequired, prepare, read_checksums

__all__ = [
    "Augmentation",
    "ChecksumError",
    "DatasetNotFoundError",
    "DownloadError",
    "FaceDataset",
    "ManualDownloadRequired",
    "default_root",
    "describe",
    "download",
    "list_datasets",
    "load",
]

_NAMES = ("celeba", "faces", "imfdb_age", "person_attributes", "scut_fbp5500", "selfie", "utkface")


def list_datasets() -> list[str]:
    """Names of every dataset ``load`` and ``download`` know, sorted."""
    return list(_NAMES)


def _module(name: str) -> ModuleType:
    if name not in _NAMES:
        raise ValueError(f"Unknown dataset {name!r}; choose from {', '.join(_NAMES)}")
    return importlib.import_module(f"facezoo.datasets.{name}")


def describe(name: str) -> tuple[str, str, str]:
    """``(images, targets, how to download)`` of a dataset, for listings."""
    module = _module(name)
    return module.IMAGES, ", ".join(h.name for h in module.HEADS), module.DOWNLOAD


def download(
    name: str,
    root: str | os.PathLike | None = None,
    *,
    manual_dir: str | os.PathLike | None = None,
    force: bool = False,
) -> Path:
    """Download (or take from ``manual_dir``), verify and extract a dataset into ``root``.

    Archives are fetched with resume, retries and size / sha256 checks into ``root/downloads/`` and extracted
    into ``root/<folder>``; nothing partial is left behind on failure.

    Args:
        name: Dataset name.
        root: Datasets root; default ``$FACEZOO_HOME/datasets`` or ``~/.cache/facezoo/datasets``.
        manual_dir: A folder holding the archive(s) you downloaded by hand, or the already extracted dataset.
        force: Download and extract again even if the dataset is already there.

    Returns:
        The dataset folder.

    Raises:
        ManualDownloadRequired: The file is behind a login or a Google Drive quota; the message names it.
        ChecksumError: A file's size or sha256 does not match.
        DownloadError: The server kept failing after every retry.
    """
    module = _module(name)
    base = Path(root) if root is not None else default_root()
    if hasattr(module, "MEMBERS"):  # A union of datasets: each member downloads into its own folder.
        for member in module.MEMBERS:
            download(member, base, manual_dir=manual_dir, force=force)
        return base
    return prepare(name, module, base, manual_dir, force=force)


def load(name: str, root: str | os.PathLike | None = None, *, split: str = "train", **options: Any) -> FaceDataset:
    """Parse one split of a dataset.

    Args:
        name: Dataset name.
        root: Datasets root (holding the dataset's folder) or the dataset's folder itself; default as ``download``.
        split: Split name; ``"train"``, ``"validation"``, ``"test"`` and ``"all"`` everywhere they exist, plus the
            dataset's own (see its module).
        **options: The dataset's options (see its module), e.g. ``attribute="Smiling"`` for CelebA.

    Returns:
        The split as a :class:`FaceDataset`.

    Raises:
        DatasetNotFoundError: The dataset is not under ``root``; the message says how to get it.
        ValueError: An unknown dataset or option (the message lists the dataset's options).
    """
    module = _module(name)
    allowed = [p.name for p in inspect.signature(module.load).parameters.values() if p.kind is p.KEYWORD_ONLY]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"{name} has no option {', '.join(map(repr, unknown))}; its options: {', '.join(allowed) or 'none'} "
            f"(see facezoo.datasets.{name})."
        )
    base = Path(root) if root is not None else default_root()
    if hasattr(module, "MEMBERS"):  # A union: each member finds its own folder (or says how to get it).
        return module.load(base, split, **options)
    for folder in (base / module.FOLDER, base):
        if is_dataset_dir(module.MARKERS, folder):
            return module.load(folder, split, **options)
    files = ", ".join(row.filename for row in read_checksums(module))
    raise DatasetNotFoundError(
        f"{name} is not in {base} (looked for {base / module.FOLDER}). Get it with "
        f"facezoo.datasets.download({name!r}, {str(base)!r}) or `facezoo download {name} --root {base}`; "
        f"if the download is refused, download {files} by hand into a folder DIR and call "
        f"facezoo.datasets.download({name!r}, {str(base)!r}, manual_dir=DIR) (`--manual-dir DIR`)."
    )
