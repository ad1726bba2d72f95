"""Safe extraction of zip and tar archives: into a temporary folder renamed into place when complete."""

from __future__ import annotations

import shutil
import stat
import tarfile
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["UnsafeArchiveError", "extract_archive", "is_archive"]

_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")


class UnsafeArchiveError(ValueError):
    """An archive member would land outside the extraction folder."""


def is_archive(path: str | Path) -> bool:
    """Whether ``path`` is named like a zip or tar archive."""
    return str(path).lower().endswith(_SUFFIXES)


def extract_archive(archive: Path, target: Path) -> Path:
    """Extract ``archive`` into the new folder ``target``.

    Members are extracted into a temporary folder beside ``target``, renamed to ``target`` once all are out.
    Members with absolute paths or ``..``, and links pointing outside the archive, are refused before anything is
    written.

    Args:
        archive: A ``.zip`` or ``.tar[.gz|.bz2|.xz]`` / ``.tgz`` file.
        target: Folder to create; must not exist.

    Returns:
        ``target``.

    Raises:
        UnsafeArchiveError: A member escapes ``target``.
        FileExistsError: ``target`` exists.
    """
    if target.exists():
        raise FileExistsError(f"{target} exists; remove it first")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extracting", dir=target.parent))
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    _check(archive, info.filename)
                    if stat.S_ISLNK(info.external_attr >> 16):
                        _check(archive, info.filename, zf.read(info).decode())
                zf.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for member in tf.getmembers():
                    _check(archive, member.name)
                    if member.issym():
                        _check(archive, member.name, member.linkname)
                    elif member.islnk():
                        _check(archive, member.linkname)
                tf.extractall(tmp, filter="data")
        else:
            raise ValueError(f"{archive} is not a zip or tar archive (is the download an HTML page?)")
        tmp.rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _check(archive: Path, name: str, link: str | None = None) -> None:
    """Refuse ``name`` (or the symlink ``name -> link``) if it resolves outside the extraction folder."""
    member = PurePosixPath(name.replace("\\", "/"))
    path = member if link is None else member.parent / link.replace("\\", "/")
    depth = 0
    for part in path.parts:
        if part == "..":
            depth -= 1
        elif part not in (".", ""):
            depth += 1
        if depth < 0:
            break
    windows_drive = bool(path.parts) and ":" in path.parts[0]
    if path.is_absolute() or windows_drive or depth < 0:
        what = f"link {name!r} -> {link!r}" if link is not None else f"member {name!r}"
        raise UnsafeArchiveError(f"Refusing to extract {archive}: {what} points outside the extraction folder")
