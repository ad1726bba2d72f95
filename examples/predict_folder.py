"""Predict on every image of a folder; write the results as CSV, Markdown and JSON, and a captioned contact sheet.

    python examples/predict_folder.py examples/images --model attractive_net --output-dir runs/predict

MODEL is a registered name (its default pretrained weights), NAME.TAG, hf://org/repo or a save_pretrained folder.
Writes ``predictions.csv``, ``predictions.md``, ``predictions.json`` and ``predictions.png`` (at most 16 images).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from _plots import image_grid

import facezoo
from facezoo.inference import expand_image_paths
from facezoo.training import Table


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


def contact_sheet(rows: list[dict], path: Path) -> None:
    """Save up to 16 images, each captioned with its predictions."""
    rows = rows[:16]
    captions = []
    for row in rows:
        values = (f"{k}: {v}" for k, v in row.items() if k != "image" and not k.endswith("_probability"))
        captions.append("\n".join([Path(row["image"]).name, *values]))
    image_grid(path, [row["image"] for row in rows], captions, title="Predictions")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, nargs="?", help="folder of images (or pass --data-dir)")
    parser.add_argument("--data-dir", type=Path, help="the same as FOLDER")
    parser.add_argument("--model", default="attractive_net")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/predict"))
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--limit", type=int, help="predict on at most N images")
    args = parser.parse_args()
    folder = args.folder or args.data_dir
    if folder is None:
        parser.error("give the image folder as FOLDER or --data-dir")

    paths = expand_image_paths([folder])[: args.limit]
    if not paths:
        parser.exit(1, f"predict_folder.py: error: no images in {folder}\n")
    results = facezoo.predict(args.model, paths, batch_size=args.batch_size)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "predictions.json").write_text(json.dumps(results, indent=2))
    rows = [flatten(r) for r in results]
    with open(args.output_dir / "predictions.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    table = Table(tuple(rows[0]), tuple(tuple(row.values()) for row in rows))
    (args.output_dir / "predictions.md").write_text(table.to_markdown(digits=4) + "\n")
    contact_sheet(rows, args.output_dir / "predictions.png")
    print(f"{len(rows)} predictions written to {args.output_dir}")


if __name__ == "__main__":
    main()
