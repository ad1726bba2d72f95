"""The one download engine of every dataset: resumable, verified, retried; Google Drive aware.

Each dataset module has a ``<name>_checksums.tsv`` beside it (like tensorflow-datasets' ``checksums.tsv``): one row
per upstream file, ``filename  url  size  sha256``, tab separated, ``#`` comments. An empty ``url`` means the file
is behind a login and must be downloaded by hand. An empty ``size`` / ``sha256`` means the upstream checksum is not
known: it is recorded in ``<data_dir>/downloads/checksums.tsv`` (with a warning saying so) once the first download has
proved to be the dataset (extracted, with the dataset's files in it), and every later download and manual file is
verified against it. A first download that is not the dataset is deleted, never recorded.
"""

from __future__ import annotations

import hashlib
import html
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import urlencode, urljoin

import requests

from facezoo import _network
from facezoo.datasets.core import describe_markers, is_dataset_dir
from facezoo.datasets.extract import extract_archive, is_archive
from facezoo.errors import ArchiveError, ChecksumError, DownloadError, ManualDownloadRequired
from facezoo.specs import DatasetInfo

__all__ = [
    "ChecksumError",
    "DownloadError",
    "ManualDownloadRequired",
    "Resource",
    "download_file",
    "prepare",
    "read_checksums",
]

logger = logging.getLogger("facezoo.datasets")

_CHUNK = 1 << 16
_HOPS = 3  # Drive confirmation pages followed at most
_FORM = re.compile(r"<form[^>]*\baction=\"([^\"]+)\"[^>]*>(.*?)</form>", re.S | re.I)
_HIDDEN = re.compile(r"<input[^>]*\btype=\"hidden\"[^>]*\bname=\"([^\"]+)\"[^>]*\bvalue=\"([^\"]*)\"", re.I)
_CONFIRM_HREF = re.compile(r"href=\"([^\"]*[?&](?:amp;)?confirm=[^\"]+)\"", re.I)


class _Retry(Exception):
    """A transient failure: cut connection, short body, HTTP 429 / 5xx."""


@dataclass(frozen=True)
class Resource:
    """One upstream file of a dataset.

    Attributes:
        filename: File name, also the name looked for in ``manual_dir``.
        url: Download URL; empty when only a manual download is possible.
        size: Size in bytes, ``None`` if not known.
        sha256: Hex sha256, ``None`` if not known.
    """

    filename: str
    url: str
    size: int | None
    sha256: str | None


def read_checksums(dataset: DatasetInfo | ModuleType) -> list[Resource]:
    """The resources listed in a dataset's ``<name>_checksums.tsv`` (:attr:`DatasetInfo.checksums_file`); a
    dataset module stands for its ``INFO``. A union of datasets has none of its own: ``[]``."""
    info = dataset.INFO if isinstance(dataset, ModuleType) else dataset
    path = info.checksums_file
    if path is None:
        return []
    rows = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            filename, url, size, sha256 = (line.split("\t") + ["", "", ""])[:4]
            rows.append(Resource(filename, url, int(size) if size else None, sha256 or None))
    return rows


