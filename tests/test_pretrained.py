"""Published weights: registry entries against the real files, loading with facezoo and with plain Keras, offline
loading, the cards' Hub conventions, the embedded copies, and the recorded metrics."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from hub_server import File
from huggingface_hub import ModelCard

import facezoo
from facezoo import hub, registry
from facezoo.training.evaluate import evaluation_options

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("FACEZOO_SHARED_DATA", REPO / ".." / "shared" / "data"))
ASTRONAUT = REPO / "examples" / "images" / "astronaut.jpg"
#: Every registered weight: embedded, uploaded, or staged in weights/ for upload.
PUBLISHED = [(name, tag) for name in facezoo.list_models() for tag in facezoo.model_info(name).weights]


def test_some_weights_are_published():
    assert ("utkface_multitask", "utkface") in PUBLISHED


def published_folder(name: str, tag: str) -> Path:
    return REPO / "weights" / facezoo.model_info(name).weights[tag].repo_id.split("/", 1)[1]


def serve_published(fake_hub, name: str, tag: str) -> str:
    """Put the published folder on the fake Hub as the maintainer's push would (``*.h5`` through git-LFS)."""
    weights = facezoo.model_info(name).weights[tag]
    repo = fake_hub.create_repo(weights.repo_id)
    files = {f.name: File(f.read_bytes(), lfs=f.suffix == ".h5") for f in published_folder(name, tag).iterdir()}
    fake_hub._commit(repo, "main", files)
    return weights.repo_id


def load_published(name: str, tag: str, fake_hub):
    """``create_model(name, pretrained=tag)``; staged weights (not uploaded yet) are served by the fake Hub and
    loaded by repository id, so the download and the registry's checksum are exercised too."""
    weights = facezoo.model_info(name).weights[tag]
    if weights.available:
        return facezoo.create_model(name, pretrained=tag)
    return hub.from_pretrained(f"hf://{serve_published(fake_hub, name, tag)}")


_LOADED: dict = {}


@pytest.fixture(autouse=True, scope="module")
def _forget_loaded():
    yield
    _LOADED.clear()


def loaded_once(name: str, tag: str, fake_hub):
    """:func:`load_published` once per weight, shared by the tests that only read the model (one that changes it loads
    its own)."""
    if (name, tag) not in _LOADED:
        _LOADED[name, tag] = load_published(name, tag, fake_hub)
    return _LOADED[name, tag]


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_registry_entry_matches_the_published_folder(name, tag, fake_hub):
    weights = facezoo.model_info(name).weights[tag]
    folder = published_folder(name, tag)
    data = (folder / weights.filename).read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (weights.sha256, weights.file_size)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*hub.PUBLISHED_FILES, hub.METADATA_NAME])
    hub.check_folder(folder)  # checksums, config, weights fit, no local paths
    config = json.loads((folder / "facezoo.json").read_text())
    assert config["architecture"] == name
    assert (config["dataset"], config["dataset_options"]) == (
        weights.dataset,
        json.loads(json.dumps(dict(weights.dataset_options))),
    )
    assert config["metrics"] == dict(weights.metrics) and weights.split.startswith(config["split"])
    assert config.get("flip_metrics", {}) == dict(weights.flip_metrics)
    assert {k: tuple(v) if isinstance(v, list) else v for k, v in config["config"].items()} == {
        k: tuple(v) if isinstance(v, list) else v for k, v in weights.config.items()
    }
    card = (folder / "README.md").read_text()
    assert weights.repo_id in card and "non-commercial" in card.lower()
    for metric, value in weights.metrics.items():
        assert metric in card and f"{value:.4g}"[:4] in card
    assert weights.license and weights.dataset and weights.split and weights.extra["command"]
    assert loaded_once(name, tag, fake_hub).count_params() == weights.num_params


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_ablation_holds_these_weights_and_is_the_cards(name, tag):
    weights = facezoo.model_info(name).weights[tag]
    own = weights.own_ablation_row
    assert own is not None, "the ablation table must hold a row with these weights' metrics"
    assert [dict(row["metrics"]) for row in weights.ablation].count(dict(weights.metrics)) == 1
    assert own["epochs"] == weights.extra["epochs"]
    assert own["cpu_time_s"] == weights.extra.get("cpu_time_s")
    size = own["image_size"]
    assert ([size, size] if isinstance(size, int) else list(size)) == list(weights.config["input_shape"][:2])
    # A row that is another published weight (same split, same metrics) says how that weight was initialised.
    for row in weights.ablation:
        for other_name, other_tag in PUBLISHED:
            other = facezoo.model_info(other_name).weights[other_tag]
            if (other.split, dict(other.metrics)) == (weights.split, dict(row["metrics"])) and other.ablation:
                assert other.own_ablation_row and row["init"] == other.own_ablation_row["init"], row
    folder = published_folder(name, tag)
    metadata = json.loads((folder / hub.METADATA_NAME).read_text())
    assert metadata["ablation"] == json.loads(json.dumps([dict(r) for r in weights.ablation], default=list))
    card = (folder / hub.CARD_NAME).read_text()
    assert facezoo.specs.ablation_markdown(weights.ablation) in card and card.count("| variant | init |") == 1


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
    with pytest.raises(ValueError, match="width=16 .weights: 32.* change the architecture"):
        facezoo.models.utkface_multitask(pretrained=True, width=16)


