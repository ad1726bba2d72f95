"""Does ``facezoo.analyze`` find and read faces in photos as the model reads the dataset's own crops? (issue 11)

Builds scenes from real UTKFace test-split crops: each crop is scaled to a random size and pasted at a random place
into a larger synthetic background (smooth colour gradients, blurred noise, random rectangles, ellipses and lines:
nothing face-like). ``analyze`` with ``utkface_multitask`` then runs on the scenes, and its answer on each found face
is compared with ``facezoo.predict`` on the original crop. Reported: the share of faces found, gender agreement and
the median absolute age difference, for the aligned crops (``analyze``'s default) and, as a baseline, for the
detector's box enlarged by 20 % (``align=False``); plus detections in empty backgrounds.

    python benchmarks/analyze_accuracy.py --data-dir ../shared/data --scenes 300
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

import facezoo
from facezoo import datasets
from facezoo.faces import analyze, box_crop, detect_faces
from facezoo.inference import read_image


def background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A face-free scene: a colour gradient, blurred noise at two scales, random shapes and lines."""
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    corners = rng.uniform(0, 255, (3, 3))
    pixels = (
        corners[0] + np.multiply.outer(x, corners[1] - corners[0]) + np.multiply.outer(y, corners[2] - corners[0]) / 2
    )
    for cells, amplitude in ((8, 40), (48, 15)):
        noise = rng.normal(0, amplitude, (cells, cells, 3)).astype(np.float32)
        channels = [Image.fromarray(noise[..., c]).resize((width, height), Image.BICUBIC) for c in range(3)]
        pixels = pixels + np.stack([np.asarray(channel) for channel in channels], -1)
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(rng.integers(3, 12)):
        x0, y0 = rng.integers(0, width), rng.integers(0, height)
        x1, y1 = x0 + rng.integers(10, width // 3), y0 + rng.integers(10, height // 3)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        shape = rng.integers(3)
        if shape == 0:
            draw.rectangle([x0, y0, x1, y1], fill=colour)
        elif shape == 1:
            draw.ellipse([x0, y0, x1, y1], outline=colour, width=int(rng.integers(1, 6)))
        else:
            draw.line([x0, y0, x1, y1], fill=colour, width=int(rng.integers(1, 8)))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(1.0)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="datasets folder holding UTKFace/")
    parser.add_argument("--scenes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", default="utkface_multitask")
    parser.add_argument("--chunk", type=int, default=50, help="scenes held in memory at once")
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    test = datasets.load("utkface", args.data_dir, split="test")
    chosen = rng.choice(len(test), size=args.scenes, replace=False)
    model = facezoo.create_model(args.model, pretrained=True)
    size = tuple(model.input_shape[1:3])
    reference = facezoo.predict(model, [test.paths[i] for i in chosen])

    found, aligned, boxed, empty, empty_detections = [], [], [], 0, 0
    started = time.perf_counter()
    for start in range(0, args.scenes, args.chunk):
        scenes, places = [], []
        for index in chosen[start : start + args.chunk]:
            height, width = int(rng.integers(360, 600)), int(rng.integers(480, 800))
            scene = background(rng, height, width)
            side = int(rng.integers(60, min(height, width) // 2))
            face = np.asarray(Image.fromarray(read_image(test.paths[index])).resize((side, side), Image.BILINEAR))
            x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
            scene = scene.copy()
            scene[y : y + side, x : x + side] = face
            scenes.append(scene)
            places.append((x, y, side))
        faces = analyze(scenes, [model], min_confidence=0.9)
        for number, (scene, (x, y, side)) in enumerate(zip(scenes, places)):
            inside = [
                f
                for f in faces
                if f["image"] == number
                and x <= f["box"][0] + f["box"][2] / 2 <= x + side
                and y <= f["box"][1] + f["box"][3] / 2 <= y + side
            ]
            found.append(bool(inside))
            if inside:
                best = max(inside, key=lambda f: f["confidence"])
                aligned.append(best["predictions"][model.name])
                boxed.append(box_crop(scene, best, size))
            else:
                aligned.append(None)
                boxed.append(None)
        for _ in range(len(scenes) // 5):
            empty += 1
            empty_detections += len(detect_faces(background(rng, 480, 640)))
    elapsed = time.perf_counter() - started
    box_predictions = iter(facezoo.predict(model, [crop for crop in boxed if crop is not None]))
    boxed_results = [next(box_predictions) if crop is not None else None for crop in boxed]

    def agreement(results: list) -> dict[str, float]:
        pairs = [(ref, got) for ref, got in zip(reference, results) if got is not None]
        gender = np.mean([ref["gender"]["label"] == got["gender"]["label"] for ref, got in pairs])
        age = np.median([abs(ref["age"]["score"] - got["age"]["score"]) for ref, got in pairs])
        return {"gender_agreement": round(float(gender), 4), "median_age_difference": round(float(age), 2)}

    report = {
        "scenes": args.scenes,
        "seed": args.seed,
        "model": args.model,
        "input_size": list(size),
        "detection_rate": round(float(np.mean(found)), 4),
        "aligned": agreement(aligned),
        "detector_box_enlarged_20pct": agreement(boxed_results),
        "empty_backgrounds": empty,
        "detections_in_empty_backgrounds": empty_detections,
        "seconds": round(elapsed, 1),
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