def download_file(
    url: str,
    dest: Path,
    *,
    size: int | None = None,
    sha256: str | None = None,
    retries: int = 5,
    backoff: float = 1.0,
    timeout: float = 60.0,
    manual_hint: str = "",
) -> str:
    """Download ``url`` to ``dest`` through ``dest.part``, renamed only once complete and verified.

    A partial ``.part`` from an earlier attempt is resumed with an HTTP ``Range`` request. Cut connections, short
    bodies, timeouts, HTTP 429 and 5xx are retried with exponential backoff. An HTML page where a file is expected
    is taken for Google Drive: its large-file confirmation is followed; a quota or login page raises
    :class:`ManualDownloadRequired`.

    Args:
        url: URL of the file.
        dest: Final path.
        size: Expected size in bytes, if known.
        sha256: Expected hex sha256, if known.
        retries: Retries after the first attempt.
        backoff: First retry delay in seconds, doubled at each retry.
        timeout: Seconds to wait for the server to connect or send data.
        manual_hint: Appended to :class:`ManualDownloadRequired` messages (how to download by hand).

    Returns:
        The sha256 of the downloaded file.

    Raises:
        ChecksumError: Size or sha256 mismatch (nothing is left behind).
        ManualDownloadRequired: The server answered a quota or login page.
        DownloadError: Every attempt failed, or the server answered an HTTP error that is not transient.
    """
    problem = _network.unreachable(url)  # a few seconds, not the retries below, when the server is out of reach
    if problem:
        raise DownloadError(
            f"Cannot download {dest.name}: {url} could not be reached ({problem}). Check the network, set "
            f"{_network.RETRIES_ENV}=N to retry N times, or download it by hand. {manual_hint}".rstrip()
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    with requests.Session() as session:
        for attempt in range(retries + 1):
            try:
                url = _fetch(session, url, part, size, timeout, manual_hint)
                break
            except (_Retry, requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as e:
                if attempt == retries:
                    raise DownloadError(
                        f"Downloading {dest.name} from {url} failed {retries + 1} times ({e}); run the same call again "
                        f"to resume from {part}."
                    ) from e
                delay = backoff * 2**attempt
                logger.warning("Downloading %s: %s; retrying in %.1f s", dest.name, e, delay)
                time.sleep(delay)
    digest = verify_file(part, size, sha256, name=dest.name)
    part.replace(dest)
    return digest


def verify_file(path: Path, size: int | None, sha256: str | None, *, name: str, delete: bool = True) -> str:
    """Check ``path``'s size and sha256; on a mismatch delete it (if ``delete``) and raise :class:`ChecksumError`.

    Returns:
        The file's sha256.
    """
    actual_size = path.stat().st_size
    digest = hashlib.sha256()
    if size is None or actual_size == size:
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                digest.update(chunk)
    problem = None
    if size is not None and actual_size != size:
        problem = f"size {actual_size} bytes, expected {size}"
    elif sha256 is not None and digest.hexdigest() != sha256.lower():
        problem = f"sha256 {digest.hexdigest()}, expected {sha256}"
    if problem:
        if delete:
            path.unlink()
        raise ChecksumError(
            f"{name} is corrupt or not the expected file: {problem}. "
            + ("It was deleted; download it again." if delete else f"Replace {path} with a good copy.")
        )
    return digest.hexdigest()


def _fetch(session: requests.Session, url: str, part: Path, size: int | None, timeout: float, hint: str) -> str:
    """Append the rest of ``url`` to ``part``; return the URL that served the file (after Drive confirmations)."""
    from tqdm.auto import tqdm

    for _ in range(_HOPS + 1):
        offset = part.stat().st_size if part.exists() else 0
        if size is not None and offset >= size:
            if offset == size:
                return url
            part.unlink()
            offset = 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        with session.get(url, headers=headers, stream=True, timeout=timeout) as r:
            if r.status_code == 416:  # the .part is not a prefix of this file: start over
                part.unlink()
                raise _Retry("server refused the resume range")
            if r.status_code == 429 or r.status_code >= 500:
                raise _Retry(f"HTTP {r.status_code}")
            if r.status_code >= 400:
                raise DownloadError(f"Downloading {part.name[:-5]} from {url} failed: HTTP {r.status_code} {r.reason}")
            if "text/html" in r.headers.get("Content-Type", ""):
                url = _drive_confirmation(r, part.name[:-5], hint)
                continue
            if r.status_code != 206:
                offset = 0
            length = r.headers.get("Content-Length")
            total = offset + int(length) if length is not None else size
            with (
                open(part, "ab" if offset else "wb") as f,
                tqdm(total=total, initial=offset, unit="B", unit_scale=True, desc=part.name[:-5], disable=None) as bar,
            ):
                for chunk in r.iter_content(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            received = part.stat().st_size
            if total is not None and received < total:
                raise _Retry(f"connection closed after {received} of {total} bytes")
            return url
    raise DownloadError(f"Downloading {part.name[:-5]}: more than {_HOPS} confirmation pages from {url}")


def _drive_confirmation(response: requests.Response, filename: str, hint: str) -> str:
    """The URL behind a Google Drive "can't scan for viruses" page, or raise on a quota / login page."""
    text = response.text
    for action, body in _FORM.findall(text):
        fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(body)}
        if "confirm" in fields:
            return f"{urljoin(response.url, html.unescape(action))}?{urlencode(fields)}"
    if match := _CONFIRM_HREF.search(text):
        return urljoin(response.url, html.unescape(match.group(1)))
    lowered = text.lower()
    if "quota" in lowered or "too many users" in lowered:
        reason = "its download quota is exceeded"
    elif "sign in" in lowered or "accounts.google.com" in lowered:
        reason = "it asks to sign in"
    else:
        reason = "it answered an HTML page instead of the file"
    raise ManualDownloadRequired(f"{response.url} cannot be downloaded now: {reason}. {hint}".strip())


# --------------------------------------------------------------------------------------------------------------
# Preparing a dataset folder
#
# Every temporary folder in ``data_dir`` is named ``.facezoo-<kind>.<pid>.…``: a run removes those of processes that
# no longer exist (a killed extraction), and never those of a run still going on.

_TEMP_PREFIX = ".facezoo-"


def prepare(info: DatasetInfo, data_dir: Path, manual_dir: str | os.PathLike | None, *, force: bool) -> Path:
    """Fill ``data_dir/<info.folder>`` from the downloads or ``manual_dir``; see ``facezoo.datasets.download``."""
    name = info.name
    target = data_dir / info.folder
    if target.exists() and not target.is_dir():
        raise DownloadError(f"{target} is a file, where the {name} folder goes; move it away and run again.")
    if not force and is_dataset_dir(info.markers, target):
        return target
    resources = read_checksums(info)
    hint = _manual_hint(name, info, data_dir, resources)
    data_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale(data_dir, info.folder)
    staging = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}staging.{os.getpid()}.{info.folder}.", dir=data_dir))
    unproven: list[tuple[str, Path, str]] = []  # downloads without a known sha256: recorded once they proved right
    try:
        _fill(name, info, data_dir, manual_dir, resources, hint, staging, unproven)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for key, path, digest in unproven:
        _record(data_dir, key, path.stat().st_size, digest)
        logger.warning(
            "The sha256 of %s is not known upstream: recorded %s (%d bytes) in %s now that it proved to be the "
            "dataset; later downloads are verified against it.",
            path.name,
            digest,
            path.stat().st_size,
            _recorded_path(data_dir),
        )
    _install(staging, target)
    return target


def _fill(
    name: str,
    info: DatasetInfo,
    data_dir: Path,
    manual_dir: str | os.PathLike | None,
    resources: list[Resource],
    hint: str,
    staging: Path,
    unproven: list[tuple[str, Path, str]],
) -> None:
    """Download (or take from ``manual_dir``) and extract every resource into ``staging``, and check the result."""
    try:
        if manual_dir is not None:
            _from_manual(name, info, data_dir, Path(manual_dir), resources, hint, staging)
        else:
            for res in resources:
                path, digest = _download(name, data_dir, res, hint)
                if digest is not None:
                    unproven.append((f"{name}/{res.filename}", path, digest))
                _place(info, path, staging, data_dir)
        if not is_dataset_dir(info.markers, staging):
            raise DownloadError(
                f"{name}: the files do not hold {describe_markers(info.markers)}; are they the right ones?"
            )
    except (DownloadError, ArchiveError) as error:
        if not unproven or isinstance(error, ChecksumError):
            raise
        for _, path, _ in unproven:
            path.unlink(missing_ok=True)
        files = ", ".join(str(path) for _, path, _ in unproven)
        raise DownloadError(
            f"{error} The download ({files}) was not the dataset and was deleted; run again to retry."
        ) from error


def _install(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target`` with the umask's folder mode; an old ``target`` is moved aside first."""
    os.chmod(staging, 0o777 & ~_umask())
    old = target.with_name(f"{_TEMP_PREFIX}old.{os.getpid()}.{target.name}") if target.exists() else None
    try:
        if old is not None:
            target.rename(old)
        staging.rename(target)
    except BaseException:
        if old is not None and not target.exists():
            old.rename(target)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _remove_stale(data_dir: Path, folder: str) -> None:
    """Remove the temporary folders that killed runs left in ``data_dir`` (also the names earlier versions used:
    ``.extract.*``, ``.<folder>.*.staging`` and ``.<folder>.old``)."""
    for entry in data_dir.iterdir():
        if entry.name.startswith(_TEMP_PREFIX):
            fields = entry.name[len(_TEMP_PREFIX) :].split(".")
            if len(fields) > 1 and fields[1].isdigit() and _alive(int(fields[1])):
                continue
        elif not entry.is_dir() or not (
            entry.name.startswith(".extract.")
            or entry.name == f".{folder}.old"
            or (entry.name.startswith(f".{folder}.") and entry.name.endswith(".staging"))
        ):
            continue
        logger.info("Removing %s, left by an interrupted run", entry)
        shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _manual_hint(name: str, info: DatasetInfo, data_dir: Path, resources: list[Resource]) -> str:
    files = ", ".join(r.filename for r in resources)
    return (
        f"Download {files} by hand (see facezoo.datasets.{name}), put it in a folder DIR, then call "
        f"facezoo.datasets.download({name!r}, {str(data_dir)!r}, manual_dir=DIR) or run "
        f"`facezoo download {name} --data-dir {data_dir} --manual-dir DIR`; DIR may also be the archive itself, or "
        f"hold the extracted {info.folder}/."
    )


def _from_manual(
    name: str, info: DatasetInfo, data_dir: Path, manual_dir: Path, resources: list[Resource], hint: str, staging: Path
) -> None:
    """Fill ``staging`` from the archive(s) in (or at) ``manual_dir``, else from an extracted folder there."""
    if not manual_dir.exists():
        raise ManualDownloadRequired(f"{name}: {manual_dir} does not exist. {hint}")
    base = manual_dir.parent if manual_dir.is_file() else manual_dir
    found = {}
    for res in resources:
        path = base / res.filename
        if manual_dir.is_file() and (manual_dir.name == res.filename or len(resources) == 1):
            path = manual_dir
        if path.is_file():
            found[res.filename] = path
    if len(found) == len(resources):
        for res in resources:
            size, sha256 = _expected(name, data_dir, res)
            verify_file(found[res.filename], size, sha256, name=res.filename, delete=False)
            _place(info, found[res.filename], staging, data_dir)
        return
    folder = None if manual_dir.is_file() else _extracted_folder(info, manual_dir)
    if folder is None:
        missing = ", ".join(res.filename for res in resources if res.filename not in found)
        raise ManualDownloadRequired(f"{name}: {missing} is not in {base}, nor an extracted {info.folder}/. {hint}")
    _copy_own(info, folder, staging)


def _extracted_folder(info: DatasetInfo, manual_dir: Path) -> Path | None:
    for candidate in (manual_dir / info.folder, manual_dir):
        if is_dataset_dir(info.markers, candidate):
            return candidate
    return None


def _copy_own(info: DatasetInfo, folder: Path, staging: Path) -> None:
    """Copy the dataset's own entries of ``folder`` (``info.contents`` globs) into ``staging``."""
    for pattern in info.contents:
        for entry in sorted(folder.glob(pattern)):
            _copy_tree(entry, staging / entry.name)


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy a file, or a folder following its symlinks; a symlink loop is an error naming it."""
    if not source.is_dir():
        try:
            shutil.copy2(source, dest)
        except OSError as error:
            raise DownloadError(f"Cannot copy {source}: {error.strerror or error}") from None
        return
    seen: set[tuple[int, int]] = set()
    for current, dirs, files in os.walk(source, followlinks=True):
        info = os.stat(current)
        if (info.st_dev, info.st_ino) in seen:
            loop = os.path.realpath(current)
            raise DownloadError(f"{current} leads back to {loop} (a symlink loop); remove the link.")
        seen.add((info.st_dev, info.st_ino))
        out = dest / os.path.relpath(current, source)
        out.mkdir(parents=True, exist_ok=True)
        for file in files:
            _copy_tree(Path(current) / file, out / file)


def _download(name: str, data_dir: Path, res: Resource, hint: str) -> tuple[Path, str | None]:
    """The verified download of ``res``, and its sha256 when it has yet to be recorded."""
    if not res.url:
        raise ManualDownloadRequired(
            f"{name}: {res.filename} is behind a login and cannot be downloaded for you. {hint}"
        )
    dest = data_dir / "downloads" / name / res.filename
    size, sha256 = _expected(name, data_dir, res)
    if dest.is_file():
        try:
            digest = verify_file(dest, size, sha256, name=res.filename)
            return dest, None if sha256 is not None else digest
        except ChecksumError:
            logger.warning("%s was corrupt and is downloaded again", dest)
    digest = download_file(res.url, dest, size=size, sha256=sha256, manual_hint=hint)
    return dest, None if sha256 is not None else digest


def _recorded_path(data_dir: Path) -> Path:
    return data_dir / "downloads" / "checksums.tsv"


def _recorded(data_dir: Path) -> dict[str, tuple[int, str]]:
    path = _recorded_path(data_dir)
    if not path.is_file():
        return {}
    rows = (line.split("\t") for line in path.read_text().splitlines() if line and not line.startswith("#"))
    return {key: (int(size), sha256) for key, size, sha256 in rows}


def _record(data_dir: Path, key: str, size: int, sha256: str) -> None:
    rows = _recorded(data_dir) | {key: (size, sha256)}
    path = _recorded_path(data_dir)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(
        "# checksums recorded at first download\n" + "".join(f"{k}\t{s}\t{h}\n" for k, (s, h) in rows.items())
    )
    tmp.replace(path)


def _expected(name: str, data_dir: Path, res: Resource) -> tuple[int | None, str | None]:
    if res.sha256 is not None:
        return res.size, res.sha256
    return _recorded(data_dir).get(f"{name}/{res.filename}", (res.size, None))


def _place(info: DatasetInfo, path: Path, staging: Path, data_dir: Path) -> None:
    """Extract an archive (or copy a plain file) into the dataset's staging folder."""
    if not is_archive(path):
        shutil.copy2(path, staging / _plain_name(info, path))
        return
    scratch = Path(tempfile.mkdtemp(prefix=f"{_TEMP_PREFIX}extract.{os.getpid()}.", dir=data_dir))
    try:
        out = extract_archive(path, scratch / "out")
        entries = [e for e in out.iterdir() if e.name != "__MACOSX"]
        top = out
        if len(entries) == 1 and entries[0].is_dir():
            inner = entries[0]
            if inner.name == info.folder or (
                not is_dataset_dir(info.markers, out) and is_dataset_dir(info.markers, inner)
            ):
                top = inner
        for entry in top.iterdir():
            if entry.name != "__MACOSX":
                shutil.move(str(entry), str(staging / entry.name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _plain_name(info: DatasetInfo, path: Path) -> str:
    """A plain resource keeps its upstream name, even when given under another (``--manual-dir`` a file)."""
    names = [res.filename for res in read_checksums(info)]
    return path.name if path.name in names or len(names) != 1 else names[0]
