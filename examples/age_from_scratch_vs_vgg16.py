"""Write-up 001 (IMFDB age class): a CNN from scratch, + batch norm and dropout, + augmentation, and VGG16 transfer.

    python examples/age_from_scratch_vs_vgg16.py --data-dir ~/data --output-dir runs/age --imagenet

Trains the four models of the write-up with the same recipe (RMSprop 1e-4, batch 32, 128x128; 30 epochs, 50 for
VGG16) and compares their best validation and test accuracy with the write-up's validation accuracy (68 %, 70 %,
74 %, 67 %). Writes ``comparison.csv`` / ``comparison.md`` and ``val_accuracy.png`` (validation accuracy per
epoch); every model's run folder sits under ``runs/``. Pass ``--imagenet`` to start VGG16 from ImageNet weights as
the write-up did (downloads them once). The CNNs need an ``--image-size`` of at least 94.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facezoo.training import Table, fit_age_cnn  # noqa: E402

#: Model -> (fit_age_cnn arguments, the write-up's validation accuracy).
MODELS = {
    "baseline": (dict(variant="baseline", augmentation=None), 0.68),
    "regularized": (dict(variant="regularized", augmentation=None), 0.70),
    "augmented": (dict(variant="regularized"), 0.74),
    "vgg16": (dict(model="age_vgg16"), 0.67),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets root or the imfdb-age folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/age_from_scratch_vs_vgg16"))
    parser.add_argument("--epochs", type=int, help="epochs per model (default: the recipe's 30, 50 for VGG16)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 32")
    parser.add_argument("--image-size", type=int, help="default: the recipe's 128")
    parser.add_argument("--imagenet", action="store_true", help="start VGG16 from ImageNet weights")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    common = dict(epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size, limit=args.limit)

    rows, fig, ax = [], *plt.subplots(figsize=(6, 4))
    for name, (options, write_up) in MODELS.items():
        if name == "vgg16" and args.imagenet:
            options = {**options, "backbone_weights": "imagenet"}
        result = fit_age_cnn(args.data_dir, out / "runs" / name, **common, **options)
        val = result.history["val_accuracy"]
        rows.append((name, max(val), result.test_metrics["accuracy"], result.test_metrics["macro_f1"], write_up))
        ax.plot(range(1, len(val) + 1), val, marker="o", label=name)
    ax.set(xlabel="epoch", ylabel="validation accuracy", title="IMFDB age class")
    ax.legend()
    fig.savefig(out / "val_accuracy.png", dpi=100)

    columns = ("model", "best_val_accuracy", "test_accuracy", "test_macro_f1", "write_up_val_accuracy")
    table = Table(columns, tuple(rows), title="Age class: from scratch vs VGG16")
    table.to_csv(out / "comparison.csv")
    (out / "comparison.md").write_text(table.to_markdown() + "\n")
    print(table.to_markdown())
    print(f"Tables and val_accuracy.png written to {out}")


if __name__ == "__main__":
    main()
