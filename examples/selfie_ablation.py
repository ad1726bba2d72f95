"""Write-up 000 (selfie popularity): Table 1, Table 2, the per-gender and per-age errors and the error histogram.

    python examples/selfie_ablation.py --data-dir ~/data --output-dir runs/selfie_ablation

Trains the four residual x batch-norm variants (Table 1) and the vanilla CNN over 12/18 layers x 8/16 filters
(Table 2), then tests the best Table 2 model per gender and per age category as the write-up did. Writes
``table1_residual_batch_norm``, ``table2_layers_filters``, ``errors_by_gender`` and ``errors_by_age_category``
(``.csv`` and ``.md``) and ``error_histogram.png``; every variant's run folder sits under ``runs/``. 18 layers need
an ``--image-size`` of at least 65.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from facezoo import datasets, hub
from facezoo.training import Table, evaluate, fit_selfie_resnet


def save(table: Table, path: Path) -> None:
    """Write ``table`` as ``path.csv`` and ``path.md``."""
    table.to_csv(path.with_suffix(".csv"))
    path.with_suffix(".md").write_text(table.to_markdown() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets root or the Selfie-dataset folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/selfie_ablation"))
    parser.add_argument("--epochs", type=int, help="epochs per variant (default: the recipe's 20)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 32")
    parser.add_argument("--image-size", type=int, help="default: the recipe's 150")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    common = dict(epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size, limit=args.limit)

    table1 = fit_selfie_resnet(args.data_dir, out / "runs" / "table1", ablation=True, **common)
    table2 = fit_selfie_resnet(args.data_dir, out / "runs" / "table2", ablation="grid", **common)
    save(table1.table, out / "table1_residual_batch_norm")
    save(table2.table, out / "table2_layers_filters")

    # The error analysis of the tuned model (best of Table 2) on the test split.
    model = hub.from_pretrained(table2.pretrained_dir)
    test = datasets.load("selfie", args.data_dir, split="test")
    evaluation = evaluate(model, test.take(args.limit) if args.limit else test, by=["gender", "age_category"])
    save(evaluation.tables["popularity/by_gender"], out / "errors_by_gender")
    save(evaluation.tables["popularity/by_age_category"], out / "errors_by_age_category")
    evaluation.plot_errors(out / "error_histogram.png")

    for table in (table1.table, table2.table, evaluation.tables["popularity/by_gender"]):
        print(table.to_markdown(), end="\n\n")
    print(f"Tables and error_histogram.png written to {out}")


if __name__ == "__main__":
    main()
