"""Face geometry: where the five face landmarks sit in a dataset's crops, measured from its training images by
``tools/measure_face_geometry.py`` and shipped in ``face_geometry.json``. No TensorFlow, no other facezoo module."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np

__all__ = ["LANDMARKS", "FaceGeometry", "face_geometry"]

#: The five landmarks, in the order of :attr:`FaceGeometry.points`. ``left_eye`` is the eye on the image's left.
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class FaceGeometry:
    """Where the five landmarks sit in a dataset's face crops, as measured from its training images.

    Attributes:
        dataset: The dataset (or union of datasets) measured.
        landmarks: Landmark -> mean ``(x / width, y / height)`` in the crops.
        spread: Landmark -> standard deviation of those normalised coordinates.
        aspect: Mean crop ``width / height`` (crops are resized to the model's input, whatever its aspect).
        count: Crops in which a face was detected and measured.
        sampled: Crops tried.
        datasets: The datasets pooled (one, except for a union).
        measured_by: The detector and the command that measured it.
    """

    dataset: str
    landmarks: Mapping[str, tuple[float, float]]
    spread: Mapping[str, tuple[float, float]]
    aspect: float
    count: int
    sampled: int
    datasets: tuple[str, ...]
    measured_by: str

    @property
    def detection_rate(self) -> float:
        """Share of the sampled crops in which the detector found the face."""
        return self.count / self.sampled

    @property
    def points(self) -> np.ndarray:
        """``(5, 2)`` normalised landmark positions in :data:`LANDMARKS` order."""
        return np.array([self.landmarks[name] for name in LANDMARKS], dtype=np.float64)


@functools.cache
def _geometries() -> dict[str, Any]:
    return json.loads(resources.files("facezoo").joinpath("face_geometry.json").read_text(encoding="utf-8"))


def face_geometry(dataset: str) -> FaceGeometry | None:
    """The measured :class:`FaceGeometry` of a dataset's crops, or ``None`` if its images are not face crops."""
    entry = _geometries()["geometries"].get(dataset)
    if entry is None:
        return None
    return FaceGeometry(
        dataset=dataset,
        landmarks={name: tuple(entry["landmarks"][name]) for name in LANDMARKS},
        spread={name: tuple(entry["spread"][name]) for name in LANDMARKS},
        aspect=float(entry["aspect"]),
        count=int(entry["count"]),
        sampled=int(entry["sampled"]),
        datasets=tuple(entry["datasets"]),
        measured_by=f"{_geometries()['detector']} on the {_geometries()['split']} split: {_geometries()['command']}",
    )
