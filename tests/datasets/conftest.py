"""Fixtures of the dataset tests: tiny images, each dataset in its upstream layout, the local file server."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHARED_DATA = Path(
    os.environ.get("FACEZOO_SHARED_DATA", Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
)


def jpeg_bytes(seed: int = 0, size: tuple[int, int] = (8, 8), mode: str = "RGB", fmt: str = "JPEG") -> bytes:
    """A tiny random image encoded as ``fmt``."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buffer, fmt)
    return buffer.getvalue()


def write_image(path: Path, seed: int = 0, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(jpeg_bytes(seed, **kwargs))
    return path


def make_utkface(root: Path, n: int = 20) -> Path:
    folder = root / "UTKFace"
    for i in range(n):
        write_image(folder / f"{20 + i}_{i % 2}_{i % 5}_2017011{i:07d}.jpg.chip.jpg", i)
    write_image(folder / "61_1_20170109142408075.jpg.chip.jpg")  # a field missing, as upstream
    return folder


def make_selfie(root: Path, n: int = 20) -> Path:
    folder = root / "Selfie-dataset"
    rng = np.random.default_rng(0)
    lines = []
    for i in range(n):
        write_image(folder / "images" / f"img_{i}.jpg", i)
        attributes = rng.choice([-1, 0, 1], 36)
        lines.append(f"img_{i} {i / 10:.4f} " + " ".join(map(str, attributes)))
    (folder / "selfie_dataset.txt").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"no shared data at {SHARED_DATA} (set FACEZOO_SHARED_DATA)")
    return SHARED_DATA.resolve()


@pytest.fixture
def file_server():
    from _http_server import FileServer

    with FileServer() as server:
        yield server
