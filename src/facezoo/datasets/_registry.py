"""The dataset registry: one :class:`~facezoo.specs.DatasetInfo` per dataset (TensorFlow Datasets' registered
builders; facezoo's model registry, ``facezoo._registry``, for models).

Each dataset module of :mod:`facezoo.datasets` declares its dataset once, ``INFO = register_dataset(...)``, and
registers it when imported. :func:`list_datasets` and :func:`dataset_info` import every module of the package the
first time they are called, so a new module is found without a list to add it to. Nothing here imports TensorFlow.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from facezoo.specs import DatasetCitation, DatasetInfo, Marker, OutputSpec

if TYPE_CHECKING:
    from facezoo.datasets.core import FaceDataset

__all__ = ["register_dataset", "list_datasets", "dataset_info"]

_INFOS: dict[str, DatasetInfo] = {}
_FOUND = False


def register_dataset(
    *,
    name: str,
    heads: tuple[OutputSpec, ...],
    num_images: int,
    download: str,
    citation: DatasetCitation,
    loader: Callable[..., FaceDataset],
    folder: str = "",
    markers: tuple[Marker, ...] = (),
    contents: tuple[str, ...] = (),
    members: tuple[str, ...] = (),
) -> DatasetInfo:
    """Declare and register a dataset (see :class:`~facezoo.specs.DatasetInfo` for the fields); returns its info.

    Raises:
        ValueError: another module registered a dataset of that name, or the declaration is incomplete.
    """
    info = DatasetInfo(
        name=name,
        folder=folder,
        markers=markers,
        contents=contents,
        heads=heads,
        num_images=num_images,
        download=download,
        citation=citation,
        loader=loader,
        members=members,
    )
    known = _INFOS.get(name)
    if known is not None and known.loader.__module__ != loader.__module__:
        raise ValueError(f"dataset {name!r} is registered twice: in {known.loader.__module__} and {loader.__module__}")
    _INFOS[name] = info
    return info


def _find_all() -> None:
    """Import every module of :mod:`facezoo.datasets` once (each registers its dataset)."""
    global _FOUND
    if _FOUND:
        return
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if not module.name.startswith("_"):
            importlib.import_module(f"facezoo.datasets.{module.name}")
    _FOUND = True


def list_datasets() -> list[str]:
    """Names of every registered dataset, sorted."""
    _find_all()
    return sorted(_INFOS)


def dataset_info(name: str) -> DatasetInfo:
    """The :class:`~facezoo.specs.DatasetInfo` of a registered dataset.

    Raises:
        ValueError: an unknown name (naming close matches and every dataset).
    """
    if name not in _INFOS:
        _find_all()
    if name not in _INFOS:
        close = difflib.get_close_matches(str(name), list(_INFOS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise ValueError(f"Unknown dataset {name!r}.{hint} Datasets: {', '.join(sorted(_INFOS))}.")
    return _INFOS[name]
