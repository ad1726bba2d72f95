"""Publish facezoo weights on the Hugging Face Hub and load them back, verified and cached.

A published model is a Hub repository (or a local folder) written by :func:`save_pretrained`: exactly what
``keras.saving.save_model(model, folder, zipped=False)`` writes, so plain Keras loads it with
``keras.saving.load_model("hf://org/name")``, plus facezoo's metadata and the model card::

    config.json          Keras' model config (architecture as Keras layers)
    metadata.json        Keras' saving metadata (Keras version, date)
    model.weights.h5     Keras 3 weights
    facezoo.json         facezoo's metadata: builder name and config, input spec, outputs and labels, dataset and
                         options, metrics, training arguments, and the sha256 and size of every other file
    README.md            model card (Hub YAML front matter + prose)

Downloads go through ``huggingface_hub`` (``hf_hub_download``), so its cache, ``HF_HOME``, ``HF_HUB_OFFLINE``,
``HF_ENDPOINT`` and revisions all apply. Every file facezoo loads is checked by sha256, whatever the revision:
against the registry (:class:`facezoo.WeightsInfo`) for registered weights, against ``facezoo.json`` for files it
lists, and against the Hub's own LFS sha256 (or git blob id) of the cached file. A corrupt cached file is deleted and
downloaded once more; bytes that still do not match raise :class:`ChecksumError`.

Registered weights may also ship inside an installed package (``WeightsInfo.embedded``): a resource path
``"<package>/<path inside the package>"``, e.g. ``"facezoo/weights/attractive_net-scut_fbp5500/model.weights.h5"``,
read with :mod:`importlib.resources`. Those bytes carry the same sha256 and load with no network at all.

Folders in facezoo's first layout (``config.json`` holding facezoo's metadata, no ``facezoo.json``) still load, with
a ``DeprecationWarning``; that support will be removed in the next release.

Importing this module does not import TensorFlow; Keras is imported when a model is built or loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import warnings
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from facezoo._outputs import output_specs
from facezoo._registry import build_model, list_models, model_info, parse_source, record_measurement
from facezoo._version import __version__
from facezoo.datasets import dataset_info
from facezoo.errors import (
    ChecksumError,
    HubError,
    HubUnreachableError,
    IncompatibleConfigError,
    InvalidWeightsError,
    NotCachedError,
    TokenError,
    WeightsNotFoundError,
)
from facezoo.pretrained import (
    RETRIES_ENV,
    WEIGHTS_NAME,
    check_reachable,
    fetch,
    hub_endpoint,
    load_registered_weights,
    load_weights_file,
    mismatch,
    sha256_of,
)
from facezoo.specs import DatasetCitation, WeightsInfo, ablation_markdown

if TYPE_CHECKING:
    import keras
    from huggingface_hub import CommitInfo

__all__ = [
    "METADATA_NAME",
    "CONFIG_NAME",
    "KERAS_METADATA_NAME",
    "WEIGHTS_NAME",
    "CARD_NAME",
    "FORMAT_VERSION",
    "RETRIES_ENV",
    "HubError",
    "WeightsNotFoundError",
    "NotCachedError",
    "HubUnreachableError",
    "TokenError",
    "ChecksumError",
    "IncompatibleConfigError",
    "InvalidWeightsError",
    "save_pretrained",
    "check_folder",
    "check_replaceable",
    "push_to_hub",
    "from_pretrained",
    "load_registered_weights",
    "model_card",
]

METADATA_NAME = "facezoo.json"
CONFIG_NAME = "config.json"
"""Keras' model config (in facezoo's first layout, facezoo's metadata had this name)."""
KERAS_METADATA_NAME = "metadata.json"
CARD_NAME = "README.md"
FORMAT_VERSION = 2
"""Version of the ``facezoo.json`` layout; a file with a higher version was written by a newer facezoo. Version 1
was the first layout (facezoo's metadata in ``config.json``), still read with a deprecation warning."""
KERAS_FILES = (CONFIG_NAME, KERAS_METADATA_NAME, WEIGHTS_NAME)
"""What ``keras.saving.save_model(model, folder, zipped=False)`` writes."""
PUBLISHED_FILES = (*KERAS_FILES, CARD_NAME)
"""The files ``facezoo.json`` records the sha256 and size of."""
_LEGACY_TRAINING_ARGS_NAME = "training_args.json"
_LEGACY_FORMAT_VERSION = 1

REPO_ID_PLACEHOLDER = "YOUR_ORG/YOUR_MODEL"
"""Stands for the repository id in a saved model card; :func:`push_to_hub` replaces it with the real one."""

_HUB_LICENSE_ID = re.compile(r"[a-z0-9][a-z0-9.\-]*")

