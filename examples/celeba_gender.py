"""Write-up 003 (CelebA ``Male``): the simple CNN (94.2 % test accuracy) or the InceptionV3 transfer model (92.4 %).

    python examples/celeba_gender.py --data-dir ~/data --output-dir runs/celeba_gender
    python examples/celeba_gender.py --data-dir ~/data --model celeba_inception_v3 --imagenet

Trains by the write-up's recipe (its 10,000 + 10,000 image sample, Adam 1e-3, binary cross-entropy, batch 128, 50
epochs, 218x178) and tests on the sample's 5,000 test images, as the write-up. Writes ``metrics.csv`` /
``metrics.md`` (test accuracy and binary F1 of ``Male`` next to the write-up's), ``per_class.csv`` /
``per_class.md``, ``confusion.png``, ``curves.png`` (accuracy per epoch) and ``correct.png`` / ``incorrect.png``
(three test images each, with the predicted class and its probability, as the write-up's figures).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _plots import confusion, curves, image_grid, sample, save_table

import facezoo
from facezoo import datasets, hub
from facezoo.training import RECIPES, Table, evaluate, fit_celeba_gender

#: The write-up's test accuracy and binary F1 (``Male`` positive) per model.
WRITE_UP = {"celeba_cnn": (0.9418, 0.9410), "celeba_inception_v3": (0.9244, 0.9249)}


def binary_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of the positive class (1, ``male``), as scikit-learn's ``f1_score``."""
    tp = int(((truth == 1) & (predicted == 1)).sum())
    wrong = int((truth != predicted).sum())
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the celeba folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/celeba_gender"))
    parser.add_argument("--model", choices=sorted(WRITE_UP), default="celeba_cnn")
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
        args.data_dir,
        out / "run",
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=tuple(args.image_size) if args.image_size else None,
        limit=args.limit,
        **extra,
    )
    options = RECIPES["celeba_gender"].dataset_options
    test = datasets.load("celeba", args.data_dir, split="test", **options)
    test = test.take(args.limit) if args.limit else test
    model = hub.from_pretrained(result.pretrained_dir)
    evaluation = evaluate(model, test)
    metrics, truth, predicted = evaluation.metrics["male"], evaluation.targets["male"], evaluation.predictions["male"]
    row = (args.model, metrics["accuracy"], binary_f1(truth, predicted), int(metrics["count"]), *WRITE_UP[args.model])
    columns = ("model", "test_accuracy", "test_f1_male", "images", "write_up_test_accuracy", "write_up_test_f1_male")
    table = Table(columns, (row,), title=f"CelebA Male, {options['protocol']} protocol test split")
    save_table(table, out / "metrics")
    save_table(evaluation.tables["male/per_class"], out / "per_class")
    labels = evaluation.specs["male"].labels
    confusion(out / "confusion.png", evaluation.confusion["male"], labels, title=f"CelebA Male: {args.model}")
    curves(
        out / "curves.png",
        {key: result.history[key] for key in ("accuracy", "val_accuracy")},
        ylabel="accuracy",
        title=f"CelebA Male: {args.model}",
    )

    for name, chosen in (("correct", truth == predicted), ("incorrect", truth != predicted)):
        indices = np.flatnonzero(chosen)
        shown = [int(indices[i]) for i in sample(len(indices), 3)]
        paths = [test.paths[i] for i in shown]
        captions = [
            f"{p['male']['label']}, prob {p['male']['probability']:.2%}\n(true: {labels[int(truth[i])]})"
            for p, i in zip(facezoo.predict(model, paths) if paths else [], shown)
        ]
        image_grid(out / f"{name}.png", paths, captions, title=f"{name.capitalize()} predictions", columns=3)
    print(table.to_markdown())
    print(f"Tables, confusion.png, curves.png, correct.png and incorrect.png written to {out}")


if __name__ == "__main__":
    main()
