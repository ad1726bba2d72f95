"""facezoo.hub against a fake Hub (tests/hub_server.py) driven by the real huggingface_hub client."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hub_server import FakeHub
from huggingface_hub import ModelCard, constants, hf_hub_download, snapshot_download

import facezoo
from facezoo import hub, registry
from facezoo.registry import WeightsInfo

CONFIG = {"n_layers": 3, "n_filters": 4, "input_shape": (32, 32, 3)}
REPO = "facezoo-test/selfie-cnn"
TOKEN = "hf_test_token"


@pytest.fixture(scope="session")
def model():
    return facezoo.create_model("selfie_cnn", **CONFIG)


@pytest.fixture(scope="session")
def images():
    return np.random.default_rng(0).uniform(0, 255, size=(4, 32, 32, 3)).astype("float32")


@pytest.fixture(scope="session")
def expected(model, images):
    return model.predict(images, verbose=0)


@pytest.fixture(scope="session")
def saved(model, tmp_path_factory):
    return hub.save_pretrained(
        model,
        tmp_path_factory.mktemp("saved") / "selfie",
        metrics={"mae": 0.361, "rmse": 0.47},
        dataset="selfie",
        training_args={"epochs": 1, "batch_size": 32},
        tags=("unit-test",),
        notes="Trained for one epoch in a unit test.",
    )


@pytest.fixture
def hf_cache(tmp_path, monkeypatch):
    """A fresh default Hub cache (what pretrained=True downloads into)."""
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf-cache"))
    return tmp_path / "hf-cache"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def corrupt(path: Path) -> None:
    blob = Path(path).resolve()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))


def register_weights(monkeypatch, **fields) -> WeightsInfo:
    """Give selfie_cnn a registry weights entry for the duration of a test."""
    weights = WeightsInfo(tag="unit_test", filename=hub.WEIGHTS_NAME, config=CONFIG, dataset="selfie", **fields)
    info = facezoo.model_info("selfie_cnn")
    monkeypatch.setitem(registry._INFOS, "selfie_cnn", dataclasses.replace(info, weights={weights.tag: weights}))
    return weights


def normalised(requests: list[str], repo: str) -> list[str]:
    return [re.sub(r"\b[0-9a-f]{40}\b", "{sha}", r.replace(repo, "{repo}")) for r in requests]


# --------------------------------------------------------------------------------------------------- save


def test_save_pretrained_writes_config_weights_args_and_card(saved, model):
    files = ["README.md", "config.json", "model.weights.h5", "training_args.json"]
    assert sorted(p.name for p in saved.iterdir()) == files
    assert [p.name for p in saved.parent.iterdir()] == ["selfie"]  # no temporary folder left behind
    config = json.loads((saved / "config.json").read_text())
    assert config["architecture"] == "selfie_cnn"
    assert config["format_version"] == hub.FORMAT_VERSION
    assert config["facezoo_version"] == facezoo.__version__
    assert config["config"] == {
        "n_layers": 3, "n_filters": 4, "batch_norm": True, "input_shape": [32, 32, 3], "leaky_relu_alpha": 0.3
    }
    assert config["input"]["shape"] == [32, 32, 3]
    popularity = {"name": "popularity", "kind": "regression", "labels": [], "units": "popularity score"}
    assert config["outputs"] == [popularity]
    assert json.loads((saved / "training_args.json").read_text()) == {"epochs": 1, "batch_size": 32}


def test_model_card_is_valid_hub_yaml_that_round_trips(saved):
    card = ModelCard.load(saved / "README.md")
    data = card.data
    assert data.library_name == "keras"
    assert {"facezoo", "selfie", "selfie_cnn", "unit-test"} <= set(data.tags)
    assert data.license == "other" and data.datasets == ["selfie"] and data.pipeline_tag == "image-classification"
    results = {r.metric_type: (r.metric_value, r.dataset_split) for r in data.eval_results}
    assert results == {"mae": (0.361, "test"), "rmse": (0.47, "test")}
    assert ModelCard(str(card)).data.to_dict() == data.to_dict()
    for text in (
        "non-commercial research", "How to Take a Good Selfie", "000: Selfie popularity", "| mae | 0.361 | test |",
        "Limitations and bias", "from_pretrained(", "Trained for one epoch",
    ):  # fmt: skip
        assert text in card.text


def test_save_pretrained_is_atomic_and_refuses_foreign_folders(model, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hub, "model_card", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        hub.save_pretrained(model, tmp_path / "out")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="notes.txt"):
        hub.save_pretrained(model, tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_keras_round_trip_still_works_and_save_pretrained_says_what_it_needs(model, images, expected, tmp_path):
    import keras

    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
    with pytest.raises(ValueError, match="needs a model built by facezoo"):
        hub.save_pretrained(loaded, tmp_path / "out")


# --------------------------------------------------------------------------------------------------- push + fetch


@pytest.mark.parametrize("lfs_threshold", [None, 1024], ids=["regular", "lfs"])
def test_push_then_fetch_gives_identical_predictions(fake_hub, saved, model, images, expected, tmp_path, lfs_threshold):
    fake_hub.lfs_threshold = lfs_threshold
    commit = hub.push_to_hub(saved, REPO, token=TOKEN)
    assert commit.commit_url.endswith(f"/{REPO}/commit/{commit.oid}")
    stored = fake_hub.repos[REPO].commits[commit.oid]
    assert stored["model.weights.h5"].data == (saved / "model.weights.h5").read_bytes()
    assert stored["model.weights.h5"].lfs is (lfs_threshold is not None)
    assert any(r.startswith("PUT /lfs-upload/") for r in fake_hub.requests) is (lfs_threshold is not None)
    readme = stored["README.md"].data.decode()
    assert f'from_pretrained("hf://{REPO}")' in readme and hub.REPO_ID_PLACEHOLDER not in readme

    loaded = hub.from_pretrained(f"hf://{REPO}", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
    assert loaded._facezoo_config == model._facezoo_config

    fake_hub.requests.clear()
    hub.from_pretrained(REPO, cache_dir=tmp_path / "cache")  # cache hit: metadata only, no download
    assert fake_hub.requests and all(r.startswith("HEAD ") for r in fake_hub.requests)


def test_protocol_request_sequence(fake_hub, model, tmp_path):
    """Pins the Hub protocol the client speaks; a huggingface_hub upgrade that changes it fails here."""
    hub.push_to_hub(model, REPO, tag="v1", token=TOKEN)
    hub.from_pretrained(f"hf://{REPO}@v1", cache_dir=tmp_path / "cache")
    assert normalised(fake_hub.requests, REPO) == [
        "POST /api/repos/create",
        "POST /api/validate-yaml",
        "POST /api/models/{repo}/preupload/main",
        "POST /api/models/{repo}/commit/main",
        "POST /api/models/{repo}/tag/{sha}",
        "HEAD /{repo}/resolve/v1/config.json",
        "GET /{repo}/resolve/v1/config.json",
        "HEAD /{repo}/resolve/{sha}/model.weights.h5",
        "GET /{repo}/resolve/{sha}/model.weights.h5",
    ]


def test_revisions_branches_and_tags_give_their_own_bytes(fake_hub, saved, model, tmp_path):
    v1 = hub.push_to_hub(saved, REPO, tag="v1", token=TOKEN)
    other = hub.from_pretrained(saved)
    other.set_weights([w * 2 for w in other.get_weights()])
    dev = hub.push_to_hub(other, REPO, revision="dev", create_branch=True, token=TOKEN)
    refs = json.loads(urllib.request.urlopen(f"{fake_hub.endpoint}/api/models/{REPO}/refs", timeout=10).read())
    assert {b["name"] for b in refs["branches"]} == {"main", "dev"} and refs["tags"][0]["targetCommit"] == v1.oid

    def first_kernel(source: str, **kwargs) -> np.ndarray:
        return hub.from_pretrained(source, cache_dir=tmp_path / "cache", **kwargs).get_weights()[0]

    original = model.get_weights()[0]
    np.testing.assert_array_equal(first_kernel(f"hf://{REPO}@v1"), original)
    np.testing.assert_array_equal(first_kernel(f"hf://{REPO}"), original)  # main is untouched by the dev push
    np.testing.assert_array_equal(first_kernel(f"hf://{REPO}@dev"), original * 2)
    np.testing.assert_array_equal(first_kernel(REPO, revision=dev.oid), original * 2)


# --------------------------------------------------------------------------------------------------- registry


def test_pretrained_true_downloads_verifies_and_catches_corrupt_cache(
    fake_hub, saved, images, expected, hf_cache, monkeypatch
):
    commit = hub.push_to_hub(saved, REPO, token=TOKEN)
    weights_file = saved / "model.weights.h5"
    size = weights_file.stat().st_size
    register_weights(monkeypatch, repo_id=REPO, revision=commit.oid, sha256=sha256(weights_file), file_size=size)
    assert "selfie_cnn" in facezoo.list_models(pretrained=True)
    assert "selfie_resnet" not in facezoo.list_models(pretrained=True)

    net = facezoo.models.selfie_cnn(pretrained=True)
    np.testing.assert_array_equal(net.predict(images, verbose=0), expected)
    with pytest.raises(ValueError, match="different config: n_filters=8"):
        facezoo.create_model("selfie_cnn", pretrained="unit_test", n_filters=8)

    corrupt(hf_hub_download(REPO, hub.WEIGHTS_NAME, revision=commit.oid, local_files_only=True))
    with pytest.raises(hub.ChecksumError, match=r"sha256 mismatch for model\.weights\.h5 .*force_download=True"):
        facezoo.create_model("selfie_cnn", pretrained=True)  # cache hit
    with pytest.raises(hub.ChecksumError, match="expected " + sha256(weights_file)):
        hub.from_pretrained(f"hf://{REPO}@{commit.oid}")  # the registry knows this commit
    model = facezoo.create_model("selfie_cnn", **CONFIG)
    hub.load_registered_weights(model, registry.resolve_weights("selfie_cnn", True), force_download=True)
    np.testing.assert_array_equal(model.predict(images, verbose=0), expected)


def test_embedded_weights_load_with_no_network(saved, images, expected, tmp_path, monkeypatch):
    package = tmp_path / "fz_embedded_pkg"
    (package / "weights").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy(saved / "model.weights.h5", package / "weights" / "model.weights.h5")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    weights = register_weights(
        monkeypatch,
        repo_id="nobody/not-on-any-hub",
        revision="main",
        sha256=sha256(saved / "model.weights.h5"),
        file_size=(saved / "model.weights.h5").stat().st_size,
        embedded="fz_embedded_pkg/weights/model.weights.h5",
    )
    net = facezoo.create_model("selfie_cnn", pretrained=True)
    np.testing.assert_array_equal(net.predict(images, verbose=0), expected)
    corrupt(package / "weights" / "model.weights.h5")
    with pytest.raises(hub.ChecksumError, match="reinstall facezoo"):
        hub.load_registered_weights(net, weights)


# --------------------------------------------------------------------------------------------------- failures


def test_missing_repo_revision_and_file_each_say_so(fake_hub, saved, tmp_path):
    with pytest.raises(hub.WeightsNotFoundError, match="Repository 'nobody/nothing' was not found"):
        hub.from_pretrained("hf://nobody/nothing", cache_dir=tmp_path)
    hub.push_to_hub(saved, REPO, token=TOKEN)
    with pytest.raises(hub.WeightsNotFoundError, match="Revision 'v9' of .* does not exist.*list_repo_refs"):
        hub.from_pretrained(f"hf://{REPO}@v9", cache_dir=tmp_path)
    fake_hub.commit(REPO, {"model.weights.h5": None})
    with pytest.raises(hub.WeightsNotFoundError, match="has no model.weights.h5"):
        hub.from_pretrained(REPO, cache_dir=tmp_path)


def test_truncated_or_non_hdf5_weights_are_reported(fake_hub, saved, tmp_path):
    hub.push_to_hub(saved, REPO, token=TOKEN)
    data = (saved / "model.weights.h5").read_bytes()
    fake_hub.commit(REPO, {"model.weights.h5": data[: len(data) // 2]})
    with pytest.raises(hub.InvalidWeightsError, match="damaged or truncated HDF5"):
        hub.from_pretrained(REPO, cache_dir=tmp_path)
    fake_hub.commit(REPO, {"model.weights.h5": b"<html>Service unavailable</html>"})
    with pytest.raises(hub.InvalidWeightsError, match="not an HDF5 file"):
        hub.from_pretrained(REPO, cache_dir=tmp_path)


def edited_copy(saved: Path, tmp_path: Path, **config_changes) -> Path:
    folder = tmp_path / "edited"
    shutil.copytree(saved, folder)
    config = json.loads((folder / "config.json").read_text())
    for key, value in config_changes.items():
        if key in config:
            config[key] = value
        else:
            config["config"][key] = value
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"architecture": "celeba_vit"}, hub.IncompatibleConfigError, "names architecture 'celeba_vit'"),
        ({"format_version": 99, "facezoo_version": "9.0"}, hub.IncompatibleConfigError, "by facezoo 9.0.*Upgrade"),
        ({"n_filters": 8}, hub.InvalidWeightsError, "do not fit selfie_cnn"),
        ({"batch_norm": False}, hub.InvalidWeightsError, "do not fit selfie_cnn"),  # Keras alone would load this
    ],
    ids=["unknown-architecture", "newer-facezoo", "wrong-shapes", "subset-of-weights"],
)
def test_config_and_weights_that_do_not_match_are_reported(saved, tmp_path, changes, error, message):
    with pytest.raises(error, match=message):
        hub.from_pretrained(edited_copy(saved, tmp_path, **changes))


def test_bad_sources_are_rejected(tmp_path):
    with pytest.raises(ValueError, match="not a local folder, 'hf://org/name"):
        hub.from_pretrained("just-a-name")
    with pytest.raises(ValueError, match="give one"):
        hub.from_pretrained("hf://org/name@v1", revision="v2")
    with pytest.raises(FileNotFoundError, match="config.json is missing"):
        hub.from_pretrained(tmp_path)


# --------------------------------------------------------------------------------------------------- offline


def test_offline_loads_from_cache_with_the_server_gone_and_explains_uncached(saved, expected, images, tmp_path):
    cache = tmp_path / "cache"
    with FakeHub() as server:
        hub.push_to_hub(saved, "org/cached", token=TOKEN, endpoint=server.endpoint)
        snapshot_download("org/cached", cache_dir=cache, endpoint=server.endpoint)  # the documented pre-download
        endpoint = server.endpoint
    np.save(tmp_path / "images.npy", images)
    script = textwrap.dedent(
        f"""
        import json, sys
        import numpy as np
        from facezoo import hub
        model = hub.from_pretrained("hf://org/cached", cache_dir={str(cache)!r})
        np.save({str(tmp_path / "out.npy")!r}, model.predict(np.load({str(tmp_path / "images.npy")!r}), verbose=0))
        try:
            hub.from_pretrained("hf://org/uncached", cache_dir={str(cache)!r})
        except hub.NotCachedError as error:
            print("NOT_CACHED:", error)
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": endpoint}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)
    assert "NOT_CACHED: config.json of org/uncached@main is not in the Hub cache" in result.stdout
    assert "HF_HUB_OFFLINE=1" in result.stdout and "hf download org/uncached" in result.stdout


def test_import_facezoo_hub_does_not_import_tensorflow():
    code = "import sys, facezoo.hub; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
