"""Published weights: registry entries against the real files, offline loading, and the recorded metrics."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import facezoo

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACEZOO_SHARED_DATA", REPO / ".." / "shared" / "data"))
ASTRONAUT = REPO / "examples" / "images" / "astronaut.jpg"
PUBLISHED = [(name, tag) for name in facezoo.list_models(pretrained=True) for tag in facezoo.model_info(name).weights]


def test_some_weights_are_published():
    assert ("utkface_multitask", "utkface") in PUBLISHED


def published_folder(name: str, tag: str) -> Path:
    return REPO / "weights" / facezoo.model_info(name).weights[tag].repo_id.split("/", 1)[1]


def load_published(name: str, tag: str, fake_hub):
    """``create_model(name, pretrained=tag)``; weights too big to embed are first pushed, as the maintainer would,
    from their folder to the fake Hub, so the download and its checksum are exercised too."""
    weights = facezoo.model_info(name).weights[tag]
    if weights.embedded is None:
        folder = published_folder(name, tag)
        fake_hub.create_repo(weights.repo_id)
        fake_hub.commit(weights.repo_id, {f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()})
    return facezoo.create_model(name, pretrained=tag)


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_registry_entry_matches_the_published_folder(name, tag, fake_hub):
    weights = facezoo.model_info(name).weights[tag]
    folder = published_folder(name, tag)
    data = (folder / weights.filename).read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (weights.sha256, weights.file_size)
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == name
    assert {k: tuple(v) if isinstance(v, list) else v for k, v in config["config"].items()} == {
        k: tuple(v) if isinstance(v, list) else v for k, v in weights.config.items()
    }
    card = (folder / "README.md").read_text()
    assert weights.repo_id in card and "non-commercial" in card.lower()
    for metric, value in weights.metrics.items():
        assert metric in card and f"{value:.4g}"[:4] in card
    assert weights.license and weights.dataset and weights.split and weights.extra["command"]
    assert load_published(name, tag, fake_hub).count_params() == weights.num_params


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_embedded_weights_are_the_published_bytes(name, tag):
    weights = facezoo.model_info(name).weights[tag]
    if weights.embedded is None:
        pytest.skip("not embedded")
    package, _, relative = weights.embedded.partition("/")
    data = resources.files(package).joinpath(relative).read_bytes()
    assert hashlib.sha256(data).hexdigest() == weights.sha256
    assert len(data) <= 10 * 1024 * 1024


def test_pretrained_loads_offline_with_no_endpoint(tmp_path):
    code = (
        "import facezoo, numpy as np; "
        "m = facezoo.models.utkface_multitask(pretrained=True); "
        "r = facezoo.predict(m, np.zeros((64, 64, 3), np.uint8))[0]; print(r['gender']['label'])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] in ("male", "female")


def test_pretrained_rejects_a_contradicting_config():
    with pytest.raises(ValueError, match="input_shape"):
        facezoo.models.utkface_multitask(pretrained=True, input_shape=(128, 128, 3))


#: Plausible range of each regression head's prediction on a real adult face.
SCORE_RANGES = {"age": (0, 100), "beauty": (1, 5)}


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_predictions_on_the_astronaut_are_in_range(name, tag, fake_hub):
    result = facezoo.predict(load_published(name, tag, fake_hub), ASTRONAUT)[0]
    for spec in facezoo.model_info(name).outputs:
        if spec.kind == "regression":
            low, high = SCORE_RANGES[spec.name]
            assert low <= result[spec.name]["score"] <= high, spec.name
        else:
            probabilities = result[spec.name]["probabilities"]
            assert set(probabilities) == set(spec.labels)
            assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
            assert result[spec.name]["label"] == max(probabilities, key=probabilities.get)


#: Dataset name -> its folder in ../shared/data.
SHARED_FOLDERS = {"utkface": "UTKFace", "imfdb_age": "imfdb-age", "celeba": "celeba", "scut_fbp5500": "SCUT-FBP5500_v2"}


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_weights_reproduce_their_recorded_test_metrics(name, tag, fake_hub):
    weights = facezoo.model_info(name).weights[tag]
    folder = SHARED_DATA / SHARED_FOLDERS[weights.dataset]
    if not folder.is_dir():
        pytest.skip(f"no shared data at {folder}")
    test = facezoo.datasets.load(weights.dataset, folder, split="test", **weights.dataset_options)
    metrics = facezoo.evaluate(load_published(name, tag, fake_hub), test).flat()
    for metric, value in weights.metrics.items():
        assert metrics[metric] == pytest.approx(value, abs=2e-3), metric


def test_batched_predict_on_real_faces_matches_single_images():
    folder = SHARED_DATA / "UTKFace"
    if not folder.is_dir():
        pytest.skip(f"no shared data at {SHARED_DATA}")
    paths = sorted(folder.iterdir())[:5]
    model = facezoo.models.utkface_multitask(pretrained=True)
    batched = facezoo.predict(model, paths, batch_size=4)
    for path, result in zip(paths, batched):
        single = facezoo.predict(model, path)[0]
        assert result["age"]["score"] == pytest.approx(single["age"]["score"], abs=1e-3)
        assert result["gender"]["label"] == single["gender"]["label"]
    assert np.isfinite([r["age"]["score"] for r in batched]).all()


def test_the_package_stays_under_the_wheel_budget():
    package = Path(facezoo.__file__).parent
    total = sum(f.stat().st_size for f in package.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
    assert total < 40 * 1024 * 1024, f"{total / 2**20:.1f} MiB of package files; the wheel must stay under 40 MB"