#: Plausible range of each regression head's prediction on a real adult face.
SCORE_RANGES = {"age": (0, 100), "beauty": (1, 5)}


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_predictions_on_the_astronaut_are_in_range(name, tag, fake_hub):
    result = facezoo.predict(loaded_once(name, tag, fake_hub), ASTRONAUT)[0]
    for spec in facezoo.model_info(name).outputs:
        if spec.kind == "regression":
            low, high = SCORE_RANGES[spec.name]
            assert low <= result[spec.name]["score"] <= high, spec.name
        else:
            probabilities = result[spec.name]["probabilities"]
            assert set(probabilities) == set(spec.labels)
            assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-5)
            assert result[spec.name]["label"] == max(probabilities, key=probabilities.get)


def shared_folder(dataset: str) -> Path:
    folder = SHARED_DATA / facezoo.datasets.dataset_info(dataset).folder
    if not folder.is_dir():
        pytest.skip(f"no shared data at {folder}")
    return folder


@pytest.mark.slow  # evaluates every published weight on its real test split (minutes)
@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_weights_reproduce_their_recorded_test_metrics(name, tag, fake_hub):
    weights = facezoo.model_info(name).weights[tag]
    folder = shared_folder(weights.dataset)
    # A dataset name is loaded with the options the weights were measured with.
    model = load_published(name, tag, fake_hub)
    metrics = facezoo.evaluate(model, weights.dataset, data_dir=folder).flat()
    for metric, value in weights.metrics.items():
        assert metrics[metric] == pytest.approx(value, abs=2e-3), metric
    if weights.flip_metrics:
        flipped = facezoo.evaluate(model, weights.dataset, data_dir=folder, flip=True).flat()
        for metric, value in weights.flip_metrics.items():
            assert flipped[metric] == pytest.approx(value, abs=2e-3), metric


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_loaded_weights_record_the_dataset_options_they_were_measured_with(name, tag, fake_hub):
    weights = facezoo.model_info(name).weights[tag]
    dataset, options = registry.measured_on(loaded_once(name, tag, fake_hub))
    recorded = json.loads(json.dumps(dict(weights.dataset_options)))
    assert (dataset, json.loads(json.dumps(options))) == (weights.dataset, recorded)
    assert evaluation_options(facezoo.create_model(name), weights.dataset) == {}  # no weights, nothing recorded


class _Plain:
    """Stands in for a model: evaluation_options reads only what record_measurement wrote."""


def test_evaluation_options_apply_to_the_measured_dataset_only():
    model = registry.record_measurement(_Plain(), "scut_fbp5500", {"protocol": "official"})
    assert evaluation_options(model, "scut_fbp5500") == {"protocol": "official"}
    assert evaluation_options(model, "scut_fbp5500", {"validation_fraction": 0.1}) == {
        "protocol": "official",
        "validation_fraction": 0.1,
    }
    assert evaluation_options(model, "scut_fbp5500", {"protocol": "reference"}) == {"protocol": "reference"}
    assert evaluation_options(model, "utkface") == {}
    with pytest.raises(ValueError, match="dataset_options apply to a dataset name"):
        facezoo.evaluate(model, facezoo.datasets.FaceDataset("x", "test", [], {}, ()), dataset_options={"seed": 1})


@pytest.mark.slow
@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_the_cli_reproduces_each_published_test_metric(name, tag, fake_hub, capsys):
    from facezoo.cli import main

    weights = facezoo.model_info(name).weights[tag]
    folder = shared_folder(weights.dataset)
    source = f"{name}.{tag}" if weights.available else f"hf://{serve_published(fake_hub, name, tag)}"
    code = main(["evaluate", source, "--dataset", weights.dataset, "--data-dir", str(folder)])
    out, err = capsys.readouterr()
    assert code == 0, err
    title, table = out.split("\n\n")[:2]
    assert title.startswith(f"**{weights.dataset} test")
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    measured = {(head.strip(), metric.strip()): float(value) for head, metric, value in rows}
    heads = [spec.name for spec in facezoo.model_info(name).outputs]
    for key, value in weights.metrics.items():
        head, _, metric = key.rpartition("/")
        assert measured[(head or heads[0], metric)] == pytest.approx(value, abs=2e-3), key


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


