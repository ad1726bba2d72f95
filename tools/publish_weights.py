"""Stage published weights: the Hub folder ``weights/<architecture>-<tag>/`` (Keras' saving layout + ``facezoo.json``
+ card, written by ``facezoo.hub.save_pretrained``), the package's embedded copy when small, and the ``WeightsInfo``
registry entry.

From a finished ``fit_*`` run folder (holding ``result.json``)::

    python tools/publish_weights.py runs/utkface64 --tag utkface --hardware "2 CPU cores (no GPU)" \\
        --command "python -c ..." --protocol "seeded 10%, 900 images, of facezoo's UTKFace copy"

The card's ablation table holds this run and the runs it was chosen over, each measured once on the same split
(``--ablation VARIANT=SOURCE``, SOURCE a run folder or a registered ``MODEL.TAG``; ``--init-label PATH=NAME`` names
a local ``backbone_weights`` folder the way users can get it)::

    python tools/publish_weights.py runs/attractive_face2 --tag faces_ft_scut_fbp5500 --variant "face backbone" \\
        --ablation "from scratch=attractive_net.scut_fbp5500" --init-label runs/face_backbone2/pretrained=face_mobilenet_v2.faces ...

Re-publishing registered weights in the current layout (no retraining; the texts and numbers come from the registry
entry and the old card, and the predictions are checked to be identical)::

    python tools/publish_weights.py --republish utkface_multitask.utkface --write

With ``--republish``, ``--ablation`` adds rows to the entry's table (replacing rows of the same variant).
``--keep-weights`` rewrites only the card and ``facezoo.json`` (new ablation rows, notes or flip metrics) and keeps
the Keras files' bytes, so the repository does not store the weights twice. ``--flip-data-dir DIR`` measures the
metrics with ``flip=True`` on the same split (else a republished entry's ``flip_metrics`` are kept).

The metrics come from the run's ``result.json`` (the test metrics ``fit_*`` measured), and the sha256 and size from
the written weights file. The entry is printed; ``--write`` instead updates ``sha256`` and ``file_size`` of the
existing entry with the same ``repo_id`` in ``src/facezoo/models/``. The embedded copy
``src/facezoo/weights/<repo>/model.weights.h5`` is a relative symbolic link to the staged file, so each weight is
stored once in the repository (wheels hold the real bytes). After uploading with
``facezoo push weights/<repo> facezoo/<repo>``, record the commit in the entry's ``commit``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import pprint
import re
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import facezoo
from facezoo import hub

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "src" / "facezoo" / "models"
EMBED_LIMIT = 10 * 1024 * 1024
ORG = "facezoo"
LICENSE = "other: non-commercial research only (the dataset's terms)"


def embedded_path(repo_name: str) -> Path:
    return ROOT / "src" / "facezoo" / "weights" / repo_name / hub.WEIGHTS_NAME


def link_embedded(repo_name: str) -> str:
    """Point the package's copy at ``weights/<repo_name>/model.weights.h5`` (a relative symlink)."""
    link = embedded_path(repo_name)
    link.parent.mkdir(parents=True, exist_ok=True)
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(os.path.relpath(ROOT / "weights" / repo_name / hub.WEIGHTS_NAME, link.parent))
    tmp.replace(link)
    return f"facezoo/weights/{repo_name}/{hub.WEIGHTS_NAME}"


def old_card_notes(folder: Path) -> str:
    """The prose of the ``## Training`` section of a card (up to its ablation table or builder config)."""
    text = (folder / hub.CARD_NAME).read_text(encoding="utf-8")
    match = re.search(r"## Training\n\n(.*?)\n\n(?:Ablation \(|Fine-tuned from|Builder config)", text, re.S)
    if not match:
        sys.exit(f"{folder / hub.CARD_NAME} has no '## Training' section to carry over.")
    return match.group(1).strip()


def without_local_paths(training_args: dict[str, Any]) -> dict[str, Any]:
    """The training arguments minus ``data_dir`` (the dataset name and options are recorded instead)."""
    return {key: value for key, value in training_args.items() if key != "data_dir"}


