"""Write-up 000 (selfie popularity): Tables 1 and 2, Figures 2 and 3, the per-gender and per-age errors, the error
histogram and the sample-image grids.

    python examples/selfie_ablation.py --data-dir ~/data --output-dir runs/selfie_ablation

Trains the four residual x batch-norm variants (Table 1) and the vanilla CNN over 12/18 layers x 8/16 filters
(Table 2), then tests the best Table 2 model per gender and per age category as the write-up did. Writes
``table1_residual_batch_norm``, ``table2_layers_filters``, ``errors_by_gender`` and ``errors_by_age_category``
(``.csv`` and ``.md``, the tables beside the write-up's test MAE), ``figure2_val_mae.png`` and
``figure3_val_mae.png`` (validation MAE per epoch of the variants, overlaid), ``error_histogram.png``,
``samples.png`` (four training selfies with score, gender and age) and ``test_errors.png`` (four test selfies with
their prediction error); every variant's run folder sits under ``runs/``. 18 layers need an ``--image-size`` of at
least 65.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _plots import curves, image_grid, sample, save_table

from facezoo import datasets, hub
from facezoo.training import TrainingResult, evaluate, fit_selfie_resnet


def variant_label(name: str) -> str:
    """``"residual_yes-batch_norm_no"`` -> ``"ResNet without BN"``, ``"layers_12-filters_8"`` -> ``"12 layers, 8
    filters"``: the write-up's legends."""
    if name.startswith("residual_"):
        residual, batch_norm = (part.rsplit("_", 1)[1] == "yes" for part in name.split("-"))
        return f"{'ResNet' if residual else 'Vanilla CNN'} {'with' if batch_norm else 'without'} BN"
    layers, filters = (part.rsplit("_", 1)[1] for part in name.split("-"))
    return f"{layers} layers, {filters} filters"


def val_mae(result: TrainingResult) -> dict[str, list[float]]:
    """Variant label -> validation MAE per epoch."""
    return {variant_label(name): run.history["val_mae"] for name, run in result.variants.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, help="datasets folder or the Selfie-dataset folder")
    parser.add_argument("--output-dir", type=Path, default=Path("runs/selfie_ablation"))
    parser.add_argument("--model", default="selfie_resnet", help="registered model the variants configure")
    parser.add_argument("--epochs", type=int, help="epochs per variant (default: the recipe's 20)")
    parser.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's 32")
    parser.add_argument("--image-size", type=int, help="default: the recipe's 150")
    args = parser.parse_args()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)
    common = dict(
        model=args.model, epochs=args.epochs, batch_size=args.batch_size, image_size=args.image_size, limit=args.limit
    )

    table1 = fit_selfie_resnet(args.data_dir, out / "runs" / "table1", ablation=True, **common)
    table2 = fit_selfie_resnet(args.data_dir, out / "runs" / "table2", ablation="grid", **common)
    save_table(table1.table, out / "table1_residual_batch_norm")
    save_table(table2.table, out / "table2_layers_filters")
    curves(
        out / "figure2_val_mae.png",
        val_mae(table1),
        ylabel="validation MAE",
        title="Fig. 2: validation MAE of the CNN architectures",
    )
    curves(
        out / "figure3_val_mae.png",
        val_mae(table2),
        ylabel="validation MAE",
        title="Fig. 3: validation MAE of the vanilla CNN (no BN) by layers and filters",
    )

    train = datasets.load("selfie", args.data_dir, split="train")
    shown = sample(len(train), 4)
    image_grid(
        out / "samples.png",
        [train.paths[i] for i in shown],
        [
            f"Score: {train.targets['popularity'][i]:.2f}\nGender: {train.annotations['gender'][i]}\n"
            f"Age: {train.annotations['age_category'][i]}"
            for i in shown
        ],
        title="Training selfies",
    )

    # The error analysis of the tuned model (best of Table 2) on the test split.
    model = hub.from_pretrained(table2.pretrained_dir)
    test = datasets.load("selfie", args.data_dir, split="test")
    test = test.take(args.limit) if args.limit else test
    evaluation = evaluate(model, test, by=["gender", "age_category"])
    save_table(evaluation.tables["popularity/by_gender"], out / "errors_by_gender")
    save_table(evaluation.tables["popularity/by_age_category"], out / "errors_by_age_category")
    evaluation.plot_errors(out / "error_histogram.png")
    errors = evaluation.targets["popularity"] - evaluation.predictions["popularity"]
    shown = sample(len(test), 4)
    image_grid(
        out / "test_errors.png",
        [test.paths[i] for i in shown],
        [
            f"Score: {test.targets['popularity'][i]:.2f}\nGender: {test.annotations['gender'][i]}\n"
            f"Age: {test.annotations['age_category'][i]}\nPrediction error: {errors[i]:.2f}"
            for i in shown
        ],
        title="Test selfies (a random sample, not cherry-picked)",
    )

    for table in (table1.table, table2.table, evaluation.tables["popularity/by_gender"]):
        print(table.to_markdown(), end="\n\n")
    print(f"Tables, figures and image grids written to {out}")


if __name__ == "__main__":
    main()
