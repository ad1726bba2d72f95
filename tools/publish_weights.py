"""Turn a finished ``fit_*`` run into published weights: the Hub-layout folder under ``weights/<repo-name>/``, an
embedded copy inside the package when small, and the ``WeightsInfo`` entry to paste next to the builder.

    python tools/publish_weights.py runs/utkface64 --tag utkface --hardware "2 CPU cores (no GPU)"

The numbers in the entry are read from the run's ``result.json`` (the test metrics ``fit_*`` measured), and the
sha256 and size from the weights file itself. A maintainer with a token then pushes with
``facezoo push weights/<repo-name> facezoo/<repo-name>``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pprint
import shutil
import tempfile
from pathlib import Path

import facezoo
import facezoo.hub

ROOT = Path(__file__).resolve().parents[1]
EMBED_LIMIT = 10 * 1024 * 1024


def copy_atomically(source: Path, target: Path) -> None:
    """Copy a file or folder to ``target`` through a temporary sibling, replacing what was there."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    staged = tmp / target.name
    (shutil.copytree if source.is_dir() else shutil.copy2)(source, staged)
    if target.is_dir():
        shutil.rmtree(target)
    staged.replace(target)
    tmp.rmdir()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path, help="a finished fit_* output folder (holding result.json)")
    parser.add_argument("--tag", required=True, help="weight tag, e.g. the dataset name")
    parser.add_argument("--hardware", required=True, help="what it was trained on")
    parser.add_argument("--split", default="test", help="the split the metrics were measured on, in words")
    parser.add_argument("--command", required=True, help="the command that trained it (recorded in card and entry)")
    parser.add_argument("--notes", default="", help="what the card must say beyond the recipe (deviations, targets)")
    args = parser.parse_args()

    result = json.loads((args.run_dir / "result.json").read_text())
    pretrained = args.run_dir / result["pretrained_dir"]
    config = json.loads((pretrained / "config.json").read_text())
    architecture, dataset = config["architecture"], result["training_args"]["dataset"]
    repo_name = f"{architecture}-{args.tag}"
    folder = ROOT / "weights" / repo_name
    copy_atomically(pretrained, folder)
    folder.chmod(0o755)
    metrics = {k: v for k, v in result["test_metrics"].items() if k.split("/")[-1] != "count"}
    training_args = result["training_args"]
    notes = " ".join(
        part
        for part in (
            f"Trained with the facezoo.training recipe `{result['recipe']}` ({training_args.get('reference', '')}),",
            f"{len(result['history'].get('epoch', []))} epochs in {result['wall_time_s'] / 60:.0f} minutes on {args.hardware}.",
            f"Command: `{args.command}`.",
            args.notes,
        )
        if part
    )
    card = facezoo.hub.model_card(
        architecture, config["config"], metrics=metrics, dataset=dataset, split=args.split,
        license=training_args.get("license"), notes=notes, training_args=training_args, repo_id=f"facezoo/{repo_name}",
    )
    (folder / "README.md").write_text(card, encoding="utf-8")
    weights_file = folder / "model.weights.h5"
    data = weights_file.read_bytes()
    embedded = None
    if len(data) <= EMBED_LIMIT:
        embedded = f"facezoo/weights/{repo_name}/model.weights.h5"
        copy_atomically(weights_file, ROOT / "src" / embedded)
    entry = dict(
        tag=args.tag,
        repo_id=f"facezoo/{repo_name}",
        revision="main",
        filename="model.weights.h5",
        sha256=hashlib.sha256(data).hexdigest(),
        file_size=len(data),
        config=config["config"],
        metrics={k: round(v, 4) for k, v in metrics.items()},
        split=args.split,
        dataset=dataset,
        dataset_options=training_args.get("dataset_options", {}),
        license="other: non-commercial research only (the dataset's terms)",
        recipe=f"facezoo.training recipe {result['recipe']!r}",
        num_params=facezoo.create_model(architecture, **config["config"]).count_params(),
        embedded=embedded,
        extra={
            "hardware": args.hardware,
            "wall_time_s": round(result["wall_time_s"]),
            "epochs": len(result["history"].get("epoch", [])),
            "command": args.command,
            "training_args": f"weights/{repo_name}/training_args.json",
        },
    )
    print(f"weights/{repo_name}/ written; embedded: {embedded}")
    print("WeightsInfo(**" + pprint.pformat(entry, width=110, sort_dicts=False) + ")")


if __name__ == "__main__":
    main()
