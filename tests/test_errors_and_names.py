"""One exception hierarchy (``facezoo.errors``) and one name per concept: old import paths and old argument names
keep working (the latter with a ``DeprecationWarning``, for one release)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
from pathlib import Path

import numpy as np
import pytest

import facezoo
from facezoo import errors

DOCS = Path(__file__).resolve().parents[1] / "docs"

#: Where each error class was importable before ``facezoo.errors``: every path must give the same class object.
OLD_PATHS = {
    "HubError": ("facezoo.hub", "facezoo.pretrained"),
    "WeightsNotFoundError": ("facezoo.hub", "facezoo.pretrained"),
    "NotCachedError": ("facezoo.hub", "facezoo.pretrained"),
    "HubUnreachableError": ("facezoo.hub", "facezoo.pretrained"),
    "TokenError": ("facezoo.hub", "facezoo.pretrained"),
    "IncompatibleConfigError": ("facezoo.hub", "facezoo.pretrained"),
    "InvalidWeightsError": ("facezoo.hub", "facezoo.pretrained"),
    "ChecksumError": ("facezoo.hub", "facezoo.pretrained", "facezoo.datasets", "facezoo.datasets.downloader"),
    "DownloadError": ("facezoo.datasets", "facezoo.datasets.downloader"),
    "ManualDownloadRequired": ("facezoo.datasets", "facezoo.datasets.downloader"),
    "DatasetNotFoundError": ("facezoo.datasets", "facezoo.datasets.core"),
    "ArchiveError": ("facezoo.datasets.extract",),
    "UnsafeArchiveError": ("facezoo.datasets.extract",),
}

#: The builtin exceptions code written before ``facezoo.errors`` may catch.
BUILTIN_BASES = {
    "WeightsNotFoundError": LookupError,
    "NotCachedError": FileNotFoundError,
    "HubUnreachableError": ConnectionError,
    "TokenError": PermissionError,
    "IncompatibleConfigError": ValueError,
    "InvalidWeightsError": ValueError,
    "ChecksumError": ValueError,
    "DatasetNotFoundError": FileNotFoundError,
    "DownloadError": RuntimeError,
    "ManualDownloadRequired": RuntimeError,
    "ArchiveError": ValueError,
    "UnsafeArchiveError": ValueError,
}


def _facezoo_exception_classes() -> set[type]:
    """Every public exception class defined in a facezoo module that ``import facezoo`` and the CLI reach (every
    submodule of facezoo.datasets too)."""
    for name in ("facezoo.hub", "facezoo.inference", "facezoo.faces", "facezoo.cli", "facezoo.datasets"):
        importlib.import_module(name)
    for module in pkgutil.iter_modules(facezoo.datasets.__path__):
        importlib.import_module(f"facezoo.datasets.{module.name}")
    found = set()
    for name, module in list(sys.modules.items()):
        if name == "facezoo" or name.startswith("facezoo."):
            for _, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, BaseException) and value.__module__.startswith("facezoo"):
                    if not value.__name__.startswith("_"):
                        found.add(value)
    return found


def test_every_facezoo_error_is_a_facezoo_error_defined_in_facezoo_errors():
    classes = _facezoo_exception_classes()
    assert set(errors.__all__) == {cls.__name__ for cls in classes}
    for cls in classes:
        assert issubclass(cls, errors.FacezooError), cls
        assert cls.__module__ == "facezoo.errors", f"{cls.__name__} is defined in {cls.__module__}"
    assert facezoo.FacezooError is errors.FacezooError


@pytest.mark.parametrize("name", sorted(OLD_PATHS))
def test_old_import_paths_give_the_same_class(name):
    for module in OLD_PATHS[name]:
        assert getattr(importlib.import_module(module), name) is getattr(errors, name), f"{module}.{name}"


@pytest.mark.parametrize("name", sorted(BUILTIN_BASES))
def test_errors_keep_their_builtin_bases(name):
    assert issubclass(getattr(errors, name), BUILTIN_BASES[name])


def test_one_checksum_error_under_both_branches():
    assert issubclass(errors.ChecksumError, errors.HubError)
    assert issubclass(errors.ChecksumError, errors.DownloadError)
    assert issubclass(errors.ChecksumError, errors.DatasetError)
    for branch in (errors.HubError, errors.DatasetError):
        assert issubclass(branch, errors.FacezooError)


def test_a_dataset_file_checksum_error_is_the_hubs_checksum_error_too(tmp_path):
    from facezoo.datasets.downloader import verify_file

    path = tmp_path / "archive.zip"
    path.write_bytes(b"not the archive")
    with pytest.raises(facezoo.hub.ChecksumError, match="archive.zip is corrupt"):
        verify_file(path, 3, None, name="archive.zip")
    assert not path.exists()


def test_the_api_page_lists_the_hierarchy():
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    assert "::: facezoo.errors" in text
    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), f"the facezoo.errors docstring's tree lacks {name}"


# ------------------------------------------------------------------------------------------------ renamed names


@pytest.fixture()
def selfie_dir(tmp_path):
    from facezoo.datasets.core import MARKER_IMAGES

    folder = tmp_path / "Selfie-dataset"
    (folder / "images").mkdir(parents=True)
    lines = []
    for i in range(MARKER_IMAGES):
        (folder / "images" / f"img_{i}.jpg").write_bytes(b"\xff\xd8\xff\xd9")
        lines.append(f"img_{i} {i / 10} " + " ".join(["0"] * 36))
    (folder / "selfie_dataset.txt").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_load_root_is_the_deprecated_name_of_data_dir(selfie_dir):
    from facezoo import datasets

    new = datasets.load("selfie", data_dir=selfie_dir, split="all")
    with pytest.warns(DeprecationWarning, match=r"load\(root=\.\.\.\) is deprecated: use data_dir=.*0\.2\.0"):
        old = datasets.load("selfie", root=selfie_dir, split="all")
    assert old.paths == new.paths and len(old) == 10
    with pytest.raises(TypeError, match="pass data_dir= only"):
        datasets.load("selfie", data_dir=selfie_dir, root=selfie_dir)


def test_download_root_is_the_deprecated_name_of_data_dir(selfie_dir):
    from facezoo import datasets

    with pytest.warns(DeprecationWarning, match=r"download\(root=\.\.\.\) is deprecated: use data_dir="):
        folder = datasets.download("selfie", root=selfie_dir)
    assert folder == selfie_dir / "Selfie-dataset"  # already there: nothing downloaded


def test_default_root_is_the_deprecated_name_of_default_data_dir(monkeypatch, tmp_path):
    from facezoo import datasets

    monkeypatch.setenv("FACEZOO_HOME", str(tmp_path))
    assert datasets.default_data_dir() == tmp_path / "datasets"
    with pytest.warns(DeprecationWarning, match="default_root is deprecated: use .*default_data_dir"):
        assert datasets.default_root() == tmp_path / "datasets"


def test_load_image_size_is_the_deprecated_name_of_image_size():
    from facezoo.inference import load_image

    pixels = np.full((6, 6, 3), 9, np.uint8)
    assert load_image(pixels, image_size=(4, 4)).shape == (4, 4, 3)
    with pytest.warns(DeprecationWarning, match=r"load_image\(size=\.\.\.\) is deprecated: use image_size="):
        assert load_image(pixels, size=(4, 2)).shape == (4, 2, 3)


def test_renamed_functions_keep_their_new_signature():
    from facezoo import datasets
    from facezoo.inference import load_image

    assert list(inspect.signature(datasets.load).parameters)[:2] == ["name", "data_dir"]
    assert list(inspect.signature(datasets.download).parameters)[:2] == ["name", "data_dir"]
    assert list(inspect.signature(load_image).parameters) == ["image", "image_size"]


def test_a_datasets_warning_still_names_the_callers_line(tmp_path):
    """``datasets.load`` takes ``root=`` in its body, not through a wrapper, so that a parser's warning (stacklevel)
    still points at the line that called ``load``."""
    from facezoo import datasets

    folder = tmp_path / "UTKFace"
    folder.mkdir()
    for i in range(10):
        (folder / f"{20 + i}_0_1_2017010900000{i}.jpg.chip.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    (folder / "61_1_20170109142408075.jpg.chip.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    with pytest.warns(UserWarning, match="skipped 1 file") as record:
        datasets.load("utkface", tmp_path, split="all")
    assert record[0].filename == __file__
