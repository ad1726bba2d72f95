"""Write-up 003 (CelebA ``Male``): the simple CNN (94.2 % test accuracy) or the InceptionV3 transfer model (92.4 %).

    python examples/celeba_gender.py --data-dir ~/data --output-dir runs/celeba_gender
    python examples/celeba_gender.py --data-dir ~/data --model celeba_inception_v3 --imagenet

Trains by the write-up's recipe (Adam 1e-3, binary cross-entropy, batch 128, 50 epochs, 218x178) and tests on the
official test partition. Writes ``metrics.csv`` / ``metrics.md`` (test accuracy and macro F1 next to the write-up's
accuracy), ``per_class.csv`` / ``per_class.md``, ``confusion.png`` and ``curves.png`` (accuracy per epoch).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facezoo import datasets, hub  # noqa: E402
from facezoo.training import Table, evaluate, fit_celeba_gender  # noqa: E402

WRITE_UP_ACCURACY = {"celeba_cnn": 0.942, "celeba_inception_v3": 0.924}


def save(table: Table, path: Path) -> None:
    """Write ``table`` as ``path.csv`` and ``path.md``."""
    table.to_csv(path.with_suffix(".csv"))
    path.with_suffix(".md").write_text(table.to_markdown() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets root or the celeba folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/celeba_gender"))
    parser.add_argument("--model", choices=sorted(WRITE_UP_ACCURACY), default="celeba_cnn")
    parser.add_argument("--imagenet", action="store_true", help="start InceptionV3 from ImageNet weights")
    parser.add_argument("--epochs", type=int, help="default: the recipe's 50")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 128")
    parser.add_argument("--image-size", type=int, nargs=2, metavar=("HEIGHT", "WIDTH"), help="default: 218 178")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    extra = {"backbone_weights": "imagenet"} if args.imagenet else {}
    result = fit_celeba_gender(
        args.data_dir, out / "run", model=args.model, epochs=args.epochs, batch_size=args.batch_size,
        image_size=tuple(args.image_size) if args.image_size else None, limit=args.limit, **extra,
    )
    test = datasets.load("celeba", args.data_dir, split="test")
    evaluation = evaluate(hub.from_pretrained(result.pretrained_dir), test.take(args.limit) if args.limit else test)
    metrics = evaluation.metrics["male"]
    row = (args.model, metrics["accuracy"], metrics["macro_f1"], int(metrics["count"]), WRITE_UP_ACCURACY[args.model])
    table = Table(("model", "test_accuracy", "test_macro_f1", "images", "write_up_test_accuracy"), (row,))
    save(table, out / "metrics")
    save(evaluation.tables["male/per_class"], out / "per_class")

    fig, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(evaluation.confusion["male"], cmap="Blues")
    for (i, j), count in np.ndenumerate(evaluation.confusion["male"]):
        ax.text(j, i, str(count), ha="center", va="center")
    labels = evaluation.specs["male"].labels
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=labels, yticklabels=labels, xlabel="predicted", ylabel="true")
    fig.savefig(out / "confusion.png", dpi=100)

    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("accuracy", "val_accuracy"):
        ax.plot(result.history["epoch"], result.history[key], marker="o", label=key)
    ax.set(xlabel="epoch", ylabel="accuracy", title=f"CelebA Male: {args.model}")
    ax.legend()
    fig.savefig(out / "curves.png", dpi=100)
    print(table.to_markdown())
    print(f"Tables, confusion.png and curves.png written to {out}")


if __name__ == "__main__":
    main()
