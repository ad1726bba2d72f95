"""Shared output helpers of the examples: tables as CSV + Markdown, curves, bars and captioned image grids as PNG.

Needs matplotlib (``pip install facezoo[plots]``); figures are drawn off-screen (Agg).
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from facezoo.training import Table  # noqa: E402


def save_table(table: Table, path: Path) -> None:
    """Write ``table`` as ``path.csv`` and ``path.md``."""
    table.to_csv(path.with_suffix(".csv"))
    path.with_suffix(".md").write_text(table.to_markdown() + "\n")


def _save(fig: plt.Figure, path: Path, top: float = 1.0) -> None:
    fig.tight_layout(rect=(0, 0, 1, top))
    fig.savefig(path, dpi=100)
    plt.close(fig)


def curves(
    path: Path,
    series: Mapping[str, Sequence[float]],
    *,
    xlabel: str = "epoch",
    ylabel: str,
    title: str,
    marks: Mapping[str, float] | None = None,
) -> None:
    """Overlay one line per series (x = 1, 2, ...); ``marks`` draws labelled vertical lines at those x values."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for label, values in series.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
    for label, x in (marks or {}).items():
        ax.axvline(x, color="grey", linestyle="--", label=label)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.legend(fontsize="small")
    _save(fig, path)


def bars(path: Path, values: Mapping[str, Mapping[str, float]], *, ylabel: str, title: str) -> None:
    """Grouped bars: ``values[series][category]`` (e.g. facezoo's and the write-up's accuracy per head)."""
    categories = list(dict.fromkeys(c for series in values.values() for c in series))
    width = 0.8 / max(len(values), 1)
    fig, ax = plt.subplots(figsize=(max(6, len(categories) * 0.9), 3.8))
    for i, (label, series) in enumerate(values.items()):
        x = np.arange(len(categories)) + i * width
        ax.bar(x, [series.get(c, np.nan) for c in categories], width, label=label)
    ax.set_xticks(np.arange(len(categories)) + width * (len(values) - 1) / 2, categories, rotation=30, ha="right")
    ax.set(ylabel=ylabel, title=title)
    ax.legend(fontsize="small")
    _save(fig, path)


def confusion(path: Path, matrix: np.ndarray, labels: Sequence[str], *, title: str) -> None:
    """A confusion matrix (rows true, columns predicted) with its counts."""
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.2 * len(labels) + 1.5))
    ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center")
    ticks = list(range(len(labels)))
    ax.set(xticks=ticks, yticks=ticks, xticklabels=labels, yticklabels=labels, xlabel="predicted", ylabel="true")
    ax.set_title(title)
    _save(fig, path)


def image_grid(path: Path, images: Sequence[str], captions: Sequence[str], *, title: str, columns: int = 4) -> None:
    """Images (file paths) in a grid, each with its caption above it, as the write-ups' sample figures."""
    from PIL import Image

    rows = max(1, -(-len(images) // columns))
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, 3.4 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions):
        with Image.open(image) as img:
            ax.imshow(np.asarray(img.convert("RGB")))
        ax.set_title(caption, fontsize=9)
    fig.suptitle(title)
    _save(fig, path, top=1 - 0.35 / fig.get_figheight())


def sample(n: int, k: int, seed: int = 3) -> list[int]:
    """``k`` distinct indices of ``n`` drawn with ``seed`` (all of them, in order, when ``n <= k``)."""
    return sorted(np.random.default_rng(seed).choice(n, size=min(k, n), replace=False).tolist())