# The default run loads one published folder (the three heads of utkface_multitask, 5 MB); every one (66 MB of
# celeba_cnn among them) is slow.
@pytest.mark.parametrize(
    "published",
    [
        pytest.param([("utkface_multitask", "utkface")], id="utkface_multitask"),
        pytest.param(PUBLISHED, id="all", marks=pytest.mark.slow),
    ],
)
def test_plain_keras_loads_every_published_folder_from_the_hub_without_facezoo(published, fake_hub, tmp_path):
    """``keras.saving.load_model("hf://…")`` in a Python where facezoo cannot be imported gives facezoo's predictions
    exactly."""
    expected = {}
    for name, tag in published:
        repo_id = serve_published(fake_hub, name, tag)
        model = load_published(name, tag, fake_hub)
        images = np.random.default_rng(0).uniform(0, 255, size=(2, *model.input_shape[1:])).astype("float32")
        stem = repo_id.split("/", 1)[1]  # one file set per weight: a model can have several
        np.save(tmp_path / f"{stem}.images.npy", images)
        outputs = model.predict(images, verbose=0)
        expected[repo_id] = outputs if isinstance(outputs, dict) else {"output": outputs}
        np.save(tmp_path / f"{stem}.repo.npy", np.array(repo_id))
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["facezoo"] = None  # any import of facezoo fails
        from pathlib import Path
        import keras, numpy as np
        for images in sorted(Path({str(tmp_path)!r}).glob("*.images.npy")):
            stem = images.name.removesuffix(".images.npy")
            repo_id = str(np.load(images.with_name(stem + ".repo.npy")))
            outputs = keras.saving.load_model("hf://" + repo_id).predict(np.load(images), verbose=0)
            outputs = outputs if isinstance(outputs, dict) else {{"output": outputs}}
            np.savez(images.with_name(stem + ".keras.npz"), **outputs)
        assert not [m for m in sys.modules if m.startswith("facezoo") and sys.modules[m] is not None]
        try:
            import facezoo
        except ImportError:
            print("facezoo not importable")
        """
    )
    env = {**os.environ, "HF_HOME": str(tmp_path / "hf-home"), "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "facezoo not importable"
    for name, tag in published:
        repo_id = facezoo.model_info(name).weights[tag].repo_id
        got = np.load(tmp_path / f"{repo_id.split('/', 1)[1]}.keras.npz")
        assert sorted(got.files) == sorted(expected[repo_id]), name
        for key, value in expected[repo_id].items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{name} {key}")


#: Metric ids of https://huggingface.co/metrics that facezoo cards may use.
HUB_METRIC_IDS = {
    "mae",
    "mse",
    "pearsonr",
    "spearmanr",
    "accuracy",
    "f1",
    "precision",
    "recall",
    "roc_auc",
    "r_squared",
}
#: Hub task ids a model-index ``task.type`` may take for facezoo's heads.
HUB_TASK_IDS = {"image-classification", "other"}


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_cards_follow_the_hub_metadata_conventions(name, tag):
    weights = facezoo.model_info(name).weights[tag]
    card = ModelCard.load(published_folder(name, tag) / "README.md")
    data = card.data.to_dict()
    assert data["library_name"] == "keras"
    assert data["license"] == "other" and data["license_name"]
    if facezoo.dataset_info(weights.dataset).citation.url:  # a union of datasets (faces) has no one home page
        assert data["license_link"].startswith("https://")
    outputs = facezoo.model_info(name).outputs
    if len(outputs) == 1 and outputs[0].kind != "regression":
        assert data["pipeline_tag"] == "image-classification"
    else:
        assert "pipeline_tag" not in data
        assert {"image-regression"} & set(data["tags"]) or {"multi-output"} & set(data["tags"])
    for dataset in data.get("datasets", []):
        assert re.fullmatch(r"[\w.-]+/[\w.-]+", dataset), dataset  # Hub dataset ids
    if "base_model" in data:
        assert any(
            w.repo_id == data["base_model"]
            for n in facezoo.list_models()
            for w in facezoo.model_info(n).weights.values()
        )
    results = card.data.eval_results
    assert len(results) == len([m for m in weights.metrics if m.rpartition("/")[2] in hub.HUB_METRICS])
    for result in results:
        assert result.task_type in HUB_TASK_IDS and result.metric_type in HUB_METRIC_IDS
        assert re.fullmatch(r"[a-z]+", result.dataset_split), result.dataset_split  # a split name; prose in the card
    split, _, protocol = weights.split.partition(" (")
    assert f"Split `{split}`: {protocol.removesuffix(')')}" in card.text
    assert f'keras.saving.load_model("hf://{weights.repo_id}")' in card.text


@pytest.mark.parametrize("name, tag", PUBLISHED)
def test_each_weight_is_stored_once_the_embedded_copy_links_to_it(name, tag):
    weights = facezoo.model_info(name).weights[tag]
    if weights.embedded is None:
        pytest.skip("not embedded")
    package_copy = REPO / "src" / weights.embedded
    if not (REPO / ".git").exists() or not package_copy.exists():
        pytest.skip("not a source checkout")
    assert package_copy.is_symlink(), f"{package_copy} must be a link to the published file, not a second copy"
    assert package_copy.resolve() == (published_folder(name, tag) / weights.filename).resolve()


@pytest.mark.slow
def test_the_wheel_holds_the_real_bytes_of_embedded_weights(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel,) = tmp_path.glob("facezoo-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name, tag in PUBLISHED:
            weights = facezoo.model_info(name).weights[tag]
            if weights.embedded:
                assert hashlib.sha256(archive.read(weights.embedded)).hexdigest() == weights.sha256, weights.embedded
