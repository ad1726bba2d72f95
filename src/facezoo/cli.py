"""The ``facezoo`` command line: list, describe, predict, download, train, evaluate and publish.

Results go to stdout; progress and errors to stderr. Errors print one line (``--verbose`` shows the traceback) and
exit 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import sys
from typing import Any, Callable, Sequence

from facezoo import __version__
from facezoo.registry import ModelInfo, list_models, model_info
from facezoo.training.fit import STRATEGIES

#: ``facezoo train`` recipe name -> ``facezoo.training`` function.
TRAIN_RECIPES = {
    "selfie_resnet": "fit_selfie_resnet",
    "age_cnn": "fit_age_cnn",
    "person_attributes": "fit_person_attributes",
    "celeba_gender": "fit_celeba_gender",
    "attractive_net": "fit_attractive_net",
    "utkface": "fit_utkface",
}


def format_table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """Format rows as a plain-text table with aligned columns."""
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _size(info: ModelInfo) -> str:
    height, width, _ = info.input_shape
    return f"{height}x{width}"


def cmd_list(args: argparse.Namespace) -> None:
    rows = []
    for name in list_models(args.pattern, pretrained=args.pretrained):
        info = model_info(name)
        rows.append(
            (name, info.family, info.task, _size(info), f"{info.num_params:,}", ", ".join(info.weights) or "-")
        )
    print(format_table(rows, ("model", "family", "task", "input", "params", "weights")))


def cmd_info(args: argparse.Namespace) -> None:
    info = model_info(args.model)
    lines = [
        f"# {info.name}",
        "",
        f"family:     {info.family}",
        f"task:       {info.task}",
        f"dataset:    {info.dataset}",
        f"reference:  {info.reference}",
        f"input:      RGB {info.input_shape[0]}x{info.input_shape[1]}, float values in [0, 255]",
        f"parameters: {info.num_params:,}",
        "outputs:",
    ]
    for spec in info.outputs:
        detail = f"{spec.units}" if spec.kind == "regression" else ", ".join(spec.labels)
        lines.append(f"  {spec.name} ({spec.kind}): {detail}")
    lines.append("config:")
    lines += [f"  {key} = {value!r}" for key, value in info.default_config.items()]
    lines.append("weights:" if info.weights else "weights:    none yet")
    for tag, weights in info.weights.items():
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in weights.metrics.items())
        lines.append(f"  {info.name}.{tag}: {weights.repo_id}@{weights.revision[:12]} ({weights.dataset}, {weights.split}: {metrics})")
    print("\n".join(lines))


def _load_model(source: str):
    """A registered name (default weights), ``name.tag``, ``hf://org/repo[@rev]``, ``org/repo`` or a local folder."""
    from facezoo.registry import create_model

    return create_model(source, pretrained=source in list_models())


def cmd_predict(args: argparse.Namespace) -> None:
    from facezoo.inference import expand_image_paths, predict

    paths = expand_image_paths(args.images)
    if not paths:
        raise ValueError(f"No images found in {', '.join(args.images)}.")
    results = predict(_load_model(args.model), paths, batch_size=args.batch_size)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    heads = [key for key in results[0] if key != "image"]
    rows = [[result["image"]] + [_short(result[head]) for head in heads] for result in results]
    print(format_table(rows, ["image"] + heads))


def _short(decoded: dict[str, Any]) -> str:
    if "score" in decoded:
        return f"{decoded['score']:.3f}"
    return f"{decoded['label']} ({decoded['probability']:.2f})"


def cmd_datasets(args: argparse.Namespace) -> None:
    from facezoo import datasets

    rows = [(name, *datasets.describe(name)) for name in datasets.list_datasets()]
    print(format_table(rows, ("dataset", "images", "targets", "download")))


def cmd_download(args: argparse.Namespace) -> None:
    from facezoo import datasets

    print(datasets.download(args.dataset, args.root, manual_dir=args.manual_dir, force=args.force))


