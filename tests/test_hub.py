"""facezoo.hub against a fake Hub (tests/hub_server.py) driven by the real huggingface_hub client."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from hub_server import FakeHub
from huggingface_hub import ModelCard, constants, hf_hub_download, snapshot_download

import facezoo
from facezoo import _registry as registry
from facezoo import hub
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
        flip_metrics={"mae": 0.355},
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


def test_save_pretrained_writes_keras_layout_facezoo_json_and_card(saved, model, images, expected):
    import keras

    files = ["README.md", "config.json", "facezoo.json", "metadata.json", "model.weights.h5"]
    assert sorted(p.name for p in saved.iterdir()) == files
    assert [p.name for p in saved.parent.iterdir()] == ["selfie"]  # no temporary folder left behind
    assert json.loads((saved / "config.json").read_text())["class_name"] == "Functional"  # Keras' own config
    meta = json.loads((saved / "facezoo.json").read_text())
    assert meta["architecture"] == "selfie_cnn"
    assert meta["format_version"] == hub.FORMAT_VERSION
    assert meta["facezoo_version"] == facezoo.__version__
    assert meta["config"] == {
        "n_layers": 3,
        "n_filters": 4,
        "batch_norm": True,
        "input_shape": [32, 32, 3],
        "leaky_relu_alpha": 0.3,
        "freeze_backbone": False,
    }
    assert meta["input"]["shape"] == [32, 32, 3]
    popularity = {"name": "popularity", "kind": "regression", "labels": [], "units": "popularity score"}
    assert meta["outputs"] == [popularity]
    assert meta["training_args"] == {"epochs": 1, "batch_size": 32}
    assert (meta["dataset"], meta["split"], meta["metrics"]) == ("selfie", "test", {"mae": 0.361, "rmse": 0.47})
    assert meta["flip_metrics"] == {"mae": 0.355}
    card = (saved / "README.md").read_text()
    assert "| metric | value | with `flip=True` | split |" in card
    assert "| mae | 0.361 | 0.355 | test |" in card and "| rmse | 0.47 |  | test |" in card
    assert meta["files"] == {
        name: {"sha256": sha256(saved / name), "size": (saved / name).stat().st_size}
        for name in ("config.json", "metadata.json", "model.weights.h5", "README.md")
    }
    loaded = keras.saving.load_model(saved)  # plain Keras reads the folder
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)


def test_compiled_models_are_saved_without_training_state(model, tmp_path):
    import keras

    trained = hub.from_pretrained(hub.save_pretrained(model, tmp_path / "a"))
    trained.compile(optimizer="adam", loss=keras.losses.Huber())
    trained.fit(np.zeros((2, 32, 32, 3)), np.zeros((2, 1)), verbose=0)
    folder = hub.save_pretrained(trained, tmp_path / "b")
    assert not json.loads((folder / "config.json").read_text()).get("compile_config")
    assert (folder / "model.weights.h5").stat().st_size == (tmp_path / "a" / "model.weights.h5").stat().st_size
    np.testing.assert_array_equal(hub.from_pretrained(folder).get_weights()[0], trained.get_weights()[0])


def test_a_model_trained_from_a_backbone_loads_without_that_backbone(tmp_path):
    donor = hub.save_pretrained(facezoo.models.face_mobilenet_v2(input_shape=(32, 32, 3)), tmp_path / "donor")
    net = facezoo.models.attractive_net(input_shape=(32, 32, 3), backbone_weights=str(donor))
    folder = hub.save_pretrained(net, tmp_path / "net")
    shutil.rmtree(donor)
    assert json.loads((folder / hub.METADATA_NAME).read_text())["config"]["backbone_weights"] is None
    images = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    expected = net.predict(images, verbose=0)
    np.testing.assert_allclose(hub.from_pretrained(folder).predict(images, verbose=0), expected, rtol=1e-6)
    # A folder saved before facezoo stopped recording the source still loads (the source is gone).
    old = tmp_path / "old"
    old.mkdir()
    net.save_weights(old / "model.weights.h5")
    config = {**net._facezoo_config, "backbone_weights": str(donor)}
    (old / "config.json").write_text(
        json.dumps({"format_version": 1, "architecture": "attractive_net", "config": config})
    )
    with pytest.warns(DeprecationWarning):
        np.testing.assert_allclose(hub.from_pretrained(old).predict(images, verbose=0), expected, rtol=1e-6)


def test_first_layout_still_loads_with_a_deprecation_warning(model, images, expected, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    model.save_weights(folder / "model.weights.h5")
    legacy = {"format_version": 1, "architecture": "selfie_cnn", "config": dict(model._facezoo_config)}
    (folder / "config.json").write_text(json.dumps(legacy))
    with pytest.warns(DeprecationWarning, match="first Hub layout"):
        loaded = hub.from_pretrained(folder)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
    with pytest.raises(FileNotFoundError, match="first layout; convert it with"):
        hub.push_to_hub(folder, REPO, token=TOKEN)


def test_model_card_is_valid_hub_yaml_that_round_trips(saved):
    card = ModelCard.load(saved / "README.md")
    data = card.data
    assert data.library_name == "keras"
    assert {"facezoo", "selfie", "selfie_cnn", "unit-test", "image-regression"} <= set(data.tags)
    assert data.license == "other" and data.license_link and data.pipeline_tag is None  # a regression model
    results = {r.metric_name: (r.metric_type, r.metric_value, r.dataset_split) for r in data.eval_results}
    assert results == {"MAE": ("mae", 0.361, "test"), "RMSE": ("mse", 0.47, "test")}
    assert ModelCard(str(card)).data.to_dict() == data.to_dict()
    for text in (
        "non-commercial research", "How to Take a Good Selfie", "000: Selfie popularity", "| mae | 0.361 | 0.355 | test |",
        "Limitations and bias", "from_pretrained(", "keras.saving.load_model(", "Trained for one epoch",
    ):  # fmt: skip
        assert text in card.text


def test_save_pretrained_is_atomic_and_refuses_foreign_folders(model, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(hub, "model_card", fail)
    with pytest.raises(ValueError, match=r"local paths \(/home/me/data\)"):
        hub.save_pretrained(model, tmp_path / "out", training_args={"data_dir": "/home/me/data"})
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
        "HEAD /{repo}/resolve/v1/facezoo.json",
        "GET /{repo}/resolve/v1/facezoo.json",
        "HEAD /{repo}/resolve/{sha}/model.weights.h5",
        "GET /{repo}/resolve/{sha}/model.weights.h5",
    ]


def test_revisions_branches_and_tags_give_their_own_bytes(fake_hub, saved, model, tmp_path):
    v1 = hub.push_to_hub(saved, REPO, tag="v1", token=TOKEN)
    other = hub.from_pretrained(saved)
    other.set_weights([w * 2 for w in other.get_weights()])
    dev = hub.push_to_hub(other, REPO, revision="dev", token=TOKEN)  # a new branch, created from main
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


def test_pretrained_true_downloads_verifies_and_repairs_a_corrupt_cache(
    fake_hub, saved, images, expected, hf_cache, monkeypatch
):
    commit = hub.push_to_hub(saved, REPO, token=TOKEN)
    weights_file = saved / "model.weights.h5"
    size = weights_file.stat().st_size
    register_weights(
        monkeypatch, repo_id=REPO, revision="main", commit=commit.oid, sha256=sha256(weights_file), file_size=size
    )
    assert "selfie_cnn" in facezoo.list_models(pretrained=True)
    assert "selfie_resnet" not in facezoo.list_models(pretrained=True)

    net = facezoo.models.selfie_cnn(pretrained=True)
    np.testing.assert_array_equal(net.predict(images, verbose=0), expected)
    with pytest.raises(ValueError, match="different config: n_filters=8"):
        facezoo.create_model("selfie_cnn", pretrained="unit_test", n_filters=8)

    cached = hf_hub_download(REPO, hub.WEIGHTS_NAME, revision=commit.oid, local_files_only=True)
    corrupt(cached)
    fake_hub.requests.clear()
    net = facezoo.create_model("selfie_cnn", pretrained=True)  # the corrupt cache hit is deleted and fetched again
    np.testing.assert_array_equal(net.predict(images, verbose=0), expected)
    assert sha256(cached) == sha256(weights_file)
    assert f"GET /{REPO}/resolve/{commit.oid}/model.weights.h5" in fake_hub.requests

    fake_hub.requests.clear()
    facezoo.create_model("selfie_cnn", pretrained=True, force_download=True)
    assert f"GET /{REPO}/resolve/{commit.oid}/model.weights.h5" in fake_hub.requests


@pytest.mark.parametrize("registered", [True, False], ids=["registered", "unregistered"])
def test_a_flipped_byte_is_caught_whatever_the_revision(
    fake_hub, saved, images, expected, hf_cache, monkeypatch, registered
):
    commit = hub.push_to_hub(saved, REPO, tag="v1", token=TOKEN)
    if registered:
        weights_file = saved / "model.weights.h5"
        register_weights(
            monkeypatch, repo_id=REPO, revision="main", commit=commit.oid, sha256=sha256(weights_file),
            file_size=weights_file.stat().st_size,
        )  # fmt: skip
    for source in (f"hf://{REPO}@v1", f"hf://{REPO}@{commit.oid}", f"hf://{REPO}"):
        hub.from_pretrained(source)
        cached = hf_hub_download(REPO, hub.WEIGHTS_NAME, revision=commit.oid, local_files_only=True)
        corrupt(cached)
        fake_hub.requests.clear()
        np.testing.assert_array_equal(hub.from_pretrained(source).predict(images, verbose=0), expected)
        assert any(r.startswith("GET ") and r.endswith("/model.weights.h5") for r in fake_hub.requests), source
        assert sha256(cached) == sha256(saved / "model.weights.h5")

    corrupt(hf_hub_download(REPO, hub.WEIGHTS_NAME, revision=commit.oid, local_files_only=True))
    with pytest.raises(hub.ChecksumError, match="was corrupt .* has been deleted; run again with downloads allowed"):
        hub.from_pretrained(f"hf://{REPO}@v1", local_files_only=True)


def test_a_server_serving_other_bytes_is_named(fake_hub, saved, hf_cache, monkeypatch):
    commit = hub.push_to_hub(saved, REPO, tag="v1", token=TOKEN)
    files = fake_hub.repos[REPO].commits[commit.oid]
    data = bytearray(files["model.weights.h5"].data)
    data[-1] ^= 0xFF
    files["model.weights.h5"] = type(files["model.weights.h5"])(bytes(data))  # the server's copy changes
    with pytest.raises(hub.ChecksumError) as error:
        hub.from_pretrained(f"hf://{REPO}@v1")
    message = str(error.value)
    assert "\n" not in message
    assert f"server's copy of model.weights.h5 in {REPO} at revision {commit.oid} differs from the published" in message
    assert "facezoo.json records sha256 " + sha256(saved / "model.weights.h5") in message


def test_staged_weights_are_not_advertised_and_say_how_to_load_them(monkeypatch):
    assert "celeba_cnn" not in facezoo.list_models(pretrained=True)  # staged in weights/, not uploaded yet
    with pytest.raises(ValueError) as error:
        facezoo.create_model("celeba_cnn", pretrained=True)
    assert str(error.value) == (
        "celeba_cnn.celeba is staged but not uploaded to the Hub yet; in a facezoo source checkout load the staged "
        "folder with facezoo.hub.from_pretrained('weights/celeba_cnn-celeba')."
    )
    uploaded = dataclasses.replace(facezoo.model_info("celeba_cnn").weights["celeba"], commit="0" * 40)
    info = dataclasses.replace(facezoo.model_info("celeba_cnn"), weights={"celeba": uploaded})
    monkeypatch.setitem(registry._INFOS, "celeba_cnn", info)
    assert "celeba_cnn" in facezoo.list_models(pretrained=True)


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


def edited_copy(saved: Path, tmp_path: Path, files: dict[str, bytes] | None = None, **config_changes) -> Path:
    """A copy of ``saved`` with ``facezoo.json`` edited and ``files`` replaced, its checksums kept consistent."""
    folder = tmp_path / "edited"
    shutil.copytree(saved, folder)
    for name, data in (files or {}).items():
        (folder / name).write_bytes(data)
    meta = json.loads((folder / "facezoo.json").read_text())
    for key, value in config_changes.items():
        if key in meta:
            meta[key] = value
        else:
            meta["config"][key] = value
    for name in meta["files"]:
        meta["files"][name] = {"sha256": sha256(folder / name), "size": (folder / name).stat().st_size}
    (folder / "facezoo.json").write_text(json.dumps(meta))
    return folder


def test_truncated_or_non_hdf5_weights_are_reported(saved, tmp_path):
    data = (saved / "model.weights.h5").read_bytes()
    with pytest.raises(hub.InvalidWeightsError, match="damaged or truncated HDF5"):
        hub.from_pretrained(edited_copy(saved, tmp_path / "a", {"model.weights.h5": data[: len(data) // 2]}))
    with pytest.raises(hub.InvalidWeightsError, match="not an HDF5 file"):
        hub.from_pretrained(
            edited_copy(saved, tmp_path / "b", {"model.weights.h5": b"<html>Service unavailable</html>"})
        )


@pytest.mark.parametrize(
    ("edit", "error", "message"),
    [
        ({"files": {"model.weights.h5": b"<html>Not found</html>"}}, hub.InvalidWeightsError, "not an HDF5 file"),
        ({"architecture": "celeba_vit"}, hub.IncompatibleConfigError, "names architecture 'celeba_vit'"),
        ({"n_filters": 8}, hub.InvalidWeightsError, "do not fit selfie_cnn"),
        ({"training_args": {"data_dir": "/home/me/faces"}}, ValueError, r"facezoo.json holds local paths \(/home/me"),
        ({"files": {"README.md": b"Trained on C:\\Users\\me\\faces"}}, ValueError, r"README.md holds local paths"),
    ],
    ids=["html-as-weights", "unknown-architecture", "weights-do-not-fit", "path-in-json", "path-in-card"],
)
def test_push_refuses_folders_that_cannot_load_before_any_request(fake_hub, saved, tmp_path, edit, error, message):
    folder = edited_copy(saved, tmp_path, **edit)
    with pytest.raises(error, match=message):
        hub.push_to_hub(folder, REPO, token=TOKEN)
    assert fake_hub.requests == []


def test_push_refuses_a_model_plain_keras_cannot_load(fake_hub, tmp_path):
    folder = hub.save_pretrained(facezoo.create_model("age_vgg16", input_shape=(32, 32, 3)), tmp_path / "vgg")
    with pytest.raises(ValueError, match=r"uses facezoo>ChannelReverse, which plain Keras cannot load"):
        hub.push_to_hub(folder, REPO, token=TOKEN)
    assert fake_hub.requests == []


def test_push_refuses_changed_or_extra_files(fake_hub, saved, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(saved, folder)
    (folder / "notes.txt").write_text("draft")
    with pytest.raises(hub.ChecksumError, match="not listed: notes.txt"):
        hub.push_to_hub(folder, REPO, token=TOKEN)
    (folder / "notes.txt").unlink()
    corrupt(folder / "model.weights.h5")
    with pytest.raises(hub.ChecksumError, match="model.weights.h5 differs from facezoo.json"):
        hub.push_to_hub(folder, REPO, token=TOKEN)
    assert fake_hub.requests == []
    (folder / "README.md").write_text((saved / "README.md").read_text() + "\nEdited by hand.\n")
    shutil.copy(saved / "model.weights.h5", folder / "model.weights.h5")
    commit = hub.push_to_hub(folder, REPO, token=TOKEN)  # the card may be edited: push records its new sha256
    stored = fake_hub.repos[REPO].commits[commit.oid]
    published = json.loads(stored["facezoo.json"].data)["files"]["README.md"]["sha256"]
    assert published == hashlib.sha256(stored["README.md"].data).hexdigest()


def test_push_without_or_with_a_bad_token_says_how_to_log_in(fake_hub, saved, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", "/nonexistent/token")
    with pytest.raises(hub.TokenError, match="No Hub token: set HF_TOKEN .* `hf auth login`"):
        hub.push_to_hub(saved, REPO)
    assert fake_hub.requests == []
    fake_hub.tokens = {TOKEN}
    with pytest.raises(hub.TokenError) as error:
        hub.push_to_hub(saved, REPO, token="hf_wrong")
    assert "rejected the token (401)" in str(error.value) and "HF_TOKEN" in str(error.value)
    assert "hf auth login" in str(error.value) and "\n" not in str(error.value)
    assert hub.push_to_hub(saved, REPO, token=TOKEN).oid


def closed_port_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_an_unreachable_hub_fails_in_one_line_within_5_s(saved, tmp_path, monkeypatch):
    endpoint = closed_port_endpoint()
    started = time.monotonic()
    with pytest.raises(hub.NotCachedError) as error:
        hub.from_pretrained("hf://org/name", endpoint=endpoint, cache_dir=tmp_path)
    assert time.monotonic() - started < 5
    assert f"{endpoint} could not be reached" in str(error.value) and "\n" not in str(error.value)
    assert "FACEZOO_HUB_RETRIES" in str(error.value)
    started = time.monotonic()
    with pytest.raises(hub.HubUnreachableError, match=f"Cannot push to {REPO}: {endpoint} could not be reached"):
        hub.push_to_hub(saved, REPO, token=TOKEN, endpoint=endpoint)
    assert time.monotonic() - started < 5
    monkeypatch.setenv("FACEZOO_HUB_RETRIES", "0")
    with pytest.raises(hub.NotCachedError, match="1 attempts"):
        hub.from_pretrained("hf://org/name", endpoint=endpoint, cache_dir=tmp_path)


def test_endpoint_argument_overrides_hf_endpoint(saved, images, expected, tmp_path, monkeypatch):
    with FakeHub() as other:
        commit = hub.push_to_hub(saved, "org/elsewhere", token=TOKEN, endpoint=other.endpoint)
        loaded = hub.from_pretrained("hf://org/elsewhere", endpoint=other.endpoint, cache_dir=tmp_path)
        np.testing.assert_array_equal(loaded.predict(images, verbose=0), expected)
        weights_file = saved / "model.weights.h5"
        register_weights(
            monkeypatch, repo_id="org/elsewhere", revision="main", commit=commit.oid, sha256=sha256(weights_file),
            file_size=weights_file.stat().st_size,
        )  # fmt: skip
        monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "default-cache"))
        net = facezoo.create_model("selfie_cnn", pretrained=True, endpoint=other.endpoint)
        np.testing.assert_array_equal(net.predict(images, verbose=0), expected)
        assert any("/org/elsewhere/resolve/" in r for r in other.requests)


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
    with pytest.raises(FileNotFoundError, match="facezoo.json is missing"):
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
    assert "NOT_CACHED: facezoo.json of org/uncached@main is not in the Hub cache" in result.stdout
    assert "HF_HUB_OFFLINE=1" in result.stdout and "hf download org/uncached" in result.stdout


def test_import_facezoo_hub_does_not_import_tensorflow():
    code = "import sys, facezoo.hub; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
