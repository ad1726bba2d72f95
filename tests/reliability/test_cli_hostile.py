"""The CLI under hostile conditions: only facezoo's own output, plain progress in logs, closed pipes, bad limits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import facezoo
from facezoo.cli import main
from facezoo.hub import save_pretrained

from .helpers import jpeg, utk_names

IMAGE = Path(__file__).resolve().parents[2] / "examples" / "images" / "astronaut.jpg"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    return save_pretrained(facezoo.models.utkface_multitask(width=4, input_shape=(32, 32, 3)), folder)


@pytest.fixture
def utk_root(tmp_path) -> Path:
    for i, name in enumerate(utk_names(20)):
        (tmp_path / "data" / "UTKFace").mkdir(parents=True, exist_ok=True)
        (tmp_path / "data" / "UTKFace" / name).write_bytes(jpeg(i, size=(16, 16)))
    return tmp_path / "data"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    return env


def test_a_closed_pipe_ends_quietly():
    process = subprocess.Popen(
        [sys.executable, "-m", "facezoo.cli", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    process.stdout.close()  # the reader is gone before facezoo writes (as `facezoo list | head -0`)
    err = process.stderr.read()
    assert process.wait(timeout=60) == 0 and err == b""


def test_tensorflow_logging_is_silenced_unless_verbose(tiny_model):
    done = subprocess.run(
        [sys.executable, "-m", "facezoo.cli", "predict", str(tiny_model), str(IMAGE)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env(),
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "astronaut.jpg" in done.stdout


def test_training_progress_in_a_log_is_plain(capsys, utk_root, tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(
            [
                "train",
                "utkface",
                "--data-dir",
                str(utk_root),
                "--output-dir",
                str(tmp_path / "run"),
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--image-size",
                "32",
                "--on-error",
                "skip",
            ]
        )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["test_metrics"]
    assert "4/4 - " in err and "\x1b" not in err and "\b" not in err and "\r" not in err
    assert not [w for w in caught if "ran out of data" in str(w.message)]  # skipping is no reason to warn


@pytest.mark.parametrize("limit", ["-1", "0", "many"])
def test_evaluate_limit_must_be_positive(capsys, tiny_model, limit):
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(tiny_model), "--dataset", "utkface", "--limit", limit])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and f"--limit: expected a positive integer, got '{limit}'" in err


def test_evaluate_on_error_skip_and_a_model_without_the_datasets_heads(capsys, tiny_model, utk_root):
    (utk_root / "UTKFace" / "40_1_1_20170119999999997.jpg.chip.jpg").write_text("<html>")
    argv = ["evaluate", str(tiny_model), "--dataset", "utkface", "--data-dir", str(utk_root), "--split", "all"]
    assert main(argv) == 1
    assert "--on-error skip" in capsys.readouterr().err
    assert main([*argv, "--on-error", "skip"]) == 0
    assert "**utkface all: 20 images (1 skipped)**" in capsys.readouterr().out
    code = main(["evaluate", "age_cnn", "--dataset", "utkface", "--data-dir", str(utk_root), "--on-error", "skip"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "is a regression" in err


def _well_formed_but_undecodable() -> bytes:
    """A JPEG with its start and end markers (so the up-front check passes) whose middle is no JPEG data."""
    good = jpeg(0, size=(16, 16))
    return good[:20] + bytes(range(256)) * 4 + good[-2:]


def test_an_image_that_fails_to_decode_mid_run_is_named_in_one_line(capsys, tiny_model, utk_root, tmp_path):
    bad = utk_root / "UTKFace" / "40_1_1_20170119999999997.jpg.chip.jpg"
    bad.write_bytes(_well_formed_but_undecodable())
    argv = ["evaluate", str(tiny_model), "--dataset", "utkface", "--data-dir", str(utk_root), "--split", "all"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"facezoo: error: utkface/all: '{bad}' is not an image TensorFlow")
    assert "--on-error skip" in err
    assert main([*argv, "--on-error", "skip"]) == 0
    assert "**utkface all: 20 images (1 skipped)**" in capsys.readouterr().out
    train = [
        "train",
        "utkface",
        "--data-dir",
        str(utk_root),
        "--output-dir",
        str(tmp_path / "run"),
        "--epochs",
        "1",
        "--batch-size",
        "4",
        "--image-size",
        "32",
    ]
    assert main(train) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("facezoo: error: utkface/") and f"'{bad}' is not an image TensorFlow" in err[-1]
