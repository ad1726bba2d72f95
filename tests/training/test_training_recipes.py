"""The recipes' defaults are the write-ups' numbers (shared/reference/000-004), and overrides resolve."""

from __future__ import annotations

import inspect

import pytest

from facezoo import training
from facezoo.training import recipes as R


def test_selfie_matches_write_up_000():
    (stage,) = R.SELFIE.stages
    assert (R.SELFIE.batch_size, stage.epochs, R.SELFIE.image_size) == (32, 20, (150, 150))
    assert stage.optimizer == R.Optimizer("adam", 1e-3, clipnorm=2.0, lr_decay=0.90)
    assert stage.losses["popularity"] == R.Loss("huber", delta=0.05) and stage.loss_weights["popularity"] == 100.0
    assert stage.monitor == "val_mae"  # validation MAE every epoch
    assert R.SELFIE_ABLATION == ((True, True, 0.386), (False, True, 0.363), (True, False, 0.378), (False, False, 0.361))
    assert R.SELFIE_GRID == ((12, 8, 0.396), (18, 8, 0.389), (12, 16, 0.361), (18, 16, 0.389))


def test_age_matches_write_up_001():
    (stage,) = R.AGE.stages
    assert (R.AGE.batch_size, stage.epochs, R.AGE.image_size) == (32, 30, (128, 128))
    assert stage.optimizer == R.Optimizer("rmsprop", 1e-4)
    assert stage.losses["age"].name == "sparse_categorical_crossentropy"
    assert stage.augmentation == R.Augmentation(
        rotation_range=40,
        width_shift_range=0.2,
        height_shift_range=0.2,
        shear_range=0.2,
        zoom_range=0.2,
        horizontal_flip=True,
        fill_mode="nearest",
    )
    (vgg,) = R.AGE_VGG16.stages
    assert R.AGE_VGG16.model == "age_vgg16" and vgg.epochs == 50 and vgg.freeze_backbone is True


def test_person_attributes_matches_write_up_002():
    stages = R.PERSON_ATTRIBUTES.stages
    assert [(s.name, s.image_size, s.freeze_backbone, s.optimizer.learning_rate) for s in stages] == [
        ("100px", (100, 100), False, 1e-3),
        ("100px_frozen", (100, 100), True, 1e-3),
        ("100px_heavy_aug", (100, 100), False, 1e-4),
        ("200px", (200, 200), False, 1e-3),
        ("200px_frozen", (200, 200), True, 1e-3),
    ]
    for stage in stages:
        assert stage.optimizer.name == "adam" and len(stage.losses) == 8
        assert stage.reduce_lr_on_plateau == R.ReduceLROnPlateau(factor=0.7, patience=3, min_lr=1e-6, min_delta=1e-3)
        assert stage.early_stopping == R.EarlyStopping(patience=8, min_delta=1e-3, restore_best_weights=True)
    aug = stages[0].augmentation
    assert (aug.width_shift_range, aug.height_shift_range, aug.zoom_range, aug.horizontal_flip) == (0.2, 0.1, 0.2, True)
    assert aug.random_erasing > 0 and aug.erasing_area == (0.01, 0.2)  # get_random_eraser(s_l=0.01, s_h=0.2)
    assert stages[2].augmentation.random_erasing > aug.random_erasing


def test_celeba_matches_write_up_003():
    (stage,) = R.CELEBA.stages
    assert (R.CELEBA.batch_size, stage.epochs, R.CELEBA.image_size) == (128, 50, (218, 178))
    assert stage.optimizer == R.Optimizer("adam", 1e-3) and stage.losses["male"].name == "binary_crossentropy"
    assert R.CELEBA.targets == {"male": "Male"}
    assert R.CELEBA.dataset_options == {"protocol": "sample"}  # 10,000 per class, as the write-up's sample
    assert stage.augmentation == R.Augmentation(
        horizontal_flip=True, width_shift_range=0.4, height_shift_range=0.4, zoom_range=0.3, rotation_range=20
    )


def test_attractive_net_matches_write_up_004():
    first, second = R.ATTRACTIVE_NET.stages
    assert R.ATTRACTIVE_NET.batch_size == 32
    assert (first.freeze_backbone, first.optimizer.learning_rate, first.epochs) == (True, 1e-3, 30)
    assert (second.freeze_backbone, second.optimizer.learning_rate) == (False, 1e-4)
    for stage in (first, second):
        assert stage.losses["beauty"].name == "mse"
        assert stage.early_stopping == R.EarlyStopping(patience=7, min_delta=1e-3)
        assert stage.augmentation == R.Augmentation(
            horizontal_flip=True,
            rotation_range=40,
            width_shift_range=0.2,
            height_shift_range=0.2,
            shear_range=0.2,
            zoom_range=0.2,
        )


def test_utkface_recipe_has_three_weighted_heads():
    (stage,) = R.UTKFACE.stages
    assert set(stage.losses) == {"age", "gender", "race"} and stage.loss_weights["age"] < 1


@pytest.mark.parametrize("name", list(training.HELPERS))
def test_fit_signature(name):
    params = inspect.signature(getattr(training, name)).parameters
    assert list(params)[:2] == ["data_dir", "output_dir"]
    for keyword in (
        "model",
        "epochs",
        "batch_size",
        "image_size",
        "strategy",
        "mixed_precision",
        "resume",
        "limit",
        "seed",
    ):
        assert params[keyword].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["mixed_precision"].default == "auto" and params["resume"].default is True


def test_resolve_recipe_overrides():
    from facezoo.training.recipes import resolve_recipe

    recipe = resolve_recipe(
        R.PERSON_ATTRIBUTES, epochs=2, image_size=64, learning_rate=0.01, stages=["100px", "200px"], pooling="avgmax"
    )
    assert [(s.name, s.epochs, s.image_size, s.optimizer.learning_rate) for s in recipe.stages] == [
        ("100px", 2, (64, 64), 0.01),
        ("200px", 2, (64, 64), 0.01),
    ]
    assert recipe.model_config["pooling"] == "avgmax"
    with pytest.raises(ValueError, match="Unknown override 'colour'"):
        resolve_recipe(R.SELFIE, colour=1)
    with pytest.raises(ValueError, match="Unknown stages"):
        resolve_recipe(R.ATTRACTIVE_NET, stages=["nope"])


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, facezoo.training; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
