"""The download engine and extraction against a local server: resume, checksums, Drive pages, unsafe archives."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import jpeg_bytes, make_utkface

from facezoo import datasets
from facezoo.datasets import downloader as engine
from facezoo.datasets.extract import UnsafeArchiveError, extract_archive

PAYLOAD = bytes(range(256)) * 400  # 100 KiB


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tar_gz(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return buffer.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


def test_download_verifies_and_renames(file_server, tmp_path):
    url = file_server.add("/f.bin", PAYLOAD)
    dest = tmp_path / "f.bin"
    assert engine.download_file(url, dest, size=len(PAYLOAD), sha256=sha(PAYLOAD)) == sha(PAYLOAD)
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("f.bin.part").exists()


def test_resume_after_cut_connection(file_server, tmp_path):
    url = file_server.add("/f.bin", PAYLOAD, cut_after=80_000)  # beyond the first 64 KiB chunk
    dest = tmp_path / "f.bin"
    engine.download_file(url, dest, sha256=sha(PAYLOAD), backoff=0.01)
    assert dest.read_bytes() == PAYLOAD
    assert [r for _, r in file_server.requests] == [None, "bytes=65536-"]


def test_checksum_mismatch_leaves_nothing(file_server, tmp_path):
    url = file_server.add("/f.bin", PAYLOAD)
    dest = tmp_path / "f.bin"
    with pytest.raises(datasets.ChecksumError, match="sha256"):
        engine.download_file(url, dest, sha256="0" * 64)
    assert list(tmp_path.iterdir()) == []


def test_gives_up_after_retries(file_server, tmp_path):
    url = file_server.url("/gone")
    with pytest.raises(datasets.DownloadError, match="404"):
        engine.download_file(url, tmp_path / "x", backoff=0.01)


def test_drive_confirmation_page_is_followed(file_server, tmp_path):
    file_server.add("/download?id=big&export=download&confirm=t", PAYLOAD)
    url = file_server.add_html(
        "/uc?export=download&id=big",
        '<html><form id="download-form" action="/download" method="get">'
        '<input type="hidden" name="id" value="big"><input type="hidden" name="export" value="download">'
        '<input type="hidden" name="confirm" value="t"><input type="submit"></form></html>',
    )
    dest = tmp_path / "big.zip"
    engine.download_file(url, dest, sha256=sha(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD


def test_quota_page_asks_for_manual_download(file_server, tmp_path, monkeypatch):
    url = file_server.add_html("/uc?id=q", "<html><title>Google Drive - Quota exceeded</title>Too many users</html>")
    monkeypatch.setattr(engine, "read_checksums", lambda module: [engine.Resource("UTKFace.tar.gz", url, None, None)])
    with pytest.raises(datasets.ManualDownloadRequired, match=r"quota.*UTKFace\.tar\.gz.*manual_dir"):
        datasets.download("utkface", tmp_path)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert not (tmp_path / "UTKFace").exists()


def test_imfdb_is_manual_only(tmp_path):
    with pytest.raises(datasets.ManualDownloadRequired, match=r"train\.zip.*manual_dir"):
        datasets.download("imfdb_age", tmp_path)


def test_download_extracts_and_records_checksum(file_server, tmp_path, monkeypatch):
    archive = tar_gz({f"UTKFace/{20 + i}_0_1_201701100000{i:02d}.jpg.chip.jpg": jpeg_bytes(i) for i in range(12)})
    url = file_server.add("/UTKFace.tar.gz", archive, cut_after=len(archive) // 2)
    monkeypatch.setattr(engine, "read_checksums", lambda module: [engine.Resource("UTKFace.tar.gz", url, None, None)])
    monkeypatch.setattr(engine.time, "sleep", lambda s: None)
    folder = datasets.download("utkface", tmp_path)
    assert folder == tmp_path / "UTKFace" and len(datasets.load("utkface", tmp_path, split="all")) == 12
    assert (
        f"utkface/UTKFace.tar.gz\t{len(archive)}\t{sha(archive)}"
        in (tmp_path / "downloads" / "checksums.tsv").read_text()
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["UTKFace", "downloads"]
    # A changed upstream file fails against the recorded sha256; the extracted copy is kept, no download left.
    (tmp_path / "downloads" / "utkface" / "UTKFace.tar.gz").unlink()
    file_server.add("/UTKFace.tar.gz", archive[:-1] + b"x")
    with pytest.raises(datasets.ChecksumError, match="deleted"):
        datasets.download("utkface", tmp_path, force=True)
    assert len(list((tmp_path / "UTKFace").iterdir())) == 12
    assert list((tmp_path / "downloads" / "utkface").iterdir()) == []


def test_manual_dir_with_archive_or_folder(tmp_path):
    source = make_utkface(tmp_path / "src", n=12)
    manual = tmp_path / "manual"
    manual.mkdir()
    (manual / "UTKFace.tar.gz").write_bytes(tar_gz({f"UTKFace/{p.name}": p.read_bytes() for p in source.iterdir()}))
    for root, manual_dir in ((tmp_path / "a", manual), (tmp_path / "b", source.parent)):
        folder = datasets.download("utkface", root, manual_dir=manual_dir)
        assert len(datasets.load("utkface", folder, split="all")) == 12
    with pytest.raises(datasets.ManualDownloadRequired, match="UTKFace.tar.gz is not in"):
        datasets.download("utkface", tmp_path / "c", manual_dir=tmp_path / "c")


def test_manual_imfdb_zip_without_top_folder(tmp_path):
    manual = tmp_path / "manual"
    manual.mkdir()
    images = {f"Train/{i}.jpg": jpeg_bytes(i) for i in range(1, 11)}
    labels = "ID,Class\n" + "".join(f"{i}.jpg,OLD\n" for i in range(1, 11))
    (manual / "train.zip").write_bytes(zip_bytes({"train.csv": labels.encode(), **images}))
    ds = datasets.load("imfdb_age", datasets.download("imfdb_age", tmp_path / "root", manual_dir=manual), split="all")
    assert ds.targets["age"].tolist() == [2] * 10 and Path(ds.paths[0]).is_file()


@pytest.mark.parametrize(
    "archive",
    [
        zip_bytes({"ok.txt": b"1", "../evil.txt": b"x"}),
        tar_gz({"/abs/evil.txt": b"x"}),
        tar_gz({"a/../../evil.txt": b"x"}),
        tar_gz({"ok.txt": b"1"}, links={"link": "../../etc/passwd"}),
    ],
    ids=["zip-dotdot", "tar-absolute", "tar-dotdot", "tar-symlink"],
)
def test_unsafe_archives_are_refused(tmp_path, archive):
    path = tmp_path / ("a.zip" if archive[:2] == b"PK" else "a.tar.gz")
    path.write_bytes(archive)
    with pytest.raises(UnsafeArchiveError, match="outside"):
        extract_archive(path, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_unreachable_server_fails_fast_with_one_line(tmp_path, monkeypatch):
    import socket
    import time

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.delenv("FACEZOO_NETWORK_RETRIES", raising=False)
    start = time.perf_counter()
    with pytest.raises(
        engine.DownloadError, match=rf"127.0.0.1:{port}/a.zip could not be reached .*FACEZOO_NETWORK_RETRIES"
    ) as error:
        engine.download_file(f"http://127.0.0.1:{port}/a.zip", tmp_path / "a.zip")
    assert time.perf_counter() - start < 5 and "\n" not in str(error.value)
    assert not list(tmp_path.iterdir())
