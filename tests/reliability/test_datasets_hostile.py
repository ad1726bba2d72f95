"""Hostile dataset inputs: manual folders, bad downloads, truncated archives, zip bombs, stale temporaries, modes."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from facezoo import datasets
from facezoo.datasets import celeba, downloader
from facezoo.datasets.core import MARKER_IMAGES
from facezoo.datasets.extract import ArchiveError, UnsafeArchiveError, extract_archive

from .helpers import jpeg, utk_names


def _tar(members: dict[str, bytes], *, cut_after: int | None = None) -> bytes:
    """A .tar.gz of ``members``; ``cut_after`` keeps only that many members and no end-of-archive block."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        ends = []
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
            ends.append(tf.offset)
    raw = buffer.getvalue()
    return gzip.compress(raw if cut_after is None else raw[: ends[cut_after - 1]])


def _utk_archive(n: int = MARKER_IMAGES, **kwargs) -> bytes:
    return _tar({f"UTKFace/{name}": jpeg(i) for i, name in enumerate(utk_names(n))}, **kwargs)


def test_manual_dir_like_downloads_takes_the_archive_and_nothing_else(tmp_path):
    downloads = tmp_path / "Downloads"
    downloads.mkdir()
    (downloads / "UTKFace.tar.gz").write_bytes(_utk_archive(12))
    (downloads / "holiday.jpg").write_bytes(jpeg(9))
    (downloads / "passport.jpg").write_bytes(jpeg(8))
    folder = datasets.download("utkface", tmp_path / "root", manual_dir=downloads)
    assert sorted(p.name for p in folder.iterdir()) == sorted(utk_names(12))
    assert len(datasets.load("utkface", tmp_path / "root", split="all")) == 12


def test_manual_dir_may_be_the_archive_itself_under_any_name(tmp_path):
    archive = tmp_path / "UTKFace (1).tar.gz"
    archive.write_bytes(_utk_archive(11))
    folder = datasets.download("utkface", tmp_path / "root", manual_dir=archive)
    assert len(list(folder.iterdir())) == 11


def _imfdb_folder(source: Path) -> Path:
    """An extracted IMFDB copy: ``train.csv`` and as many ``Train/<ID>.jpg`` as make a folder a dataset."""
    (source / "Train").mkdir(parents=True)
    for i in range(1, MARKER_IMAGES + 1):
        (source / "Train" / f"{i}.jpg").write_bytes(jpeg(i))
    (source / "train.csv").write_text("ID,Class\n" + "".join(f"{i}.jpg,OLD\n" for i in range(1, MARKER_IMAGES + 1)))
    return source


def test_manual_folder_copies_only_the_dataset_files(tmp_path):
    source = _imfdb_folder(tmp_path / "mine")
    (source / "tax-return.pdf").write_text("private")
    folder = datasets.download("imfdb_age", tmp_path / "root", manual_dir=source)
    assert sorted(p.name for p in folder.iterdir()) == ["Train", "train.csv"]


def test_a_few_files_of_a_dataset_s_names_do_not_make_a_dataset(tmp_path):
    downloads = tmp_path / "Downloads"
    (downloads / "Train").mkdir(parents=True)
    (downloads / "Images").mkdir()
    (downloads / "train_test_files").mkdir()
    for i, name in enumerate(utk_names(MARKER_IMAGES - 1)):  # a few faces saved from UTKFace, and other photos
        (downloads / name).write_bytes(jpeg(i))
        (downloads / f"IMG_{i}.jpg").write_bytes(jpeg(i))
        (downloads / "Train" / f"photo{i}.jpg").write_bytes(jpeg(i))  # IMFDB's IDs are numbers
        (downloads / "Images" / f"AF{i}.jpg").write_bytes(jpeg(i))  # one fewer than a SCUT copy's marker
    (downloads / "train.csv").write_text("ID,Class\n")  # a common name
    (downloads / "train_test_files" / "All_labels.txt").write_text("")
    for name in ("utkface", "imfdb_age", "scut_fbp5500"):
        with pytest.raises(datasets.ManualDownloadRequired, match=r"is not in .*Downloads"):
            datasets.download(name, tmp_path / "root", manual_dir=downloads)
        with pytest.raises(datasets.DatasetNotFoundError):
            datasets.load(name, downloads)
    assert not (tmp_path / "root").exists() or not any((tmp_path / "root").iterdir())
    (downloads / utk_names(MARKER_IMAGES)[-1]).write_bytes(jpeg())  # as many as a marker needs: a (small) UTKFace
    assert len(datasets.load("utkface", downloads, split="all")) == MARKER_IMAGES


