"""Faces in photos: detect every face, align it the way a model's training crops were aligned, analyse it.

```python
import facezoo

facezoo.detect_faces("group.jpg")          # [{"box": [x, y, w, h], "confidence": 0.99, "landmarks": {...}}, ...]
facezoo.analyze(["group.jpg"])             # one dict per face, with every embedded-weights model's predictions
```

Each model's face geometry (where the five landmarks sit in its training crops) is measured from its dataset's
own training images by ``tools/measure_face_geometry.py`` and shipped in ``face_geometry.json``; see
:func:`face_geometry`. The detector is MTCNN (the ``mtcnn`` package), imported on first use.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, Union, cast

import numpy as np

from facezoo._registry import list_models, model_info, parse_source, resolve_weights
from facezoo.factory import create_model
from facezoo.geometry import LANDMARKS, FaceGeometry, face_geometry
from facezoo.inference import describe_image_error, image_label, is_single_image, predict, read_image
from facezoo.specs import ModelInfo, WeightsInfo

if TYPE_CHECKING:
    import keras
    from PIL import Image

    from facezoo.inference import ImageInput

    ModelInput = Union[str, "keras.Model"]
    Detector = Callable[[np.ndarray], list[dict[str, Any]]]

__all__ = ["LANDMARKS", "FaceGeometry", "face_geometry", "detect_faces", "align_face", "analyze", "annotate"]

logger = logging.getLogger("facezoo")


@functools.cache
def _mtcnn() -> Any:
    try:
        from mtcnn import MTCNN
    except ImportError as error:
        raise ImportError("Face detection needs the mtcnn package: pip install 'mtcnn>=1.0,<2'.") from error
    return MTCNN()


def mtcnn_detector(pixels: np.ndarray, min_size: int = 20) -> list[dict[str, Any]]:
    """Detect faces in an RGB uint8 array with MTCNN; dicts as :func:`detect_faces` returns (unsorted, unfiltered)."""
    if min(pixels.shape[:2]) < 12:  # below MTCNN's smallest window
        return []
    # mtcnn 1.0 sizes its pyramid as if min_face_size were 20: a larger value drops big faces, so filter after.
    found = _mtcnn().detect_faces(pixels, min_face_size=min(min_size, 20))
    return [
        {
            "box": [int(v) for v in face["box"]],
            "confidence": float(face["confidence"]),
            "landmarks": {
                name: (float(face["keypoints"][name][0]), float(face["keypoints"][name][1])) for name in LANDMARKS
            },
        }
        for face in found
    ]


def detect_faces(
    image: ImageInput, *, min_confidence: float = 0.9, min_size: int = 20, detector: Detector | None = None
) -> list[dict[str, Any]]:
    """Find the faces in a photo.

    Args:
        image: A path, a PIL image or an RGB array (see :func:`facezoo.inference.read_image`); EXIF orientation is
            applied first.
        min_confidence: Drop detections below this confidence.
        min_size: Drop faces whose box is smaller than this (pixels, shorter side).
        detector: Any callable taking an RGB uint8 array and returning dicts like these; default MTCNN.

    Returns:
        One dict per face, largest first: ``{"box": [x, y, w, h], "confidence": float, "landmarks": {"left_eye":
        (x, y), "right_eye": ..., "nose": ..., "mouth_left": ..., "mouth_right": ...}}`` in the image's pixels.
    """
    pixels = read_image(image)
    found = detector(pixels) if detector is not None else mtcnn_detector(pixels, min_size)
    faces = [f for f in found if f["confidence"] >= min_confidence and min(f["box"][2:]) >= min_size]
    return sorted(faces, key=lambda f: -f["box"][2] * f["box"][3])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """The 2x3 similarity (rotation, uniform scale, translation) mapping ``source`` points onto ``target`` points
    with the least squared error (Umeyama, 1991)."""
    source, target = np.asarray(source, np.float64), np.asarray(target, np.float64)
    mean_s, mean_t = source.mean(0), target.mean(0)
    centred_s, centred_t = source - mean_s, target - mean_t
    u, sigma, vt = np.linalg.svd(centred_t.T @ centred_s / len(source))
    d = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt)) or 1.0])
    rotation = u @ d @ vt
    scale = np.trace(np.diag(sigma) @ d) / centred_s.var(0).sum()
    return np.hstack([scale * rotation, (mean_t - scale * rotation @ mean_s)[:, None]])


def warp_affine(pixels: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp an RGB uint8 image by a 2x3 affine ``matrix`` (image -> output pixels) into ``size`` (height, width),
    bilinear; the image is first box-reduced when the warp shrinks it by 2x or more, to avoid aliasing."""
    from PIL import Image

    height, width = size
    forward = np.vstack([matrix, [0.0, 0.0, 1.0]])
    pil = Image.fromarray(pixels)
    shrink = int(1.0 / np.sqrt(abs(np.linalg.det(forward[:2, :2]))))
    if shrink >= 2:
        corners = np.linalg.inv(forward) @ np.array([[0, width, 0, width], [0, 0, height, height], [1, 1, 1, 1]])
        left, top = (max(0, int(np.floor(v)) - shrink) for v in corners[:2].min(1))
        right, bottom = (
            min(pil.width, int(np.ceil(corners[0].max())) + shrink),
            min(pil.height, int(np.ceil(corners[1].max())) + shrink),
        )
        if right > left and bottom > top:
            pil = pil.reduce(shrink, box=(left, top, right, bottom))
            forward = forward @ np.array([[shrink, 0, left], [0, shrink, top], [0, 0, 1.0]])
    inverse = np.linalg.inv(forward)
    warped = pil.transform(
        (width, height), Image.Transform.AFFINE, tuple(inverse[:2].ravel()), Image.Resampling.BILINEAR
    )
    return np.asarray(warped)


