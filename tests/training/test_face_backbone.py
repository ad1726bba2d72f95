"""The face backbone's union dataset, its masked multi-task training, schedules and backbone transfer."""

from __future__ import annotations

import math

import numpy as np
import pytest

import facezoo
from facezoo import datasets, training
from facezoo.training.evaluate import missing_labels
from facezoo.training.recipes import Optimizer


def test_union_keeps_each_members_labels_and_marks_the_rest_missing(synthetic_root):
    union = datasets.load("faces", synthetic_root, split="train")
    sources = union.annotations["source"]
    assert set(sources) == {"utkface", "imfdb_age", "celeba", "scut_fbp5500"}
    own = {
        "utkface": {"age", "gender", "race"},
        "imfdb_age": {"age_class"},
        "celeba": {"gender"},
        "scut_fbp5500": {"beauty"},
    }
    for source, heads in own.items():
        rows = sources == source
        for head, values in union.targets.items():
            missing = missing_labels(values[rows])
            assert (not missing.any()) if head in heads else missing.all(), (source, head)
    celeba = datasets.load("celeba", synthetic_root, split="train", **datasets.faces.MEMBER_OPTIONS["celeba"])
    assert list(union.targets["gender"][sources == "celeba"]) == list(1 - celeba.targets["Male"])  # Male 1 -> "male" 0


def test_union_holds_no_test_image_of_any_member(synthetic_root):
    train = set(datasets.load("faces", synthetic_root, split="train").paths)
    for name, options in datasets.faces.MEMBER_OPTIONS.items():
        assert not train & set(datasets.load(name, synthetic_root, split="test", **options).paths), name


def test_member_options_are_those_of_the_published_weights():
    for name, options in datasets.faces.MEMBER_OPTIONS.items():
        for model in facezoo.list_models():
            info = facezoo.model_info(model)
            for weights in info.weights.values():
                if weights.dataset == name:
                    assert {
                        k: tuple(v) if isinstance(v, list) else v for k, v in weights.dataset_options.items()
                    } == options


def test_masked_metrics_count_only_labelled_images(synthetic_root, tiny_models, tmp_path):
    result = training.fit_face_backbone(
        synthetic_root,
        tmp_path / "run",
        model="stand_in_face_backbone",
        epochs=1,
        batch_size=8,
        image_size=32,
        stages="128px",
        verbose=0,
    )
    validation = datasets.load("faces", synthetic_root, split="validation")
    measured = training.evaluate(result.model, validation, batch_size=8)
    for head in ("age", "beauty"):
        assert measured.metrics[head]["count"] == (~np.isnan(validation.targets[head])).sum()
        assert measured.metrics[head]["mae"] == pytest.approx(result.history[f"val_{head}_mae"][-1], rel=1e-3)
    for head in ("gender", "age_class"):
        assert measured.metrics[head]["count"] == (validation.targets[head] >= 0).sum()
        assert measured.metrics[head]["accuracy"] == pytest.approx(result.history[f"val_{head}_accuracy"][-1], abs=1e-3)


def test_cosine_schedule_with_warm_up():
    optimizer = Optimizer("adam", 1e-3, schedule="cosine", warmup_epochs=1)
    rates = [optimizer.learning_rate_at(epoch, 5) for epoch in range(5)]
    assert rates[0] == pytest.approx(5e-4) and rates[1] == pytest.approx(1e-3)
    assert rates[3] == pytest.approx(1e-3 * 0.5 * (1 + math.cos(math.pi * 2 / 4)))
    assert rates == sorted(rates[:2]) + sorted(rates[1:], reverse=True)[1:]
    assert Optimizer("adam", 1e-3, lr_decay=0.9).learning_rate_at(2, 5) == pytest.approx(1e-3 * 0.81)
    with pytest.raises(ValueError, match="lr_decay or schedule"):
        Optimizer(lr_decay=0.9, schedule="cosine")


def test_backbone_weights_from_a_facezoo_model(tmp_path):
    donor = facezoo.create_model("face_mobilenet_v2", input_shape=(64, 64, 3))
    facezoo.hub.save_pretrained(donor, tmp_path / "donor")
    model = facezoo.create_model("attractive_net", input_shape=(96, 96, 3), backbone_weights=str(tmp_path / "donor"))
    backbone, source = (next(layer for layer in m.layers if hasattr(layer, "layers")) for m in (model, donor))
    assert all(np.array_equal(a, b) for a, b in zip(backbone.get_weights(), source.get_weights()))
    with pytest.raises(ValueError, match="has no backbone like"):
        facezoo.create_model("age_vgg16", input_shape=(32, 32, 3), backbone_weights=str(tmp_path / "donor"))
