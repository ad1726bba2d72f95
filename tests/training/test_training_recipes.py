"""The recipes' defaults are the write-ups' numbers (shared/reference/000-004), and overrides resolve."""

from __future__ import annotations

import dataclasses
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
    merged = resolve_recipe(R.CELEBA, dataset_options={"seed": 3})  # merged into the recipe's options
    assert merged.dataset_options == {"protocol": "sample", "seed": 3}
    with pytest.raises(ValueError, match="Unknown override 'colour'"):
        resolve_recipe(R.SELFIE, colour=1)
    with pytest.raises(ValueError, match="Unknown stages"):
        resolve_recipe(R.ATTRACTIVE_NET, stages=["nope"])


def test_import_is_light():
    import subprocess
    import sys

    code = "import sys, facezoo.training; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_age_experiments_are_write_up_001s():
    experiments = R.EXPERIMENTS["age_cnn"]
    assert list(experiments) == ["baseline", "regularized", "augmented", "vgg16"]
    rows = {}
    for name, experiment in experiments.items():
        recipe, (stage,) = experiment.recipe, experiment.recipe.stages
        # The balanced 1,600 / 800 per class split; the write-up measured on its validation part (no test part).
        assert recipe.dataset_options == {"protocol": "reference"}
        assert recipe.splits == ("train", "validation", "validation") and experiment.reported_split == "validation"
        assert (recipe.batch_size, recipe.image_size, stage.optimizer) == (32, (128, 128), R.Optimizer("rmsprop", 1e-4))
        rows[name] = (recipe.model, dict(recipe.model_config), stage.augmentation, stage.epochs, experiment.reported)
    assert rows == {
        "baseline": ("age_cnn", {"variant": "baseline"}, None, 30, {"accuracy": 0.68}),
        "regularized": ("age_cnn", {"variant": "regularized"}, None, 30, {"accuracy": 0.70}),
        "augmented": ("age_cnn", {"variant": "regularized"}, R.AGE.stages[0].augmentation, 30, {"accuracy": 0.74}),
        "vgg16": (
            "age_vgg16",
            {"freeze_backbone": True, "backbone_weights": "imagenet"},
            R.AGE.stages[0].augmentation,
            50,
            {"accuracy": 0.67},
        ),
    }
    assert experiments["vgg16"].recipe.stages[0].freeze_backbone is True
    assert experiments["baseline"].recipe.reference.startswith("001 experiment 'baseline'")


def test_the_other_write_ups_experiments():
    celeba = R.EXPERIMENTS["celeba_gender"]
    assert celeba["cnn"].recipe == dataclasses.replace(R.CELEBA, reference=celeba["cnn"].recipe.reference)
    inception = celeba["inception_v3"].recipe
    assert inception.model == "celeba_inception_v3" and inception.model_config == {"backbone_weights": "imagenet"}
    assert inception.stages == R.CELEBA.stages and inception.dataset_options == {"protocol": "sample"}
    assert {n: e.reported for n, e in celeba.items()} == {
        "cnn": {"accuracy": 0.9418},
        "inception_v3": {"accuracy": 0.9244},
    }

    (attractive,) = R.EXPERIMENTS["attractive_net"].values()
    assert attractive.name == "two_stage" and attractive.recipe.stages == R.ATTRACTIVE_NET.stages
    assert attractive.recipe.model_config == {"backbone_weights": "imagenet"}
    assert attractive.reported == {"mae": 0.212, "rmse": 0.286}

    (person,) = R.EXPERIMENTS["person_attributes"].values()
    assert person.recipe.stages == R.PERSON_ATTRIBUTES.stages and person.reported["gender/accuracy"] == 0.888889
    assert person.reported_split == "validation" and len(person.reported) == 8

    # The selfie ablation's variants are experiments too, named as its run folders.
    selfie = R.EXPERIMENTS["selfie_resnet"]
    assert {name: dict(e.recipe.model_config) for name, e in selfie.items()} == {
        "residual_yes-batch_norm_yes": {"residual": True, "batch_norm": True},
        "residual_no-batch_norm_yes": {"residual": False, "batch_norm": True},
        "residual_yes-batch_norm_no": {"residual": True, "batch_norm": False},
        "residual_no-batch_norm_no": {"residual": False, "batch_norm": False},
        "layers_12-filters_8": {"n_layers": 12, "n_filters": 8, "residual": False, "batch_norm": False},
        "layers_18-filters_8": {"n_layers": 18, "n_filters": 8, "residual": False, "batch_norm": False},
        "layers_12-filters_16": {"n_layers": 12, "n_filters": 16, "residual": False, "batch_norm": False},
        "layers_18-filters_16": {"n_layers": 18, "n_filters": 16, "residual": False, "batch_norm": False},
    }
    assert [e.reported["mae"] for e in selfie.values()] == [m for *_, m in R.SELFIE_ABLATION + R.SELFIE_GRID]
    assert all(e.recipe.stages == R.SELFIE.stages for e in selfie.values())


def test_find_experiment_says_what_exists():
    assert R.find_experiment("age_cnn", "vgg16").recipe.model == "age_vgg16"
    with pytest.raises(ValueError, match="has no experiment 'basline'; its experiments: baseline, .*Did you mean"):
        R.find_experiment("age_cnn", "basline")
    with pytest.raises(ValueError, match=r"'vgg16' is an experiment of recipe 'age_cnn': fit\('age_cnn'"):
        R.find_experiment("age_vgg16", "vgg16")
    with pytest.raises(ValueError, match="Recipe 'utkface' has no experiment 'x'; its experiments: none"):
        R.find_experiment("utkface", "x")


def test_random_backbone_means_a_transfer_model_without_backbone_weights():
    transfer = {name for name, recipe in R.RECIPES.items() if R.random_backbone(recipe)}
    assert transfer == {
        "age_vgg16",
        "age_mobilenet_v2",
        "attractive_net",
        "celeba_mobilenet_v2",
        "utkface_mobilenet_v2",
    }
    assert R.random_backbone(R.resolve_recipe(R.CELEBA, model="celeba_inception_v3"))
    assert not R.random_backbone(R.resolve_recipe(R.ATTRACTIVE_NET, backbone_weights="runs/face_backbone/pretrained"))
    assert not any(R.random_backbone(e.recipe) for x in R.EXPERIMENTS.values() for e in x.values())