def alignment_matrix(
    landmarks: Mapping[str, Sequence[float]], geometry: FaceGeometry, size: tuple[int, int]
) -> np.ndarray:
    """The 2x3 affine taking a photo's pixels to a ``size`` (height, width) model input: a similarity onto the
    geometry's landmarks in a crop of the dataset's aspect, then the crop resized to ``size`` as in training."""
    height, width = size
    source = np.array([landmarks[name] for name in LANDMARKS], dtype=np.float64)
    crop_width = geometry.aspect * height  # the training crop, scaled to the model's height
    similarity = similarity_transform(source, geometry.points * [crop_width, height])
    return np.diag([width / crop_width, 1.0]) @ similarity


def align_face(image: ImageInput, face: Mapping[str, Any], model: ModelInput | ModelInfo) -> np.ndarray:
    """The face aligned as the model's training crops were, at the model's input size.

    Args:
        image: The photo the face was detected in (path, PIL image or array).
        face: A dict from :func:`detect_faces` (only ``"landmarks"`` is used).
        model: A model, a registered name (``NAME`` or ``NAME.TAG``) or a :class:`~facezoo.ModelInfo`.

    Returns:
        RGB uint8 ``(height, width, 3)``.

    Raises:
        ValueError: the model's dataset is not made of face crops (no face geometry).
    """
    geometry, size = _geometry_and_size(model)
    return warp_affine(read_image(image), alignment_matrix(face["landmarks"], geometry, size), size)


def box_crop(pixels: np.ndarray, face: Mapping[str, Any], size: tuple[int, int], margin: float = 0.2) -> np.ndarray:
    """The detector's box enlarged by ``margin`` of its size on every side, resized to ``size``."""
    x, y, w, h = face["box"]
    scale_x, scale_y = size[1] / (w * (1 + 2 * margin)), size[0] / (h * (1 + 2 * margin))
    matrix = np.array([[scale_x, 0.0, -(x - margin * w) * scale_x], [0.0, scale_y, -(y - margin * h) * scale_y]])
    return warp_affine(pixels, matrix, size)


def _architecture(model: ModelInput | ModelInfo) -> tuple[str, tuple[int, int]]:
    """The registered name behind ``model`` and the input size (height, width) it runs at."""
    if isinstance(model, ModelInfo):
        name, shape = model.name, model.input_shape
    elif isinstance(model, str):
        source = parse_source(model)
        if source.kind != "registered":  # a saved model: its facezoo.json is read when it is loaded
            return _architecture(create_model(model))
        assert source.name is not None
        name, info = source.name, model_info(source.name)
        weights = info.weights.get(source.tag) if source.tag else info.default_weights
        shape = (weights.config.get("input_shape") if weights else None) or info.input_shape
    else:
        name, shape = getattr(model, "_facezoo_architecture", model.name), model.input_shape[1:]
    return name, (int(shape[0]), int(shape[1]))


