"""Write-up 002 (person attributes): DenseNet121 from scratch with eight heads, trained in five stages.

    python examples/person_attributes_multitask.py --data-dir ~/data --output-dir runs/person_attributes

Runs the staged recipe (100 px, 100 px frozen, 100 px heavy augmentation, 200 px, 200 px frozen; ``--stages`` picks
some) and tests every head as the write-up's per-head results do. Writes ``heads.csv`` / ``heads.md`` (test accuracy
and macro F1 per head), ``per_class.csv`` / ``per_class.md`` (precision, recall, F1 per class of every head),
``stages.csv`` / ``stages.md`` (epochs and best validation loss per stage) and ``head_accuracy.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facezoo import datasets, hub  # noqa: E402
from facezoo.training import Table, evaluate, fit_person_attributes  # noqa: E402

STAGES = ("100px", "100px_frozen", "100px_heavy_aug", "200px", "200px_frozen")


def save(table: Table, path: Path) -> None:
    """Write ``table`` as ``path.csv`` and ``path.md``."""
    table.to_csv(path.with_suffix(".csv"))
    path.with_suffix(".md").write_text(table.to_markdown() + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets root or the hvc folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/person_attributes_multitask"))
    parser.add_argument("--epochs", type=int, help="maximum epochs per stage (default: the recipe's 50)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 32")
    parser.add_argument("--image-size", type=int, help="one size for every stage (default: 100, then 200)")
    parser.add_argument("--model", default="person_attributes_densenet121", help="registered model to train")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES), help="stages to run, in order")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    result = fit_person_attributes(
        args.data_dir, out / "run", model=args.model, epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size,
        limit=args.limit, stages=args.stages,
    )
    metrics = result.test_metrics
    heads = sorted({key.split("/")[0] for key in metrics})
    rows = tuple((head, metrics[f"{head}/accuracy"], metrics[f"{head}/macro_f1"]) for head in heads)
    save(Table(("head", "test_accuracy", "test_macro_f1"), rows, title="Person attributes: test per head"), out / "heads")

    history = result.history
    stage_rows = tuple(
        (stage, history["stage"].count(stage),
         min(v for s, v in zip(history["stage"], history["val_loss"]) if s == stage))
        for stage in dict.fromkeys(history["stage"])
    )
    save(Table(("stage", "epochs", "best_val_loss"), stage_rows, title="Training stages"), out / "stages")

    test = datasets.load("person_attributes", args.data_dir, split="test")
    evaluation = evaluate(hub.from_pretrained(result.pretrained_dir), test.take(args.limit) if args.limit else test)
    per_class = tuple(
        (head, *row) for head in heads for row in evaluation.tables[f"{head}/per_class"].rows
    )
    save(Table(("head", "class", "precision", "recall", "f1", "support"), per_class), out / "per_class")

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.bar(heads, [row[1] for row in rows])
    ax.set(ylabel="test accuracy", ylim=(0, 1), title="Person attributes: test accuracy per head")
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(out / "head_accuracy.png", dpi=100)
    print(Table(("head", "test_accuracy", "test_macro_f1"), rows).to_markdown())
    print(f"Tables and head_accuracy.png written to {out}")


if __name__ == "__main__":
    main()
