"""``facezoo analyze`` and ``--on-error`` of ``facezoo predict``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from PIL import Image

from facezoo.cli import build_parser, main

REPO = Path(__file__).resolve().parents[1]
ASTRONAUT = REPO / "examples" / "images" / "astronaut.jpg"


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def folder(tmp_path) -> Path:
    """The astronaut and a file that is not an image."""
    shutil.copy(ASTRONAUT, tmp_path / "astronaut.jpg")
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff not really a JPEG")
    return tmp_path


def test_analyze_prints_one_row_per_face_and_annotates(capsys, tmp_path, monkeypatch):
    """The README's main job, with its printed output."""
    monkeypatch.chdir(REPO)
    code, out, err = run(capsys, "analyze", "examples/images/astronaut.jpg", "--annotate", tmp_path / "out")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:8] == ["image", "face", "box", "(x", "y", "w", "h)", "conf"]
    assert len(lines) == 3 and "astronaut.jpg" in lines[2] and "female" in lines[2]
    readme = (REPO / "README.md").read_text()
    shown = readme[readme.index(lines[0]) :].splitlines()[:3]  # the README shows this very table
    assert shown[:2] == lines[:2]
    for got, published in zip(lines[2].split(), shown[2].split()):
        number = published.strip("()")
        if number.replace(".", "").isdigit():
            assert float(got.strip("()")) == pytest.approx(float(number), abs=0.011)
        else:
            assert got == published
    with Image.open(tmp_path / "out" / "astronaut.png") as annotated:
        assert annotated.size == (512, 512)
    code, out, _ = run(capsys, "analyze", ASTRONAUT, "--models", "utkface_multitask.utkface", "--json")
    (face,) = json.loads(out)
    assert code == 0 and face["face"] == 0 and set(face["predictions"]) == {"utkface_multitask.utkface"}
    assert set(face["landmarks"]) == {"left_eye", "right_eye", "nose", "mouth_left", "mouth_right"}


def test_analyze_and_predict_skip_bad_files_on_request(capsys, caplog, folder):
    annotate = ["--annotate", folder / "out"]
    for command in (
        ["analyze", folder, "--models", "utkface_multitask", *annotate],
        ["predict", "utkface_multitask", folder],
    ):
        code, out, err = run(capsys, *command)
        assert code == 1 and out == "" and err.count("\n") == 1 and "broken.jpg" in err
        caplog.clear()
        code, out, err = run(capsys, *command, "--on-error", "skip")
        assert code == 0 and "astronaut.jpg" in out and "broken.jpg" not in out
        assert [r.getMessage().count("broken.jpg") for r in caplog.records if r.name == "facezoo"] == [1]


def test_analyze_refuses_models_not_trained_on_faces(capsys):
    code, out, err = run(capsys, "analyze", ASTRONAUT, "--models", "selfie_resnet")
    assert code == 1 and out == "" and err.count("\n") == 1 and "not face crops" in err


def test_predict_help_points_photos_to_analyze():
    help_text = build_parser()._subparsers._group_actions[0].choices["predict"].format_help()
    assert "aligned face crops" in help_text and "facezoo analyze" in help_text
