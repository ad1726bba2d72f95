"""Safe extraction of zip and tar archives: into a temporary folder renamed into place when complete.

Refused before anything is written: members escaping the target, archives that would expand more than
``max_ratio`` times their size (zip bombs). Refused after reading: damaged or truncated archives (a tar must end
with its end-of-archive block, every zip member must match its CRC).
"""

from __future__ import annotations

import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from facezoo.errors import ArchiveError, UnsafeArchiveError

__all__ = ["ArchiveError", "UnsafeArchiveError", "extract_archive", "is_archive", "MAX_RATIO"]

_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
#: Largest accepted ratio of extracted bytes to archive bytes (JPEG datasets expand about 1x, text about 10x).
MAX_RATIO = 100
_MIN_ALLOWANCE = 1 << 20  # archives of any ratio may expand to 1 MiB


def is_archive(path: str | Path) -> bool:
    """Whether ``path`` is named like a zip or tar archive."""
    return str(path).lower().endswith(_SUFFIXES)


def extract_archive(archive: Path, target: Path, *, max_ratio: float = MAX_RATIO) -> Path:
    """Extract ``archive`` into the new folder ``target``.

    Members are extracted into a temporary folder beside ``target``, renamed to ``target`` once all are out.
    Members with absolute paths or ``..``, links pointing outside the archive, and archives whose members add up
    to more than ``max_ratio`` times the archive's size are refused before anything is written.

    Args:
        archive: A ``.zip`` or ``.tar[.gz|.bz2|.xz]`` / ``.tgz`` file.
        target: Folder to create; must not exist.
        max_ratio: Largest accepted ratio of extracted to archive bytes.

    Returns:
        ``target``.

    Raises:
        UnsafeArchiveError: A member escapes ``target``, or the archive expands more than ``max_ratio`` times.
        ArchiveError: The file is not an archive, or is damaged or truncated.
        FileExistsError: ``target`` exists.
    """
    if target.exists():
        raise FileExistsError(f"{target} exists; remove it first")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".extracting", dir=target.parent))
    limit = max(max_ratio * archive.stat().st_size, _MIN_ALLOWANCE)
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                infos = zf.infolist()
                for info in infos:
                    _check(archive, info.filename)
                    if stat.S_ISLNK(info.external_attr >> 16):
                        _check(archive, info.filename, zf.read(info).decode())
                _check_size(archive, sum(info.file_size for info in infos), limit, max_ratio)
                zf.extractall(tmp)
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                members = tf.getmembers()
                for member in members:
                    _check(archive, member.name)
                    if member.issym():
                        _check(archive, member.name, member.linkname)
                    elif member.islnk():
                        _check(archive, member.linkname)
                _check_size(archive, sum(m.size for m in members if m.isfile()), limit, max_ratio)
                _check_end_of_archive(archive, tf, len(members))
                tf.extractall(tmp, filter="data")
        else:
            raise ArchiveError(f"{archive} is not a zip or tar archive (is the download an HTML page?)")
        tmp.rename(target)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ArchiveError(f"{archive} is damaged or truncated ({error}); download it again") from error
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _check_size(archive: Path, total: int, limit: float, max_ratio: float) -> None:
    if total > limit:
        raise UnsafeArchiveError(
            f"Refusing to extract {archive}: its members add up to {total:,} bytes, more than {max_ratio:g} times "
            f"its {archive.stat().st_size:,} bytes (a zip bomb, or not the dataset's archive)"
        )


def _check_end_of_archive(archive: Path, tf: tarfile.TarFile, members: int) -> None:
    """A tar cut at a member boundary reads as a shorter, valid archive: require its end-of-archive block."""
    assert tf.fileobj is not None
    tf.fileobj.seek(tf.offset)
    block = tf.fileobj.read(tarfile.BLOCKSIZE)
    if len(block) != tarfile.BLOCKSIZE or block.count(0) != tarfile.BLOCKSIZE:
        raise ArchiveError(
            f"{archive} is truncated: it stops after {members} members without the end-of-archive block; "
            "download it again"
        )


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
