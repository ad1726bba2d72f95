"""Every fit_* runs end to end on tiny synthetic data; resume, distribution, ablation and bad input."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from facezoo import training
from facezoo.models.person_attributes import PERSON_ATTRIBUTE_HEADS

# Tiny settings per recipe: one short epoch per stage in seconds on two CPU cores.
CASES = {
    "fit_selfie_resnet": dict(image_size=32, n_layers=3, n_filters=4),
    "fit_age_cnn": dict(image_size=96),
    "fit_person_attributes": dict(model="stand_in_person_attributes"),  # the five stages at 100 then 200 px
    "fit_celeba_gender": dict(image_size=(36, 30)),
    "fit_attractive_net": dict(model="stand_in_attractive_net", image_size=32),
    "fit_utkface": dict(model="stand_in_utkface", image_size=32),  # the real CNN trains in test_cli_hostile.py
    "fit_face_backbone": dict(model="stand_in_face_backbone"),  # 96 then 128 px: rebuilt at the new size
}


def test_every_helper_has_a_tiny_case():
    assert sorted(CASES) == sorted(training.HELPERS)


# fit_person_attributes' five stages (eight heads each) take half a minute of CPU: slow; the default run fits its
# last stage in test_person_attributes_fits_its_final_stage.
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n == "fit_person_attributes" else n for n in CASES]
)
def test_fit_one_epoch(name, synthetic_root, tiny_models, tmp_path):
    fit = getattr(training, name)
    result = fit(synthetic_root, tmp_path / "run", epochs=1, batch_size=8, verbose=0, **CASES[name])
    assert result.epochs == len(training.RECIPES[training.HELPERS[name].recipe].stages)
    assert result.history["epoch"] == [1] * result.epochs
    assert result.test_metrics and all(isinstance(v, float) for v in result.test_metrics.values())
    assert result.best_weights.is_file() and result.model is not None
    for file in ("config.json", "metadata.json", "model.weights.h5", "facezoo.json", "README.md"):
        assert (result.pretrained_dir / file).is_file(), file
    args = json.loads((result.pretrained_dir / "facezoo.json").read_text())["training_args"]
    assert args["batch_size"] == 8 and args["name"] == result.recipe and "data_dir" not in args
    with open(tmp_path / "run" / "history.csv") as file:
        assert len(list(csv.DictReader(file))) == result.epochs
    assert (tmp_path / "run" / "result.json").is_file()
    if name == "fit_person_attributes":  # Five stages, 100 px then 200 px: rebuilt at the new size.
        assert result.history["stage"] == ["100px", "100px_frozen", "100px_heavy_aug", "200px", "200px_frozen"]
        assert result.model.input_shape[1:3] == (200, 200)
        best = json.loads((tmp_path / "run" / "checkpoints" / "best.json").read_text())
        assert (best["stage"], best["monitor"]) == ("200px_frozen", "val_loss")  # the tested weights are 200 px
    if name == "fit_face_backbone":
        assert result.history["stage"] == ["96px", "128px"] and result.model.input_shape[1:3] == (128, 128)
    assert not list((tmp_path / "run").rglob("tmp-*")) and not list((tmp_path / "run").rglob("epoch-*.weights.h5"))

    start = time.perf_counter()  # A finished run is returned, not repeated.
    again = fit(synthetic_root, tmp_path / "run", epochs=1, batch_size=8, verbose=0, **CASES[name])
    assert again.model is None and again.test_metrics == pytest.approx(result.test_metrics, nan_ok=True)
    assert again.cpu_time_s == pytest.approx(result.cpu_time_s) and result.cpu_time_s > 0
    assert time.perf_counter() - start < 5


def test_person_attributes_fits_its_final_stage(synthetic_root, tiny_models, tmp_path):
    """fit_person_attributes in the default run: its last stage alone, 200 px with the backbone frozen, eight heads
    (all five stages: test_fit_one_epoch, slow)."""
    result = training.fit_person_attributes(
        synthetic_root, tmp_path, model="stand_in_person_attributes", stages="200px_frozen", epochs=1, batch_size=8,
        verbose=0,
    )  # fmt: skip
    assert result.history["stage"] == ["200px_frozen"] and result.model.input_shape[1:3] == (200, 200)
    best = json.loads((tmp_path / "checkpoints" / "best.json").read_text())
    assert (best["stage"], best["monitor"]) == ("200px_frozen", "val_loss")
    assert {key.split("/")[0] for key in result.test_metrics} == set(PERSON_ATTRIBUTE_HEADS)
    assert all(isinstance(v, float) for v in result.test_metrics.values())


@pytest.mark.parametrize(
    "call, recipe, output_dir",
    [
        (lambda: training.fit("age_vgg16", "data"), "age_vgg16", "runs/age_vgg16"),
        (lambda: training.fit("utkface_mobilenet_v2", "data", "out"), "utkface_mobilenet_v2", "out"),
        (lambda: training.fit_age_cnn("data", model="age_vgg16"), "age_vgg16", "runs/age_vgg16"),
        (lambda: training.fit_age_cnn("data", variant="regularized"), "age_cnn", "runs/age_cnn"),
        (lambda: training.fit_utkface("data", model="utkface_mobilenet_v2"), "utkface", "runs/utkface"),
        (lambda: training.fit_age_cnn("data", experiment="vgg16"), "age_vgg16", "runs/age_cnn-vgg16"),
        (
            lambda: training.fit_age_cnn("data", model="age_vgg16", experiment="baseline"),
            "age_cnn",
            "runs/age_cnn-baseline",
        ),
        (
            lambda: training.fit("celeba_gender", "data", experiment="inception_v3"),
            "celeba_gender",
            "runs/celeba_gender-inception_v3",
        ),
    ],
)
def test_fit_and_the_helpers_pick_the_recipe(call, recipe, output_dir, monkeypatch):
    from facezoo.training import engine

    calls = []
    monkeypatch.setattr(engine, "run_recipe", lambda *args, **kwargs: calls.append((args, kwargs)))
    call()
    ((args, kwargs),) = calls
    assert args[0].name == recipe and args[1] == "data" and str(args[2]) == output_dir
    assert {key: kwargs[key] for key in ("resume", "strategy", "mixed_precision")} == {
        "resume": True,
        "strategy": "auto",
        "mixed_precision": "auto",
    }


class _Interrupt(Exception):
    pass


def _interrupt_after(monkeypatch, epochs: int):
    from facezoo.training import run_folder

    original, seen = run_folder.RunTracker.end_epoch, []

    def end_epoch(self, model, stage, epoch, logs):
        original(self, model, stage, epoch, logs)
        seen.append(epoch)
        if len(seen) == epochs:
            raise _Interrupt

    monkeypatch.setattr(run_folder.RunTracker, "end_epoch", end_epoch)


def test_interrupted_run_resumes(synthetic_root, tiny_models, tmp_path, monkeypatch):
    # The selfie recipe on the one-convolution stand-in: the engine's resume is under test, not the CNN.
    kwargs = dict(model="stand_in_selfie", epochs=3, batch_size=8, image_size=32, verbose=0)
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 2)
        with pytest.raises(_Interrupt):
            training.fit_selfie_resnet(synthetic_root, tmp_path, **kwargs)
    first = json.loads((tmp_path / "checkpoints" / "train" / "state.json").read_text())
    assert first["epoch"] == 2 and not (tmp_path / "result.json").exists()
    result = training.fit_selfie_resnet(synthetic_root, tmp_path, **kwargs)
    assert result.history["epoch"] == [1, 2, 3]
    assert result.history["loss"][:2] == [row["loss"] for row in first["history"]]
    # The schedule continues from the restored epoch: lr = 1e-3 * 0.9**epoch.
    assert result.history["learning_rate"] == pytest.approx([1e-3, 9e-4, 8.1e-4], rel=1e-5)
    # The cost counts the cut-off process's epochs too.
    assert all(t > 0 for t in result.history["epoch_wall_s"] + result.history["epoch_cpu_s"])
    assert result.wall_time_s > sum(result.history["epoch_wall_s"])
    assert result.cpu_time_s > sum(result.history["epoch_cpu_s"][:2]) + result.history["epoch_cpu_s"][2]


def test_interrupted_multi_stage_run_resumes_in_its_stage(synthetic_root, tiny_models, tmp_path, monkeypatch):
    kwargs = dict(model="stand_in_attractive_net", epochs=2, batch_size=8, image_size=32, verbose=0)
    with monkeypatch.context() as patch:
        _interrupt_after(patch, 3)  # Stage 1 done, stage 2 after one epoch.
        with pytest.raises(_Interrupt):
            training.fit_attractive_net(synthetic_root, tmp_path, **kwargs)
    result = training.fit_attractive_net(synthetic_root, tmp_path, **kwargs)
    assert result.history["stage"] == ["frozen_backbone"] * 2 + ["fine_tune"] * 2
    assert result.history["epoch"] == [1, 2, 1, 2]


def test_changed_arguments_refuse_to_resume(synthetic_root, tiny_models, tmp_path):
    kwargs = dict(model="stand_in_selfie", epochs=1, batch_size=8, image_size=32, verbose=0, limit=8)
    training.fit_selfie_resnet(synthetic_root, tmp_path, **kwargs)
    with pytest.raises(ValueError, match="different arguments.*batch_size"):
        training.fit_selfie_resnet(synthetic_root, tmp_path, **{**kwargs, "batch_size": 4})
    fresh = training.fit_selfie_resnet(synthetic_root, tmp_path, resume=False, **{**kwargs, "batch_size": 4})
    assert fresh.model is not None and fresh.training_args["batch_size"] == 4


def test_selfie_ablation_table(synthetic_root, tiny_models, tmp_path):
    result = training.fit_selfie_resnet(
        synthetic_root,
        tmp_path,
        model="stand_in_selfie",  # takes the variants' arguments; the real CNNs: test_example_with_the_real_backbone
        ablation=True,
        epochs=1,
        batch_size=8,
        image_size=32,
        limit=8,
        verbose=0,
    )
    rows = result.table.to_dicts()
    assert [(r["residual"], r["batch_norm"]) for r in rows] == [
        ("yes", "yes"),
        ("no", "yes"),
        ("yes", "no"),
        ("no", "no"),
    ]
    assert [r["write_up_test_mae"] for r in rows] == [0.386, 0.363, 0.378, 0.361]
    assert len(result.variants) == 4 and result.test_metrics["mae"] == min(r["test_mae"] for r in rows)
    assert "| residual | batch_norm | test_mae | write_up_test_mae |" in result.table.to_markdown()


def test_bad_input_fails_before_training(synthetic_root, tmp_path):
    from facezoo.datasets import DatasetNotFoundError

    with pytest.raises(DatasetNotFoundError):
        training.fit_utkface(tmp_path / "empty", tmp_path / "a", epochs=1)
    with pytest.raises(ValueError, match="too small"):
        training.fit_age_cnn(synthetic_root, tmp_path / "b", epochs=1, image_size=32)

    class TwoReplicas:
        num_replicas_in_sync = 2

    with pytest.raises(ValueError, match="divisible by the 2 replicas"):
        training.fit_utkface(synthetic_root, tmp_path / "c", batch_size=7, strategy=TwoReplicas())
    assert not any((tmp_path / d / "checkpoints").exists() for d in "abc")


def test_evaluate_by_group_and_histogram(synthetic_root, tmp_path):
    import facezoo
    from facezoo import datasets

    model = facezoo.create_model("utkface_multitask", input_shape=(32, 32, 3), width=4)
    data = datasets.load("utkface", synthetic_root, split="test")
    evaluation = training.evaluate(model, data, by="race")
    assert set(evaluation.metrics) == {"age", "gender", "race"}
    assert {"mae", "rmse", "pearson_r"} <= set(evaluation.metrics["age"])
    assert evaluation.confusion["race"].sum() == len(data)
    table = evaluation.tables["age/by_race"]
    assert sum(row["count"] for row in table.to_dicts()) == len(data)
    race_labels = facezoo.model_info("utkface_multitask").outputs[2].labels
    shown = [row["race"] for row in table.to_dicts()]
    assert shown and set(shown) <= set(race_labels)
    assert shown == sorted(shown, key=race_labels.index)
    evaluation.plot_errors(tmp_path / "errors.png")
    assert (tmp_path / "errors.png").stat().st_size > 0
    with pytest.raises(ValueError, match="names no annotation"):
        training.evaluate(model, data, by="shoe_size")


DISTRIBUTED = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from facezoo.training import fit_selfie_resnet
    even, uneven, out, tests = sys.argv[1:5]
    sys.path.insert(0, tests)
    import example_stand_ins  # the selfie recipe on its one-convolution stand-in: the strategy is under test
    # No batch norm (per-replica statistics; the stand-in has none); the recipe's clipnorm clips the summed gradient,
    # as on one device.
    kwargs = dict(model="stand_in_selfie", epochs=2, batch_size=8, image_size=32, augmentation=None, verbose=0)
    mirrored = lambda: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    one = fit_selfie_resnet(even, out + "/one", strategy=tf.distribute.OneDeviceStrategy("/cpu:0"), **kwargs)
    two = fit_selfie_resnet(even, out + "/two", strategy=mirrored(), **kwargs)
    odd = fit_selfie_resnet(uneven, out + "/odd", strategy=mirrored(), **kwargs)
    print(json.dumps({"one": one.history, "two": two.history, "replicas": two.training_args["replicas"],
                      "odd_test_count": [v for k, v in odd.test_metrics.items() if k.endswith("count")][0]}))
    """
)


