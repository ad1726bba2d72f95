"""A recipe's data: its dataset splits, loaded once, as ``tf.data`` pipelines with targets keyed by model output."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from facezoo.datasets.augment import Augmentation
from facezoo.training.evaluate import missing_labels
from facezoo.training.recipes import Recipe

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["RecipeData"]

logger = logging.getLogger("facezoo.training")


class RecipeData:
    """The recipe's dataset splits, loaded once, as ``tf.data`` pipelines with targets keyed by model output."""

    def __init__(
        self, recipe: Recipe, data_dir: str | os.PathLike | None, limit: int | None = None, on_error: str = "raise"
    ) -> None:
        self.recipe, self.data_dir, self.limit, self.on_error = recipe, data_dir, limit, on_error
        self._splits: dict[str, Any] = {}

    def check(self, splits: tuple[str, ...]) -> None:
        for split in splits:
            try:
                self.dataset(split)
            except ValueError as error:
                if f"has no split {split!r}" not in str(error):
                    raise
                raise ValueError(
                    f"{error}; recipe {self.recipe.name!r} uses splits {self.recipe.splits}: pass splits= naming "
                    "the dataset's, e.g. splits=('train', 'validation', 'validation') to test on the validation split "
                    "(as the write-up experiments without a test part do)."
                ) from None

    def dataset(self, split: str) -> Any:
        if split not in self._splits:
            from facezoo import datasets

            ds = datasets.load(self.recipe.dataset, self.data_dir, split=split, **self.recipe.dataset_options)
            missing = [t for t in self.recipe.targets.values() if t not in ds.targets]
            if missing:
                raise ValueError(
                    f"{self.recipe.dataset} {split} has no target(s) {missing}; it has {list(ds.targets)}."
                )
            if len(ds) == 0:
                raise ValueError(f"{self.recipe.dataset} split {split!r} is empty.")
            ds = ds.take(self.limit) if self.limit is not None and len(ds) > self.limit else ds
            ds = ds.readable(self.on_error)
            if len(ds) == 0:
                raise ValueError(f"{self.recipe.dataset} split {split!r} has no readable image.")
            self._splits[split] = ds
        return self._splits[split]

    def pipeline(
        self,
        split: str,
        size: tuple[int, int],
        batch_size: int,
        kinds: dict[str, str],
        *,
        training: bool,
        augmentation: Augmentation | None,
        seed: int,
        replicas: int = 1,
    ) -> tf.data.Dataset:
        import tensorflow as tf

        ds = self.dataset(split)
        usable = len(ds) - len(ds) % replicas
        if not training and 0 < usable < len(ds):
            # TF cannot split a last batch that is not a multiple of the replica count over the replicas: validate
            # on all but the last len % replicas images (model selection only; the test runs on one device).
            logger.info(
                "%s: validating on %d of %d images, a multiple of the %d replicas", split, usable, len(ds), replicas
            )
            ds = ds.take(usable)
        targets = dict(self.recipe.targets)
        single = len(targets) == 1
        # A dataset with missing labels (facezoo.datasets.faces: -1 classes, NaN scores) trains each head only on
        # the images that have its label: the missing ones get sample weight 0.
        masked = any(missing_labels(ds.targets[head]).any() for head in targets.values())

        def select(images, y):
            y = y if isinstance(y, dict) else {next(iter(ds.targets)): y}
            out, weights = {}, {}
            for output, head in targets.items():
                value = tf.cast(y[head], tf.float32)
                if masked:
                    known = value >= 0 if kinds[output] != "regression" else tf.math.is_finite(value)
                    value = tf.where(known, value, tf.zeros_like(value))
                    weights[output] = tf.cast(known, tf.float32)
                if kinds[output] == "classification":
                    out[output] = tf.cast(value, tf.int32)
                else:
                    out[output] = tf.reshape(value, (-1, 1))
            pick = (lambda d: next(iter(d.values()))) if single else (lambda d: d)
            return (images, pick(out), pick(weights)) if masked else (images, pick(out))

        # Training drops the last, smaller batch (reshuffled each epoch, so every image is still used): every step
        # then has the global batch, whatever the replica count (TF cannot split some uneven batches over replicas).
        pipeline = ds.as_tf_dataset(
            size,
            batch_size,
            shuffle=training,
            augment=augmentation if training else None,
            seed=seed,
            drop_remainder=training and len(ds) >= batch_size,
            on_error=self.on_error,
        )
        return pipeline.map(select, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
