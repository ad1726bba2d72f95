"""Write-up 002 (person attributes): DenseNet121 from scratch with eight heads, trained in five stages.

    python examples/person_attributes_multitask.py --data-dir ~/data --output-dir runs/person_attributes

Runs the staged recipe (100 px, 100 px frozen, 100 px heavy augmentation, 200 px, 200 px frozen; ``--stages`` picks
some) and measures every head as the write-up's results table does. Writes ``validation_heads.csv`` / ``.md`` (the
write-up's table: validation cross-entropy loss and accuracy per head, beside the write-up's), ``heads.csv`` /
``heads.md`` (test accuracy and macro F1 per head), ``per_class.csv`` / ``per_class.md`` (precision, recall, F1 per
class of every head), ``stages.csv`` / ``stages.md`` (epochs and best validation loss per stage) and
``head_accuracy.png`` (validation accuracy per head, facezoo's and the write-up's).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from _plots import bars, save_table

import facezoo
from facezoo import datasets, hub
from facezoo.training import Table, evaluate, fit_person_attributes

STAGES = ("100px", "100px_frozen", "100px_heavy_aug", "200px", "200px_frozen")
#: The write-up's results (its final 200 px frozen model on its validation split): head -> (loss, accuracy).
WRITE_UP = {
    "gender": (0.267376, 0.888889),
    "image_quality": (0.883270, 0.584821),
    "age": (1.261447, 0.447421),
    "weight": (0.901494, 0.652778),
    "bag": (0.746320, 0.697917),
    "footwear": (0.760049, 0.670635),
    "pose": (0.419371, 0.857143),
    "emotion": (0.874636, 0.704365),
}


def validation_table(model, validation: datasets.FaceDataset) -> Table:
    """Per head: validation cross-entropy and accuracy beside the write-up's, then the sum of the losses."""
    predictions = facezoo.predict(model, validation.paths)
    labels = {spec.name: spec.labels for spec in validation.heads}
    rows = []
    for head, (write_up_loss, write_up_accuracy) in WRITE_UP.items():
        truth = validation.targets[head]
        known = truth >= 0
        p_true = np.array([p[head]["probabilities"][labels[head][t]] for p, t in zip(predictions, truth) if t >= 0])
        hits = [p[head]["label"] == labels[head][t] for p, t in zip(predictions, truth) if t >= 0]
        loss = float(-np.log(np.clip(p_true, 1e-7, 1)).mean()) if known.any() else float("nan")
        rows.append((head, loss, write_up_loss, float(np.mean(hits)) if hits else float("nan"), write_up_accuracy))
    total = ("loss (sum)", sum(r[1] for r in rows), sum(r[2] for r in rows), "", "")
    columns = ("head", "val_loss", "write_up_val_loss", "val_accuracy", "write_up_val_accuracy")
    return Table(columns, (*rows, total), title=f"Person attributes: validation per head ({len(validation)} images)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the hvc folder")
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
        args.data_dir,
        out / "run",
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        limit=args.limit,
        stages=args.stages,
    )
    metrics = result.test_metrics
    heads = sorted({key.split("/")[0] for key in metrics})
    rows = tuple((head, metrics[f"{head}/accuracy"], metrics[f"{head}/macro_f1"]) for head in heads)
    heads_table = Table(("head", "test_accuracy", "test_macro_f1"), rows, title="Person attributes: test per head")
    save_table(heads_table, out / "heads")

    history = result.history
    stage_rows = tuple(
        (
            stage,
            history["stage"].count(stage),
            min(v for s, v in zip(history["stage"], history["val_loss"]) if s == stage),
        )
        for stage in dict.fromkeys(history["stage"])
    )
    save_table(Table(("stage", "epochs", "best_val_loss"), stage_rows, title="Training stages"), out / "stages")

    model = hub.from_pretrained(result.pretrained_dir)
    test = datasets.load("person_attributes", args.data_dir, split="test")
    evaluation = evaluate(model, test.take(args.limit) if args.limit else test)
    per_class = tuple((head, *row) for head in heads for row in evaluation.tables[f"{head}/per_class"].rows)
    save_table(Table(("head", "class", "precision", "recall", "f1", "support"), per_class), out / "per_class")

    validation = datasets.load("person_attributes", args.data_dir, split="validation")
    table = validation_table(model, validation.take(args.limit) if args.limit else validation)
    save_table(table, out / "validation_heads")
    accuracy = {row[0]: row[3] for row in table.rows[:-1]}
    bars(
        out / "head_accuracy.png",
        {"facezoo": accuracy, "write-up": {h: acc for h, (_, acc) in WRITE_UP.items()}},
        ylabel="validation accuracy",
        title="Person attributes: validation accuracy per head",
    )
    print(table.to_markdown())
    print(f"Tables and head_accuracy.png written to {out}")


if __name__ == "__main__":
    main()