def _geometry_and_size(model: ModelInput | ModelInfo) -> tuple[FaceGeometry, tuple[int, int]]:
    name, size = _architecture(model)
    info = model_info(name)
    geometry = info.face_geometry
    if geometry is None:
        raise ValueError(
            f"{name} was trained on {info.dataset}, whose images are not face crops, so faces cannot be aligned for "
            "it; use facezoo.predict on whole images, or analyze(..., align=False) for detector-box crops."
        )
    return geometry, size


def _model_key(model: ModelInput) -> str:
    return model if isinstance(model, str) else model.name


def _default_models() -> list[str]:
    """One task model per family with embedded weights whose dataset is made of face crops (not the face backbone,
    whose pretraining heads the task models fine-tuned from it answer better): of a family's models measured on the
    same test split, the one with the best first metric (e.g. ``age_mobilenet_v2`` over ``age_cnn``)."""
    best: dict[str, str] = {}
    for name in list_models(pretrained=True):
        info = model_info(name)
        weights = info.default_weights
        if not (weights and weights.embedded and info.face_geometry is not None and info.family != "face_backbone"):
            continue
        rival = best.get(info.family)
        if rival is None or _measured_better(weights, model_info(rival).default_weights):
            best[info.family] = name
    return sorted(best.values())


def _measured_better(weights: WeightsInfo, rival: WeightsInfo | None) -> bool:
    """Whether ``weights`` beat ``rival`` on the first metric of the same dataset split (MAE / RMSE: lower)."""
    if rival is None or (weights.dataset, weights.split) != (rival.dataset, rival.split) or not weights.metrics:
        return False
    metric = next(iter(weights.metrics))
    if metric not in rival.metrics:
        return False
    lower_is_better = metric.rpartition("/")[2] in ("mae", "rmse")
    ours, theirs = weights.metrics[metric], rival.metrics[metric]
    return ours < theirs if lower_is_better else ours > theirs


def analyze(
    images: ImageInput | Sequence[ImageInput],
    models: Sequence[ModelInput] | ModelInput | None = None,
    *,
    detector: Detector | None = None,
    align: bool = True,
    batch_size: int = 32,
    min_confidence: float = 0.9,
    min_size: int = 20,
    on_error: str = "raise",
    flip: bool = False,
) -> list[dict[str, Any]]:
    """Detect every face in every image, align it for each model and predict: deepface's ``analyze`` for facezoo.

    Args:
        images: One image or a sequence: paths, PIL images or arrays (see :func:`facezoo.inference.read_image`).
        models: Model objects or any source :func:`facezoo.create_model` takes (``NAME``, ``NAME.TAG``, ``hf://...``,
            a folder); ``None``: per family, the best task model with embedded weights trained on face crops (the
            face backbone only when named).
        detector: A callable as in :func:`detect_faces`; default MTCNN.
        align: Map the five landmarks onto each model's :class:`FaceGeometry` (similarity transform); ``False``
            crops the detector's box enlarged by 20 % instead (less accurate; needs no geometry).
        batch_size: Faces per forward pass; crops of all faces are batched per model.
        min_confidence: Drop detections below this confidence.
        min_size: Drop faces smaller than this (pixels).
        on_error: ``"raise"`` (default) on a file that is not a readable image, or ``"skip"`` it with a warning
            naming it.
        flip: Average each model's predictions over the aligned face and its mirror image.

    Returns:
        One dict per face over all images, in input order, largest face first within an image: ``"image"`` (the
        path, or the index of an in-memory image), ``"face"`` (index in its image), ``"box"``, ``"confidence"``,
        ``"landmarks"`` (as :func:`detect_faces`) and ``"predictions"``: model name -> the per-head dict
        :func:`facezoo.predict` returns. An image without a face gives no entry (and a log line).

    Raises:
        ValueError: a file is not an image (with ``on_error="raise"``), or a model's dataset is not face crops.
    """
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if models is None:
        models = _default_models()
    elif isinstance(models, str) or not isinstance(models, Sequence):
        models = [models]
    plans = []
    for model in models:
        key = _model_key(model)
        source = parse_source(model) if isinstance(model, str) else None
        if source is not None and source.kind != "registered":  # a saved model carries its own weights: load it now
            model = create_model(model)
        geometry, size = _geometry_and_size(model) if align else (None, _architecture(model)[1])
        if source is not None and source.kind == "registered":  # fail before any detection on missing weights
            assert source.name is not None
            resolve_weights(source.name, source.tag or True)
        plans.append((key, model, geometry, size))
    loaded: dict[str, keras.Model] = {}
    items: list[ImageInput] = [images] if is_single_image(images) else list(cast("Sequence[ImageInput]", images))
    results: list[dict[str, Any]] = []
    pending: list[tuple[dict[str, Any], dict[str, np.ndarray]]] = []

    def flush(count: int) -> None:
        """Predict on the first ``count`` pending faces with every model."""
        done = pending[:count]
        for key, model, _, _ in plans:
            if key not in loaded:
                loaded[key] = create_model(model, pretrained=True) if isinstance(model, str) else model
            batch = [crops[key] for _, crops in done]
            # Whole batches only: each new batch shape would make TensorFlow trace the model again.
            batch += [np.zeros_like(batch[0])] * (-len(batch) % batch_size)
            predictions = predict(loaded[key], batch, batch_size=batch_size, flip=flip)
            for (entry, _), prediction in zip(done, predictions):
                entry["predictions"][key] = {head: value for head, value in prediction.items() if head != "image"}
        del pending[:count]

    for index, item in enumerate(items):
        label = image_label(item, index)
        try:
            pixels = read_image(item)
        except ValueError as error:
            if on_error == "raise":
                raise
            logger.warning("Skipping: %s", describe_image_error(error, item, index))
            continue
        faces = detect_faces(pixels, min_confidence=min_confidence, min_size=min_size, detector=detector)
        if not faces:
            logger.warning("No face found in %s", label)
        for number, face in enumerate(faces):
            crops = {
                key: warp_affine(pixels, alignment_matrix(face["landmarks"], geometry, size), size)
                if geometry is not None
                else box_crop(pixels, face, size)
                for key, _, geometry, size in plans
            }
            entry = {"image": label, "face": number, **face, "predictions": {}}
            results.append(entry)
            pending.append((entry, crops))
        if len(pending) >= 4 * batch_size:
            flush(len(pending) - len(pending) % batch_size)
    if pending:
        flush(len(pending))
    return results


