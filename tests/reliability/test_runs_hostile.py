"""Hostile training and evaluation inputs: an old run is never lost, damaged files and bad images are named."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

import facezoo
from facezoo import datasets, training
from facezoo.hub import (
    METADATA_NAME,
    WEIGHTS_NAME,
    ChecksumError,
    InvalidWeightsError,
    from_pretrained,
    save_pretrained,
)

from .helpers import jpeg, utk_names

# The UTKFace recipe on a two-convolution stand-in (tests/example_stand_ins.py): the run folder is under test here.
TINY = dict(model="stand_in_utkface", epochs=1, batch_size=4, image_size=32, verbose=0)
pytestmark = pytest.mark.usefixtures("tiny_models")


def _utk_root(folder: Path) -> Path:
    (folder / "UTKFace").mkdir(parents=True)
    for i, name in enumerate(utk_names(20)):
        (folder / "UTKFace" / name).write_bytes(jpeg(i, size=(16, 16)))
    return folder


@pytest.fixture
def utk_root(tmp_path) -> Path:
    return _utk_root(tmp_path / "data")


@pytest.fixture(scope="module")
def _one_finished_run(tiny_models, tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("finished")
    out = base / "run"
    training.fit_utkface(_utk_root(base / "data"), out, **TINY)
    return out


@pytest.fixture
def finished_run(_one_finished_run, tmp_path) -> Path:
    """A copy of one finished tiny run (trained once per module)."""
    return Path(shutil.copytree(_one_finished_run, tmp_path / "run"))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_no_resume_with_a_mistyped_data_dir_keeps_the_finished_run(finished_run, tmp_path):
    before = _snapshot(finished_run)
    with pytest.raises(datasets.DatasetNotFoundError):
        training.fit_utkface(tmp_path / "dta", finished_run, resume=False, **TINY)
    assert _snapshot(finished_run) == before


def test_a_failed_new_run_leaves_the_old_one_aside(finished_run, utk_root, monkeypatch):
    before = _snapshot(finished_run)
    from facezoo.training import engine

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(engine, "_run_stage", fail)  # the new run fails once under way
    with pytest.raises(RuntimeError, match="disk full"):
        training.fit_utkface(utk_root, finished_run, resume=False, **TINY)
    (aside,) = finished_run.glob(".facezoo-previous-*")
    assert _snapshot(aside) == before


def test_a_damaged_state_file_is_named(utk_root, finished_run):
    out = finished_run
    (out / "result.json").unlink()
    state = next(p for p in (out / "checkpoints").iterdir() if p.is_dir())
    (state / "state.json").write_text('{"epoch": 1, "weig')
    with pytest.raises(ValueError, match=rf"^{state / 'state.json'} is damaged .*resume=False"):
        training.fit_utkface(utk_root, out, **TINY)
    (out / "run.json").write_text("\x00\x00")
    with pytest.raises(ValueError, match=rf"^{out / 'run.json'} is damaged"):
        training.fit_utkface(utk_root, out, **TINY)


def test_a_foreign_file_in_pretrained_is_found_before_training(utk_root, tmp_path):
    out = tmp_path / "run"
    (out / "pretrained").mkdir(parents=True)
    (out / "pretrained" / "notes.txt").write_text("mine")
    with pytest.raises(
        ValueError, match=r"pretrained exists and holds files save_pretrained did not write \(notes\.txt\)"
    ):
        training.fit_utkface(utk_root, out, **TINY)
    with pytest.raises(ValueError, match=r"did not write \(notes\.txt\)"):  # nor is it moved aside (and lost)
        training.fit_utkface(utk_root, out, resume=False, **TINY)
    assert sorted(p.name for p in out.iterdir()) == ["pretrained"]  # nothing trained, nothing written


def test_fit_on_error_skip_skips_a_corrupt_image_and_names_it_once(utk_root, finished_run, tmp_path, caplog):
    bad = utk_root / "UTKFace" / "30_1_2_20170119999999999.jpg.chip.jpg"
    bad.write_bytes(jpeg(1)[:-200])  # truncated
    with pytest.raises(ValueError, match=rf"{bad.name}.*on_error='skip'"):
        training.fit_utkface(utk_root, tmp_path / "a", **TINY)
    with caplog.at_level(logging.WARNING, logger="facezoo"):  # a new run over a finished one, skipping the image
        result = training.fit_utkface(utk_root, finished_run, resume=False, on_error="skip", **TINY)
    assert result.test_metrics and not list(finished_run.glob(".facezoo-previous-*"))
    assert sum(f"skipped {bad}" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(ValueError, match="on_error must be 'raise' or 'skip'"):
        training.fit_utkface(utk_root, tmp_path / "c", on_error="ignore", **TINY)


def test_evaluate_on_error_skip_and_a_model_without_the_datasets_heads(utk_root):
    folder = utk_root / "UTKFace"
    (folder / "31_0_1_20170119999999998.jpg.chip.jpg").write_text("not an image")
    ds = datasets.load("utkface", utk_root, split="all")
    model = facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3))
    with pytest.raises(ValueError, match="not an image.*on_error='skip'"):
        training.evaluate(model, ds)
    evaluation = training.evaluate(model, ds, on_error="skip", by="gender")
    assert evaluation.metrics["age"]["count"] == len(ds) - 1 and len(evaluation.skipped) == 1
    assert sum(row[1] for row in evaluation.tables["age/by_gender"].rows) == len(ds) - 1
    age_classes = facezoo.models.age_cnn(input_shape=(96, 96, 3))
    with pytest.raises(
        ValueError, match=r"output 'age' is classification over YOUNG, MIDDLE, OLD .*'age' is a regression"
    ):
        training.evaluate(age_classes, ds)
    with pytest.raises(ValueError, match="the dataset is empty"):
        training.evaluate(model, ds.take(0))


def _damaged_copies(folder: Path, tmp_path: Path, wanted: int = 3) -> list[Path]:
    """Copies of ``folder`` whose weights file has 64 bytes overwritten where h5py's metadata walk then fails."""
    data = (folder / WEIGHTS_NAME).read_bytes()
    copies = []
    for offset in range(1024, len(data), 512):  # past the superblock
        damaged = bytearray(data)
        damaged[offset : offset + 64] = b"\xff" * 64
        probe = tmp_path / "probe.h5"
        probe.write_bytes(damaged)
        try:
            with h5py.File(probe, "r") as file:
                file.visititems(lambda name, obj: None)
        except OSError:
            continue
        except RuntimeError:  # "Object visitation failed": what h5py raises on damaged metadata
            copy = tmp_path / f"damaged-{offset}"
            copy.mkdir()
            for entry in folder.iterdir():
                (copy / entry.name).write_bytes(damaged if entry.name == WEIGHTS_NAME else entry.read_bytes())
            # facezoo.json records the damaged bytes (as if damaged before saving), so its checksum lets them through
            # and the HDF5 reader is what must name the file.
            metadata = json.loads((copy / METADATA_NAME).read_text())
            metadata["files"][WEIGHTS_NAME] = {"sha256": hashlib.sha256(damaged).hexdigest(), "size": len(damaged)}
            (copy / METADATA_NAME).write_text(json.dumps(metadata))
            copies.append(copy)
            if len(copies) == wanted:
                break
    return copies


def test_damaged_hdf5_metadata_is_one_line_naming_the_file(tmp_path):
    folder = save_pretrained(facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3)), tmp_path / "m")
    copies = _damaged_copies(folder, tmp_path)
    assert copies, "no offset damages the metadata walk"
    for copy in copies:
        with pytest.raises(InvalidWeightsError, match=rf"{WEIGHTS_NAME} \({copy / WEIGHTS_NAME}\) is a damaged"):
            from_pretrained(copy)
    (copies[0] / METADATA_NAME).write_bytes((folder / METADATA_NAME).read_bytes())  # the checksum of the good file
    with pytest.raises(ChecksumError, match=rf"{WEIGHTS_NAME} differs from {METADATA_NAME}"):
        from_pretrained(copies[0])


def test_save_pretrained_folders_follow_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        folder = save_pretrained(facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3)), tmp_path / "m")
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o750
    assert np.isfinite(from_pretrained(folder).count_params())
