"""The CLI commands beyond list/info: predict, datasets, download, train, evaluate, push; bad usage and bad input."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import facezoo
from facezoo.cli import main

TESTS = Path(__file__).resolve().parent
IMAGES = TESTS.parent / "examples" / "images"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    spec = importlib.util.spec_from_file_location("cli_fixtures", TESTS / "training" / "fixtures.py")
    fixtures = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fixtures)
    root = tmp_path_factory.mktemp("data")
    fixtures.make_utkface(root)
    fixtures.make_imfdb_age(root)
    return root


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    import facezoo
    from facezoo.hub import save_pretrained

    folder = tmp_path_factory.mktemp("model") / "utkface-tiny"
    save_pretrained(facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3)), folder)
    return folder


def test_predict_prints_a_table_and_json(capsys, model_dir):
    code, out, err = run(capsys, "predict", model_dir, IMAGES)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["image", "age", "gender", "race"] and "astronaut.jpg" in lines[2]
    code, out, _ = run(capsys, "predict", model_dir, IMAGES / "astronaut.jpg", "--json", "--batch-size", "1")
    results = json.loads(out)
    assert code == 0 and len(results) == 1 and results[0]["image"].endswith("astronaut.jpg")
    assert set(results[0]["gender"]) >= {"label", "probability"} and "score" in results[0]["age"]


def test_predict_bad_input_is_one_line(capsys, model_dir, tmp_path):
    code, out, err = run(capsys, "predict", model_dir, tmp_path)
    assert code == 1 and out == "" and err == f"facezoo: error: No images found in {tmp_path}.\n"
    code, out, err = run(capsys, "predict", tmp_path / "missing-model", IMAGES)
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("facezoo: error:")


def test_datasets_lists_every_dataset(capsys):
    code, out, err = run(capsys, "datasets")
    assert code == 0 and err == ""
    assert out.splitlines()[0].split() == ["dataset", "images", "targets", "download"]
    names = [line.split()[0] for line in out.splitlines()[2:]]
    assert names == sorted(facezoo.datasets.list_datasets())
    assert "manual (login)" in out and "age, gender, race" in out


def test_download_from_a_manual_dir(capsys, data_root, tmp_path):
    code, out, err = run(capsys, "download", "utkface", "--data-dir", tmp_path, "--manual-dir", data_root / "UTKFace")
    assert code == 0, err
    folder = Path(out.strip())
    assert folder == tmp_path / "UTKFace" and len(list(folder.glob("*.jpg"))) == 24


def test_download_root_is_the_deprecated_name_of_data_dir(capsys, data_root, tmp_path):
    code, out, err = run(capsys, "download", "utkface", "--root", tmp_path, "--manual-dir", data_root / "UTKFace")
    assert code == 0 and Path(out.strip()) == tmp_path / "UTKFace"
    assert err == "facezoo: warning: --root is deprecated, use --data-dir (--root will be removed in facezoo 0.2.0).\n"
    code, out, err = run(capsys, "download", "utkface", "--root", tmp_path, "--data-dir", tmp_path)
    assert code == 1 and err == "facezoo: error: --root is the old name of --data-dir; pass --data-dir only.\n"


def test_download_bad_input(capsys, tmp_path):
    code, out, err = run(capsys, "download", "nope", "--data-dir", tmp_path)
    assert code == 1 and out == "" and err.count("\n") == 1 and "Unknown dataset 'nope'" in err
    code, out, err = run(capsys, "download", "imfdb_age", "--data-dir", tmp_path, "--manual-dir", tmp_path / "empty")
    assert code == 1 and out == "" and err.count("\n") == 1 and err.startswith("facezoo: error:")


def test_train_prints_json_results_on_stdout(capsys, data_root, tmp_path):
    code, out, err = run(
        capsys,
        "train",
        "age_cnn",
        "--data-dir",
        data_root,
        "--output-dir",
        tmp_path,
        "--epochs",
        "1",
        "--limit",
        "8",
        "--batch-size",
        "4",
        "--image-size",
        "94",
        "--seed",
        "3",
        "--strategy",
        "one",
    )
    assert code == 0, err
    result = json.loads(out)  # Keras progress went to stderr.
    run_args = json.loads((tmp_path / "run.json").read_text())
    assert run_args["seed"] == 3 and run_args["strategy"] == "OneDeviceStrategy"
    assert set(result["test_metrics"]) == {"accuracy", "macro_f1", "count"}
    assert (Path(result["pretrained_dir"]) / "facezoo.json").is_file()


def test_train_bad_input(capsys, tmp_path):
    code, out, err = run(capsys, "train", "utkface", "--data-dir", tmp_path, "--output-dir", tmp_path / "run")
    assert code == 1 and out == "" and err.count("\n") == 1 and "utkface is not in" in err
    code, _, err = run(capsys, "train", "age_cnn", "--data-dir", tmp_path, "--output-dir", tmp_path, "--epochs", "0")
    assert code == 1 and "epochs must be a positive integer" in err
    code, _, err = run(
        capsys, "train", "age_cnn", "--data-dir", tmp_path, "--output-dir", tmp_path, "--strategy", "multi-worker"
    )
    assert code == 1 and err.count("\n") == 1 and 'strategy "multi-worker" needs TF_CONFIG' in err
    code, _, err = run(
        capsys, "train", "age_cnn", "--data-dir", tmp_path, "--output-dir", tmp_path, "--experiment", "x"
    )
    assert code == 1 and "has no experiment 'x'; its experiments: baseline, regularized, augmented, vgg16" in err


def test_evaluate_a_local_model(capsys, model_dir, data_root):
    code, out, err = run(
        capsys,
        "evaluate",
        model_dir,
        "--dataset",
        "utkface",
        "--data-dir",
        data_root,
        "--split",
        "all",
        "--by",
        "gender",
        "--limit",
        "6",
    )
    assert code == 0, err
    assert "**utkface all: 6 images**" in out and "| age | mae |" in out
    assert "**age by gender**" in out and "**race/per_class**" in out


@pytest.fixture(scope="module")
def measured_model_dir(tmp_path_factory) -> Path:
    """A folder whose ``facezoo.json`` records that it was measured on utkface with ``test_fraction=0.25``."""
    import facezoo
    from facezoo.hub import save_pretrained

    folder = tmp_path_factory.mktemp("model") / "utkface-measured"
    model = facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3))
    save_pretrained(model, folder, dataset="utkface", dataset_options={"test_fraction": 0.25, "seed": 3})
    return folder


def test_evaluate_uses_the_recorded_dataset_options_unless_given(capsys, measured_model_dir, data_root):
    from facezoo import datasets

    def evaluated(*options):
        argv = ["evaluate", measured_model_dir, "--dataset", "utkface", "--data-dir", data_root, *options]
        code, out, err = run(capsys, *argv)
        assert code == 0, err
        return out.splitlines()[0]

    recorded = len(datasets.load("utkface", data_root, split="test", test_fraction=0.25, seed=3))
    assert recorded != len(datasets.load("utkface", data_root, split="test"))
    assert evaluated() == f"**utkface test (test_fraction=0.25, seed=3): {recorded} images**"
    given = len(datasets.load("utkface", data_root, split="test", test_fraction=0.5, seed=3))
    assert evaluated("--option", "test_fraction=0.5") == f"**utkface test (test_fraction=0.5, seed=3): {given} images**"
    # Recorded for another dataset: not applied.
    code, out, err = run(capsys, "evaluate", measured_model_dir, "--dataset", "imfdb_age", "--data-dir", data_root)
    assert "test_fraction" not in out + err


def test_evaluate_options_bad_input(capsys, measured_model_dir, data_root):
    argv = ["evaluate", measured_model_dir, "--dataset", "utkface", "--data-dir", data_root, "--option", "protocol=x"]
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "utkface has no option 'protocol'; its options: validation_fraction, test_fraction, seed" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "x", "--dataset", "utkface", "--option", "seed"])
    assert exit_info.value.code == 2 and "expected KEY=VALUE, got 'seed'" in capsys.readouterr().err


def test_dataset_options_are_json_or_strings():
    from facezoo.cli import _dataset_option

    assert _dataset_option("validation_fraction=0.1") == ("validation_fraction", 0.1)
    assert _dataset_option("label_from_identity=true") == ("label_from_identity", True)
    assert _dataset_option("identity_fractions=[0.15, 0.15]") == ("identity_fractions", [0.15, 0.15])
    assert _dataset_option("protocol=official") == ("protocol", "official")
    assert _dataset_option("attribute=a=b") == ("attribute", "a=b")


def test_evaluate_flip_averages_predictions_with_the_mirror_images(capsys, model_dir, data_root):
    import numpy as np

    import facezoo
    from facezoo import datasets
    from facezoo.training import evaluate

    model = facezoo.create_model(str(model_dir))
    test = datasets.load("utkface", data_root, split="all")
    plain, flipped = (evaluate(model, test, flip=flip).predictions["age"] for flip in (False, True))
    images = np.stack([facezoo.inference.load_image(p, (32, 32)) for p in test.paths])
    mirrored = np.asarray(model.predict_on_batch(images[:, :, ::-1])["age"]).ravel()
    np.testing.assert_allclose(flipped, (plain + mirrored) / 2, rtol=1e-4, atol=1e-3)
    assert not np.allclose(plain, mirrored, rtol=1e-4)
    code, out, err = run(capsys, "evaluate", model_dir, "--dataset", "utkface", "--data-dir", data_root, "--flip")
    assert code == 0 and "| age | mae |" in out, err


def test_evaluate_bad_input(capsys, model_dir, data_root):
    code, out, err = run(capsys, "evaluate", model_dir, "--dataset", "utkface", "--data-dir", data_root, "--by", "hat")
    assert code == 1 and out == "" and err.count("\n") == 1 and "names no annotation" in err
    code, _, err = run(capsys, "evaluate", model_dir, "--dataset", "imfdb_age", "--data-dir", data_root)
    assert code == 1 and "has no target in the dataset" in err


def test_push_to_the_fake_hub(capsys, model_dir, fake_hub):
    endpoint = os.environ["HF_ENDPOINT"]
    code, out, err = run(
        capsys, "push", model_dir, "someone/tiny", "--tag", "v1", "--endpoint", endpoint, "--token", "t"
    )
    assert code == 0, err
    result = json.loads(out)
    assert result["commit_url"].endswith(f"/someone/tiny/commit/{result['sha']}")
    assert fake_hub.repos["someone/tiny"].tags["v1"] == result["sha"]
    code, out, err = run(capsys, "push", model_dir, "someone/tiny", "--revision", "new-branch", "--token", "t")
    assert code == 0, err  # the branch is created
    assert fake_hub.repos["someone/tiny"].branches["new-branch"] == json.loads(out)["sha"]
    code, out, err = run(capsys, "push", model_dir.parent, "someone/tiny", "--token", "t")
    assert code == 1 and out == "" and "is not a save_pretrained folder" in err
    code, out, err = run(capsys, "push", model_dir, "someone/tiny")
    assert code == 1 and err.count("\n") == 1 and "set HF_TOKEN" in err and "hf auth login" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "attractive_net"],  # no images
        ["download"],
        ["train", "no_such_recipe", "--data-dir", "d", "--output-dir", "o"],
        ["train", "utkface", "--data-dir", "d"],  # no --output-dir
        ["train", "utkface", "--data-dir", "d", "--output-dir", "o", "--epochs", "two"],
        ["train", "utkface", "--data-dir", "d", "--output-dir", "o", "--strategy", "tpu"],
        ["evaluate", "attractive_net"],  # no --dataset
        ["push", "folder"],
        ["datasets", "extra"],
    ],
)
def test_bad_usage_exits_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "usage: facezoo" in capsys.readouterr().err


@pytest.mark.slow  # a fresh interpreter (7 s of CPU); evaluate runs in-process above, the CLI as a process elsewhere
def test_evaluate_as_a_subprocess(model_dir, data_root):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "facezoo.cli",
            "evaluate",
            str(model_dir),
            "--dataset",
            "utkface",
            "--data-dir",
            str(data_root),
            "--split",
            "all",
            "--limit",
            "4",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("**utkface all: 4 images**")