def test_two_replicas_match_one(synthetic_root, tmp_path):
    spec = importlib.util.spec_from_file_location("facezoo_training_fixtures", Path(__file__).with_name("fixtures.py"))
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    # 40 selfies: train 28 (3 full batches of 8), validation 8, test 4, so every evaluated batch splits evenly.
    even = fixtures.make_selfie(tmp_path / "even", n=40)
    # 45: validation 9 and test 5, whose last batches cannot be split over 2 replicas: validation uses 8 images,
    # the test runs on one device and sees all 5.
    uneven = fixtures.make_selfie(tmp_path / "uneven", n=45)
    # Logical CPU devices must be configured before TensorFlow initialises: run in a fresh interpreter.
    run = subprocess.run(
        [sys.executable, "-c", DISTRIBUTED, str(even), str(uneven), str(tmp_path), str(Path(__file__).parents[1])],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2 and out["odd_test_count"] == 5
    for key in ("loss", "val_loss", "val_mae"):
        np.testing.assert_allclose(out["two"][key], out["one"][key], rtol=1e-4, err_msg=key)


def test_early_stopping_counts_the_epochs_before_a_resume():
    import keras

    from facezoo.training.keras_bridge import ResumableEarlyStopping

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    stopper = ResumableEarlyStopping([0.5, 0.4, 0.45, 0.46], monitor="val_loss", patience=3, mode="min")
    stopper.set_model(model)
    stopper.on_train_begin()
    assert (stopper.best, stopper.best_epoch, stopper.wait) == (0.4, 1, 2)
    model.stop_training = False
    stopper.on_epoch_end(4, {"val_loss": 0.47})
    assert model.stop_training  # third epoch without improvement since epoch 2; a fresh EarlyStopping would go on
    fresh = ResumableEarlyStopping([], monitor="val_loss", patience=3, mode="min")
    fresh.set_model(model)
    fresh.on_train_begin()
    model.stop_training = False
    fresh.on_epoch_end(4, {"val_loss": 0.47})
    assert not model.stop_training and fresh.best == 0.47


def test_age_experiment_on_the_balanced_split_end_to_end(synthetic_root, tmp_path):
    # The protocol alone has no test part: the message says what to pass.
    with pytest.raises(ValueError, match=r"no split 'test'.*splits=\('train', 'validation', 'validation'\)"):
        options = {"protocol": "reference", "sample_sizes": (4, 2)}
        training.fit_age_cnn(synthetic_root, tmp_path / "x", dataset_options=options, epochs=1)
    # 8 images per class here: 4 train and 2 validation per class instead of the write-up's 1,600 and 800.
    result = training.fit_age_cnn(
        synthetic_root,
        tmp_path,
        experiment="baseline",
        dataset_options={"sample_sizes": (4, 2)},
        epochs=1,
        batch_size=4,
        image_size=94,
        verbose=0,
    )
    args = result.training_args
    assert args["dataset_options"] == {"protocol": "reference", "sample_sizes": [4, 2]}
    assert args["splits"] == ["train", "validation", "validation"] and args["stages"][0]["augmentation"] is None
    assert args["model_config"] == {"variant": "baseline"} and "experiment 'baseline'" in args["reference"]
    assert result.test_metrics["count"] == 6  # tested on the balanced validation part, as the write-up measured
    card = json.loads((result.pretrained_dir / "facezoo.json").read_text())
    assert card["split"] == "validation" and card["dataset_options"]["protocol"] == "reference"


@pytest.mark.slow  # real-data training; test_age_experiment_on_the_balanced_split_end_to_end runs it on tiny data
def test_age_experiment_on_the_shared_data(shared_data, tmp_path):
    from facezoo import datasets

    counts = {
        split: np.bincount(datasets.load("imfdb_age", shared_data, split=split, protocol="reference").targets["age"])
        for split in ("train", "validation")
    }
    # The write-up's 1,600 / 800 per class; facezoo's copy has 2,025 OLD images, so OLD validates on 425.
    assert counts["train"].tolist() == [1600, 1600, 1600] and counts["validation"].tolist() == [800, 800, 425]
    result = training.fit_age_cnn(
        shared_data, tmp_path, experiment="regularized", epochs=1, limit=16, batch_size=8, image_size=94, verbose=0
    )
    assert result.test_metrics["count"] == 16 and result.training_args["splits"][2] == "validation"


def test_a_transfer_recipe_from_a_random_backbone_warns(tmp_path):
    from facezoo.datasets import DatasetNotFoundError

    empty = tmp_path / "empty"  # the warning comes before the data is looked for
    for call in (
        lambda: training.fit("age_vgg16", empty, tmp_path / "a", epochs=1),
        lambda: training.fit_celeba_gender(empty, tmp_path / "b", model="celeba_inception_v3"),
        lambda: training.fit_attractive_net(empty, tmp_path / "c", experiment="two_stage", backbone_weights=None),
    ):
        with (
            pytest.warns(UserWarning, match="starts from a random backbone") as caught,
            pytest.raises(DatasetNotFoundError),
        ):
            call()
        (message,) = [str(w.message) for w in caught if "random backbone" in str(w.message)]
        assert "\n" not in message and 'backbone_weights="imagenet"' in message and "face_backbone" in message
    assert "trains a head on the random features of its frozen backbone" in message  # attractive_net's stage 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for call in (
            lambda: training.fit_age_cnn(empty, tmp_path / "d", epochs=1),  # no backbone
            lambda: training.fit_face_backbone(empty, tmp_path / "e", epochs=1),  # pretraining from scratch by design
            lambda: training.fit_attractive_net(empty, tmp_path / "f", experiment="two_stage"),  # ImageNet
        ):
            with pytest.raises(DatasetNotFoundError):
                call()
    assert not [w for w in caught if "random backbone" in str(w.message)]


