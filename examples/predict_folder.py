"""Predict on every image of a folder and write the results as CSV and JSON.

    python examples/predict_folder.py examples/images --model attractive_net --output-dir runs/predict

MODEL is a registered name (its default pretrained weights), NAME.TAG, hf://org/repo or a save_pretrained folder.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import facezoo
from facezoo.cli import _load_model
from facezoo.inference import expand_image_paths


def flatten(result: dict) -> dict:
    """One CSV row: the score, or the label and its probability, per head."""
    row = {"image": result["image"]}
    for head, decoded in result.items():
        if head == "image":
            continue
        if "score" in decoded:
            row[head] = round(decoded["score"], 4)
        else:
            row[head], row[f"{head}_probability"] = decoded["label"], round(decoded["probability"], 4)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--model", default="attractive_net")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/predict"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, help="predict on at most N images")
    args = parser.parse_args()

    paths = expand_image_paths([args.folder])[: args.limit]
    results = facezoo.predict(_load_model(args.model), paths, batch_size=args.batch_size)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "predictions.json").write_text(json.dumps(results, indent=2))
    rows = [flatten(r) for r in results]
    with open(args.output_dir / "predictions.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(rows)} predictions written to {args.output_dir}")


if __name__ == "__main__":
    main()
