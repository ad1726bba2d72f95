"""Publish facezoo weights on the Hugging Face Hub and load them back, verified and cached.

A published model is a Hub repository (or a local folder) written by :func:`save_pretrained`::

    config.json          facezoo version, format version, architecture (builder name), builder config,
                         input spec, outputs and labels
    model.weights.h5     Keras 3 weights
    training_args.json   optional: the training arguments
    README.md            model card (YAML front matter + prose)

Downloads go through ``huggingface_hub`` (``hf_hub_download``), so its cache, ``HF_HOME``, ``HF_HUB_OFFLINE``,
``HF_ENDPOINT`` and revisions all apply. Whenever the registry knows a weights file (an entry of
:class:`facezoo.WeightsInfo` with the same ``repo_id`` and ``filename`` whose ``revision`` is the requested revision
or the commit it resolved to), its sha256 is checked after a download *and* on a cache hit.

Registered weights may also ship inside an installed package (``WeightsInfo.embedded``): a resource path
``"<package>/<path inside the package>"``, e.g. ``"facezoo/weights/attractive_net-scut_fbp5500/model.weights.h5"``,
read with :mod:`importlib.resources`. Those bytes carry the same sha256 and load with no network at all.

Importing this module does not import TensorFlow; Keras is imported when a model is built or loaded.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from facezoo import _citations
from facezoo.registry import WeightsInfo, create_model, list_models, model_info

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import keras
    from huggingface_hub import CommitInfo

__all__ = [
    "CONFIG_NAME",
    "WEIGHTS_NAME",
    "TRAINING_ARGS_NAME",
    "CARD_NAME",
    "FORMAT_VERSION",
    "HubError",
    "WeightsNotFoundError",
    "NotCachedError",
    "ChecksumError",
    "IncompatibleConfigError",
    "InvalidWeightsError",
    "save_pretrained",
    "check_replaceable",
    "push_to_hub",
    "from_pretrained",
    "load_registered_weights",
    "model_card",
]

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.weights.h5"
TRAINING_ARGS_NAME = "training_args.json"
CARD_NAME = "README.md"
FORMAT_VERSION = 1
"""Version of the ``config.json`` layout; a file with a higher version was written by a newer facezoo."""

REPO_ID_PLACEHOLDER = "YOUR_ORG/YOUR_MODEL"
"""Stands for the repository id in a saved model card; :func:`push_to_hub` replaces it with the real one."""

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_HUB_LICENSE_ID = re.compile(r"[a-z0-9][a-z0-9.\-]*")


class HubError(Exception):
    """Base class of the errors raised by :mod:`facezoo.hub`."""


class WeightsNotFoundError(HubError, LookupError):
    """The repository, the revision or a file in it does not exist (or is private and no token was given)."""


class NotCachedError(HubError, FileNotFoundError):
    """Downloads are off (``HF_HUB_OFFLINE=1``, ``local_files_only=True``) or the Hub is unreachable, and the
    files are not in the cache."""


class ChecksumError(HubError, ValueError):
    """A weights file's sha256 (or size) differs from the one the registry records."""


class IncompatibleConfigError(HubError, ValueError):
    """``config.json`` is missing, names an unknown architecture or was written by a newer facezoo."""


class InvalidWeightsError(HubError, ValueError):
    """The weights file is not HDF5, is truncated, or does not fit the architecture."""


# --------------------------------------------------------------------------------------------------- save / push


