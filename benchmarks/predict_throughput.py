"""Throughput of ``facezoo.predict`` on a folder of JPEGs (issue 6's benchmark).

Compares, on the same images and model:
  1. ``facezoo.predict(model, folder_files)``: batched, decoding on threads beside the model;
  2. the usual script pattern: load each image with PIL and call ``model.predict`` once per image;
  3. the model's forward-only throughput on in-memory batches (the ceiling).
Targets: (1) >= 10x (2), and (1) >= 0.8x (3).

    python benchmarks/predict_throughput.py [--model attractive_net] [--images 500] [--size 224]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import facezoo
from facezoo.inference import load_image


def write_images(folder: Path, count: int, source: Path | None) -> list[Path]:
    """Write ``count`` JPEGs: copies of real faces from ``source`` when given, else random pixels."""
    sources = sorted(source.glob("*.jpg"))[:count] if source and source.is_dir() else []
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        path = folder / f"{i:04d}.jpg"
        if sources:
            image = Image.open(sources[i % len(sources)]).convert("RGB")
        else:
            image = Image.fromarray(rng.integers(0, 255, (256, 256, 3), dtype=np.uint8))
        image.save(path, quality=90)
        paths.append(path)
    return paths


def rate(count: int, seconds: float) -> float:
    return count / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="attractive_net")
    parser.add_argument("--size", type=int, default=224, help="input size (square)")
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--per-image", type=int, default=50, help="images timed for the per-image pattern")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--source", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/SCUT-FBP5500_v2/Images"
    )
    args = parser.parse_args()

    model = facezoo.create_model(args.model, input_shape=(args.size, args.size, 3))
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_images(Path(tmp), args.images, args.source)
        facezoo.predict(model, paths[: args.batch_size], batch_size=args.batch_size)  # warm-up (graph tracing)

        start = time.perf_counter()
        facezoo.predict(model, paths, batch_size=args.batch_size)
        batched = rate(len(paths), time.perf_counter() - start)

        model.predict(load_image(paths[0], (args.size, args.size))[None], verbose=0)
        start = time.perf_counter()
        for path in paths[: args.per_image]:
            model.predict(load_image(path, (args.size, args.size))[None], verbose=0)
        per_image = rate(args.per_image, time.perf_counter() - start)

        batch = np.stack([load_image(p, (args.size, args.size)) for p in paths[: args.batch_size]])
        model.predict_on_batch(batch)
        repeats = max(1, args.images // args.batch_size)
        start = time.perf_counter()
        for _ in range(repeats):
            model.predict_on_batch(batch)
        forward = rate(repeats * args.batch_size, time.perf_counter() - start)

    print(f"model {args.model} @ {args.size}x{args.size}, {args.images} images, batch {args.batch_size}")
    print(f"facezoo.predict        {batched:8.1f} img/s")
    print(f"model.predict per image {per_image:7.1f} img/s   -> speed-up {batched / per_image:5.1f}x (target >= 10x)")
    print(f"forward only, in memory {forward:7.1f} img/s   -> ratio    {batched / forward:5.2f}  (target >= 0.8)")


if __name__ == "__main__":
    main()
