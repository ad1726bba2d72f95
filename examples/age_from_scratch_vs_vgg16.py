"""Write-up 001 (IMFDB age class): a CNN from scratch, + batch norm and dropout, + augmentation, and VGG16 transfer.

    python examples/age_from_scratch_vs_vgg16.py --data-dir ~/data --output-dir runs/age --imagenet

Trains the four models of the write-up with its recipe (RMSprop 1e-4, batch 32, 128x128; 30 epochs, 50 for VGG16;
augmentation only from the third model on, as the write-up). The write-up's 68 / 70 / 74 / 67 % are validation
accuracy on a balanced split (800 images per class); facezoo trains on the stratified split of all images, whose
classes are imbalanced, so the like-for-like column is the validation *balanced* accuracy (the mean of the
per-class recalls: the accuracy the model would have on a balanced validation set). Writes ``comparison.csv`` /
``comparison.md`` and ``val_accuracy.png`` (validation accuracy per epoch); every model's run folder sits under
``runs/``. Pass ``--imagenet`` to start VGG16 from ImageNet weights as the write-up did (downloads them once). The
CNNs need an ``--image-size`` of at least 94.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _plots import curves, save_table

from facezoo import datasets, hub
from facezoo.training import Table, evaluate, fit_age_cnn

#: Model -> (fit_age_cnn arguments, the write-up's validation accuracy on its balanced split).
MODELS = {
    "baseline": (dict(variant="baseline", augmentation=None), 0.68),
    "regularized": (dict(variant="regularized", augmentation=None), 0.70),
    "augmented": (dict(variant="regularized"), 0.74),
    "vgg16": (dict(model="age_vgg16"), 0.67),
}


def balanced_accuracy(confusion: np.ndarray) -> float:
    """Mean recall over the classes present (rows: true class)."""
    support = confusion.sum(axis=1)
    present = support > 0
    return float((np.diag(confusion)[present] / support[present]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the imfdb-age folder")
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
    validation = datasets.load("imfdb_age", args.data_dir, split="validation")
    validation = validation.take(args.limit) if args.limit else validation

    rows, val_curves = [], {}
    for name, (options, write_up) in MODELS.items():
        if name == "vgg16" and args.imagenet:
            options = {**options, "backbone_weights": "imagenet"}
        result = fit_age_cnn(args.data_dir, out / "runs" / name, **common, **options)
        val = result.history["val_accuracy"]
        val_curves[name] = val
        on_validation = evaluate(hub.from_pretrained(result.pretrained_dir), validation)
        rows.append(
            (
                name,
                max(val),
                balanced_accuracy(on_validation.confusion["age"]),
                write_up,
                result.test_metrics["accuracy"],
                result.test_metrics["macro_f1"],
            )
        )
    curves(
        out / "val_accuracy.png",
        val_curves,
        ylabel="validation accuracy",
        title="IMFDB age class (stratified split, imbalanced)",
    )

    columns = (
        "model",
        "best_val_accuracy",
        "val_balanced_accuracy",
        "write_up_val_accuracy_balanced_split",
        "test_accuracy",
        "test_macro_f1",
    )
    title = (
        "Age class: facezoo on the stratified split of all images; the write-up on 800 validation images per "
        "class (compare its column with val_balanced_accuracy)"
    )
    table = Table(columns, tuple(rows), title=title)
    save_table(table, out / "comparison")
    print(table.to_markdown())
    print(f"Tables and val_accuracy.png written to {out}")


if __name__ == "__main__":
    main()