def save_pretrained(
    model: keras.Model,
    directory: str | os.PathLike,
    *,
    metrics: Mapping[str, float] | None = None,
    dataset: str | None = None,
    split: str = "test",
    training_args: Mapping[str, Any] | None = None,
    license: str | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
) -> Path:
    """Write ``model`` as a Hub repository folder: config, weights, optional training args and a model card.

    Writing is atomic: files go to a temporary sibling folder that is renamed into place, so a failure leaves no
    partial folder. An existing ``directory`` is replaced only if it holds nothing but files this function writes.

    Args:
        model: A model built by facezoo (a builder, :func:`facezoo.create_model` or :func:`from_pretrained`).
        directory: Output folder.
        metrics: Measured metrics, e.g. ``{"mae": 0.24}`` or ``{"age/mae": 5.1, "gender/accuracy": 0.93}``.
        dataset: ``facezoo.datasets`` name the model was trained on; defaults to the model's dataset.
        split: Split the ``metrics`` were measured on.
        training_args: Training arguments, written to ``training_args.json`` (non-JSON values as strings).
        license: Hub licence id (e.g. ``"cc-by-nc-4.0"``) or free text; free text or ``None`` gives
            ``license: other`` with the text in the card. The data's non-commercial terms are always stated.
        tags: Extra Hub tags; ``facezoo``, the family, the architecture and the dataset are always added.
        notes: Free text for the card's training section (e.g. the recipe used).

    Returns:
        The folder written.

    Raises:
        ValueError: ``model`` was not built by facezoo, or ``directory`` holds other files.
    """
    architecture, config = _builder_config(model)
    info = model_info(architecture)
    dataset = dataset or info.dataset
    directory = Path(directory)
    check_replaceable(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp's 0700 would outlive the rename
        _write_json(tmp / CONFIG_NAME, _config_json(model, architecture, config))
        model.save_weights(str(tmp / WEIGHTS_NAME))
        if training_args is not None:
            _write_json(tmp / TRAINING_ARGS_NAME, dict(training_args))
        card = model_card(
            architecture,
            config,
            metrics=metrics or {},
            dataset=dataset,
            split=split,
            license=license,
            tags=tags,
            notes=notes,
            training_args=training_args,
        )
        (tmp / CARD_NAME).write_text(card, encoding="utf-8")
        _replace_folder(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def check_replaceable(directory: str | os.PathLike) -> None:
    """Raise ``ValueError`` if :func:`save_pretrained` would refuse ``directory`` (it holds files of its own)."""
    directory = Path(directory)
    if directory.exists():
        unknown = sorted(p.name for p in directory.iterdir()) if directory.is_dir() else [directory.name]
        unknown = [name for name in unknown if name not in (CONFIG_NAME, WEIGHTS_NAME, TRAINING_ARGS_NAME, CARD_NAME)]
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
    create_branch: bool = False,
    tag: str | None = None,
    commit_message: str | None = None,
    private: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> CommitInfo:
    """Upload a model, or a :func:`save_pretrained` folder, to a Hub repository in one commit.

    Creates the repository if needed, commits config, weights, training args and model card together (the card's
    ``YOUR_ORG/YOUR_MODEL`` placeholders become ``repo_id``), and optionally tags the commit. A model is first
    saved with :func:`save_pretrained` and default card values; save it yourself to give metrics and a dataset.

    Args:
        source: A model built by facezoo, or a folder written by :func:`save_pretrained`.
        repo_id: ``"org/name"``.
        revision: Branch to commit to (default: ``main``).
        create_branch: Create ``revision`` from ``main`` first if it does not exist.
        tag: Tag to create on the new commit, e.g. ``"v1"``.
        commit_message: Defaults to ``"Upload {architecture} with facezoo {version}"``.
        private: Create the repository as private (ignored if it exists).
        token: Hub token; defaults to the logged-in one (``hf auth login``) or ``HF_TOKEN``.
        endpoint: Hub URL; defaults to ``HF_ENDPOINT`` or https://huggingface.co.

    Returns:
        The ``huggingface_hub.CommitInfo``: ``.commit_url`` and ``.oid`` (the commit sha).

    Raises:
        ValueError: ``source`` is neither a facezoo model nor a ``save_pretrained`` folder.
    """
    from huggingface_hub import CommitOperationAdd, HfApi

    if not isinstance(source, (str, os.PathLike)):
        with tempfile.TemporaryDirectory(prefix="facezoo-push-") as tmp:
            folder = save_pretrained(source, Path(tmp) / "model")
            return push_to_hub(
                folder, repo_id, revision=revision, create_branch=create_branch, tag=tag,
                commit_message=commit_message, private=private, token=token, endpoint=endpoint,
            )  # fmt: skip
    folder = Path(source)
    missing = [name for name in (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME) if not (folder / name).is_file()]
    if missing:
        raise ValueError(f"{folder} is not a save_pretrained folder: {', '.join(missing)} missing.")
    config = _read_config(folder / CONFIG_NAME, source=str(folder))
    api = HfApi(endpoint=endpoint, token=token, library_name="facezoo", library_version=_version())
    api.create_repo(repo_id, private=private, exist_ok=True)
    if create_branch and revision:
        api.create_branch(repo_id, branch=revision, exist_ok=True)
    card = (folder / CARD_NAME).read_text(encoding="utf-8").replace(REPO_ID_PLACEHOLDER, repo_id)
    operations = [CommitOperationAdd(CARD_NAME, card.encode("utf-8"))] + [
        CommitOperationAdd(name, str(folder / name))
        for name in (CONFIG_NAME, WEIGHTS_NAME, TRAINING_ARGS_NAME)
        if (folder / name).is_file()
    ]
    commit = api.create_commit(
        repo_id,
        operations,
        commit_message=commit_message or f"Upload {config['architecture']} with facezoo {_version()}",
        revision=revision,
    )
    if tag:
        api.create_tag(repo_id, tag=tag, revision=commit.oid, tag_message=f"{config['architecture']} weights")
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

    The architecture is rebuilt from ``config.json`` with :func:`facezoo.create_model`, so the model can be saved
    again with :func:`save_pretrained`. For Hub sources, both files come from the same commit; if the registry knows
    the weights file (same ``repo_id`` and revision or commit), its sha256 is checked, on a cache hit as well.

    Args:
        source: ``"hf://org/name"``, ``"hf://org/name@revision"``, ``"org/name"`` or a local folder.
        revision: Branch, tag or commit sha (default: ``main``); do not combine with ``@revision`` in ``source``.
        cache_dir: Hub cache folder (default: ``HF_HUB_CACHE``, under ``HF_HOME``).
        local_files_only: Use the cache only, never the network (as ``HF_HUB_OFFLINE=1`` does).
        force_download: Download again even if cached (repairs a corrupt cache).
        token: Hub token for private repositories.
        endpoint: Hub URL; defaults to ``HF_ENDPOINT`` or https://huggingface.co.

    Returns:
        The model, with weights loaded.

    Raises:
        WeightsNotFoundError: The repository, revision or a file does not exist.
        NotCachedError: Offline (or the Hub is unreachable) and the files are not cached.
        ChecksumError: The weights file's sha256 differs from the registry's.
        IncompatibleConfigError: ``config.json`` names an unknown architecture or comes from a newer facezoo.
        InvalidWeightsError: The weights file is not HDF5, is truncated or does not fit the architecture.
        ValueError: ``source`` is neither a folder nor a repository id, or names a revision that contradicts
            ``revision``.
        FileNotFoundError: A local folder lacks ``config.json`` or ``model.weights.h5``.
    """
    repo_id, revision, folder = _parse_source(source, revision)
    expected: WeightsInfo | None = None
    if folder is not None:
        for name in (CONFIG_NAME, WEIGHTS_NAME):
            if not (folder / name).is_file():
                raise FileNotFoundError(f"{folder} is not a save_pretrained folder: {name} is missing.")
        config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    else:
        kwargs = dict(
            cache_dir=cache_dir, local_files_only=local_files_only, force_download=force_download,
            token=token, endpoint=endpoint,
        )  # fmt: skip
        config_path = _download(repo_id, CONFIG_NAME, revision=revision, **kwargs)
        commit = config_path.parent.name  # the cache layout: snapshots/<commit sha>/<file>
        weights_path = _download(repo_id, WEIGHTS_NAME, revision=commit, **kwargs)
        expected = _registered_weights(repo_id, WEIGHTS_NAME, {revision or "main", commit})
    label = str(source)
    config = _read_config(config_path, source=label)
    if expected is not None:
        _verify(weights_path, expected, where=f"{repo_id}@{revision or 'main'}", fix=_REFETCH)
    model = _build_from_config(config, source=label)
    _load_weights_file(model, weights_path, source=label)
    return model


def load_registered_weights(
    model: keras.Model,
    weights: WeightsInfo,
    *,
    cache_dir: str | os.PathLike | None = None,
    force_download: bool = False,
    local_files_only: bool = False,
) -> keras.Model:
    """Load registered weights into ``model`` (what ``pretrained=True`` does), checking their sha256 and size.

    Embedded weights (``weights.embedded``) load from the installed package with no network; otherwise (or with
    ``force_download=True``, or when the resource is missing from the installation) the file comes from
    ``weights.repo_id`` at ``weights.revision`` through the Hub cache.

    Args:
        model: A model of the architecture and config the weights were trained with.
        weights: The registry entry.
        cache_dir: Hub cache folder (default: ``HF_HUB_CACHE``).
        force_download: Download again even if cached.
        local_files_only: Use the cache (or the embedded copy) only.

    Returns:
        ``model``, with the weights loaded.

    Raises:
        ChecksumError: The file's sha256 or size differs from ``weights.sha256`` / ``weights.file_size``.
        NotCachedError, WeightsNotFoundError, InvalidWeightsError: See :func:`from_pretrained`.
    """
    resource = _embedded_resource(weights.embedded) if weights.embedded and not force_download else None
    label = f"{weights.repo_id}@{weights.revision}"
    if resource is not None:
        with importlib.resources.as_file(resource) as path:
            _verify(path, weights, where=f"package resource {weights.embedded}", fix=_REINSTALL)
            return _load_weights_file(model, path, source=label)
    path = _download(
        weights.repo_id,
        weights.filename,
        revision=weights.revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        force_download=force_download,
    )
    _verify(path, weights, where=label, fix=_REFETCH)
    return _load_weights_file(model, path, source=label)


# --------------------------------------------------------------------------------------------------- model card


def model_card(
    architecture: str,
    config: Mapping[str, Any],
    *,
    metrics: Mapping[str, float],
    dataset: str,
    split: str = "test",
    license: str | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
    training_args: Mapping[str, Any] | None = None,
    repo_id: str | None = None,
) -> str:
    """The model card (``README.md``) of a facezoo model: Hub YAML front matter and prose.

    The front matter holds ``library_name: keras``, tags, licence, datasets, ``pipeline_tag`` and a
    ``model-index`` with the metrics; the prose describes the model, the recipe, the metrics and the split,
    limitations and bias, citations and how to load it. See :func:`save_pretrained` for the other arguments;
    ``repo_id`` is the Hub repository the card will live in (named in "How to load").
    """
    from huggingface_hub import EvalResult, ModelCard, ModelCardData

    info = model_info(architecture)
    citation = _citations.DATASETS.get(dataset)
    dataset_title = citation.title if citation else dataset
    if license and _HUB_LICENSE_ID.fullmatch(license):
        licence_meta = {"license": license}
    else:
        licence_meta = {"license": "other", "license_name": "non-commercial-research-only"}
    pipeline_tag = "image-classification"
    eval_results = [
        EvalResult(
            task_type=pipeline_tag,
            task_name=info.task,
            dataset_type=dataset,
            dataset_name=dataset_title,
            dataset_split=split,
            metric_type=name,
            metric_name=name,
            metric_value=float(value),
        )
        for name, value in metrics.items()
    ]
    data = ModelCardData(
        library_name="keras",
        tags=list(dict.fromkeys(["facezoo", info.family, architecture, dataset, *tags])),
        datasets=[dataset],
        pipeline_tag=pipeline_tag,
        model_name=f"{architecture}-{dataset}",
        eval_results=eval_results or None,
        **licence_meta,
    )
    outputs = "\n".join(
        f"| `{spec['name']}` | {spec['kind']} | {', '.join(spec['labels']) or spec.get('units') or ''} |"
        for spec in _output_specs(architecture, config)
    )
    metric_rows = "\n".join(f"| {name} | {float(value):.4g} | {split} |" for name, value in metrics.items())
    metric_table = (
        f"| metric | value | split |\n|---|---|---|\n{metric_rows}" if metrics else "No metrics were recorded."
    )
    config_lines = "\n".join(f"    {key}={value!r}," for key, value in config.items())
    sections = [
        f"# {architecture} ({dataset_title})",
        f"A facezoo `{architecture}` model ({info.family} family, {info.task}) trained on {dataset_title}. "
        f"It reproduces the write-up *{info.reference}*. Input: RGB images of shape "
        f"{tuple(config['input_shape'])} as floats in [0, 255] (the model scales them itself).",
        f"| output | kind | labels / units |\n|---|---|---|\n{outputs}",
        "## Training",
        notes or "Trained with facezoo.",
        f"Builder config:\n\n```python\n{architecture}(\n{config_lines}\n)\n```",
        *(["Training arguments are in `training_args.json`."] if training_args is not None else []),
        "## Evaluation",
        metric_table,
        "## Limitations and bias",
        f"The model was trained on {dataset_title} only and inherits its biases: the people, ages, ethnicities, "
        "poses and photo styles it over- or under-represents, and the subjectivity of its labels. Accuracy differs "
        "between groups and drops on images unlike the training data; measure it on your own data before relying "
        "on it, and do not use it to make decisions about individuals.",
        f"**License.** {_citations.NON_COMMERCIAL}" + (f" Stated licence: {license}." if license else ""),
        "## How to load",
        f'```python\nfrom facezoo.hub import from_pretrained\n\nmodel = from_pretrained("hf://{repo_id or REPO_ID_PLACEHOLDER}")\n'
        "predictions = model.predict(images)  # RGB floats in [0, 255]\n```",
        "## Citation",
        f"Dataset: {citation.reference}." + (f" <{citation.url}>" if citation.url else "")
        if citation
        else f"Dataset: {dataset}.",
        *([f"```bibtex\n{citation.bibtex}\n```"] if citation else []),
        f"Write-up reproduced: {info.reference} (facezoo reference write-ups).",
    ]
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n" + "\n\n".join(sections) + "\n"))


# --------------------------------------------------------------------------------------------------- helpers

_REFETCH = "The cached copy is corrupt or was modified; pass force_download=True to fetch it again."
_REINSTALL = "The installed package is damaged; reinstall facezoo (pip install --force-reinstall facezoo)."


def _version() -> str:
    from facezoo import __version__

    return __version__


def _builder_config(model: keras.Model) -> tuple[str, dict[str, Any]]:
    architecture = getattr(model, "_facezoo_architecture", None)
    config = getattr(model, "_facezoo_config", None)
    if architecture is None or config is None:
        raise ValueError(
            "save_pretrained needs a model built by facezoo (a builder, facezoo.create_model or "
            "facezoo.hub.from_pretrained): it records the builder config that config.json needs. A model loaded "
            "from a .keras file does not; rebuild it with facezoo.create_model(name, **config) and copy the "
            "weights with model.set_weights(loaded.get_weights())."
        )
    return architecture, dict(config)


def _output_specs(architecture: str, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The registry's output specs of ``architecture``, with labels replaced by indices where ``config`` changed
    the number of classes."""
    specs = []
    for spec in model_info(architecture).outputs:
        specs.append({"name": spec.name, "kind": spec.kind, "labels": list(spec.labels), "units": spec.units})
    num_classes = config.get("num_classes")
    if isinstance(num_classes, int) and len(specs) == 1 and specs[0]["kind"] == "classification":
        if len(specs[0]["labels"]) != num_classes:
            specs[0]["labels"] = [str(i) for i in range(num_classes)]
    return specs


def _config_json(model: keras.Model, architecture: str, config: Mapping[str, Any]) -> dict[str, Any]:
    info = model_info(architecture)
    return {
        "facezoo_version": _version(),
        "format_version": FORMAT_VERSION,
        "architecture": architecture,
        "family": info.family,
        "task": info.task,
        "config": {key: list(value) if isinstance(value, tuple) else value for key, value in config.items()},
        "input": {"shape": list(model.input_shape[1:]), "dtype": "float32", "color": "RGB", "range": [0, 255]},
        "output_names": list(model.output_names),
        "outputs": _output_specs(architecture, config),
        "dataset": info.dataset,
    }


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def _replace_folder(tmp: Path, directory: Path) -> None:
    """Rename ``tmp`` to ``directory``; an existing ``directory`` is moved aside first and removed after."""
    if not directory.exists():
        os.replace(tmp, directory)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old-", dir=directory.parent))
    os.replace(directory, old / directory.name)
    os.replace(tmp, directory)
    shutil.rmtree(old, ignore_errors=True)


def _read_config(path: Path, *, source: str) -> dict[str, Any]:
    try:
        config = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise IncompatibleConfigError(f"{source}: {CONFIG_NAME} is not valid JSON ({error}).") from error
    if not isinstance(config, dict) or not isinstance(config.get("format_version"), int):
        raise IncompatibleConfigError(
            f"{source}: {CONFIG_NAME} has no facezoo format_version; it was not written by facezoo.hub.save_pretrained."
        )
    return config


def _build_from_config(config: Mapping[str, Any], *, source: str) -> keras.Model:
    version = _version()
    if config["format_version"] > FORMAT_VERSION:
        raise IncompatibleConfigError(
            f"{source} was written by facezoo {config.get('facezoo_version', '?')} (config format "
            f"{config['format_version']}); facezoo {version} reads format {FORMAT_VERSION} at most. "
            "Upgrade facezoo: pip install -U facezoo."
        )
    architecture = config.get("architecture")
    if architecture not in list_models():
        raise IncompatibleConfigError(
            f"{source}: {CONFIG_NAME} names architecture {architecture!r}, which facezoo {version} does not have "
            f"(it has {', '.join(list_models())}). If the model comes from a newer facezoo, upgrade: "
            "pip install -U facezoo."
        )
    try:
        return create_model(architecture, **config.get("config", {}))
    except (TypeError, ValueError) as error:
        raise IncompatibleConfigError(
            f"{source}: the config in {CONFIG_NAME} does not build {architecture} with facezoo {version}: {error}"
        ) from error


def _parse_source(source: str | os.PathLike, revision: str | None) -> tuple[str | None, str | None, Path | None]:
    """``(repo_id, revision, None)`` for a Hub source, ``(None, None, folder)`` for a local folder."""
    text = os.fspath(source)
    if not text.startswith("hf://") and Path(text).is_dir():
        return None, None, Path(text)
    repo_id, _, at_revision = text.removeprefix("hf://").partition("@")
    if at_revision and revision and at_revision != revision:
        raise ValueError(f"{text!r} names revision {at_revision!r} but revision={revision!r} was passed; give one.")
    if not re.fullmatch(r"[\w.\-]+/[\w.\-]+", repo_id):
        raise ValueError(
            f"{text!r} is not a local folder, 'hf://org/name[@revision]' or 'org/name'."
            + (" (It looks like a path, but no such folder exists.)" if os.sep in text or text.startswith(".") else "")
        )
    return repo_id, at_revision or revision, None


def _download(
    repo_id: str,
    filename: str,
    *,
    revision: str | None,
    cache_dir: str | os.PathLike | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | None = None,
    endpoint: str | None = None,
) -> Path:
    """``hf_hub_download`` with its failures turned into :class:`HubError` messages that say what to do."""
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    where = endpoint or constants.ENDPOINT
    rev = revision or "main"
    try:
        return Path(
            hf_hub_download(
                repo_id,
                filename,
                revision=revision,
                cache_dir=cache_dir,
                local_files_only=local_files_only,
                force_download=force_download,
                token=token,
                endpoint=endpoint,
                library_name="facezoo",
                library_version=_version(),
            )
        )
    except RevisionNotFoundError as error:
        raise WeightsNotFoundError(
            f"Revision {rev!r} of {repo_id} does not exist on {where}. Use a branch, tag or commit sha of the "
            f"repository (huggingface_hub.list_repo_refs({repo_id!r}) lists them)."
        ) from error
    except RepositoryNotFoundError as error:
        raise WeightsNotFoundError(
            f"Repository {repo_id!r} was not found on {where}. Check the name; if it is private or gated, pass "
            "token=... or log in with `hf auth login`."
        ) from error
    except RemoteEntryNotFoundError as error:
        raise WeightsNotFoundError(
            f"{repo_id}@{rev} has no {filename}; it was not published with facezoo.hub.push_to_hub."
        ) from error
    except LocalEntryNotFoundError as error:
        cache = cache_dir or constants.HF_HUB_CACHE
        why = (
            "downloads are off (HF_HUB_OFFLINE=1 or local_files_only=True)"
            if constants.HF_HUB_OFFLINE or local_files_only
            else f"{where} could not be reached"
        )
        raise NotCachedError(
            f"{filename} of {repo_id}@{rev} is not in the Hub cache ({cache}) and {why}. Pre-download it while "
            f"online with `hf download {repo_id} --revision {rev}` or "
            f"huggingface_hub.snapshot_download({repo_id!r}, revision={rev!r}), or pass from_pretrained the "
            "local folder of a save_pretrained copy."
        ) from error


def _registered_weights(repo_id: str, filename: str, revisions: set[str]) -> WeightsInfo | None:
    """The registry entry for ``filename`` of ``repo_id`` at one of ``revisions``, if any."""
    for name in list_models(pretrained=True):
        for weights in model_info(name).weights.values():
            if weights.repo_id == repo_id and weights.filename == filename and weights.revision in revisions:
                return weights
    return None


def _embedded_resource(resource: str) -> Traversable | None:
    """The packaged file ``"<package>/<path>"``, or ``None`` if this installation does not have it."""
    package, _, relative = resource.partition("/")
    try:
        path = importlib.resources.files(package).joinpath(relative)
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path, weights: WeightsInfo, *, where: str, fix: str) -> None:
    found = _sha256(path)
    if found != weights.sha256.lower():
        raise ChecksumError(
            f"sha256 mismatch for {weights.filename} of {where} ({os.path.realpath(path)}): expected "
            f"{weights.sha256}, found {found}. {fix}"
        )
    size = os.path.getsize(path)
    if weights.file_size and size != weights.file_size:
        raise ChecksumError(
            f"size mismatch for {weights.filename} of {where}: the registry records {weights.file_size} bytes, "
            f"the file has {size}. {fix}"
        )


def _load_weights_file(model: keras.Model, path: Path, *, source: str) -> keras.Model:
    """Load a Keras 3 ``.weights.h5`` file after checking that it is HDF5 and holds exactly the model's arrays
    (Keras alone silently loads a file that covers only part of the model)."""
    import h5py

    with open(path, "rb") as file:
        head = file.read(len(_HDF5_SIGNATURE))
    if head != _HDF5_SIGNATURE:
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} ({os.path.realpath(path)}) is not an HDF5 file (it starts with {head!r}); "
            "it is not a Keras weights file, or the download was replaced by an error page."
        )
    shapes: list[tuple[int, ...]] = []
    try:
        with h5py.File(path, "r") as file:
            file.visititems(lambda _, obj: shapes.append(tuple(obj.shape)) if isinstance(obj, h5py.Dataset) else None)
    except (OSError, RuntimeError, KeyError, ValueError) as error:  # h5py: damaged metadata gives any of these
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} ({os.path.realpath(path)}) is a damaged or truncated HDF5 file ({error}). "
            "Download it again (force_download=True) or re-save it."
        ) from error
    expected = sorted(tuple(weight.shape) for weight in model.weights)
    if sorted(shapes) != expected:
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} holds {len(shapes)} arrays that do not fit {model.name} as configured "
            f"({len(expected)} arrays); the file belongs to another architecture or config."
        )
    try:
        model.load_weights(str(path))
    except ValueError as error:
        raise InvalidWeightsError(f"{source}: {WEIGHTS_NAME} does not fit {model.name}: {error}") from error
    except (OSError, RuntimeError, KeyError) as error:  # a damaged array
        raise InvalidWeightsError(
            f"{source}: {WEIGHTS_NAME} ({os.path.realpath(path)}) is damaged ({error}). Download it again "
            "(force_download=True) or re-save it."
        ) from error
    return model
