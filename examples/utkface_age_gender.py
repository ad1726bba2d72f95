"""UTKFace age, gender and race (facezoo's own recipe): one multi-task network, with the errors per group.

    python examples/utkface_age_gender.py --data-dir ~/data --output-dir runs/utkface

Trains ``utkface_multitask`` (0.1 x Huber age + gender and race cross-entropy, Adam 1e-3 x 0.9 per epoch, batch 64,
128x128) and tests it, grouping the age error by gender and by race as write-up 000 grouped its errors. Writes
``metrics.csv`` / ``metrics.md`` (every head), ``age_error_by_gender``, ``age_error_by_race``,
``gender_per_class`` and ``race_per_class`` (``.csv`` and ``.md``) and ``age_error_histogram.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _plots import save_table

from facezoo import datasets, hub
from facezoo.training import Table, evaluate, fit_utkface


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the UTKFace folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/utkface_age_gender"))
    parser.add_argument("--epochs", type=int, help="default: the recipe's 30 (with early stopping)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 64")
    parser.add_argument("--image-size", type=int, help="default: the recipe's 128")
    parser.add_argument("--width", type=int, help="filters of the first convolution (default: the model's)")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    extra = {"width": args.width} if args.width else {}
    result = fit_utkface(
        args.data_dir,
        out / "run",
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        limit=args.limit,
        **extra,
    )
    test = datasets.load("utkface", args.data_dir, split="test")
    model = hub.from_pretrained(result.pretrained_dir)
    evaluation = evaluate(model, test.take(args.limit) if args.limit else test, by=["gender", "race"])
    rows = tuple((head, name, value) for head, values in evaluation.metrics.items() for name, value in values.items())
    table = Table(("head", "metric", "value"), rows, title="UTKFace test metrics")
    save_table(table, out / "metrics")
    save_table(evaluation.tables["age/by_gender"], out / "age_error_by_gender")
    save_table(evaluation.tables["age/by_race"], out / "age_error_by_race")
    save_table(evaluation.tables["gender/per_class"], out / "gender_per_class")
    save_table(evaluation.tables["race/per_class"], out / "race_per_class")
    evaluation.plot_errors(out / "age_error_histogram.png")
    print(table.to_markdown())
    print(f"Tables and age_error_histogram.png written to {out}")


if __name__ == "__main__":
    main()
