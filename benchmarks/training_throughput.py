"""Training throughput (img/s) of a fit_* step fed three ways, on real UTKFace JPEGs.

1. ``pipeline``: the engine's own input (``facezoo.datasets`` JPEG decode + resize + augmentation via tf.data),
2. ``memory``: the same model and step fed from decoded tensors held in memory (the input can never starve it),
3. ``writeup000``: write-up 000's loop: each batch read and decoded image by image in Python, then one train step.

Targets: pipeline / memory >= 0.9, pipeline / writeup000 >= 5. Usage::

    python benchmarks/training_throughput.py --data /work/shared/data --images 1024 --steps 30

``--workers N`` instead compares 1 and N local CPU worker processes under ``MultiWorkerMirroredStrategy``
(``TF_CONFIG`` on 127.0.0.1, ``--batch-size`` per worker, so the global batch is N times larger), each step fed by
the engine's pipeline and from memory; it prints the global img/s::

    python benchmarks/training_throughput.py --workers 2 --steps 20
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np


def _measure(step_fn, steps: int, batch_size: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step_fn()
    start = time.perf_counter()
    for _ in range(steps):
        step_fn()
    return steps * batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("FACEZOO_SHARED_DATA", "/work/shared/data"))
    parser.add_argument("--recipe", default="utkface", help="utkface (utkface_multitask) or age_cnn")
    parser.add_argument("--images", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--workers", type=int, help="compare 1 and N local CPU worker processes (multi-worker)")
    parser.add_argument("--worker-index", type=int, help=argparse.SUPPRESS)  # set for the processes --workers starts
    args = parser.parse_args()
    if args.worker_index is not None:
        return _worker(args)
    if args.workers:
        return _compare_workers(args)

    import tensorflow as tf

    from facezoo.training import RECIPES
    from facezoo.training.data import RecipeData
    from facezoo.training.keras_bridge import build_recipe_model, compile_stage, output_kinds
    from facezoo.training.recipes import resolve_recipe

    recipe = resolve_recipe(RECIPES[args.recipe], batch_size=args.batch_size)
    stage, size = recipe.stages[0], recipe.image_size
    data = RecipeData(recipe, args.data, args.images)
    model = build_recipe_model(recipe, size)
    compile_stage(model, recipe, stage, jit_compile=False)
    kinds = output_kinds(model)
    pipeline = data.pipeline(
        recipe.splits[0], size, args.batch_size, kinds, training=True, augmentation=stage.augmentation, seed=0
    ).repeat()
    batches = iter(pipeline)

    def pipeline_step():
        x, y = next(batches)
        model.train_on_batch(x, y)

    cached = [next(batches) for _ in range(8)]
    memory = iter(tf.data.Dataset.from_tensor_slices(list(range(len(cached)))).repeat())

    def memory_step():
        x, y = cached[int(next(memory))]
        model.train_on_batch(x, y)

    # Write-up 000: random batch indices, each image read + decoded + resized on its own, concatenated in numpy.
    ds = data.dataset(recipe.splits[0])
    paths = [os.fspath(p) for p in ds.paths]
    targets = cached[0][1]
    rng = np.random.default_rng(0)

    def writeup_step():
        idx = rng.permutation(len(paths))[: args.batch_size]
        images = np.concatenate(
            [
                np.expand_dims(
                    tf.image.resize(tf.io.decode_jpeg(tf.io.read_file(paths[i]), channels=3), size).numpy(), 0
                )
                for i in idx
            ]
        )
        model.train_on_batch(images, targets)

    results = {
        name: _measure(fn, args.steps, args.batch_size)
        for name, fn in (("memory", memory_step), ("pipeline", pipeline_step), ("writeup000", writeup_step))
    }
    print(f"recipe {recipe.name} ({recipe.model} at {size[0]}x{size[1]}), batch {args.batch_size}, {args.steps} steps")
    for name, value in results.items():
        print(f"  {name:11s} {value:8.1f} img/s")
    print(f"  pipeline / memory     = {results['pipeline'] / results['memory']:.2f} (target >= 0.9)")
    print(f"  pipeline / writeup000 = {results['pipeline'] / results['writeup000']:.2f} (target >= 5)")


def _compare_workers(args: argparse.Namespace) -> None:
    results = {}
    for n in sorted({1, args.workers}):
        sockets = [socket.socket() for _ in range(n)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
        for s in sockets:
            s.close()
        procs = []
        for index in range(n):
            env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
            if n > 1:
                env["TF_CONFIG"] = json.dumps(
                    {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}}
                )
            command = [
                sys.executable,
                __file__,
                "--data",
                args.data,
                "--recipe",
                args.recipe,
                "--images",
                str(args.images),
                "--batch-size",
                str(args.batch_size),
                "--steps",
                str(args.steps),
                "--worker-index",
                str(index),
            ]
            procs.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True))
        try:
            outputs = [proc.communicate(timeout=1800)[0] for proc in procs]
        finally:
            for proc in procs:
                proc.kill()
        if any(proc.returncode for proc in procs):
            sys.exit(f"a worker failed (exit codes {[proc.returncode for proc in procs]})")
        results[n] = json.loads(outputs[0].strip().splitlines()[-1])
    first = results[1]
    print(
        f"recipe {first['recipe']} ({first['model']} at {first['size']}), batch {args.batch_size} per worker, "
        f"{args.steps} steps, {os.cpu_count()} CPU cores"
    )
    for n, result in results.items():
        print(
            f"  {n} worker{'s' if n > 1 else ' '}  global batch {result['global_batch']:4d}  "
            f"pipeline {result['pipeline']:7.1f} img/s ({result['pipeline'] / first['pipeline']:.2f}x)  "
            f"memory {result['memory']:7.1f} img/s ({result['memory'] / first['memory']:.2f}x)"
        )


def _worker(args: argparse.Namespace) -> None:
    """One process of ``--workers``: time the engine's train step under ``make_strategy("auto")``."""
    import tensorflow as tf

    from facezoo.training import RECIPES
    from facezoo.training.data import RecipeData
    from facezoo.training.distribute import make_strategy
    from facezoo.training.keras_bridge import build_recipe_model, compile_stage, fix_keras_distribution, output_kinds
    from facezoo.training.recipes import resolve_recipe

    strategy = make_strategy("auto")  # multi-worker under TF_CONFIG, else one device
    global_batch = args.batch_size * strategy.num_replicas_in_sync
    recipe = resolve_recipe(RECIPES[args.recipe], batch_size=global_batch)
    stage, size = recipe.stages[0], recipe.image_size
    data = RecipeData(recipe, args.data, args.images)
    with strategy.scope():
        model = build_recipe_model(recipe, size)
        compile_stage(model, recipe, stage, jit_compile=False)
        model.optimizer.build(model.trainable_variables)
    fix_keras_distribution(model, strategy)
    pipeline = data.pipeline(
        recipe.splits[0],
        size,
        global_batch,
        output_kinds(model),
        training=True,
        augmentation=stage.augmentation,
        seed=0,
    ).repeat()
    memory = tf.data.Dataset.from_tensors(next(iter(pipeline))).repeat()

    def rate(dataset: tf.data.Dataset) -> float:
        model.fit(dataset, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
        start = time.perf_counter()
        model.fit(dataset, steps_per_epoch=args.steps, epochs=1, verbose=0)
        return args.steps * global_batch / (time.perf_counter() - start)

    print(
        json.dumps(
            {
                "recipe": recipe.name,
                "model": recipe.model,
                "size": f"{size[0]}x{size[1]}",
                "global_batch": global_batch,
                "memory": rate(memory),
                "pipeline": rate(pipeline),
            }
        )
    )


if __name__ == "__main__":
    main()
