"""Write-up 001 (IMFDB age class): a CNN from scratch, + batch norm and dropout, + augmentation, and VGG16 transfer.

    python examples/age_from_scratch_vs_vgg16.py --data-dir ~/data --output-dir runs/age --imagenet

Runs the write-up's four experiments, ``fit_age_cnn(experiment=...)`` with ``baseline``, ``regularized``,
``augmented`` and ``vgg16`` (``facezoo.training.EXPERIMENTS["age_cnn"]``): RMSprop 1e-4, batch 32, 128x128; 30
epochs, 50 for VGG16; augmentation only from the third on; on the write-up's balanced split (1,600 training and 800
validation images per class), measured on its validation part as the write-up measured its 68 / 70 / 74 / 67 %.
Writes ``comparison.csv`` / ``comparison.md`` and ``val_accuracy.png`` (validation accuracy per epoch); every
experiment's run folder sits under ``runs/``. Pass ``--imagenet`` to start VGG16 from ImageNet weights as the
write-up did (downloads them once; without it VGG16 starts random, with a warning). The CNNs need an
``--image-size`` of at least 94; ``--sample-sizes`` shrinks the balanced split for smoke runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _plots import curves, save_table

from facezoo.training import EXPERIMENTS, Table, fit_age_cnn


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the imfdb-age folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/age_from_scratch_vs_vgg16"))
    parser.add_argument("--epochs", type=int, help="epochs per experiment (default: the write-up's 30, 50 for VGG16)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the write-up's 32")
    parser.add_argument("--image-size", type=int, help="default: the write-up's 128")
    parser.add_argument(
        "--sample-sizes",
        type=int,
        nargs=2,
        metavar=("TRAIN", "VALIDATION"),
        help="images per class of the balanced split (default: the write-up's 1600 800)",
    )
    parser.add_argument("--imagenet", action="store_true", help="start VGG16 from ImageNet weights")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    common = dict(epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size, limit=args.limit)
    if args.sample_sizes:
        common["dataset_options"] = {"sample_sizes": tuple(args.sample_sizes)}

    rows, val_curves = [], {}
    for name, experiment in EXPERIMENTS["age_cnn"].items():
        options = dict(common)
        if name == "vgg16" and not args.imagenet:
            options["backbone_weights"] = None
        result = fit_age_cnn(args.data_dir, out / "runs" / name, experiment=name, **options)
        val_curves[name] = result.history["val_accuracy"]
        # The experiments test on the validation part (the write-up's only held-out images), at the best epoch.
        metrics = result.test_metrics
        rows.append((name, metrics["accuracy"], experiment.reported["accuracy"], metrics["macro_f1"]))
    curves(
        out / "val_accuracy.png",
        val_curves,
        ylabel="validation accuracy",
        title="IMFDB age class (the write-up's balanced split)",
    )
    title = "Age class: validation accuracy on the write-up's balanced split (best epoch), beside the write-up's"
    table = Table(("experiment", "val_accuracy", "write_up_val_accuracy", "val_macro_f1"), tuple(rows), title=title)
    save_table(table, out / "comparison")
    print(table.to_markdown())
    print(f"Tables and val_accuracy.png written to {out}")


if __name__ == "__main__":
    main()
