"""Fetch, verify and load pretrained weights files: the layer below the registry (timm's ``_pretrained``).

Downloads go through ``huggingface_hub`` (``hf_hub_download``), so its cache, ``HF_HOME``, ``HF_HUB_OFFLINE``,
``HF_ENDPOINT`` and revisions all apply. Every file is checked by sha256 against what was published (the registry's
:class:`~facezoo.WeightsInfo`, ``facezoo.json``) and against the Hub's own LFS sha256 (or git blob id) of the
cached file; a corrupt cached file is deleted and downloaded once more. Weights embedded in an installed package
(``WeightsInfo.embedded``) load with no network at all.

The error classes live in :mod:`facezoo.errors`; this module and :mod:`facezoo.hub` re-export them (the same class
objects). Importing this module does not import TensorFlow.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facezoo import _network
from facezoo._version import __version__
from facezoo.errors import (
    ChecksumError,
    HubError,
    HubUnreachableError,
    IncompatibleConfigError,
    InvalidWeightsError,
    NotCachedError,
    TokenError,
    WeightsNotFoundError,
)
from facezoo.specs import WeightsInfo

if TYPE_CHECKING:
    from importlib.abc import Traversable

    import keras

__all__ = [
    "WEIGHTS_NAME",
    "RETRIES_ENV",
    "HubError",
    "WeightsNotFoundError",
    "NotCachedError",
    "HubUnreachableError",
    "TokenError",
    "ChecksumError",
    "IncompatibleConfigError",
    "InvalidWeightsError",
    "hub_endpoint",
    "check_reachable",
    "download",
    "fetch",
    "mismatch",
    "sha256_of",
    "embedded_resource",
    "load_weights_file",
    "load_registered_weights",
]

WEIGHTS_NAME = "model.weights.h5"
RETRIES_ENV = "FACEZOO_HUB_RETRIES"
"""Environment variable: how many times to retry connecting to an unreachable Hub (default 1, about 5 s in all)."""

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def load_registered_weights(
    model: keras.Model,
    weights: WeightsInfo,
    *,
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
    endpoint: str | None = None,
) -> keras.Model:
    """Load registered weights into ``model`` (what ``pretrained=True`` does), checking their sha256 and size.

    Embedded weights (``weights.embedded``) load from the installed package with no network; otherwise (or with
    ``force_download=True`` for uploaded weights) the file is fetched from the Hub at the commit the registry
    records, through the Hub cache, and checked on a cache hit too.

    Raises:
        ChecksumError: The file's sha256 or size differs from the registry's even after downloading it again, or
            the embedded copy is damaged.
        NotCachedError, WeightsNotFoundError, InvalidWeightsError: See :func:`facezoo.hub.from_pretrained`.
    """
    use_embedded = weights.embedded is not None and not (force_download and weights.uploaded)
    resource = embedded_resource(weights.embedded) if use_embedded else None  # type: ignore[arg-type]
    label = f"{weights.repo_id}@{weights.commit or weights.revision}"
    if resource is not None:
        with importlib.resources.as_file(resource) as path:
            problem = mismatch(path, [(weights.sha256, weights.file_size, "the facezoo registry")])
            if problem:
                raise ChecksumError(
                    f"The weights embedded in facezoo ({weights.embedded}) are damaged ({problem}); reinstall "
                    "facezoo (pip install --force-reinstall facezoo)."
                )
            return load_weights_file(model, path, source=label)
    if not weights.uploaded:
        raise WeightsNotFoundError(
            f"{label}: the weights embedded in facezoo ({weights.embedded}) are missing from this installation and "
            "are not on the Hub; reinstall facezoo (pip install --force-reinstall facezoo)."
        )
    fetched = fetch(
        weights.repo_id,
        weights.filename,
        revision=weights.commit,
        expected=[(weights.sha256, weights.file_size, "the facezoo registry")],
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        force_download=force_download,
        endpoint=endpoint,
    )
    assert fetched is not None  # fetch returns None only with missing_ok
    return load_weights_file(model, fetched, source=label)


def hub_endpoint(endpoint: str | None) -> str:
    from huggingface_hub import constants

    return (endpoint or constants.ENDPOINT).rstrip("/")


def check_reachable(endpoint: str, *, doing: str) -> None:
    """Raise :class:`HubUnreachableError` if no TCP connection to ``endpoint`` opens within a few seconds
    (``FACEZOO_HUB_RETRIES`` more attempts after the first, default 1), instead of ``huggingface_hub``'s retries
    of over 20 s. Skipped when a proxy handles the endpoint: the proxy decides then."""
    problem = _network.unreachable(endpoint, retries_env=RETRIES_ENV)
    if problem:
        raise HubUnreachableError(
            f"Cannot {doing}: {endpoint} could not be reached ({problem}). Check the network and HF_ENDPOINT; set "
            f"{RETRIES_ENV}=N to retry N times, or HF_HUB_OFFLINE=1 to use cached files only."
        )


def download(
    repo_id: str,
    filename: str,
    *,
    revision: str | None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
    missing_ok: bool = False,
) -> Path | None:
    """``hf_hub_download`` with its failures turned into :class:`HubError` messages that say what to do;
    ``None`` for a file the revision does not have when ``missing_ok``."""
    from huggingface_hub import constants, hf_hub_download, try_to_load_from_cache
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = hub_endpoint(endpoint)
    rev = revision or "main"
    offline = local_files_only or constants.HF_HUB_OFFLINE
    cached = try_to_load_from_cache(repo_id, filename, cache_dir, rev)  # type: ignore[arg-type]
    if not offline and (force_download or not isinstance(cached, str)):
        try:
            check_reachable(where, doing=f"download {filename} of {repo_id}@{rev}")
        except HubUnreachableError as error:
            raise NotCachedError(f"{error} It is not in the Hub cache.") from error
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=os.fspath(cache_dir) if cache_dir is not None else None,
                local_files_only=local_files_only,
                force_download=force_download,
                token=token,
                endpoint=endpoint,
                library_name="facezoo",
                library_version=__version__,
            )
        )
    except RevisionNotFoundError as error:
        raise WeightsNotFoundError(
            f"Revision {rev!r} of {repo_id} does not exist on {where}. Use a branch, tag or commit sha of the "
            f"repository (huggingface_hub.list_repo_refs({repo_id!r}) lists them)."
        ) from error
    except RepositoryNotFoundError as error:
        raise WeightsNotFoundError(
            f"Repository {repo_id!r} was not found on {where}. Check the name; if it is private or gated, pass "
            "token=... or log in with `hf auth login`."
        ) from error
    except RemoteEntryNotFoundError as error:
        if missing_ok:
            return None
        raise WeightsNotFoundError(
            f"{repo_id}@{rev} has no {filename}; it was not published with facezoo.hub.push_to_hub."
        ) from error
    except LocalEntryNotFoundError as error:
        cache = cache_dir or constants.HF_HUB_CACHE
        why = "downloads are off (HF_HUB_OFFLINE=1 or local_files_only=True)" if offline else f"{where} failed"
        raise NotCachedError(
            f"{filename} of {repo_id}@{rev} is not in the Hub cache ({cache}) and {why}. Pre-download it while "
            f"online with `hf download {repo_id} --revision {rev}` or "
            f"huggingface_hub.snapshot_download({repo_id!r}, revision={rev!r}), or pass from_pretrained the "
            "local folder of a save_pretrained copy."
        ) from error


def fetch(
    repo_id: str,
    filename: str,
    *,
    revision: str | None,
    expected: Iterable[tuple[str, int | None, str]] = (),
    missing_ok: bool = False,
    **kwargs: Any,
) -> Path | None:
    """:func:`download`, then check the file against the Hub's LFS sha256 (or git blob id) of the cached blob and
    every ``(sha256, size, source)`` in ``expected``. A mismatch deletes the cached copy and downloads it once more;
    a fresh download that still does not match raises :class:`ChecksumError`."""
    from huggingface_hub import constants

    path = download(repo_id, filename, revision=revision, missing_ok=missing_ok, **kwargs)
    if path is None:
        return None
    problem = mismatch(path, expected, hub_blob=True)
    if problem is None:
        return path
    rev = revision or "main"

    def server_differs(problem: str) -> ChecksumError:
        return ChecksumError(
            f"The server's copy of {filename} in {repo_id} at revision {rev} differs from the published checksum "
            f"({problem}); do not use it, and tell the repository's owner."
        )

    if kwargs.get("force_download"):
        raise server_differs(problem)
    _evict(path)
    if kwargs.get("local_files_only") or constants.HF_HUB_OFFLINE:
        raise ChecksumError(
            f"The cached copy of {filename} of {repo_id}@{rev} was corrupt ({problem}) and has been deleted; run "
            "again with downloads allowed (without HF_HUB_OFFLINE=1 / local_files_only) to fetch it again."
        )
    path = download(repo_id, filename, revision=revision, **{**kwargs, "force_download": True})
    assert path is not None
    problem = mismatch(path, expected, hub_blob=True)
    if problem is not None:
        raise server_differs(problem)
    return path


def _evict(path: Path) -> None:
    """Delete a cached file: its blob and the snapshot link to it."""
    blob = Path(os.path.realpath(path))
    for file in {blob, Path(path)}:
        try:
            file.unlink()
        except FileNotFoundError:
            pass


def mismatch(path: Path, expected: Iterable[tuple[str, int | None, str]], *, hub_blob: bool = False) -> str | None:
    """Why ``path`` does not match its published checksums, or ``None``. With ``hub_blob``, a Hub cache blob is
    also checked against its own name: the LFS sha256, or the git blob sha1 of a regular file."""
    found = sha256_of(path)
    size = os.path.getsize(path)
    blob = Path(os.path.realpath(path))
    if hub_blob and blob.parent.name == "blobs" and re.fullmatch(r"[0-9a-f]{64}|[0-9a-f]{40}", blob.name):
        etag = blob.name
        actual = found if len(etag) == 64 else _git_blob_sha1(path)
        if actual != etag:
            kind = "LFS sha256" if len(etag) == 64 else "git blob id"
            return f"the Hub records {kind} {etag}, the file has {actual}"
    for sha256, expected_size, source in expected:
        if found != sha256.lower():
            return f"{source} records sha256 {sha256}, the file has {found}"
        if expected_size and size != expected_size:
            return f"{source} records {expected_size} bytes, the file has {size}"
    return None


def embedded_resource(resource: str) -> Traversable | None:
    """The packaged file ``"<package>/<path>"``, or ``None`` if this installation does not have it."""
    package, _, relative = resource.partition("/")
    try:
        path = importlib.resources.files(package).joinpath(relative)
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _git_blob_sha1(path: Path) -> str:
    digest = hashlib.sha1(b"blob %d\0" % os.path.getsize(path))
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_weights_file(model: keras.Model, path: Path, *, source: str) -> keras.Model:
    """Load a Keras 3 ``.weights.h5`` file after checking that it is HDF5 and holds exactly the model's arrays
    (Keras alone silently loads a file that covers only part of the model)."""
    import h5py

    with open(path, "rb") as file:
        head = file.read(len(_HDF5_SIGNATURE))
    if head != _HDF5_SIGNATURE:
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} ({os.path.realpath(path)}) is not an HDF5 file (it starts with {head!r}); "
            "it is not a Keras weights file, or the download was replaced by an error page."
        )
    shapes: list[tuple[int, ...]] = []
    try:
        with h5py.File(path, "r") as file:
            file.visititems(lambda _, obj: shapes.append(tuple(obj.shape)) if isinstance(obj, h5py.Dataset) else None)
    except (OSError, RuntimeError, KeyError, ValueError) as error:  # h5py: damaged metadata gives any of these
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} ({os.path.realpath(path)}) is a damaged or truncated HDF5 file ({error}). "
            "Download it again (force_download=True) or re-save it."
        ) from error
    expected = sorted(tuple(weight.shape) for weight in model.weights)
    if sorted(shapes) != expected:
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} holds {len(shapes)} arrays that do not fit {model.name} as configured "
            f"({len(expected)} arrays); the file belongs to another architecture or config."
        )
    try:
        model.load_weights(str(path))
    except ValueError as error:
        raise InvalidWeightsError(f"{source}: {WEIGHTS_NAME} does not fit {model.name}: {error}") from error
    except (OSError, RuntimeError, KeyError) as error:  # a damaged array
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} ({os.path.realpath(path)}) is damaged ({error}). Download it again "
            "(force_download=True) or re-save it."
        ) from error
    return model