def annotate(image: ImageInput, faces: Sequence[Mapping[str, Any]]) -> Image.Image:
    """Draw each face's box, landmarks and a short label (from its ``"predictions"``, if any) on the image;
    images under 512 pixels are enlarged first so that the labels stay legible."""
    from PIL import Image, ImageDraw, ImageFont

    pil = Image.fromarray(read_image(image))
    zoom = max(1, -(-512 // max(pil.size)))
    pil = pil.resize((pil.width * zoom, pil.height * zoom), Image.Resampling.LANCZOS) if zoom > 1 else pil
    draw = ImageDraw.Draw(pil)
    line = max(2, round(min(pil.size) / 250))
    font = ImageFont.load_default(size=max(12, round(min(pil.size) / 40)))
    for number, face in enumerate(faces):
        x, y, w, h = (v * zoom for v in face["box"])
        draw.rectangle([x, y, x + w, y + h], outline=(0, 255, 0), width=line)
        for px, py in face["landmarks"].values():
            draw.ellipse([px * zoom - line, py * zoom - line, px * zoom + line, py * zoom + line], fill=(255, 64, 64))
        text = "\n".join([f"#{face.get('face', number)}"] + short_labels(face.get("predictions", {})))
        left, top, right, bottom = draw.multiline_textbbox((0, 0), text, font=font)
        origin_x = max(0, min(x, pil.width - (right - left) - 4))
        origin_y = y + h + line if y + h + line + bottom + 4 <= pil.height else max(0, y - bottom - line - 4)
        draw.rectangle(
            [origin_x + left - 2, origin_y + top - 2, origin_x + right + 2, origin_y + bottom + 2], fill=(0, 0, 0)
        )
        draw.multiline_text((origin_x, origin_y), text, fill=(255, 255, 255), font=font)
    return pil


def short_labels(predictions: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One short line per model: ``"utkface_multitask: age 48.7, female, Black"``."""
    lines = []
    for model, heads in predictions.items():
        parts = [
            f"{head} {value['score']:.1f}" if "score" in value else value["label"] for head, value in heads.items()
        ]
        lines.append(f"{model}: {', '.join(parts)}")
    return lines


def save_annotated(image: str | os.PathLike, faces: Sequence[Mapping[str, Any]], folder: str | os.PathLike) -> Path:
    """Write :func:`annotate`'s picture of ``image`` as ``folder/<stem>.png`` (atomically); return its path."""
    target = Path(folder) / f"{Path(image).stem}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        annotate(image, faces).save(temporary, format="PNG")
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
