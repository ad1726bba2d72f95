"""`FaceDataset`, the `tf.data` input pipeline, dataset roots and the split helpers every dataset module shares."""

from __future__ import annotations

import itertools
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from facezoo._deprecation import renamed_function
from facezoo.errors import DatasetNotFoundError
from facezoo.specs import Marker, OutputSpec

if TYPE_CHECKING:
    import tensorflow as tf

    from facezoo.datasets.augment import Augmentation

__all__ = [
    "FaceDataset",
    "DatasetNotFoundError",
    "default_data_dir",
    "default_root",
    "train_test_split_indices",
    "fraction_split",
]

logger = logging.getLogger("facezoo.datasets")

# Leading bytes of the image formats TensorFlow decodes.
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")


def default_data_dir() -> Path:
    """The default ``data_dir``: ``$FACEZOO_HOME/datasets`` if ``FACEZOO_HOME`` is set, else
    ``~/.cache/facezoo/datasets``."""
    home = os.environ.get("FACEZOO_HOME")
    return Path(home) / "datasets" if home else Path.home() / ".cache" / "facezoo" / "datasets"


#: Deprecated name of :func:`default_data_dir` (removed in facezoo 0.2.0).
default_root = renamed_function(default_data_dir, "default_root")


@dataclass
class FaceDataset:
    """Image paths, their targets per head, and the dataset's extra annotations, for one split.

    Attributes:
        name: Dataset name (``facezoo.datasets.list_datasets()``).
        split: Split name, e.g. ``"train"``.
        paths: Absolute image paths.
        targets: Head name -> array of length ``len(paths)`` (class indices, 0/1 or float scores).
        heads: One ``OutputSpec`` per target head, in ``targets`` order (labels give the class index meaning).
        annotations: Extra per-image columns (e.g. CelebA ``identity`` and all 40 attributes).
        info: Free-form facts about how the split was made (counts of skipped rows, inferred labels, ...).
    """

    name: str
    split: str
    paths: list[str]
    targets: dict[str, np.ndarray]
    heads: tuple[OutputSpec, ...]
    annotations: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.paths)
        for kind, columns in (("target", self.targets), ("annotation", self.annotations)):
            for key, values in columns.items():
                if len(values) != n:
                    raise ValueError(f"{self.name}: {kind} {key!r} has {len(values)} values for {n} images")

    def __len__(self) -> int:
        return len(self.paths)

    def __repr__(self) -> str:
        return f"FaceDataset(name={self.name!r}, split={self.split!r}, images={len(self)}, heads={list(self.targets)})"

    def subset(self, indices: Sequence[int] | np.ndarray) -> FaceDataset:
        """A new dataset holding the images at ``indices``, in that order."""
        idx = np.asarray(indices, dtype=np.int64)
        return replace(
            self,
            paths=[self.paths[i] for i in idx],
            targets={k: v[idx] for k, v in self.targets.items()},
            annotations={k: v[idx] for k, v in self.annotations.items()},
            info=dict(self.info),
        )

    def take(self, n: int) -> FaceDataset:
        """The first ``n`` images."""
        return self.subset(np.arange(min(n, len(self))))

    def as_tf_dataset(
        self,
        image_size: tuple[int, int],
        batch_size: int,
        *,
        shuffle: bool = False,
        augment: Augmentation | None = None,
        seed: int | None = None,
        cache: bool | str = False,
        drop_remainder: bool = False,
        on_error: str = "raise",
    ) -> tf.data.Dataset:
        """A batched ``tf.data`` pipeline of ``(images, targets)``.

        Images are decoded as an image viewer shows them (JPEG, PNG, GIF, BMP; grayscale, RGBA and CMYK become RGB,
        16-bit PNGs are scaled to 8 bits, EXIF orientation is applied) and resized in a parallel ``map``, then
        batched and prefetched. ``images`` is float32 ``(B, height, width, 3)`` in ``[0, 255]``; ``targets`` is a
        dict head -> ``(B,)`` tensor, or the one head's tensor when the dataset has a single head.

        Args:
            image_size: ``(height, width)`` every image is resized to (bilinear, aspect ratio not kept).
            batch_size: Images per batch.
            shuffle: Reshuffle the whole dataset every epoch.
            augment: Random training-time augmentation (:class:`facezoo.datasets.augment.Augmentation`).
            seed: Seed of shuffling and augmentation; ``None`` for a random one.
            cache: Cache decoded, resized images in memory (``True``) or in this file path (a ``str``).
            drop_remainder: Drop the last, smaller batch.
            on_error: What to do with a file that is not an image or is truncated (checked before the pipeline
                starts: a JPEG or PNG must end with its end marker within its last 1 KB) or fails to decode:
                ``"raise"`` a ``ValueError`` naming the file, or ``"skip"`` it, naming each skipped file once in the
                log (files that fail to decode later are dropped by the pipeline).

        Returns:
            The ``tf.data.Dataset``.

        Raises:
            ValueError: ``on_error="raise"`` and a file is missing or not an image, or ``on_error`` is unknown.
        """
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        import tensorflow as tf

        data = self.readable(on_error)
        height, width = int(image_size[0]), int(image_size[1])
        single = len(data.targets) == 1
        orient = _orientation_table(data.paths)

        def load(path: tf.Tensor, target: dict[str, tf.Tensor]) -> tuple[tf.Tensor, Any]:
            image = _decode(path)
            if orient is not None:
                image = _apply_orientation(image, orient.lookup(path))
            image = tf.image.resize(image, (height, width))
            image = tf.clip_by_value(image, 0.0, 255.0)
            image.set_shape((height, width, 3))
            return image, target

        ds = tf.data.Dataset.from_tensor_slices((data.paths, data.targets))
        if shuffle and not cache:
            ds = ds.shuffle(max(len(data), 1), seed=seed, reshuffle_each_iteration=True)
        ds = ds.map(load, num_parallel_calls=tf.data.AUTOTUNE)
        if on_error == "skip":
            ds = ds.ignore_errors(log_warning=True)
        if cache:
            ds = ds.cache(cache if isinstance(cache, str) else "")
            if shuffle:
                ds = ds.shuffle(max(len(data), 1), seed=seed, reshuffle_each_iteration=True)
        if augment is not None:
            from facezoo.datasets.augment import augment_fn

            seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(2)
            ds = tf.data.Dataset.zip((ds, seeds)).map(augment_fn(augment), num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if single:
            ds = ds.map(lambda images, target: (images, next(iter(target.values()))))
        return ds.prefetch(tf.data.AUTOTUNE)

    def readable(self, on_error: str = "raise") -> FaceDataset:
        """The dataset without the files that are missing, not an image or truncated (a JPEG or PNG must end with
        its end marker within its last 1 KB).

        Args:
            on_error: ``"raise"`` a ``ValueError`` naming the first such file, or ``"skip"`` them, logging each once.
        """
        if on_error not in ("raise", "skip"):
            raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
        with ThreadPoolExecutor(max_workers=8) as pool:
            ok = np.fromiter(pool.map(_looks_like_image, self.paths), dtype=bool, count=len(self.paths))
        if ok.all():
            return self
        bad = [p for p, good in zip(self.paths, ok) if not good]
        if on_error == "raise":
            more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
            raise ValueError(
                f"{self.name}/{self.split}: {bad[0]!r}{more} is missing or not an image; remove it, or pass "
                "on_error='skip' (CLI: --on-error skip) to skip such files."
            )
        for path in bad:
            logger.warning("%s/%s: skipped %s: missing, not an image or truncated", self.name, self.split, path)
        logger.warning("%s/%s: skipped %d of %d images", self.name, self.split, len(bad), len(self))
        return replace(self.subset(np.flatnonzero(ok)), info={**self.info, "skipped_unreadable": bad})

    def undecodable(self, *, first_only: bool = False) -> list[str]:
        """The files TensorFlow fails to decode, found by decoding every image as the pipeline does (slow on a large
        dataset: use it to find the file behind a decoding error).

        Args:
            first_only: Stop after the first chunk of 1,024 images that holds such a file.
        """
        import tensorflow as tf

        bad: list[str] = []
        for start in range(0, len(self), 1024):
            chunk = self.paths[start : start + 1024]
            ds = tf.data.Dataset.from_tensor_slices((np.arange(len(chunk)), chunk))
            ds = ds.map(lambda i, path: (i, tf.shape(_decode(path))), num_parallel_calls=tf.data.AUTOTUNE)
            decoded = {int(i) for i, _ in ds.ignore_errors().as_numpy_iterator()}
            bad += [path for i, path in enumerate(chunk) if i not in decoded]
            if bad and first_only:
                break
        return bad


@contextmanager
def naming_undecodable(*datasets: FaceDataset) -> Iterator[None]:
    """Turn TensorFlow's error on an image that fails to decode inside a pipeline, which names no file, into a
    one-line ``ValueError`` naming the file (found with :meth:`FaceDataset.undecodable`)."""
    import tensorflow as tf

    try:
        yield
    except tf.errors.InvalidArgumentError as error:
        if "Decode" not in str(error):
            raise
        for data in datasets:
            bad = data.undecodable(first_only=True)
            if bad:
                raise ValueError(
                    f"{data.name}/{data.split}: {bad[0]!r} is not an image TensorFlow can decode (damaged or another "
                    "format); remove it, or pass on_error='skip' (CLI: --on-error skip) to skip such files."
                ) from error
        raise


def _orientation_table(paths: Sequence[str]) -> tf.lookup.StaticHashTable | None:
    """Path -> EXIF orientation (2-8) of the images an image viewer turns or mirrors, or ``None`` if there are none
    (TensorFlow's decoders ignore the orientation; ``facezoo.predict`` applies it, and so must the pipeline)."""
    import tensorflow as tf

    with ThreadPoolExecutor(max_workers=8) as pool:
        turned = {path: o for path, o in zip(paths, pool.map(_exif_orientation, paths)) if o != 1}
    if not turned:
        return None
    keys, values = tf.constant(list(turned)), tf.constant(list(turned.values()), tf.int32)
    return tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(keys, values), default_value=1)


