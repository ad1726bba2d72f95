"""Write-up 004 (AttractiveNet on SCUT-FBP5500): MobileNetV2 trained frozen, then fine-tuned (MAE 0.212, RMSE 0.286).

    python examples/attractive_net_two_stage.py --data-dir ~/data --output-dir runs/attractive_net --imagenet

Runs both stages of the recipe (frozen backbone, Adam 1e-3; then all layers, Adam 1e-4; early stopping, batch 32,
350x350) on the write-up's split (the ``"reference"`` protocol: 70 % train, 20 % validation, 10 % test, as its
``train_test_split`` calls) and tests on that 10 % test split. Writes ``metrics.csv`` / ``metrics.md`` (test
MAE, RMSE and Pearson r next to the write-up's), ``stages.csv`` / ``stages.md`` (epochs and best validation loss per
stage), ``curves.png`` (losses over both stages) and ``error_histogram.png``. ``--imagenet`` starts MobileNetV2 from
ImageNet weights as the write-up did (downloads them once).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _plots import curves, save_table

from facezoo import datasets, hub
from facezoo.training import EXPERIMENTS, Table, evaluate, fit_attractive_net

#: The write-up's test metrics (MAE 0.212, RMSE 0.286).
WRITE_UP = EXPERIMENTS["attractive_net"]["two_stage"].reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the SCUT-FBP5500_v2 folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/attractive_net_two_stage"))
    parser.add_argument("--imagenet", action="store_true", help="start MobileNetV2 from ImageNet weights")
    parser.add_argument("--model", default="attractive_net", help="registered model to train")
    parser.add_argument("--epochs", type=int, help="maximum epochs per stage (default: the recipe's 30)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 32")
    parser.add_argument("--image-size", type=int, help="default: the recipe's 350")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    extra = {"backbone_weights": "imagenet"} if args.imagenet else {}
    result = fit_attractive_net(
        args.data_dir,
        out / "run",
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        image_size=args.image_size,
        limit=args.limit,
        **extra,
    )
    test = datasets.load("scut_fbp5500", args.data_dir, split="test")
    evaluation = evaluate(hub.from_pretrained(result.pretrained_dir), test.take(args.limit) if args.limit else test)
    metrics = evaluation.metrics["beauty"]
    rows = tuple((name, metrics[name], WRITE_UP.get(name, float("nan"))) for name in ("mae", "rmse", "pearson_r"))
    count = int(metrics["count"])
    title = f"AttractiveNet on {count} test images of the write-up's 70/20/10 split (reference protocol)"
    table = Table(("metric", "test", "write_up"), rows, title=title)
    save_table(table, out / "metrics")

    history, stages = result.history, list(dict.fromkeys(result.history["stage"]))
    stage_rows = tuple(
        (
            stage,
            history["stage"].count(stage),
            min(v for s, v in zip(history["stage"], history["val_loss"]) if s == stage),
        )
        for stage in stages
    )
    save_table(Table(("stage", "epochs", "best_val_loss"), stage_rows, title="Training stages"), out / "stages")
    curves(
        out / "curves.png",
        {"loss": history["loss"], "val_loss": history["val_loss"]},
        xlabel="epoch (both stages)",
        ylabel="MSE",
        title="AttractiveNet: frozen, then fine-tuned",
        marks={"fine-tuning starts": history["stage"].count(stages[0]) + 0.5},
    )
    evaluation.plot_errors(out / "error_histogram.png")
    print(table.to_markdown())
    print(f"Tables, curves.png and error_histogram.png written to {out}")


if __name__ == "__main__":
    main()
