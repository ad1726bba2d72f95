"""Training throughput (img/s) of a fit_* step fed three ways, on real UTKFace JPEGs.

1. ``pipeline``: the engine's own input (``facezoo.datasets`` JPEG decode + resize + augmentation via tf.data),
2. ``memory``: the same model and step fed from decoded tensors held in memory (the input can never starve it),
3. ``writeup000``: write-up 000's loop: each batch read and decoded image by image in Python, then one train step.

Targets: pipeline / memory >= 0.9, pipeline / writeup000 >= 5. Usage::

    python benchmarks/training_throughput.py --data /work/shared/data --images 1024 --steps 30
"""

from __future__ import annotations

import argparse
import os
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
    args = parser.parse_args()

    import tensorflow as tf

    from facezoo.training import RECIPES
    from facezoo.training.engine import _build, _compile, _Data, _output_kinds, resolve_recipe

    recipe = resolve_recipe(RECIPES[args.recipe], batch_size=args.batch_size)
    stage, size = recipe.stages[0], recipe.image_size
    data = _Data(recipe, args.data, args.images)
    model = _build(recipe, size)
    _compile(model, recipe, stage, jit_compile=False)
    kinds = _output_kinds(model)
    pipeline = data.pipeline(recipe.splits[0], size, args.batch_size, kinds, training=True,
                             augmentation=stage.augmentation, seed=0).repeat()
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
        images = np.concatenate([
            np.expand_dims(tf.image.resize(tf.io.decode_jpeg(tf.io.read_file(paths[i]), channels=3), size).numpy(), 0)
            for i in idx
        ])
        model.train_on_batch(images, targets)

    results = {name: _measure(fn, args.steps, args.batch_size)
               for name, fn in (("memory", memory_step), ("pipeline", pipeline_step), ("writeup000", writeup_step))}
    print(f"recipe {recipe.name} ({recipe.model} at {size[0]}x{size[1]}), batch {args.batch_size}, {args.steps} steps")
    for name, value in results.items():
        print(f"  {name:11s} {value:8.1f} img/s")
    print(f"  pipeline / memory     = {results['pipeline'] / results['memory']:.2f} (target >= 0.9)")
    print(f"  pipeline / writeup000 = {results['pipeline'] / results['writeup000']:.2f} (target >= 5)")


if __name__ == "__main__":
    main()