def _exif_orientation(path: str) -> int:
    """The EXIF orientation of a JPEG whose EXIF block opens the file (where cameras write it), else 1."""
    try:
        with open(path, "rb") as f:
            if b"Exif\x00\x00" not in f.read(64):
                return 1
        from PIL import Image

        with Image.open(path) as image:
            orientation = int(image.getexif().get(0x0112, 1))
    except (OSError, ValueError, SyntaxError):  # unreadable: the decoder says so, naming the file
        return 1
    return orientation if 1 <= orientation <= 8 else 1


def _apply_orientation(image: tf.Tensor, orientation: tf.Tensor) -> tf.Tensor:
    """``image`` turned and mirrored as EXIF ``orientation`` (1-8) says, as ``PIL.ImageOps.exif_transpose`` does."""
    import tensorflow as tf

    branches = [
        lambda: image,  # 1: as stored
        lambda: tf.image.flip_left_right(image),  # 2
        lambda: tf.image.rot90(image, 2),  # 3
        lambda: tf.image.flip_up_down(image),  # 4
        lambda: tf.image.transpose(image),  # 5
        lambda: tf.image.rot90(image, 3),  # 6: turned 90 degrees clockwise
        lambda: tf.image.rot90(tf.image.transpose(image), 2),  # 7
        lambda: tf.image.rot90(image, 1),  # 8: turned 90 degrees counter-clockwise
    ]
    return tf.switch_case(orientation - 1, branches)