def test_an_unrelated_folder_of_images_is_not_a_dataset(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(3):
        (photos / f"IMG_{i}.jpg").write_bytes(jpeg(i))
    with pytest.raises(datasets.ManualDownloadRequired, match=r"UTKFace\.tar\.gz is not in .*photos"):
        datasets.download("utkface", tmp_path / "root", manual_dir=photos)
    with pytest.raises(datasets.DatasetNotFoundError):
        datasets.load("utkface", photos)
    assert not (tmp_path / "root" / "UTKFace").exists()


def test_a_garbage_first_download_is_deleted_not_recorded(file_server, tmp_path, monkeypatch):
    url = file_server.add("/UTKFace.tar.gz", b"this is not an archive " * 50)
    monkeypatch.setattr(
        downloader, "read_checksums", lambda m: [downloader.Resource("UTKFace.tar.gz", url, None, None)]
    )
    with pytest.raises(datasets.DownloadError, match=r"not a zip or tar archive.*was deleted"):
        datasets.download("utkface", tmp_path)
    assert not (tmp_path / "downloads" / "checksums.tsv").exists()
    assert not (tmp_path / "downloads" / "utkface" / "UTKFace.tar.gz").exists()
    good = _utk_archive()
    file_server.add("/UTKFace.tar.gz", good)
    assert len(list(datasets.download("utkface", tmp_path).iterdir())) == MARKER_IMAGES
    recorded = (tmp_path / "downloads" / "checksums.tsv").read_text()
    assert f"utkface/UTKFace.tar.gz\t{len(good)}\t{hashlib.sha256(good).hexdigest()}" in recorded


def test_celeba_ships_the_checksums_tfds_publishes():
    known = {r.filename: (r.size, r.sha256) for r in downloader.read_checksums(celeba)}
    # tensorflow/datasets, tensorflow_datasets/url_checksums/celeb_a.txt
    assert known == {
        "img_align_celeba.zip": (1443490838, "46fb89443c578308acf364d7d379fe1b9efb793042c0af734b6112e4fd3a8c74"),
        "list_attr_celeba.txt": (26721026, "f0e5da289d5ccf75ffe8811132694922b60f2af59256ed362afa03fefba324d0"),
        "identity_CelebA.txt": (None, None),  # not listed by TFDS: recorded at first download
        "list_eval_partition.txt": (2836386, "fc955bcb3ef8fbdf7d5640d9a8693a8431b5f2ee291a5c1449a1549e7e073fe7"),
    }


def test_a_manual_file_of_the_wrong_size_is_named(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    for res in downloader.read_checksums(celeba):
        (manual / res.filename).write_bytes(b"short")
    with pytest.raises(datasets.ChecksumError, match=r"img_align_celeba\.zip .*size 5 bytes, expected 1443490838"):
        datasets.download("celeba", tmp_path / "root", manual_dir=manual)
    assert (manual / "img_align_celeba.zip").read_bytes() == b"short"  # a user's file is never deleted


def test_a_tar_cut_at_a_member_boundary_is_refused(tmp_path):
    archive = tmp_path / "UTKFace.tar.gz"
    archive.write_bytes(_utk_archive(8, cut_after=3))
    with pytest.raises(ArchiveError, match="truncated"):
        datasets.download("utkface", tmp_path / "root", manual_dir=archive)
    assert not (tmp_path / "root" / "UTKFace").exists()


def test_a_zip_bomb_is_refused_before_writing(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(4 << 20))  # 4 MiB of zeros: a few KiB compressed
    with pytest.raises(UnsafeArchiveError, match="more than 100 times"):
        extract_archive(bomb, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.zip"]


def test_stale_temporaries_of_killed_runs_are_removed(tmp_path):
    root = tmp_path / "root"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [
        root / f".facezoo-staging.{dead.pid}.UTKFace.x1",
        root / f".facezoo-extract.{dead.pid}.x2",
        root / ".extract.abc",
        root / ".UTKFace.abc.staging",
        root / ".UTKFace.old",
    ]
    live = root / f".facezoo-extract.{os.getppid()}.x3"  # a run still going on
    for folder in [*stale, live]:
        (folder / "sub").mkdir(parents=True)
    archive = tmp_path / "UTKFace.tar.gz"
    archive.write_bytes(_utk_archive())
    datasets.download("utkface", root, manual_dir=archive)
    assert sorted(p.name for p in root.iterdir()) == sorted(["UTKFace", live.name])


def test_dataset_folders_follow_the_umask(tmp_path):
    archive = tmp_path / "UTKFace.tar.gz"
    archive.write_bytes(_utk_archive())
    old = os.umask(0o022)
    try:
        folder = datasets.download("utkface", tmp_path / "root", manual_dir=archive)
    finally:
        os.umask(old)
    assert folder.stat().st_mode & 0o777 == 0o755


def test_a_file_where_the_dataset_goes_is_reported_before_any_work(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "UTKFace").write_text("notes")
    archive = tmp_path / "UTKFace.tar.gz"
    archive.write_bytes(_utk_archive())
    with pytest.raises(datasets.DownloadError, match=r"UTKFace is a file.*move it away"):
        datasets.download("utkface", root, manual_dir=archive)
    assert sorted(p.name for p in root.iterdir()) == ["UTKFace"] and (root / "UTKFace").read_text() == "notes"


def test_a_symlink_loop_in_a_manual_folder_is_one_short_line(tmp_path):
    source = _imfdb_folder(tmp_path / "imfdb-age")
    (source / "Train" / "loop").symlink_to(source / "Train")
    with pytest.raises(datasets.DownloadError, match="symlink loop") as error:
        datasets.download("imfdb_age", tmp_path / "root", manual_dir=tmp_path)
    assert len(str(error.value)) < 300 and "loop" in str(error.value)
    assert not (tmp_path / "root" / "imfdb-age").exists()


def test_an_interrupted_install_keeps_the_old_dataset(tmp_path, monkeypatch):
    archive = tmp_path / "UTKFace.tar.gz"
    archive.write_bytes(_utk_archive())
    folder = datasets.download("utkface", tmp_path / "root", manual_dir=archive)
    archive.write_bytes(_utk_archive(5, cut_after=4))
    with pytest.raises(ArchiveError):
        datasets.download("utkface", tmp_path / "root", manual_dir=archive, force=True)
    assert len(list(folder.iterdir())) == MARKER_IMAGES
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["UTKFace"]
