"""The ``fit_*`` helpers: one per documented recipe, all run by :func:`facezoo.training.engine.run_recipe`.

Every helper takes the same arguments: ``data_dir`` (datasets root or the dataset's folder), ``output_dir``
(default ``runs/<recipe>``), and keyword-only ``model``, ``epochs``, ``batch_size`` (global), ``image_size``,
``strategy`` (one of :data:`STRATEGIES` or a ``tf.distribute.Strategy``), ``mixed_precision``, ``resume``,
``limit``, ``seed`` and ``**overrides``; ``None`` keeps the recipe's value. See
:func:`~facezoo.training.engine.run_recipe` for their meaning.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from facezoo.training.evaluate import Table
from facezoo.training.recipes import (
    AGE,
    AGE_VGG16,
    ATTRACTIVE_NET,
    CELEBA,
    FACE_BACKBONE,
    PERSON_ATTRIBUTES,
    SELFIE,
    SELFIE_ABLATION,
    SELFIE_GRID,
    UTKFACE,
    Recipe,
)

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from facezoo.training.engine import TrainingResult

__all__ = [
    "STRATEGIES",
    "fit_selfie_resnet",
    "fit_age_cnn",
    "fit_person_attributes",
    "fit_celeba_gender",
    "fit_attractive_net",
    "fit_utkface",
    "fit_face_backbone",
]

PathLike = str | os.PathLike

#: The names ``strategy=`` takes: see :func:`facezoo.training.engine.make_strategy`.
STRATEGIES = ("auto", "one", "mirrored", "multi-worker")


def _fit(
    recipe: Recipe,
    data_dir: PathLike | None,
    output_dir: PathLike | None,
    model: str | keras.Model | None,
    **kwargs: Any,
) -> TrainingResult:
    from facezoo.training.engine import run_recipe

    return run_recipe(recipe, data_dir, output_dir or Path("runs") / recipe.name, model=model, **kwargs)


def fit_selfie_resnet(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    ablation: bool | str = False,
    **overrides: Any,
) -> TrainingResult:
    """Selfie popularity (write-up 000): Adam 1e-3 decayed x0.90 per epoch, clipnorm 2.0, 100 x Huber(0.05),
    batch 32, 20 epochs, 150x150, validation MAE every epoch (the best epoch is kept).

    Args:
        data_dir: Datasets root or the ``Selfie-dataset`` folder.
        output_dir: Run folder (default ``runs/selfie_resnet``).
        ablation: ``True``: train the four residual x batch-norm variants (write-up Table 1) into
            ``output_dir/<variant>``; ``"grid"``: the vanilla CNN without batch norm over ``n_layers`` {12, 18} x
            ``n_filters`` {8, 16} (Table 2). The result is the best variant's, with ``table`` comparing the test
            MAE to the write-up's and ``variants`` holding every variant's result.
        **overrides: As for every ``fit_*`` (e.g. ``n_layers=6``, ``augmentation=None``).

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    kwargs = dict(
        epochs=epochs, batch_size=batch_size, image_size=image_size, strategy=strategy,
        mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )
    if not ablation:
        return _fit(SELFIE, data_dir, output_dir, model, **kwargs)
    if ablation not in (True, "grid"):
        raise ValueError(f"ablation must be False, True (Table 1) or 'grid' (Table 2), got {ablation!r}.")
    root = Path(output_dir or Path("runs") / "selfie_ablation")
    if ablation is True:
        variants = {
            f"residual_{'yes' if residual else 'no'}-batch_norm_{'yes' if bn else 'no'}": (
                {"residual": residual, "batch_norm": bn}, (("yes" if residual else "no"), ("yes" if bn else "no")), mae
            )
            for residual, bn, mae in SELFIE_ABLATION
        }
        columns = ("residual", "batch_norm", "test_mae", "write_up_test_mae")
    else:
        variants = {
            f"layers_{layers}-filters_{filters}": (
                {"n_layers": layers, "n_filters": filters, "residual": False, "batch_norm": False}, (layers, filters), mae
            )
            for layers, filters, mae in SELFIE_GRID
        }
        columns = ("n_layers", "n_filters", "test_mae", "write_up_test_mae")
    results, rows = {}, []
    for name, (config, key, write_up) in variants.items():
        clash = sorted(set(config) & set(overrides))
        if clash:
            raise ValueError(f"ablation={ablation!r} sets {clash} itself; do not pass them.")
        result = _fit(SELFIE, data_dir, root / name, model, **{**kwargs, **config})
        results[name] = result
        rows.append((*key, result.test_metrics["mae"], write_up))
    best = min(results.values(), key=lambda r: r.test_metrics["mae"])
    title = "Table 1: test MAE by residual connection and batch norm" if ablation is True else (
        "Table 2: test MAE of the vanilla CNN by layers and filters"
    )
    best.table, best.variants = Table(columns, tuple(rows), title=title), results
    return best


