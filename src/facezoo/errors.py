"""Every exception facezoo raises of its own, in one hierarchy under :class:`FacezooError`.

```text
FacezooError
├── HubError                          facezoo.hub: weights and saved models
│   ├── WeightsNotFoundError          (also LookupError)
│   ├── NotCachedError                (also FileNotFoundError)
│   ├── HubUnreachableError           (also ConnectionError)
│   ├── TokenError                    (also PermissionError)
│   ├── IncompatibleConfigError       (also ValueError)
│   ├── InvalidWeightsError           (also ValueError)
│   └── ChecksumError ─────────┐      (also ValueError)
└── DatasetError               │      facezoo.datasets
    ├── DatasetNotFoundError   │      (also FileNotFoundError)
    ├── DownloadError          │      (also RuntimeError)
    │   ├── ChecksumError ─────┘      one class, under both branches
    │   └── ManualDownloadRequired
    └── ArchiveError                  (also ValueError)
        └── UnsafeArchiveError
```

Each class also derives from the builtin exception that code written before this module caught (the one in
brackets), so ``except FileNotFoundError`` still catches :class:`DatasetNotFoundError`. :class:`ChecksumError` is
one class for weights and dataset files alike (a file's bytes differ from the published size or sha256), so
``except facezoo.hub.ChecksumError`` and ``except facezoo.datasets.ChecksumError`` catch the same thing, and both
``except HubError`` and ``except DownloadError`` still catch it where they did. Errors of arguments (an unknown
model, dataset or option) are plain ``ValueError`` exceptions.

The classes are also importable where they were first defined (:mod:`facezoo.hub`, :mod:`facezoo.pretrained`,
:mod:`facezoo.datasets`, ``facezoo.datasets.downloader``, ``facezoo.datasets.core``, ``facezoo.datasets.extract``):
the same class objects. This module imports nothing.
"""

from __future__ import annotations

__all__ = [
    "FacezooError",
    "HubError",
    "WeightsNotFoundError",
    "NotCachedError",
    "HubUnreachableError",
    "TokenError",
    "IncompatibleConfigError",
    "InvalidWeightsError",
    "ChecksumError",
    "DatasetError",
    "DatasetNotFoundError",
    "DownloadError",
    "ManualDownloadRequired",
    "ArchiveError",
    "UnsafeArchiveError",
]


class FacezooError(Exception):
    """The base of every exception facezoo raises of its own: ``except facezoo.errors.FacezooError`` catches them
    all."""


# --------------------------------------------------------------------------------------------------------------
# The Hub: weights and saved models


class HubError(FacezooError):
    """Base class of the errors raised by :mod:`facezoo.hub` (fetching, checking and publishing weights)."""


class WeightsNotFoundError(HubError, LookupError):
    """The repository, the revision or a file in it does not exist (or is private and no token was given)."""


class NotCachedError(HubError, FileNotFoundError):
    """Downloads are off (``HF_HUB_OFFLINE=1``, ``local_files_only=True``) or the Hub is unreachable, and the
    files are not in the cache."""


class HubUnreachableError(HubError, ConnectionError):
    """:func:`facezoo.hub.push_to_hub` could not connect to the Hub."""


class TokenError(HubError, PermissionError):
    """:func:`facezoo.hub.push_to_hub` has no Hub token, or the Hub rejected it."""


class IncompatibleConfigError(HubError, ValueError):
    """``facezoo.json`` is missing or invalid, names an unknown architecture or was written by a newer facezoo."""


class InvalidWeightsError(HubError, ValueError):
    """The weights file is not HDF5, is truncated, or does not fit the architecture."""


# --------------------------------------------------------------------------------------------------------------
# Datasets


class DatasetError(FacezooError):
    """Base class of the errors raised by :mod:`facezoo.datasets` (finding, downloading and extracting datasets;
    a malformed label file is a ``ValueError`` naming the file and the line)."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """The dataset's files are not under the given ``data_dir``; the message says how to get them."""


class DownloadError(DatasetError, RuntimeError):
    """A download failed for good (after every retry, or with an HTTP error that retrying cannot fix)."""


class ManualDownloadRequired(DownloadError):
    """The file must be downloaded by hand (login, Google Drive quota); the message says which and where to put it."""


class ArchiveError(DatasetError, ValueError):
    """An archive is damaged, truncated or not an archive; the message names it."""


class UnsafeArchiveError(ArchiveError):
    """An archive member would land outside the extraction folder, or the archive expands too much."""


# --------------------------------------------------------------------------------------------------------------
# Both


class ChecksumError(HubError, DownloadError, ValueError):
    """A file's size or sha256 differs from the published one: a weights file (the registry, ``facezoo.json`` or
    the Hub's LFS sha256), a saved folder's files (its ``facezoo.json``), or a dataset file (its
    ``<name>_checksums.tsv`` or the checksum recorded at its first download). A bad download is deleted; the message
    says what to do."""