def write_entry(repo_id: str, sha256: str, size: int) -> Path:
    """Update ``sha256`` and ``file_size`` of the registry entry with ``repo_id`` in ``src/facezoo/models``."""
    for path in sorted(MODELS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        start = next((m.start() for m in re.finditer(rf"repo_id=[\"']{re.escape(repo_id)}[\"']", text)), None)
        if start is None:
            continue
        end = text.index("\n)\n", start)
        block = re.sub(r"sha256=[\"'][0-9a-f]{64}[\"']", f'sha256="{sha256}"', text[start:end], count=1)
        block = re.sub(r"file_size=[0-9_]+", f"file_size={size:_}", block, count=1)
        path.write_text(text[:start] + block + text[end:], encoding="utf-8")
        return path
    sys.exit(f"No registry entry with repo_id {repo_id!r} in {MODELS}; paste the printed entry next to the builder.")


def ablation_row(variant: str, source: str, init_labels: dict[str, str], trust_cpu: bool = False) -> dict[str, Any]:
    """One ablation row from a finished run folder (its ``result.json``) or a registered ``MODEL.TAG``."""
    if Path(source, "result.json").is_file():
        result = json.loads(Path(source, "result.json").read_text())
        args = result["training_args"]
        history = result["history"]
        init = (args.get("model_config") or {}).get("backbone_weights")
        # CPU time is complete only when the epochs recorded theirs (a resumed run's result counts its last process).
        cpu = result.get("cpu_time_s") if "epoch_cpu_s" in history or trust_cpu else None
        size, epochs, metrics = list(args["image_size"]), len(history.get("epoch", [])), result["test_metrics"]
    else:
        name, _, tag = source.partition(".")
        weights = facezoo.model_info(name).weights[tag]
        # Its own ablation row knows its initialisation (the published config drops local backbone sources).
        own = weights.own_ablation_row or {}
        init = own.get("init", weights.config.get("backbone_weights"))
        cpu = weights.extra.get("cpu_time_s")
        size, epochs, metrics = list(weights.config["input_shape"][:2]), weights.extra.get("epochs"), weights.metrics
    if init is not None and str(init) not in init_labels and "/" in str(init):
        sys.exit(f"--ablation {variant}: name its local backbone_weights {init!r} with --init-label {init}=NAME")
    return {
        "variant": variant,
        "init": init_labels.get(str(init), init),
        "image_size": size[0] if size[0] == size[1] else size,
        "epochs": epochs,
        "cpu_time_s": round(cpu) if cpu else None,
        "metrics": {k: round(v, 4) for k, v in metrics.items() if k.split("/")[-1] != "count"},
    }


def ablation_rows(args: argparse.Namespace, own_source: str) -> list[dict[str, Any]]:
    """These weights' row (``--variant``), then one per ``--ablation VARIANT=SOURCE``."""
    labels = dict(item.split("=", 1) for item in args.init_label)
    pairs = [(args.variant, own_source), *(item.split("=", 1) for item in args.ablation)]
    return [ablation_row(variant, source, labels, args.uninterrupted) for variant, source in pairs]


def measure_flip(model, dataset: str, split: str, data_dir: Path, dataset_options: dict[str, Any]) -> dict[str, float]:
    """The metrics of ``model`` on ``split`` with ``flip=True``, rounded as the entry records them."""
    from facezoo import training

    evaluation = training.evaluate(
        model, dataset, split=split, data_dir=data_dir, dataset_options=dataset_options, flip=True
    )
    return {k: round(float(v), 4) for k, v in evaluation.flat().items() if k.split("/")[-1] != "count"}


def keep_keras_files(source: Path, staged: Path) -> None:
    """Put ``source``'s Keras files (config, metadata, weights) in ``staged``, whose card and ``facezoo.json`` are
    new, and record their hashes in its ``facezoo.json``."""
    for name in hub.KERAS_FILES:
        (staged / name).write_bytes((source / name).read_bytes())
    metadata = json.loads((staged / hub.METADATA_NAME).read_text())
    metadata["files"] = hub._file_hashes(staged)
    hub._write_json(staged / hub.METADATA_NAME, metadata)


def check_identical(folder: Path, reference, architecture: str, config: dict[str, Any]) -> None:
    """The staged folder predicts exactly what ``reference`` does, through facezoo and through plain Keras."""
    import keras

    shape = tuple(config["input_shape"])
    images = np.random.default_rng(0).uniform(0, 255, size=(4, *shape)).astype("float32")
    expected = reference.predict(images, verbose=0)
    for loaded in (hub.from_pretrained(folder), keras.saving.load_model(str(folder))):
        got = loaded.predict(images, verbose=0)
        pairs = zip(expected.values(), got.values()) if isinstance(expected, dict) else [(expected, got)]
        if not all(np.array_equal(a, b) for a, b in pairs):
            sys.exit(f"{folder}: predictions differ from the source weights; nothing is registered.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, nargs="?", help="a finished fit_* output folder (holding result.json)")
    parser.add_argument("--republish", metavar="MODEL.TAG", help="re-save registered weights in the current layout")
    parser.add_argument("--tag", help="weight tag, e.g. the dataset name")
    parser.add_argument("--hardware", help="what it was trained on")
    parser.add_argument("--split", default="test", help="name of the split the metrics were measured on")
    parser.add_argument("--protocol", default="", help="how that split was made, in words")
    parser.add_argument("--command", help="the command that trained it (recorded in card and entry)")
    parser.add_argument(
        "--notes",
        default="",
        help="what the card must say beyond the recipe (deviations, targets); replaces a republished card's",
    )
    parser.add_argument("--base-model", help="Hub id of the facezoo weights these were fine-tuned from")
    parser.add_argument("--variant", default="these weights", help="this run's label in the ablation table")
    parser.add_argument(
        "--ablation", action="append", default=[], metavar="VARIANT=SOURCE", help="a run folder or MODEL.TAG compared"
    )
    parser.add_argument(
        "--init-label", action="append", default=[], metavar="PATH=NAME", help="name a local backbone_weights folder"
    )
    parser.add_argument(
        "--wall-minutes", type=float, help="the run's training time, for runs resumed before epochs recorded theirs"
    )
    parser.add_argument(
        "--uninterrupted",
        action="store_true",
        help="the run folders were never resumed: their result.json CPU time is complete (for runs from before "
        "epochs recorded their own)",
    )
    parser.add_argument(
        "--no-embed", action="store_true", help="stage for the Hub only (the wheel's 40 MB budget for embedded weights)"
    )
    parser.add_argument(
        "--keep-weights",
        action="store_true",
        help="with --republish: rewrite only the card and facezoo.json; the Keras files keep their bytes",
    )
    parser.add_argument(
        "--flip-data-dir",
        type=Path,
        help="measure the metrics with flip=True (test-time mirror averaging) on the same split of the data here",
    )
    parser.add_argument("--write", action="store_true", help="update sha256 and file_size of the existing entry")
    args = parser.parse_args()
    if bool(args.run_dir) == bool(args.republish):
        parser.error("give a run folder or --republish MODEL.TAG")
    if args.keep_weights and not args.republish:
        parser.error("--keep-weights goes with --republish MODEL.TAG")

    if args.republish:
        named = facezoo.registry.parse_source(args.republish)
        if named.kind != "registered" or named.tag is None:
            parser.error(f"--republish takes MODEL.TAG, got {args.republish!r}")
        architecture, tag = named.name, named.tag
        weights = facezoo.model_info(architecture).weights[tag]
        repo_name = weights.repo_id.split("/", 1)[1]
        source = ROOT / "weights" / repo_name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the source may be in the first layout
            model = hub.from_pretrained(source)
        legacy_args = source / "training_args.json"
        if (source / hub.METADATA_NAME).is_file():
            training_args = json.loads((source / hub.METADATA_NAME).read_text())["training_args"]
        else:
            training_args = json.loads(legacy_args.read_text()) if legacy_args.is_file() else None
        split, protocol = re.fullmatch(r"(\w+)(?: \((.*)\))?", weights.split, re.S).groups()  # type: ignore[union-attr]
        metrics, dataset, dataset_options = dict(weights.metrics), weights.dataset, dict(weights.dataset_options)
        flip_metrics = dict(weights.flip_metrics)
        notes, base_model = args.notes or old_card_notes(source), args.base_model
        entry_extra, ablation = dict(weights.extra), [dict(row) for row in weights.ablation]
        if args.ablation:  # new comparisons join the old rows (replacing rows of the same variant)
            own, *new = ablation_rows(args, args.republish)
            rows = ablation or [own]
            ablation = [row for row in rows if row["variant"] not in {r["variant"] for r in new}] + new
    else:
        for name in ("tag", "hardware", "command"):
            if not getattr(args, name):
                parser.error(f"--{name} is required with a run folder")
        result = json.loads((args.run_dir / "result.json").read_text())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            model = hub.from_pretrained(args.run_dir / result["pretrained_dir"])
        architecture, tag = model._facezoo_architecture, args.tag
        repo_name = f"{architecture}-{tag}"
        training_args = result["training_args"]
        split, protocol = args.split, args.protocol or None
        metrics = {k: round(v, 4) for k, v in result["test_metrics"].items() if k.split("/")[-1] != "count"}
        dataset, dataset_options = training_args["dataset"], dict(training_args.get("dataset_options", {}))
        flip_metrics = {}
        epochs = len(result["history"].get("epoch", []))
        wall_s = args.wall_minutes * 60 if args.wall_minutes else result["wall_time_s"]
        notes = " ".join(
            part
            for part in (
                f"Trained with the facezoo.training recipe `{result['recipe']}` ({training_args.get('reference', '')}),",
                f"{epochs} epochs in {wall_s / 60:.0f} minutes on {args.hardware}.",
                f"Command: `{args.command}`.",
                args.notes,
            )
            if part
        )
        base_model = args.base_model
        entry_extra = {
            "hardware": args.hardware,
            "wall_time_s": round(wall_s),
            "epochs": epochs,
            "command": args.command,
        }
        ablation = ablation_rows(args, str(args.run_dir))
        if ablation[0]["cpu_time_s"] is not None:
            entry_extra["cpu_time_s"] = ablation[0]["cpu_time_s"]
    if args.flip_data_dir:
        flip_metrics = measure_flip(model, dataset, split, args.flip_data_dir, dataset_options)
    repo_id = f"{ORG}/{repo_name}"
    config = dict(model._facezoo_config)
    folder = ROOT / "weights" / repo_name
    with tempfile.TemporaryDirectory(prefix="publish-", dir=ROOT / "weights") as tmp:
        staged = hub.save_pretrained(
            model,
            Path(tmp) / repo_name,
            metrics=metrics,
            flip_metrics=flip_metrics,
            dataset=dataset,
            dataset_options=dataset_options,
            split=split,
            protocol=protocol,
            training_args=without_local_paths(training_args) if training_args is not None else None,
            license=training_args.get("license") if training_args else None,
            notes=notes,
            base_model=base_model,
            repo_id=repo_id,
            ablation=ablation,
        )
        if args.keep_weights:
            keep_keras_files(source, staged)
        hub.check_folder(staged)
        check_identical(staged, model, architecture, config)
        hub.replace_folder(staged, folder)
    folder.chmod(0o755)
    data = (folder / hub.WEIGHTS_NAME).read_bytes()
    sha256, size = hashlib.sha256(data).hexdigest(), len(data)
    embedded = link_embedded(repo_name) if size <= EMBED_LIMIT and not args.no_embed else None
    if embedded is None:
        embedded_path(repo_name).unlink(missing_ok=True)
    print(f"weights/{repo_name}/ written ({', '.join(sorted(p.name for p in folder.iterdir()))}); embedded: {embedded}")
    if args.write:
        print(f"updated the entry in {write_entry(repo_id, sha256, size).relative_to(ROOT)}")
        return
    entry = dict(
        tag=tag,
        repo_id=repo_id,
        revision="main",
        filename=hub.WEIGHTS_NAME,
        sha256=sha256,
        file_size=size,
        config=config,
        metrics=metrics,
        flip_metrics=flip_metrics,
        split=f"{split} ({protocol})" if protocol else split,
        dataset=dataset,
        dataset_options=dataset_options,
        license=LICENSE,
        recipe=f"facezoo.training recipe {training_args.get('name', '')!r}" if training_args else "",
        num_params=model.count_params(),
        embedded=embedded,
        extra=entry_extra,
        ablation=tuple(ablation),
        commit=None,
    )
    print(weights_code(entry))


def weights_code(entry: dict[str, Any]) -> str:
    """``entry`` as the ``WeightsInfo(...)`` call to paste beside the builder (``ruff format`` tidies it)."""
    fields = (f"    {key}={pprint.pformat(value, width=100, sort_dicts=False)}," for key, value in entry.items())
    return "WeightsInfo(\n" + "\n".join(fields) + "\n)"


if __name__ == "__main__":
    main()