def cmd_train(args: argparse.Namespace) -> None:
    from facezoo import training

    fit = getattr(training, TRAIN_RECIPES[args.recipe])
    options = {
        key: value
        for key, value in (
            ("epochs", args.epochs), ("batch_size", args.batch_size), ("image_size", args.image_size), ("limit", args.limit),
            ("seed", args.seed),
        )
        if value is not None
    }
    with contextlib.redirect_stdout(sys.stderr):  # Keras progress bars are progress: keep stdout for the result.
        result = fit(args.data_dir, args.output_dir, resume=args.resume, strategy=args.strategy, **options)
    print(json.dumps({"test_metrics": result.test_metrics, "pretrained_dir": str(result.pretrained_dir)}, indent=2))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from facezoo import datasets, training

    model = _load_model(args.model)
    dataset = datasets.load(args.dataset, args.data_dir, split=args.split)
    if args.limit:
        dataset = dataset.take(args.limit)
    evaluation = training.evaluate(model, dataset, by=args.by)
    rows = tuple((head, name, value) for head, metrics in evaluation.metrics.items() for name, value in metrics.items())
    tables = [training.Table(("head", "metric", "value"), rows, title=f"{args.dataset} {args.split}: {len(dataset)} images")]
    tables += [dataclasses.replace(table, title=table.title or name) for name, table in evaluation.tables.items()]
    print("\n\n".join(table.to_markdown() for table in tables))


def cmd_push(args: argparse.Namespace) -> None:
    from facezoo.hub import push_to_hub

    commit = push_to_hub(
        args.folder, args.repo_id, revision=args.revision, tag=args.tag, token=args.token, endpoint=args.endpoint
    )
    print(json.dumps({"commit_url": commit.commit_url, "sha": commit.oid}, indent=2))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``facezoo`` command."""
    parser = argparse.ArgumentParser(prog="facezoo", description="A Keras 3 model zoo for face and person analysis.")
    parser.add_argument("--version", action="version", version=f"facezoo {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], None], help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    p = command("list", cmd_list, "list models with family, task, input size and parameter count")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'age_*'")
    p.add_argument("--pretrained", action="store_true", help="only models with pretrained weights")

    p = command("info", cmd_info, "describe one model: outputs, labels, config, weights")
    p.add_argument("model")

    p = command("predict", cmd_predict, "predict on images with a pretrained model")
    p.add_argument("model", help="model name (optionally NAME.TAG), hf://org/repo[@rev], org/repo or a local folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--batch-size", type=int, default=32)

    command("datasets", cmd_datasets, "list the datasets facezoo can download and parse")

    p = command("download", cmd_download, "download, verify and extract a dataset")
    p.add_argument("dataset")
    p.add_argument("--root", help="datasets root (default $FACEZOO_HOME/datasets or ~/.cache/facezoo/datasets)")
    p.add_argument("--manual-dir", help="folder holding an archive or extracted folder you downloaded by hand")
    p.add_argument("--force", action="store_true", help="download and extract again")

    p = command("train", cmd_train, "run a training recipe")
    p.add_argument("recipe", choices=sorted(TRAIN_RECIPES))
    p.add_argument("--data-dir", required=True, help="the dataset folder, or the datasets root")
    p.add_argument("--output-dir", required=True, help="checkpoints, logs and the save_pretrained folder go here")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--image-size", type=int, help="train at NxN instead of the recipe's size")
    p.add_argument("--limit", type=int, help="use at most N images per split (smoke runs)")
    p.add_argument("--seed", type=int, help="seed of initialisation, shuffling and augmentation")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True, help="continue an interrupted run")
    p.add_argument(
        "--strategy", choices=STRATEGIES, default="auto",
        help="tf.distribute strategy (default auto: multi-worker when TF_CONFIG names several workers, mirrored on "
        "several GPUs, else one device); with TF_CONFIG run the same command on every worker",
    )

    p = command("evaluate", cmd_evaluate, "evaluate a model on a dataset split")
    p.add_argument("model", help="model name (NAME.TAG), hf://org/repo[@rev], org/repo or a local folder")
    p.add_argument("--dataset", required=True)
    p.add_argument("--data-dir", help="the dataset folder, or the datasets root")
    p.add_argument("--split", default="test")
    p.add_argument("--by", help="annotation to group errors by, e.g. gender")
    p.add_argument("--limit", type=int, help="evaluate at most N images")

    p = command("push", cmd_push, "push a save_pretrained folder to the Hugging Face Hub")
    p.add_argument("folder")
    p.add_argument("repo_id")
    p.add_argument("--revision", help="branch to commit to")
    p.add_argument("--tag", help="tag the new commit")
    p.add_argument("--token", help="Hub token (default: the cached login or HF_TOKEN)")
    p.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage error)."""
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except KeyboardInterrupt:
        print("facezoo: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 (one clear line for any failure; --verbose shows the traceback)
        if args.verbose:
            raise
        print(f"facezoo: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
