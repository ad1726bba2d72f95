"""Faces per second of ``facezoo.analyze`` with one model, beside the detector alone on the same photos (issue 11).

Writes a folder of JPEG photos (synthetic face-free backgrounds from ``analyze_accuracy.py``, each holding one to
three real UTKFace test crops at random scales and places), then times, after a warm-up on other photos, in
alternating rounds (the fastest round of each counts):
  1. the detector alone: read each photo and ``facezoo.detect_faces`` it;
  2. ``facezoo.analyze(folder_files, [model])``: read, detect, align every face, batched prediction.
Goal: (2) takes at most 25 % longer than (1). As separate runs of MTCNN vary with the load of a shared machine,
the script also times the detector inside (2): what (2) spends beyond it, as a share of it, is the same measure
free of run-to-run noise.

    python benchmarks/analyze_throughput.py --data-dir ../shared/data --photos 100
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from analyze_accuracy import background
from PIL import Image

import facezoo
from facezoo import datasets
from facezoo.faces import analyze, detect_faces, mtcnn_detector
from facezoo.inference import read_image


def write_photos(folder: Path, count: int, faces: list[str], rng: np.random.Generator) -> list[Path]:
    paths = []
    for number in range(count):
        height, width = 480, 640
        scene = background(rng, height, width).copy()
        for _ in range(int(rng.integers(1, 4))):
            side = int(rng.integers(60, 160))
            face = Image.fromarray(read_image(faces[int(rng.integers(len(faces)))])).resize(
                (side, side), Image.BILINEAR
            )
            x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
            scene[y : y + side, x : x + side] = np.asarray(face)
        paths.append(folder / f"photo{number:04d}.jpg")
        Image.fromarray(scene).save(paths[-1], quality=90)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="datasets folder holding UTKFace/")
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--model", default="utkface_multitask")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=2, help="timed rounds of each; the fastest counts")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    faces = datasets.load("utkface", args.data_dir, split="test").paths
    model = facezoo.create_model(args.model, pretrained=True)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "warm").mkdir()
        warm = write_photos(Path(tmp) / "warm", 8, faces, rng)
        photos = write_photos(Path(tmp), args.photos, faces, rng)
        analyze(warm, [model], batch_size=args.batch_size)  # MTCNN's and the model's first calls trace graphs

        detector_seconds = analyze_seconds = overhead = float("inf")
        for _ in range(args.repeats):  # alternate, and keep the fastest: other jobs share the machine
            started = time.perf_counter()
            detected = sum(len(detect_faces(path)) for path in photos)
            detector_seconds = min(detector_seconds, time.perf_counter() - started)

            inside = []  # the detector's own time inside analyze: the rest is reading, alignment and the model

            def timed(pixels: np.ndarray, inside: list[float] = inside) -> list[dict]:
                started = time.perf_counter()
                found = mtcnn_detector(pixels)
                inside.append(time.perf_counter() - started)
                return found

            started = time.perf_counter()
            analysed = len(analyze(photos, [model], batch_size=args.batch_size, detector=timed))
            seconds = time.perf_counter() - started
            analyze_seconds = min(analyze_seconds, seconds)
            overhead = min(overhead, (seconds - sum(inside)) / sum(inside))
    print(
        json.dumps(
            {
                "photos": args.photos,
                "repeats": args.repeats,
                "model": args.model,
                "faces": analysed,
                "detector_faces": detected,
                "detector_faces_per_s": round(detected / detector_seconds, 1),
                "analyze_faces_per_s": round(analysed / analyze_seconds, 1),
                "analyze_over_detector": round(analyze_seconds / detector_seconds, 3),
                "overhead_over_detector_within_analyze": round(overhead, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
