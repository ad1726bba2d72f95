"""The facezoo command line, in-process and as a subprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest

import facezoo
from facezoo.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_every_model_with_parameter_counts(capsys):
    code, out, err = run(capsys, "list")
    assert code == 0 and err == ""
    assert out.splitlines()[0].split() == ["model", "family", "task", "input", "params", "weights"]
    assert [line.split()[0] for line in out.splitlines()[2:]] == facezoo.list_models()
    assert "1,598,577" in out and "218x178" in out  # selfie_resnet's parameters, celeba_cnn's input
    code, out, _ = run(capsys, "list", "celeba_*")
    assert [line.split()[0] for line in out.splitlines()[2:]] == facezoo.list_models("celeba_*")


def test_info_prints_a_card_like_summary(capsys):
    code, out, _ = run(capsys, "info", "person_attributes_densenet121")
    assert code == 0
    assert "multi-task classification" in out and "8,123,355" in out
    assert "emotion (classification): Angry/Serious, Happy, Neutral, Sad" in out
    assert "features:   64@2, 256@4, 512@8, 1024@16, 1024@32 (channels@stride" in out and "embedding 1024" in out
    assert "adaptable:  num_classes, input_shape, freeze_backbone (may differ" in out


def test_info_shows_the_flip_metrics_where_measured(capsys):
    _, out, _ = run(capsys, "info", "celeba_mobilenet_v2")
    weights = facezoo.model_info("celeba_mobilenet_v2").weights["faces_ft_celeba"]
    assert f"; with --flip: accuracy {weights.flip_metrics['accuracy']:.4g}" in out


def test_errors_are_one_line_and_usage_errors_exit_2(capsys):
    code, out, err = run(capsys, "info", "selfie_resnt")
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0 and "Did you mean selfie_resnet" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["list", "--bogus"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main([])
    assert exit_info.value.code == 2


def test_verbose_shows_the_traceback():
    with pytest.raises(ValueError, match="Unknown model"):
        main(["--verbose", "info", "nope"])


def test_console_script_runs_without_importing_tensorflow():
    code = (
        "import sys; from facezoo.cli import main; rc = main(['list']); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'; sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "utkface_multitask" in done.stdout
    done = subprocess.run(["facezoo", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "predict" in done.stdout