def test_best_epoch_is_the_final_stages_at_the_final_size(tmp_path):
    import keras

    from facezoo.training.recipes import Loss, Optimizer, Stage
    from facezoo.training.run_folder import RunTracker

    stage = dict(optimizer=Optimizer(), losses={"y": Loss("mse")}, monitor="val_accuracy")
    small, final = Stage("100px", 1, image_size=(16, 16), **stage), Stage("200px", 3, image_size=(32, 32), **stage)
    tracker = RunTracker(tmp_path, ["100px", "200px"])
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])

    def end_epoch(stage, epoch, value, accuracy):
        model.set_weights([np.full((2, 1), value, "float32"), np.full(1, value, "float32")])
        tracker.end_epoch(model, stage, epoch, {"val_loss": 1.0, "val_accuracy": accuracy})

    end_epoch(small, 0, -1.0, 0.99)  # the best validation accuracy of the run, but at 100 px
    tracker.finish_stage(model, "100px")
    for epoch, accuracy in enumerate((0.5, 0.7, 0.6)):
        end_epoch(final, epoch, epoch + 1.0, accuracy)
    tracker.finish_stage(model, "200px")
    assert tracker.best() == {"monitor": "val_accuracy", "value": 0.7, "stage": "200px", "epoch": 2}
    model.load_weights(tracker.best_path)
    assert model.get_weights()[1].tolist() == [2.0]