def _decode(path: tf.Tensor) -> tf.Tensor:
    """The image at ``path`` as ``uint8`` RGB (JPEG, PNG, GIF's first frame, BMP)."""
    import tensorflow as tf

    return tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)


def _looks_like_image(path: str) -> bool:
    """Starts like an image and, for JPEG and PNG, ends like one (a truncated download fails to decode)."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            f.seek(max(os.fstat(f.fileno()).st_size - 1024, 0))
            tail = f.read()
    except OSError:
        return False
    if head.startswith(b"\xff\xd8\xff"):
        return b"\xff\xd9" in tail
    if head.startswith(b"\x89PNG"):
        return b"IEND" in tail
    return head.startswith(_MAGIC)


# --------------------------------------------------------------------------------------------------------------
# Label files: every error names the file, the line, what it found and what it expected


def read_lines(path: Path) -> list[str]:
    """The lines of a label file: UTF-8 (with or without the BOM Excel writes) or UTF-16 with its BOM.

    Raises:
        FileNotFoundError: ``path`` is missing.
        ValueError: the file is not text in these encodings (the message names the line and the byte).
    """
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise ValueError(
                f"{path} line {line}: byte {data[error.start : error.start + 1]!r} at offset {error.start} is not "
                "UTF-8; expected a UTF-8 or UTF-16 text file (save it again as UTF-8)"
            ) from None
    return text.splitlines()


def label_error(path: Path, line: int, found: str, expected: str) -> ValueError:
    """The one-line error of a malformed label row: ``<file> line <n>: <found>; expected <expected>``."""
    return ValueError(f"{path} line {line}: {found}; expected {expected}")


def parse_number(
    value: str,
    path: Path,
    line: int,
    what: str,
    *,
    kind: type = float,
    low: float | None = None,
    high: float | None = None,
) -> Any:
    """``value`` as a finite ``kind`` within ``[low, high]``, or a :func:`label_error` saying which is wrong."""
    expected = f"{what} as {'an integer' if kind is int else 'a finite number'}"
    if low is not None and high is not None:
        expected += f" in [{low:g}, {high:g}]"
    try:
        number = kind(value)
    except ValueError:
        raise label_error(path, line, f"{what} is {value!r}", expected) from None
    if not math.isfinite(number) or (low is not None and number < low) or (high is not None and number > high):
        raise label_error(path, line, f"{what} is {value!r}", expected)
    return number


def read_csv(path: Path, columns: Sequence[str]) -> list[tuple[int, dict[str, str]]]:
    """``(line number, row)`` of a CSV file holding at least ``columns`` (rows short or long are errors)."""
    import csv

    lines = read_lines(path)
    rows = list(csv.reader(lines))
    if not rows:
        raise label_error(path, 1, "the file is empty", f"a header with {', '.join(columns)}")
    header = [name.strip() for name in rows[0]]
    missing = [c for c in columns if c not in header]
    if missing:
        raise label_error(path, 1, f"the header is {','.join(header)!r}", f"the columns {', '.join(columns)}")
    out = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            found, expected = f"{len(row)} fields ({','.join(row)!r})", f"{len(header)}: {','.join(header)}"
            raise label_error(path, number, found, expected)
        out.append((number, dict(zip(header, row))))
    return out


#: The image count of a marker: every upstream copy of the zoo's datasets has thousands of images named alike, a
#: folder that merely holds a few files of such names (a Downloads folder, say) is not one.
MARKER_IMAGES = 10


def is_dataset_dir(markers: Sequence[Marker], folder: Path) -> bool:
    """Whether ``folder`` holds every marker of a dataset (see :data:`Marker`)."""
    if not folder.is_dir():
        return False
    for marker in markers:
        pattern, count = (marker, 1) if isinstance(marker, str) else marker
        if "*" not in pattern:
            if not (folder / pattern).exists():
                return False
        elif sum(1 for _ in itertools.islice(folder.glob(pattern), count)) < count:
            return False
    return True


def describe_markers(markers: Sequence[Marker]) -> str:
    """The markers in words, for messages: ``a, at least 10 files named b``."""
    return ", ".join(m if isinstance(m, str) else f"at least {m[1]} files named {m[0]}" for m in markers)


# --------------------------------------------------------------------------------------------------------------
# Splits


def train_test_split_indices(n: int, test_size: float, random_state: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of scikit-learn's ``train_test_split(range(n), test_size=..., random_state=...)`` (not stratified).

    Reproduces ``ShuffleSplit``: ``RandomState(random_state).permutation(n)``; the first ``ceil(test_size * n)``
    are the test part, the next ``n - n_test`` the train part.

    Returns:
        ``(train_indices, test_indices)``.
    """
    n_test = math.ceil(test_size * n)
    perm = np.random.RandomState(random_state).permutation(n)
    return perm[n_test:], perm[:n_test]