NON_COMMERCIAL = (
    "The dataset is licensed for non-commercial research use only; these weights are derived from it and inherit "
    "that restriction. Do not use them commercially."
)
"""The licence paragraph of every model card: every dataset of the zoo is for non-commercial research only."""


# --------------------------------------------------------------------------------------------------- save / push


def save_pretrained(
    model: keras.Model,
    directory: str | os.PathLike,
    *,
    metrics: Mapping[str, float] | None = None,
    flip_metrics: Mapping[str, float] | None = None,
    dataset: str | None = None,
    dataset_options: Mapping[str, Any] | None = None,
    split: str = "test",
    protocol: str | None = None,
    training_args: Mapping[str, Any] | None = None,
    license: str | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
    base_model: str | None = None,
    repo_id: str | None = None,
    ablation: Iterable[Mapping[str, Any]] = (),
) -> Path:
    """Write ``model`` as a Hub repository folder: Keras' own saving layout, ``facezoo.json`` and a model card.

    The Keras files are what ``keras.saving.save_model(model, folder, zipped=False)`` writes for the model as its
    builder makes it (no optimizer or compile state), so plain Keras loads the folder. Writing is atomic: files go
    to a temporary sibling folder that is renamed into place, so a failure leaves no partial folder. An existing
    ``directory`` is replaced only if it holds nothing but files this function writes (or wrote in facezoo's first
    layout).

    Args:
        model: A model built by facezoo (a builder, :func:`facezoo.create_model` or :func:`from_pretrained`).
        directory: Output folder.
        metrics: Measured metrics, e.g. ``{"mae": 0.24}`` or ``{"age/mae": 5.1, "gender/accuracy": 0.93}``.
        flip_metrics: The same metrics measured with ``flip=True`` (test-time mirror averaging), if measured.
        dataset: ``facezoo.datasets`` name the model was trained on; defaults to the model's dataset.
        dataset_options: Options of ``facezoo.datasets.load`` that give the evaluated split.
        split: Name of the split the ``metrics`` were measured on, e.g. ``"test"``.
        protocol: How that split was made, in words (shown in the card).
        training_args: Training arguments, stored in ``facezoo.json`` (non-JSON values as strings); they must not
            hold local paths.
        license: Hub licence id (e.g. ``"cc-by-nc-4.0"``) or free text; free text or ``None`` gives
            ``license: other`` with the text in the card. The data's non-commercial terms are always stated.
        tags: Extra Hub tags; ``facezoo``, the family, the architecture and the dataset are always added.
        notes: Free text for the card's training section (e.g. the recipe used).
        base_model: Hub id of the facezoo weights this model was fine-tuned from (the card's ``base_model``).
        repo_id: The Hub repository the folder will be pushed to (named in the card; :func:`push_to_hub` fills
            it in otherwise).
        ablation: The runs these weights were chosen from (:attr:`facezoo.specs.WeightsInfo.ablation` rows), shown
            as a table in the card and stored in ``facezoo.json``.

    Returns:
        The folder written.

    Raises:
        ValueError: ``model`` was not built by facezoo, ``directory`` holds other files, or ``training_args`` holds
            local paths.
    """
    import keras

    architecture, config = _builder_config(model)
    info = model_info(architecture)
    dataset = dataset or info.dataset
    training_args = json.loads(json.dumps(dict(training_args), default=str)) if training_args is not None else None
    rows: list[dict[str, Any]] = json.loads(json.dumps([dict(row) for row in ablation], default=dict))
    paths = _local_paths(training_args)
    if paths:
        raise ValueError(
            f"training_args holds local paths ({', '.join(paths)}), which must not be published; record the dataset "
            "name and options instead."
        )
    directory = Path(directory)
    check_replaceable(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would outlive the rename
        keras.saving.save_model(_inference_copy(model, architecture, config), tmp, zipped=False)
        if (tmp / "assets").is_dir():
            (tmp / "assets").rmdir()  # Keras' empty asset folder; a folder cannot be committed to the Hub anyway
        card = model_card(
            architecture,
            config,
            metrics=metrics or {},
            flip_metrics=flip_metrics or {},
            dataset=dataset,
            split=split,
            protocol=protocol,
            license=license,
            tags=tags,
            notes=notes,
            training_args=training_args,
            repo_id=repo_id,
            base_model=base_model,
            ablation=rows,
        )
        (tmp / CARD_NAME).write_text(card, encoding="utf-8")
        metadata = _metadata(
            model,
            architecture,
            config,
            dataset=dataset,
            dataset_options=dataset_options,
            split=split,
            protocol=protocol,
            metrics=metrics,
            flip_metrics=flip_metrics,
            base_model=base_model,
            training_args=training_args,
            ablation=rows,
        )
        metadata["files"] = _file_hashes(tmp)
        _write_json(tmp / METADATA_NAME, metadata)
        replace_folder(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def check_folder(folder: str | os.PathLike, *, card: bool = True) -> dict[str, Any]:
    """Check that a :func:`save_pretrained` folder can be published, with no network: it holds exactly the files
    ``facezoo.json`` lists, their sha256 and sizes match, Keras' config uses only stock Keras classes (so plain Keras
    loads the folder), the config builds a model the weights fit, and no file holds a local (absolute) path. Returns
    the ``facezoo.json`` content.

    ``card=False`` skips the card's checksum (:func:`push_to_hub` rewrites the card and its checksum).

    Raises:
        FileNotFoundError: ``folder`` is not a folder, or lacks ``facezoo.json``.
        IncompatibleConfigError, InvalidWeightsError: See :func:`from_pretrained`.
        ChecksumError: A file differs from ``facezoo.json``, or the folder holds files it does not list.
        ValueError: A file holds a local path, or the model uses a layer plain Keras does not have.
    """
    folder = Path(folder)
    if not (folder / METADATA_NAME).is_file():
        legacy = (folder / CONFIG_NAME).is_file() and _is_legacy_config(folder / CONFIG_NAME)
        raise FileNotFoundError(
            f"{folder} has no {METADATA_NAME}: "
            + (
                "it is in facezoo's first layout; convert it with "
                f"facezoo.hub.save_pretrained(facezoo.hub.from_pretrained({str(folder)!r}), NEW_FOLDER)."
                if legacy
                else "it is not a save_pretrained folder."
            )
        )
    metadata = _read_metadata(folder / METADATA_NAME, source=str(folder))
    listed = set(metadata["files"])
    present = {p.name for p in folder.iterdir() if p.name != METADATA_NAME and not p.name.startswith(".")}
    if present != listed:
        extra, missing = sorted(present - listed), sorted(listed - present)
        raise ChecksumError(
            f"{folder} does not hold what {METADATA_NAME} lists"
            + (f"; not listed: {', '.join(extra)}" if extra else "")
            + (f"; missing: {', '.join(missing)}" if missing else "")
            + ". Write the folder with facezoo.hub.save_pretrained."
        )
    for name in sorted(listed - ({CARD_NAME} if not card else set())):
        problem = mismatch(folder / name, [_listed(metadata, name)])
        if problem:
            raise ChecksumError(f"{folder}: {name} differs from {METADATA_NAME} ({problem}); re-save the folder.")
    for name in sorted(present | {METADATA_NAME}):
        if name == WEIGHTS_NAME:
            continue
        found = _local_paths((folder / name).read_text(encoding="utf-8", errors="replace"))
        if found:
            raise ValueError(
                f"{folder}/{name} holds local paths ({', '.join(found[:3])}), which must not be published; "
                "remove them (record dataset names and options instead) and re-save the folder."
            )
    custom = sorted(set(_custom_classes(_read_json(folder / CONFIG_NAME, source=str(folder)))))
    if custom:
        raise ValueError(
            f"{folder}: {CONFIG_NAME} uses {', '.join(custom)}, which plain Keras cannot load without facezoo; "
            "only models built from stock Keras layers can be published."
        )
    model = _build_from_config(metadata, source=str(folder))
    load_weights_file(model, folder / WEIGHTS_NAME, source=str(folder))
    return metadata


def _custom_classes(config: Any) -> Iterable[str]:
    """The classes in a Keras config that do not come from Keras itself."""
    if isinstance(config, dict):
        module = config.get("module")
        if isinstance(module, str) and "class_name" in config and module.split(".")[0] != "keras":
            yield str(config.get("registered_name") or config["class_name"])
        for value in config.values():
            yield from _custom_classes(value)
    elif isinstance(config, list):
        for value in config:
            yield from _custom_classes(value)


def check_replaceable(directory: str | os.PathLike) -> None:
    """Raise ``ValueError`` if :func:`save_pretrained` would refuse ``directory`` (it holds files of its own)."""
    directory = Path(directory)
    if directory.exists():
        unknown = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else [directory.name]
        allowed = {METADATA_NAME, *PUBLISHED_FILES, _LEGACY_TRAINING_ARGS_NAME}
        unknown = [name for name in unknown if name not in allowed]
        if unknown:
            raise ValueError(
                f"{directory} exists and holds files save_pretrained did not write ({', '.join(unknown)}); "
                "choose an empty or new folder."
            )


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def push_to_hub(
    source: keras.Model | str | os.PathLike,
    repo_id: str,
    *,
    revision: str | None = None,
    tag: str | None = None,
    commit_message: str | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> CommitInfo:
    """Upload a model, or a :func:`save_pretrained` folder, to a Hub repository in one commit.

    The folder is checked first, with no network (:func:`check_folder`): nothing is sent for a folder that would
    not load. Then the repository (and the ``revision`` branch) is created if needed, all files are committed
    together (the card's ``YOUR_ORG/YOUR_MODEL`` placeholders become ``repo_id``, and ``facezoo.json`` records the
    card's new sha256), and the commit is optionally tagged. A model is first saved with :func:`save_pretrained`
    and default card values; save it yourself to give metrics and a dataset.

    Args:
        source: A model built by facezoo, or a folder written by :func:`save_pretrained`.
        repo_id: ``"org/name"``.
        revision: Branch to commit to (default: ``main``); created from ``main`` if it does not exist.
        tag: Tag to create on the new commit, e.g. ``"v1"``.
        commit_message: Defaults to ``"Upload {architecture} with facezoo {version}"``.
        private: Create the repository as private (ignored if it exists).
        token: Hub token; defaults to ``HF_TOKEN`` or the one saved by ``hf auth login``.
        endpoint: Hub URL; defaults to ``HF_ENDPOINT`` or https://huggingface.co.

    Returns:
        The ``huggingface_hub.CommitInfo``: ``.commit_url`` and ``.oid`` (the commit sha).

    Raises:
        FileNotFoundError, ChecksumError, IncompatibleConfigError, InvalidWeightsError, ValueError: The folder
            cannot be published (see :func:`check_folder`).
        TokenError: No token, or the Hub rejected it.
        HubUnreachableError: The Hub could not be reached.
    """
    from huggingface_hub import CommitOperationAdd, HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    if not isinstance(source, (str, os.PathLike)):
        with tempfile.TemporaryDirectory(prefix="facezoo-push-") as tmp:
            folder = save_pretrained(source, Path(tmp) / "model")
            return push_to_hub(
                folder, repo_id, revision=revision, tag=tag, commit_message=commit_message, private=private,
                token=token, endpoint=endpoint,
            )  # fmt: skip
    folder = Path(source)
    metadata = check_folder(folder, card=False)
    token = token or get_token()
    if not token:
        raise TokenError(
            "No Hub token: set HF_TOKEN to a write token, run `hf auth login`, or pass token=... (--token)."
        )
    where = hub_endpoint(endpoint)
    check_reachable(where, doing=f"push to {repo_id}")
    card = (folder / CARD_NAME).read_text(encoding="utf-8").replace(REPO_ID_PLACEHOLDER, repo_id).encode("utf-8")
    metadata["files"][CARD_NAME] = {"sha256": hashlib.sha256(card).hexdigest(), "size": len(card)}
    operations = [
        CommitOperationAdd(CARD_NAME, card),
        CommitOperationAdd(METADATA_NAME, (json.dumps(metadata, indent=2) + "\n").encode("utf-8")),
        *(CommitOperationAdd(name, str(folder / name)) for name in KERAS_FILES),
    ]
    api = HfApi(endpoint=endpoint, token=token, library_name="facezoo", library_version=__version__)
    try:
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        commit = api.create_commit(
            repo_id,
            operations,
            commit_message=commit_message or f"Upload {metadata['architecture']} with facezoo {__version__}",
            revision=revision,
        )
        if tag:
            api.create_tag(repo_id, tag=tag, revision=commit.oid, tag_message=f"{metadata['architecture']} weights")
    except HfHubHTTPError as error:
        status = error.response.status_code if error.response is not None else None
        if status in (401, 403):
            raise TokenError(
                f"{where} rejected the token ({status}) for {repo_id}: set HF_TOKEN to a token with write access "
                "to it, or run `hf auth login`."
            ) from error
        raise HubError(f"Pushing to {repo_id} on {where} failed: {str(error).splitlines()[0]}") from error
    return commit


# --------------------------------------------------------------------------------------------------- load


def from_pretrained(
    source: str | os.PathLike,
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> keras.Model:
    """Build a model from a Hub repository or a :func:`save_pretrained` folder and load its weights.

    The architecture is rebuilt from ``facezoo.json`` with :func:`facezoo.create_model`, so the model can be saved
    again with :func:`save_pretrained`. For Hub sources, all files come from the same commit, and every file is
    checked by sha256 (registry, ``facezoo.json`` and the Hub's LFS sha256), on a cache hit as well; a corrupt cached
    file is downloaded again once. For local folders, the weights are checked against ``facezoo.json``.

    Args:
        source: ``"hf://org/name"``, ``"hf://org/name@revision"``, ``"org/name"`` or a local folder.
        revision: Branch, tag or commit sha (default: ``main``); do not combine with ``@revision`` in ``source``.
        cache_dir: Hub cache folder (default: ``HF_HUB_CACHE``, under ``HF_HOME``).
        local_files_only: Use the cache only, never the network (as ``HF_HUB_OFFLINE=1`` does).
        force_download: Download again even if cached.
        token: Hub token for private repositories.
        endpoint: Hub URL; defaults to ``HF_ENDPOINT`` or https://huggingface.co.

    Returns:
        The model, with weights loaded.

    Raises:
        WeightsNotFoundError: The repository, revision or a file does not exist.
        NotCachedError: Offline (or the Hub is unreachable within about 5 s) and the files are not cached.
        ChecksumError: A file's sha256 differs from the published one even after downloading it again.
        IncompatibleConfigError: ``facezoo.json`` names an unknown architecture or comes from a newer facezoo.
        InvalidWeightsError: The weights file is not HDF5, is truncated or does not fit the architecture.
        ValueError: ``source`` is neither a folder nor a repository id, or names a revision that contradicts
            ``revision``.
        FileNotFoundError: A local folder lacks ``facezoo.json`` or ``model.weights.h5``.
    """
    parsed = parse_source(source, revision=revision, registered=False)
    repo_id, revision, folder = parsed.repo_id, parsed.revision, parsed.folder
    label = str(source)
    if folder is not None:
        metadata, legacy = _read_folder_metadata(folder)
        weights_path = folder / WEIGHTS_NAME
        if not weights_path.is_file():
            raise FileNotFoundError(f"{folder} is not a save_pretrained folder: {WEIGHTS_NAME} is missing.")
        if not legacy:
            problem = mismatch(weights_path, [_listed(metadata, WEIGHTS_NAME)])
            if problem:
                raise ChecksumError(f"{folder}: {WEIGHTS_NAME} differs from {METADATA_NAME} ({problem}); re-save it.")
    else:
        assert repo_id is not None  # parse_source gives a folder or a repository
        options: dict[str, Any] = dict(
            cache_dir=cache_dir, local_files_only=local_files_only, force_download=force_download,
            token=token, endpoint=endpoint,
        )  # fmt: skip
        metadata_path = fetch(repo_id, METADATA_NAME, revision=revision, missing_ok=True, **options)
        legacy = metadata_path is None
        if metadata_path is None:
            metadata_path = fetch(repo_id, CONFIG_NAME, revision=revision, **options)
        assert metadata_path is not None  # fetch returns None only with missing_ok
        metadata = _read_metadata(metadata_path, source=label, legacy=legacy)
        commit = metadata_path.parent.name  # the cache layout: snapshots/<commit sha>/<file>
        expected = [] if legacy else [_listed(metadata, WEIGHTS_NAME)]
        registered = _registered_weights(repo_id, WEIGHTS_NAME, {revision or "main", commit})
        if registered is not None:
            expected.append((registered.sha256, registered.file_size, "the facezoo registry"))
        fetched = fetch(repo_id, WEIGHTS_NAME, revision=commit, expected=expected, **options)
        assert fetched is not None
        weights_path = fetched
    model = _build_from_config(metadata, source=label)
    load_weights_file(model, weights_path, source=label)
    return record_measurement(model, metadata.get("dataset") or "", metadata.get("dataset_options") or {})


# --------------------------------------------------------------------------------------------------- model card

#: facezoo metric name -> (Hub metric id, its arguments, readable name). Hub metric ids are those of
#: https://huggingface.co/metrics; a metric not listed here is shown in the card's table only.
HUB_METRICS: dict[str, tuple[str, dict[str, Any] | None, str]] = {
    "mae": ("mae", None, "MAE"),
    "rmse": ("mse", {"squared": False}, "RMSE"),
    "pearson_r": ("pearsonr", None, "Pearson r"),
    "accuracy": ("accuracy", None, "accuracy"),
    "macro_f1": ("f1", {"average": "macro"}, "macro F1"),
}
#: The model-index ``task.type`` of a head: a Hub task id. The Hub has no image-regression task, so regression
#: heads use ``other`` (and the card carries the ``image-regression`` tag instead).
_TASK_TYPES = {"classification": "image-classification", "binary": "image-classification", "regression": "other"}


def model_card(
    architecture: str,
    config: Mapping[str, Any],
    *,
    metrics: Mapping[str, float],
    flip_metrics: Mapping[str, float] | None = None,
    dataset: str,
    split: str = "test",
    protocol: str | None = None,
    license: str | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
    training_args: Mapping[str, Any] | None = None,
    repo_id: str | None = None,
    base_model: str | None = None,
    ablation: Iterable[Mapping[str, Any]] = (),
) -> str:
    """The model card (``README.md``) of a facezoo model: Hub YAML front matter and prose.

    The front matter follows the Hub's conventions: ``library_name: keras``; ``license: other`` with
    ``license_name`` and ``license_link`` (the dataset's terms) unless ``license`` is a Hub licence id;
    ``pipeline_tag: image-classification`` only for single-output classifiers (regression and multi-output models
    carry tags instead); a ``model-index`` whose metric ``type``s are Hub metric ids (:data:`HUB_METRICS`) and whose
    ``split`` is the split's name; ``base_model`` for fine-tuned weights. The prose describes the model, the recipe,
    the metrics and the split's protocol, limitations and bias, citations and how to load it with and without
    facezoo. See :func:`save_pretrained` for the arguments; ``repo_id`` is the Hub repository the card will live in.
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    info = model_info(architecture)
    citation = _dataset_citation(dataset)
    dataset_title = citation.title if citation else dataset
    if license and _HUB_LICENSE_ID.fullmatch(license):
        licence_meta: dict[str, Any] = {"license": license}
    else:
        licence_meta = {"license": "other", "license_name": "non-commercial-research-only"}
        if citation and citation.url:
            licence_meta["license_link"] = citation.url
    specs = _outputs_json(architecture, config)
    kinds = {spec["name"]: spec["kind"] for spec in specs}
    single_classifier = len(specs) == 1 and specs[0]["kind"] != "regression"
    task_tags = ["multi-output"] if len(specs) > 1 else []
    task_tags += ["image-regression"] if "regression" in kinds.values() else []
    task_tags += ["image-classification"] if not single_classifier and set(kinds.values()) - {"regression"} else []
    eval_results = []
    for name, value in metrics.items():
        head, _, metric = name.rpartition("/")
        if metric not in HUB_METRICS:
            continue
        metric_id, metric_args, readable = HUB_METRICS[metric]
        kind = kinds.get(head) or (specs[0]["kind"] if len(specs) == 1 else "regression")
        eval_results.append(
            EvalResult(
                task_type=_TASK_TYPES[kind],
                task_name="regression" if kind == "regression" else "classification",
                dataset_type=dataset,
                dataset_name=dataset_title,
                dataset_split=split,
                metric_type=metric_id,
                metric_name=f"{head} {readable}" if head else readable,
                metric_value=float(value),
                metric_args=metric_args,
            )
        )
    data = ModelCardData(
        library_name="keras",
        tags=list(dict.fromkeys(["facezoo", info.family, architecture, dataset, *task_tags, *tags])),
        pipeline_tag="image-classification" if single_classifier else None,
        base_model=base_model,
        model_name=f"{architecture}-{dataset}",
        eval_results=eval_results or None,
        **licence_meta,
    )
    outputs = "\n".join(
        f"| `{spec['name']}` | {spec['kind']} | {', '.join(spec['labels']) or spec.get('units') or ''} |"
        for spec in specs
    )
    flip = dict(flip_metrics or {})
    columns = ["metric", "value", *(["with `flip=True`"] if flip else []), "split"]
    rows = [
        [name, f"{float(value):.4g}", *([f"{float(flip[name]):.4g}" if name in flip else ""] if flip else []), split]
        for name, value in metrics.items()
    ]
    metric_table = (
        "\n".join("| " + " | ".join(cells) + " |" for cells in [columns, ["---"] * len(columns), *rows])
        if metrics
        else "No metrics were recorded."
    )
    config_lines = "\n".join(f"    {key}={value!r}," for key, value in config.items())
    hub_id = repo_id or REPO_ID_PLACEHOLDER
    ablation = list(ablation)
    sections = [
        f"# {architecture} ({dataset_title})",
        f"A facezoo `{architecture}` model ({info.family} family, {info.task}) trained on {dataset_title}. "
        f"It reproduces the write-up *{info.reference}*. Input: RGB images of shape "
        f"{tuple(config['input_shape'])} as floats in [0, 255] (the model scales them itself).",
        f"| output | kind | labels / units |\n|---|---|---|\n{outputs}",
        "## Training",
        notes or "Trained with facezoo.",
        *(
            [f"Ablation (each run measured once on the `{split}` split):\n\n{ablation_markdown(ablation).rstrip()}"]
            if ablation
            else []
        ),
        *([f"Fine-tuned from [{base_model}](https://huggingface.co/{base_model})."] if base_model else []),
        f"Builder config:\n\n```python\n{architecture}(\n{config_lines}\n)\n```",
        *(["The training arguments are in `facezoo.json` (`training_args`)."] if training_args is not None else []),
        "## Evaluation",
        metric_table,
        *([f"Split `{split}`: {protocol}."] if protocol else []),
        "## Limitations and bias",
        f"The model was trained on {dataset_title} only and inherits its biases: the people, ages, ethnicities, "
        "poses and photo styles it over- or under-represents, and the subjectivity of its labels. Accuracy differs "
        "between groups and drops on images unlike the training data; measure it on your own data before relying "
        "on it, and do not use it to make decisions about individuals.",
        f"**License.** {NON_COMMERCIAL}" + (f" Stated licence: {license}." if license else ""),
        "## How to load",
        "With Keras alone (the repository is in Keras' own saving layout):",
        f'```python\nimport keras\n\nmodel = keras.saving.load_model("hf://{hub_id}")\n'
        "predictions = model.predict(images)  # RGB floats in [0, 255]\n```",
        "With facezoo (labels, checksums, `facezoo.predict`):",
        f'```python\nfrom facezoo.hub import from_pretrained\n\nmodel = from_pretrained("hf://{hub_id}")\n```',
        "## Citation",
        f"Dataset: {citation.reference}." + (f" <{citation.url}>" if citation.url else "")
        if citation
        else f"Dataset: {dataset}.",
        *([f"```bibtex\n{citation.bibtex}\n```"] if citation else []),
        f"Write-up reproduced: {info.reference} (facezoo reference write-ups).",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"))


# --------------------------------------------------------------------------------------------------- helpers


def _dataset_citation(dataset: str) -> DatasetCitation | None:
    """The citation of a registered dataset (:attr:`DatasetInfo.citation`), ``None`` for a dataset facezoo does not
    know."""
    try:
        return dataset_info(dataset).citation
    except ValueError:
        return None


def _builder_config(model: keras.Model) -> tuple[str, dict[str, Any]]:
    architecture = getattr(model, "_facezoo_architecture", None)
    config = getattr(model, "_facezoo_config", None)
    if architecture is not None and config is None:
        raise ValueError(
            f"{model.name} is the backbone of {architecture} (features_only or feature_extractor), not a model "
            "save_pretrained can rebuild: save the whole model, or this one with keras.saving.save_model."
        )
    if architecture is None or config is None:
        raise ValueError(
            "save_pretrained needs a model built by facezoo (a builder, facezoo.create_model or "
            "facezoo.hub.from_pretrained): it records the builder config that facezoo.json needs. A model loaded "
            "from a .keras file does not; rebuild it with facezoo.create_model(name, **config) and copy the "
            "weights with model.set_weights(loaded.get_weights())."
        )
    return architecture, _without_backbone_source(config)


def _without_backbone_source(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with ``backbone_weights=None``: saved weights hold the backbone, so loading them must not fetch
    the backbone's source again (a training run's folder or ImageNet; the run's ``training_args`` keep it)."""
    return {**config, "backbone_weights": None} if "backbone_weights" in config else dict(config)


def _inference_copy(model: keras.Model, architecture: str, config: Mapping[str, Any]) -> keras.Model:
    """``model`` as its builder makes it, without compile or optimizer state (which plain Keras may not be able to
    deserialise); ``model`` itself when it was never compiled."""
    if not getattr(model, "compiled", False):
        return model
    copy = build_model(architecture, **config)
    copy.set_weights(model.get_weights())
    return copy


def _outputs_json(architecture: str, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The outputs of ``architecture`` at ``config`` (:func:`facezoo.inference.output_specs`) as JSON, for
    ``facezoo.json`` and the card."""
    return [
        {"name": spec.name, "kind": spec.kind, "labels": list(spec.labels), "units": spec.units}
        for spec in output_specs(architecture, config)
    ]


def _metadata(
    model: keras.Model,
    architecture: str,
    config: Mapping[str, Any],
    *,
    dataset: str,
    dataset_options: Mapping[str, Any] | None,
    split: str,
    protocol: str | None,
    metrics: Mapping[str, float] | None,
    flip_metrics: Mapping[str, float] | None,
    base_model: str | None,
    training_args: Mapping[str, Any] | None,
    ablation: list[dict[str, Any]],
) -> dict[str, Any]:
    """The content of ``facezoo.json`` (without ``files``); docs/hub.md documents the schema."""
    info = model_info(architecture)
    return {
        "format_version": FORMAT_VERSION,
        "facezoo_version": __version__,
        "architecture": architecture,
        "family": info.family,
        "task": info.task,
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "input": {"shape": list(model.input_shape[1:]), "dtype": "float32", "color": "RGB", "range": [0, 255]},
        "output_names": list(model.output_names),
        "outputs": _outputs_json(architecture, config),
        "dataset": dataset,
        "dataset_options": json.loads(json.dumps(dict(dataset_options or {}), default=str)),
        "split": split,
        "protocol": protocol,
        "metrics": {key: float(value) for key, value in (metrics or {}).items()},
        "flip_metrics": {key: float(value) for key, value in (flip_metrics or {}).items()},
        "base_model": base_model,
        "training_args": training_args,
        "ablation": ablation,
    }


def _file_hashes(folder: Path) -> dict[str, dict[str, Any]]:
    return {
        name: {"sha256": sha256_of(folder / name), "size": (folder / name).stat().st_size} for name in PUBLISHED_FILES
    }


def _listed(metadata: Mapping[str, Any], name: str) -> tuple[str, int | None, str]:
    """The ``(sha256, size, source)`` that ``facezoo.json`` records for file ``name``."""
    entry = metadata["files"].get(name)
    if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
        raise IncompatibleConfigError(f"{METADATA_NAME} records no sha256 for {name}; re-save the folder.")
    return entry["sha256"], entry.get("size"), METADATA_NAME


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def replace_folder(tmp: Path, directory: Path) -> None:
    """Atomically rename ``tmp`` to ``directory``; an existing ``directory`` is moved aside first and removed after."""
    if not directory.exists():
        os.replace(tmp, directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
    os.replace(directory, old / directory.name)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def _read_json(path: Path, *, source: str) -> Any:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IncompatibleConfigError(f"{source}: {Path(path).name} is not valid JSON ({error}).") from error


def _is_legacy_config(path: Path) -> bool:
    data = _read_json(path, source=str(path))
    return isinstance(data, dict) and data.get("format_version") == _LEGACY_FORMAT_VERSION


def _read_metadata(path: Path, *, source: str, legacy: bool = False) -> dict[str, Any]:
    """``facezoo.json`` (or, with ``legacy``, the first layout's ``config.json``, with a deprecation warning)."""
    metadata = _read_json(path, source=source)
    name = Path(path).name
    if not isinstance(metadata, dict) or not isinstance(metadata.get("format_version"), int):
        raise IncompatibleConfigError(
            f"{source}: {name} has no facezoo format_version"
            + (
                f" and there is no {METADATA_NAME}: it is not a facezoo model (a plain Keras folder loads with "
                "keras.saving.load_model)."
                if legacy
                else "; it was not written by facezoo.hub.save_pretrained."
            )
        )
    version = metadata["format_version"]
    if version > FORMAT_VERSION:
        raise IncompatibleConfigError(
            f"{source} was written by facezoo {metadata.get('facezoo_version', '?')} (format {version}); facezoo "
            f"{__version__} reads format {FORMAT_VERSION} at most. Upgrade facezoo: pip install -U facezoo."
        )
    if legacy or version == _LEGACY_FORMAT_VERSION:
        warnings.warn(
            f"{source} is in facezoo's first Hub layout (facezoo's metadata in {CONFIG_NAME}, no {METADATA_NAME}), "
            "which the next release will no longer read; re-save it with facezoo.hub.save_pretrained.",
            DeprecationWarning,
            stacklevel=3,
        )
    elif not isinstance(metadata.get("files"), dict):
        raise IncompatibleConfigError(f"{source}: {name} has no 'files' checksums; re-save it with save_pretrained.")
    return metadata


def _read_folder_metadata(folder: Path) -> tuple[dict[str, Any], bool]:
    """``(metadata, legacy)`` of a local folder."""
    if (folder / METADATA_NAME).is_file():
        return _read_metadata(folder / METADATA_NAME, source=str(folder)), False
    if (folder / CONFIG_NAME).is_file():
        return _read_metadata(folder / CONFIG_NAME, source=str(folder), legacy=True), True
    raise FileNotFoundError(f"{folder} is not a save_pretrained folder: {METADATA_NAME} is missing.")


def _build_from_config(metadata: Mapping[str, Any], *, source: str) -> keras.Model:
    version = __version__
    architecture = metadata.get("architecture")
    if architecture not in list_models():
        raise IncompatibleConfigError(
            f"{source} names architecture {architecture!r}, which facezoo {version} does not have "
            f"(it has {', '.join(list_models())}). If the model comes from a newer facezoo, upgrade: "
            "pip install -U facezoo."
        )
    try:
        return build_model(architecture, **_without_backbone_source(metadata.get("config", {})))
    except (TypeError, ValueError) as error:
        raise IncompatibleConfigError(
            f"{source}: the config in {METADATA_NAME} does not build {architecture} with facezoo {version}: {error}"
        ) from error


def _registered_weights(repo_id: str, filename: str, revisions: set[str]) -> WeightsInfo | None:
    """The registry entry for ``filename`` of ``repo_id`` at one of ``revisions`` (its revision or its commit)."""
    for name in list_models():
        for weights in model_info(name).weights.values():
            if (
                weights.repo_id == repo_id
                and weights.filename == filename
                and (weights.revision in revisions or weights.commit in revisions)
            ):
                return weights
    return None


#: An absolute local path inside text: POSIX, home-relative or Windows.
_LOCAL_PATH = re.compile(r"(?<![\w.:/\\~-])(?:~[/\\]|/(?=[\w.-]+/)|[A-Za-z]:[/\\])[^\s'\"`,;)\]}]+")


def _local_paths(value: Any) -> list[str]:
    """Absolute local paths found in ``value`` (a string, or JSON-like data walked recursively)."""
    if isinstance(value, str):
        whole = value.strip()
        if PurePosixPath(whole).is_absolute() and "\n" not in whole or PureWindowsPath(whole).drive:
            return [whole]
        return _LOCAL_PATH.findall(value)
    if isinstance(value, Mapping):
        return [path for item in value.values() for path in _local_paths(item)]
    if isinstance(value, (list, tuple)):
        return [path for item in value for path in _local_paths(item)]
    return []