CLIPPING = textwrap.dedent(
    """
    import json
    import numpy as np
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from facezoo.training.keras_bridge import keras_optimizer
    from facezoo.training.recipes import Optimizer

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 4)).astype("float32"), 10 * rng.normal(size=(8, 1)).astype("float32")

    def train(strategy, optimizer):
        with strategy.scope():
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(1)])
            model.compile(optimizer=optimizer(), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)  # two steps on the global batch of 8
        return np.concatenate([w.ravel() for w in model.get_weights()]).tolist()

    one = tf.distribute.OneDeviceStrategy("/cpu:0")
    two = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    facezoo = lambda: keras_optimizer(Optimizer("sgd", 0.1, clipnorm=1.0))
    print(json.dumps({
        "one": train(one, facezoo),
        "two": train(two, facezoo),
        "per_replica": train(two, lambda: keras.optimizers.SGD(0.1, clipnorm=1.0)),  # Keras 3's own clipnorm
        "unclipped": train(one, lambda: keras.optimizers.SGD(0.1)),
    }))
    """
)


def test_clipnorm_clips_the_summed_gradient_of_two_replicas():
    import facezoo

    src = str(Path(facezoo.__file__).parents[1])  # this facezoo, in a fresh interpreter (logical devices come first)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", CLIPPING], capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    out = {key: np.array(value) for key, value in json.loads(run.stdout.strip().splitlines()[-1]).items()}
    assert np.abs(out["unclipped"] - out["one"]).max() > 0.1  # the gradients are clipped
    np.testing.assert_allclose(out["two"], out["one"], rtol=1e-5, atol=1e-6)  # as on one device
    assert np.abs(out["per_replica"] - out["one"]).max() > 0.1  # Keras 3 clips each replica's half before the sum