def fraction_split(
    n: int, fractions: tuple[float, float], seed: int, labels: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """A seeded train / validation / test split, stratified by ``labels`` when given.

    Args:
        n: Number of items.
        fractions: ``(validation_fraction, test_fraction)``; train gets the rest.
        seed: Seed of the permutation (same seed, same split).
        labels: Class of each item, to keep the class proportions in every part.

    Returns:
        ``{"train": idx, "validation": idx, "test": idx, "all": idx}``, each sorted.
    """
    val_fraction, test_fraction = fractions
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError(f"validation and test fractions must be >= 0 and sum to < 1, got {fractions}")
    rng = np.random.RandomState(seed)
    groups = [np.arange(n)] if labels is None else [np.flatnonzero(labels == c) for c in np.unique(labels)]
    parts: dict[str, list[np.ndarray]] = {"train": [], "validation": [], "test": []}
    for group in groups:
        group = group[rng.permutation(len(group))]
        n_val, n_test = round(val_fraction * len(group)), round(test_fraction * len(group))
        parts["validation"].append(group[:n_val])
        parts["test"].append(group[n_val : n_val + n_test])
        parts["train"].append(group[n_val + n_test :])
    return {**{k: np.sort(np.concatenate(v)) for k, v in parts.items()}, "all": np.arange(n)}


def select_split(full: FaceDataset, split: str, splits: dict[str, np.ndarray]) -> FaceDataset:
    """The part of ``full`` at ``splits[split]``, named ``split``; a ``ValueError`` lists the names if unknown."""
    if split not in splits:
        raise ValueError(f"{full.name} has no split {split!r} here; choose from {sorted(splits)}")
    return replace(full.subset(splits[split]), split=split)
