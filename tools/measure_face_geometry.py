"""Measure where the five face landmarks sit in each face dataset's training crops; write face_geometry.json.

For every dataset, a seeded sample of its training split is read, each crop is padded by half its size on every
side (MTCNN misses faces that touch the border) and run through MTCNN; the landmarks of the face nearest the crop's
centre are normalised by the crop's width and height. The mean, the standard deviation, the mean crop aspect and
the detection rate are written to ``src/facezoo/face_geometry.json``, which ``facezoo.faces.face_geometry`` reads,
and as a table to ``docs/snippets/face_geometry.md``.
A union (``--union faces=a,b``) pools the detections of its datasets.

    python tools/measure_face_geometry.py --data-dir ../shared/data --count 300
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np

from facezoo import datasets
from facezoo.faces import LANDMARKS, mtcnn_detector
from facezoo.inference import read_image

FACE_DATASETS = ("celeba", "imfdb_age", "scut_fbp5500", "utkface")
ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "src" / "facezoo" / "face_geometry.json"
TABLE = ROOT / "docs" / "snippets" / "face_geometry.md"


def measure(path: str) -> tuple[np.ndarray | None, float]:
    """``((5, 2) normalised landmarks or None, width / height)`` of one crop."""
    pixels = read_image(path)
    height, width = pixels.shape[:2]
    pad_y, pad_x = height // 2, width // 2
    padded = np.pad(pixels, ((pad_y, pad_y), (pad_x, pad_x), (0, 0)), constant_values=127)
    faces = [f for f in mtcnn_detector(padded) if f["confidence"] >= 0.9]
    if not faces:
        return None, width / height

    def distance(face: dict) -> float:
        x, y, w, h = face["box"]
        return float(np.hypot(x + w / 2 - pad_x - width / 2, y + h / 2 - pad_y - height / 2))

    face = min(faces, key=distance)
    points = np.array([face["landmarks"][name] for name in LANDMARKS]) - [pad_x, pad_y]
    return points / [width, height], width / height


def summarise(points: list[np.ndarray], aspects: list[float], sampled: int, names: list[str]) -> dict:
    stacked = np.stack(points)
    mean, spread = stacked.mean(0), stacked.std(0)
    return {
        "datasets": names,
        "landmarks": {name: [round(float(v), 4) for v in mean[i]] for i, name in enumerate(LANDMARKS)},
        "spread": {name: [round(float(v), 4) for v in spread[i]] for i, name in enumerate(LANDMARKS)},
        "aspect": round(float(np.mean(aspects)), 4),
        "count": len(points),
        "sampled": sampled,
        "detection_rate": round(len(points) / sampled, 4),
    }


def dumps(document: dict) -> str:
    """JSON with one line per list of numbers or names."""
    text = json.dumps(document, indent=1)
    return (
        re.sub(
            r"\[\s+([^\[\]{}]+?)\s+\]", lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text
        )
        + "\n"
    )


def write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def markdown(document: dict) -> str:
    """The docs' table of the geometries (generated: never edit it by hand)."""
    lines = [
        "| dataset | crops measured / sampled | crop width / height | " + " | ".join(LANDMARKS) + " |",
        "|---|---|---|" + "---|" * len(LANDMARKS),
    ]
    for name, entry in document["geometries"].items():
        cells = [
            f"({x:.3f}, {y:.3f}) ± ({sx:.3f}, {sy:.3f})"
            for (x, y), (sx, sy) in ((entry["landmarks"][n], entry["spread"][n]) for n in LANDMARKS)
        ]
        label = f"`{name}` (union of {', '.join(entry['datasets'])})" if len(entry["datasets"]) > 1 else f"`{name}`"
        lines.append(
            f"| {label} | {entry['count']} / {entry['sampled']} | {entry['aspect']:.3f} | " + " | ".join(cells) + " |"
        )
    return (
        "\n".join(lines)
        + f"\n\nMeasured with {document['detector']} on the {document['split']} split: `{document['command']}`\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="datasets folder holding each dataset's folder")
    parser.add_argument("--count", type=int, default=300, help="training images sampled per dataset")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default=",".join(FACE_DATASETS))
    parser.add_argument(
        "--union",
        action="append",
        default=["faces=" + ",".join(FACE_DATASETS)],
        metavar="NAME=A,B",
        help="also write a geometry pooling these datasets (repeatable)",
    )
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--table", type=Path, default=TABLE, help="the docs' markdown table of the result")
    parser.add_argument("--table-only", action="store_true", help="only rewrite the table from --output")
    args = parser.parse_args(argv)
    if args.table_only:
        write_atomically(args.table, markdown(json.loads(args.output.read_text(encoding="utf-8"))))
        return

    rng = np.random.default_rng(args.seed)
    measured: dict[str, tuple[list[np.ndarray], list[float], int]] = {}
    for name in args.datasets.split(","):
        train = datasets.load(name, args.data_dir, split="train")
        chosen = rng.choice(len(train), size=min(args.count, len(train)), replace=False)
        points, aspects = [], []
        for index in sorted(chosen):
            found, aspect = measure(train.paths[index])
            aspects.append(aspect)
            if found is not None:
                points.append(found)
        measured[name] = (points, aspects, len(chosen))
        print(f"{name}: {len(points)}/{len(chosen)} faces detected", file=sys.stderr)
    geometries = {name: summarise(*values, [name]) for name, values in measured.items()}
    for union in args.union:
        name, _, members = union.partition("=")
        parts = [measured[m] for m in members.split(",")]
        geometries[name] = summarise(
            [p for part in parts for p in part[0]],
            [a for part in parts for a in part[1]],
            sum(p[2] for p in parts),
            members.split(","),
        )
    command = "python tools/measure_face_geometry.py " + " ".join(
        map(shlex.quote, argv if argv is not None else sys.argv[1:])
    )
    document = {
        "command": command,
        "detector": f"mtcnn {version('mtcnn')}",
        "split": "train",
        "geometries": dict(sorted(geometries.items())),
    }
    write_atomically(args.output, dumps(document))
    write_atomically(args.table, markdown(document))
    print(dumps(document), end="")


if __name__ == "__main__":
    main()
