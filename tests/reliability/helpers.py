"""Tiny files for the hostile-input tests."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def jpeg(seed: int = 0, size: tuple[int, int] = (8, 8)) -> bytes:
    """A tiny random JPEG."""
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


def utk_names(n: int) -> list[str]:
    """``n`` UTKFace file names (``[age]_[gender]_[race]_[datetime].jpg.chip.jpg``)."""
    return [f"{20 + i}_{i % 2}_{i % 5}_2017011{i:07d}.jpg.chip.jpg" for i in range(n)]
