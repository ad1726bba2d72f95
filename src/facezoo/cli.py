"""The ``facezoo`` command line: list, describe, predict, analyze, download, train, evaluate and publish.

Results go to stdout; progress and errors to stderr. Errors print one line (``--verbose`` shows the traceback) and
exit 1; usage errors exit 2. TensorFlow's own C++ and absl logging is silenced unless ``--verbose``; progress is one
plain line per epoch when stderr is not a terminal; a closed stdout (``facezoo list | head -1``) ends quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from typing import Any, Callable, Sequence

from facezoo import __version__
from facezoo._registry import ModelInfo, list_models, model_info
from facezoo.training.distribute import STRATEGIES
from facezoo.training.recipes import RECIPES


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
        rows.append((name, info.family, info.task, _size(info), f"{info.num_params:,}", ", ".join(info.weights) or "-"))
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
    ]
    geometry = info.face_geometry
    lines.append(
        f"faces:      `facezoo analyze` aligns faces to the geometry of {geometry.count} {info.dataset} training crops"
        if geometry
        else f"faces:      {info.dataset} is not face crops: use `facezoo predict` on whole images"
    )
    lines.append("outputs:")
    for spec in info.outputs:
        detail = f"{spec.units}" if spec.kind == "regression" else ", ".join(spec.labels)
        lines.append(f"  {spec.name} ({spec.kind}): {detail}")
    lines.append("config:")
    lines += [f"  {key} = {value!r}" for key, value in info.default_config.items()]
    maps = ", ".join(f"{f.channels}@{f.stride}" for f in info.feature_info)
    lines.append(f"features:   {maps} (channels@stride, features_only=True); embedding {info.embedding_size}")
    lines.append(f"adaptable:  {', '.join(info.adaptable) or 'none'} (may differ from the weights' config)")
    lines.append("weights:" if info.weights else "weights:    none yet")
    for tag, weights in info.weights.items():
        metrics = ", ".join(f"{k} {v:.4g}" for k, v in weights.metrics.items())
        flip = ", ".join(f"{k} {v:.4g}" for k, v in weights.flip_metrics.items())
        lines.append(
            f"  {info.name}.{tag}: {weights.repo_id}@{weights.revision[:12]} ({weights.dataset}, {weights.split}: {metrics})"
            + (f"; with --flip: {flip}" if flip else "")
        )
    print("\n".join(lines))


def cmd_predict(args: argparse.Namespace) -> None:
    from facezoo.factory import load_model
    from facezoo.inference import expand_image_paths, predict

    paths = expand_image_paths(args.images)
    if not paths:
        raise ValueError(f"No images found in {', '.join(args.images)}.")
    model = load_model(args.model, force_download=args.force_download)
    results = predict(model, paths, batch_size=args.batch_size, on_error=args.on_error, flip=args.flip)
    if not results:
        raise ValueError("None of the images could be read.")
    if args.json:
        print(json.dumps(results, indent=2))
        return
    heads = [key for key in results[0] if key != "image"]
    rows = [[result["image"]] + [_short(result[head]) for head in heads] for result in results]
    print(format_table(rows, ["image"] + heads))


def cmd_analyze(args: argparse.Namespace) -> None:
    from facezoo.faces import analyze, save_annotated
    from facezoo.factory import load_model
    from facezoo.inference import expand_image_paths

    paths = expand_image_paths(args.images)
    if not paths:
        raise ValueError(f"No images found in {', '.join(args.images)}.")
    sources = args.models.split(",") if args.models else None
    # analyze loads each source itself (once a face needs it); a forced download happens before any detection.
    models = (
        [load_model(source, force_download=True) for source in sources] if sources and args.force_download else sources
    )
    faces = analyze(
        paths,
        models,
        batch_size=args.batch_size,
        min_confidence=args.min_confidence,
        on_error=args.on_error,
        flip=args.flip,
    )
    if args.annotate:
        for path in paths:
            mine = [face for face in faces if face["image"] == str(path)]
            try:
                print(f"wrote {save_annotated(path, mine, args.annotate)}", file=sys.stderr)
            except ValueError:  # an unreadable image, already skipped (and reported) by analyze
                if args.on_error == "raise":
                    raise
    if args.json:
        print(json.dumps(faces, indent=2))
        return
    heads = list(
        dict.fromkeys((model, head) for face in faces for model, out in face["predictions"].items() for head in out)
    )
    counts: dict[str, int] = {}
    for _, head in heads:
        counts[head] = counts.get(head, 0) + 1
    columns = [head if counts[head] == 1 else f"{model}:{head}" for model, head in heads]
    rows = [
        [face["image"], face["face"], " ".join(map(str, face["box"])), f"{face['confidence']:.2f}"]
        + [_short(face["predictions"][model][head]) for model, head in heads]
        for face in faces
    ]
    print(format_table(rows, ["image", "face", "box (x y w h)", "conf"] + columns))


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
    from facezoo._deprecation import REMOVED_IN

    data_dir = args.data_dir
    if args.root is not None:
        if data_dir is not None:
            raise ValueError("--root is the old name of --data-dir; pass --data-dir only.")
        print(
            f"facezoo: warning: --root is deprecated, use --data-dir (--root will be removed in facezoo {REMOVED_IN}).",
            file=sys.stderr,
        )
        data_dir = args.root
    print(datasets.download(args.dataset, data_dir, manual_dir=args.manual_dir, force=args.force))


def cmd_train(args: argparse.Namespace) -> None:
    from facezoo import training

    options = {
        key: value
        for key, value in (
            ("epochs", args.epochs),
            ("batch_size", args.batch_size),
            ("image_size", args.image_size),
            ("limit", args.limit),
            ("seed", args.seed),
            ("experiment", args.experiment),
        )
        if value is not None
    }
    if not sys.stderr.isatty():  # a log file: one plain line per epoch, no bars, ANSI codes or backspaces
        options["verbose"] = 2
    with contextlib.redirect_stdout(sys.stderr):  # Keras progress bars are progress: keep stdout for the result.
        result = training.fit(
            args.recipe,
            args.data_dir,
            args.output_dir,
            resume=args.resume,
            on_error=args.on_error,
            strategy=args.strategy,
            **options,
        )
    print(json.dumps({"test_metrics": result.test_metrics, "pretrained_dir": str(result.pretrained_dir)}, indent=2))


def cmd_evaluate(args: argparse.Namespace) -> None:
    from facezoo import training
    from facezoo.factory import load_model
    from facezoo.training.evaluate import load_for_evaluation

    model = load_model(args.model, force_download=args.force_download)
    dataset = load_for_evaluation(
        model, args.dataset, split=args.split, data_dir=args.data_dir, dataset_options=dict(args.option)
    )
    if args.limit is not None:
        dataset = dataset.take(args.limit)
    evaluation = training.evaluate(model, dataset, by=args.by, on_error=args.on_error, flip=args.flip)
    rows = tuple((head, name, value) for head, metrics in evaluation.metrics.items() for name, value in metrics.items())
    evaluated = len(dataset) - len(evaluation.skipped)
    skipped = f" ({len(evaluation.skipped)} skipped)" if evaluation.skipped else ""
    options = ", ".join(f"{key}={json.dumps(value)}" for key, value in dataset.info["options"].items())
    title = f"{args.dataset} {args.split}{f' ({options})' if options else ''}: {evaluated} images{skipped}"
    tables = [training.Table(("head", "metric", "value"), rows, title=title)]
    tables += [dataclasses.replace(table, title=table.title or name) for name, table in evaluation.tables.items()]
    print("\n\n".join(table.to_markdown() for table in tables))


def cmd_push(args: argparse.Namespace) -> None:
    from facezoo.hub import push_to_hub

    commit = push_to_hub(
        args.folder, args.repo_id, revision=args.revision, tag=args.tag, token=args.token, endpoint=args.endpoint
    )
    print(json.dumps({"commit_url": commit.commit_url, "sha": commit.oid}, indent=2))


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _dataset_option(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` as ``(key, value)``: VALUE parsed as JSON when it parses (``0.1``, ``true``, ``[0.15, 0.15]``),
    else kept as a string (``official``)."""
    key, equals, value = text.partition("=")
    if not equals or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key.strip(), json.loads(value)
    except ValueError:
        return key.strip(), value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``facezoo`` command."""
    parser = argparse.ArgumentParser(prog="facezoo", description="A Keras 3 model zoo for face and person analysis.")
    parser.add_argument("--version", action="version", version=f"facezoo {__version__}")
    parser.add_argument("--verbose", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, handler: Callable[[argparse.Namespace], None], help: str, *, tensorflow: bool = False
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(handler=handler, tensorflow=tensorflow)
        return p

    flip: dict[str, Any] = dict(
        action="store_true", help="average each prediction over the image and its mirror image (2x compute)"
    )
    on_error: dict[str, Any] = dict(
        choices=("raise", "skip"),
        default="raise",
        help="an image that is missing, not an image or truncated: stop with its name (raise) or skip it, logged once",
    )

    p = command("list", cmd_list, "list models with family, task, input size and parameter count")
    p.add_argument("pattern", nargs="?", default="*", help="shell-style wildcard, e.g. 'age_*'")
    p.add_argument("--pretrained", action="store_true", help="only models with pretrained weights")

    p = command("info", cmd_info, "describe one model: outputs, labels, config, weights")
    p.add_argument("model")

    p = command(
        "predict",
        cmd_predict,
        "predict on whole images that already are aligned face crops (for photos use `facezoo analyze`)",
        tensorflow=True,
    )
    p.add_argument("model", help="model name (optionally NAME.TAG), hf://org/repo[@rev], org/repo or a local folder")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--force-download", action="store_true", help="download the weights again even if cached")
    p.add_argument("--on-error", **on_error)
    p.add_argument("--flip", **flip)

    p = command(
        "analyze", cmd_analyze, "find every face in photos, align it for each model and predict", tensorflow=True
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files or folders")
    p.add_argument(
        "--models",
        help="comma-separated models (NAME, NAME.TAG, org/repo or a folder); default: the best model of each family with embedded weights",
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--annotate", metavar="OUT_DIR", help="also write each image with its boxes, landmarks and labels here"
    )
    p.add_argument("--min-confidence", type=float, default=0.9, help="drop detections below this confidence")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--on-error", **on_error)
    p.add_argument("--force-download", action="store_true", help="download the weights again even if cached")
    p.add_argument("--flip", **flip)

    command("datasets", cmd_datasets, "list the datasets facezoo can download and parse")

    p = command("download", cmd_download, "download, verify and extract a dataset")
    p.add_argument("dataset")
    p.add_argument(
        "--data-dir", help="the datasets folder (default $FACEZOO_HOME/datasets or ~/.cache/facezoo/datasets)"
    )
    p.add_argument("--root", help=argparse.SUPPRESS)  # deprecated name of --data-dir
    p.add_argument("--manual-dir", help="folder holding an archive or extracted folder you downloaded by hand")
    p.add_argument("--force", action="store_true", help="download and extract again")

    p = command("train", cmd_train, "run a training recipe", tensorflow=True)
    p.add_argument("recipe", choices=sorted(RECIPES))
    p.add_argument(
        "--experiment",
        help="run the recipe as a write-up ran one of its experiments (e.g. age_cnn: baseline, regularized, "
        "augmented, vgg16; see docs/training.md)",
    )
    p.add_argument("--data-dir", required=True, help="the datasets folder, or the dataset's own folder")
    p.add_argument("--output-dir", required=True, help="checkpoints, logs and the save_pretrained folder go here")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--image-size", type=int, help="train at NxN instead of the recipe's size")
    p.add_argument("--limit", type=_positive_int, help="use at most N images per split (smoke runs)")
    p.add_argument("--seed", type=int, help="seed of initialisation, shuffling and augmentation")
    p.add_argument(
        "--resume",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="continue an interrupted run (--no-resume starts again; the old run is kept aside until the new one ends)",
    )
    p.add_argument("--on-error", **on_error)
    p.add_argument(
        "--strategy",
        choices=STRATEGIES,
        default="auto",
        help="tf.distribute strategy (default auto: multi-worker when TF_CONFIG names several workers, mirrored on "
        "several GPUs, else one device); with TF_CONFIG run the same command on every worker",
    )

    p = command("evaluate", cmd_evaluate, "evaluate a model on a dataset split", tensorflow=True)
    p.add_argument("model", help="model name (NAME.TAG), hf://org/repo[@rev], org/repo or a local folder")
    p.add_argument("--dataset", required=True)
    p.add_argument("--data-dir", help="the datasets folder, or the dataset's own folder")
    p.add_argument("--split", default="test")
    p.add_argument("--by", help="annotation to group errors by, e.g. gender")
    p.add_argument(
        "--option",
        type=_dataset_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="dataset option (repeatable; VALUE is read as JSON if it parses, else as a string), replacing the "
        "options the weights were measured with, which are the default, e.g. --option protocol=official",
    )
    p.add_argument("--limit", type=_positive_int, help="evaluate at most N images")
    p.add_argument("--on-error", **on_error)
    p.add_argument("--force-download", action="store_true", help="download the weights again even if cached")
    p.add_argument("--flip", **flip)

    p = command("push", cmd_push, "push a save_pretrained folder to the Hugging Face Hub", tensorflow=True)
    p.add_argument("folder")
    p.add_argument("repo_id")
    p.add_argument("--revision", help="branch to commit to (created from main if new)")
    p.add_argument("--tag", help="tag the new commit")
    p.add_argument("--token", help="Hub token (default: the cached login or HF_TOKEN)")
    p.add_argument("--endpoint", help="Hub URL (default: HF_ENDPOINT or https://huggingface.co)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 error, 2 usage error)."""
    args = build_parser().parse_args(argv)
    try:
        if args.tensorflow and not args.verbose:
            _import_tensorflow_quietly()
        args.handler(args)
        sys.stdout.flush()
    except KeyboardInterrupt:
        print("facezoo: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader closed stdout (`facezoo list | head -1`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's flush at exit would fail again
        return 0
    except Exception as error:  # noqa: BLE001 (one clear line for any failure; --verbose shows the traceback)
        if args.verbose:
            raise
        print(f"facezoo: error: {error}", file=sys.stderr)
        return 1
    return 0


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow with its C++ logging off and stderr closed meanwhile: its absl lines (oneDNN, CUDA, CPU
    features) are written before any log level applies. Python errors are raised as usual."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
    logging.getLogger("absl").setLevel(logging.ERROR)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


if __name__ == "__main__":
    sys.exit(main())