def fit_age_cnn(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> TrainingResult:
    """Age class on IMFDB (write-up 001): RMSprop 1e-4, categorical cross-entropy, batch 32, 30 epochs, 128x128,
    augmentation rotation 40, shifts 0.2, shear 0.2, zoom 0.2, horizontal flip, fill nearest.

    ``model="age_vgg16"`` runs the VGG16 variant's recipe (frozen base, 50 epochs); ``variant="regularized"``
    selects the batch-norm + dropout CNN. The best epoch on validation accuracy is kept.

    Args:
        data_dir: Datasets root or the ``imfdb-age`` folder (``train.csv`` + ``Train/``).
        output_dir: Run folder (default ``runs/age_cnn`` or ``runs/age_vgg16``).
        **overrides: As for every ``fit_*``.

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    name = model if isinstance(model, str) else getattr(model, "name", None)
    recipe = AGE_VGG16 if name == "age_vgg16" else AGE
    return _fit(
        recipe, data_dir, output_dir, model, epochs=epochs, batch_size=batch_size, image_size=image_size,
        strategy=strategy, mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )


def fit_person_attributes(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> TrainingResult:
    """Person attributes (write-up 002): DenseNet121 from scratch, 8 cross-entropy heads, Adam 1e-3, batch 32.

    Five named stages, each up to 50 epochs with ReduceLROnPlateau(0.7, patience 3, min_lr 1e-6, min_delta 1e-3)
    and EarlyStopping(patience 8, min_delta 1e-3, restore best): ``100px`` (all trainable), ``100px_frozen``
    (backbone frozen), ``100px_heavy_aug`` (lr 1e-4, heavier augmentation), ``200px``, ``200px_frozen``.
    Augmentation: width shift 0.2, height shift 0.1, zoom 0.2, flip, random erasing. ``epochs`` caps every
    stage, ``image_size`` replaces every stage's size and ``stages=[...]`` runs a subset.

    Args:
        data_dir: Datasets root or the ``hvc`` folder (``hvc_annotations.csv`` + ``resized/``).
        output_dir: Run folder (default ``runs/person_attributes``).
        **overrides: As for every ``fit_*`` (e.g. ``pooling="avgmax"``, ``stages=["100px"]``).

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    return _fit(
        PERSON_ATTRIBUTES, data_dir, output_dir, model, epochs=epochs, batch_size=batch_size, image_size=image_size,
        strategy=strategy, mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )


def fit_celeba_gender(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> TrainingResult:
    """CelebA ``Male`` (write-up 003): the ``"sample"`` protocol (10,000 training images per class, 5,000
    validation, 5,000 test), Adam 1e-3, binary cross-entropy, batch 128, 50 epochs, 218x178; flip, shifts 0.4,
    zoom 0.3, rotation 20. ``model="celeba_inception_v3"`` trains the transfer model instead of the
    simple CNN. The best epoch on validation accuracy is kept.

    Args:
        data_dir: Datasets root or the ``celeba`` folder.
        output_dir: Run folder (default ``runs/celeba_gender``).
        **overrides: As for every ``fit_*``.

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    return _fit(
        CELEBA, data_dir, output_dir, model, epochs=epochs, batch_size=batch_size, image_size=image_size,
        strategy=strategy, mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )


def fit_attractive_net(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> TrainingResult:
    """AttractiveNet on SCUT-FBP5500 (write-up 004): MSE, batch 32, 350x350; stage ``frozen_backbone`` (Adam 1e-3)
    then ``fine_tune`` (all layers, 1e-4), each up to 30 epochs with EarlyStopping(patience 7, min_delta 1e-3);
    flip, rotation 40, shifts 0.2, shear 0.2, zoom 0.2. Pass ``backbone_weights="imagenet"`` for the write-up's
    ImageNet start.

    Args:
        data_dir: Datasets root or the ``SCUT-FBP5500_v2`` folder.
        output_dir: Run folder (default ``runs/attractive_net``).
        **overrides: As for every ``fit_*``.

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    return _fit(
        ATTRACTIVE_NET, data_dir, output_dir, model, epochs=epochs, batch_size=batch_size, image_size=image_size,
        strategy=strategy, mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )


def fit_utkface(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> TrainingResult:
    """UTKFace age / gender / race (facezoo's own recipe): loss 0.1 x Huber(delta 5 years) on age + gender CE +
    race CE; Adam 1e-3 x 0.9 per epoch, batch 64, up to 30 epochs at 128x128 with EarlyStopping(patience 6,
    restore best); flip, rotation 10, shifts 0.1, zoom 0.1.

    The age weight brings the three losses to a similar scale at the start (age Huber ~ 5 x years of error);
    Huber rather than MSE keeps UTKFace's noisy ages from dominating.

    Args:
        data_dir: Datasets root or the ``UTKFace`` folder.
        output_dir: Run folder (default ``runs/utkface``).
        **overrides: As for every ``fit_*``.

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    return _fit(
        UTKFACE, data_dir, output_dir, model, epochs=epochs, batch_size=batch_size, image_size=image_size,
        strategy=strategy, mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )


def fit_face_backbone(
    data_dir: PathLike | None = None,
    output_dir: PathLike | None = None,
    *,
    model: str | keras.Model | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    image_size: int | tuple[int, int] | None = None,
    strategy: str | tf.distribute.Strategy = "auto",
    mixed_precision: bool | str = "auto",
    resume: bool = True,
    limit: int | None = None,
    seed: int | None = None,
    **overrides: Any,
) -> TrainingResult:
    """facezoo's face backbone (``face_mobilenet_v2``): multi-task pretraining on ``facezoo.datasets.faces``, the
    training splits of UTKFace, IMFDB, CelebA and SCUT-FBP5500 (none of their test images).

    Five heads, each loss masked to the images labelled for it: age (0.15 x Huber(5 years)), gender, race and age
    class (cross-entropy, weights 2, 2, 1), beauty (10 x MSE). Batch 64; stage ``96px``: 6 epochs, Adam 2e-3 with one
    warm-up epoch then cosine decay; stage ``128px``: 2 epochs from 3e-4, cosine; flip, rotation 10, shifts 0.1,
    zoom 0.1. The best epoch of the last stage on validation loss is kept.

    Args:
        data_dir: Datasets root holding ``UTKFace/``, ``imfdb-age/``, ``celeba/`` and ``SCUT-FBP5500_v2/``.
        output_dir: Run folder (default ``runs/face_backbone``).
        **overrides: As for every ``fit_*`` (e.g. ``dataset_options={"members": ("utkface",)}``).

    Returns:
        A :class:`~facezoo.training.engine.TrainingResult`.
    """
    return _fit(
        FACE_BACKBONE, data_dir, output_dir, model, epochs=epochs, batch_size=batch_size, image_size=image_size,
        strategy=strategy, mixed_precision=mixed_precision, resume=resume, limit=limit, seed=seed, **overrides,
    )
