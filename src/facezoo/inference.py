"""Batched prediction with decoded outputs: the zoo's main job."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence, Union

import numpy as np

from facezoo.registry import OutputSpec, create_model, model_info

if TYPE_CHECKING:
    import keras
    from PIL import Image

    ImageInput = Union[str, os.PathLike, "Image.Image", np.ndarray]

__all__ = ["IMAGE_SUFFIXES", "load_image", "expand_image_paths", "predict"]

#: File suffixes :func:`expand_image_paths` takes from a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def load_image(image: ImageInput, size: tuple[int, int]) -> np.ndarray:
    """Return ``image`` as RGB float32 ``(height, width, 3)`` in [0, 255], resized (bilinear) to ``size``.

    Accepts a path, a PIL image, or an array (``HxW`` grayscale, ``HxWx1``, ``HxWx3`` RGB or ``HxWx4`` RGBA;
    uint8, or floats in [0, 255]). Grayscale, palette, CMYK and RGBA images are converted to RGB (alpha dropped).

    Raises:
        ValueError: the file is not a readable image (naming it), or the array has an unsupported shape.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (str, os.PathLike)):
        try:
            with Image.open(image) as opened:
                opened.load()
                pil = opened.convert("RGB")
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise ValueError(f"Cannot read {os.fspath(image)!r} as an image ({error}); is it a truncated or non-image file?") from error
    elif isinstance(image, Image.Image):
        pil = image.convert("RGB")
    else:
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[-1] == 1:
            array = array[..., 0]
        if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
            raise ValueError(f"An image array must be HxW, HxWx1, HxWx3 or HxWx4; got shape {array.shape}.")
        array = array[..., :3] if array.ndim == 3 else np.repeat(array[..., None], 3, axis=-1)
        pil = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    height, width = size
    if pil.size != (width, height):
        pil = pil.resize((width, height), Image.BILINEAR)
    return np.asarray(pil, dtype=np.float32)


def expand_image_paths(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """Expand folders into their image files (sorted, by :data:`IMAGE_SUFFIXES`); keep files as given."""
    expanded: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            expanded.extend(sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        elif path.exists():
            expanded.append(path)
        else:
            raise FileNotFoundError(f"No such image file or folder: {os.fspath(path)!r}")
    return expanded


def predict(
    model_or_name: keras.Model | str, images: ImageInput | Sequence[ImageInput], *, batch_size: int = 32
) -> list[dict[str, Any]]:
    """Predict on images and decode every output.

    Images are decoded and resized on worker threads while the model runs, a batch at a time.

    Args:
        model_or_name: A facezoo model, or a registered name (loaded with its default pretrained weights).
        images: One image or a sequence: paths, PIL images or arrays (see :func:`load_image`).
        batch_size: Images per forward pass.

    Returns:
        One dict per image: ``"image"`` (the path, or the index for in-memory images) and per output head either
        ``{"score": float}`` (regression) or ``{"label": str, "probability": float, "probabilities": {label: p}}``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    model = create_model(model_or_name, pretrained=True) if isinstance(model_or_name, str) else model_or_name
    items = [images] if _is_single_image(images) else list(images)
    size = tuple(model.input_shape[1:3])
    specs = _output_specs(model)
    results: list[dict[str, Any]] = []
    for start, batch in _batches(items, size, batch_size):
        count = len(batch)
        if count < batch_size < len(items):
            # A last, smaller batch would make TensorFlow trace the model again for its shape: pad it instead.
            batch = np.concatenate([batch, np.zeros((batch_size - count, *batch.shape[1:]), batch.dtype)])
        raw = model.predict_on_batch(batch)
        outputs = raw if isinstance(raw, dict) else {specs[0].name: raw}
        for offset in range(count):
            item = items[start + offset]
            result: dict[str, Any] = {"image": os.fspath(item) if isinstance(item, (str, os.PathLike)) else start + offset}
            for spec in specs:
                result[spec.name] = decode_output(spec, np.asarray(outputs[spec.name])[offset])
            results.append(result)
    return results


def decode_output(spec: OutputSpec, values: np.ndarray) -> dict[str, Any]:
    """Decode one image's raw output ``values`` for ``spec`` into a score or a label with probabilities."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if spec.kind == "regression":
        return {"score": float(values[0])}
    probabilities = np.array([1.0 - values[0], values[0]]) if spec.kind == "binary" else values
    best = int(np.argmax(probabilities))
    return {
        "label": spec.labels[best],
        "probability": float(probabilities[best]),
        "probabilities": {label: float(p) for label, p in zip(spec.labels, probabilities)},
    }


def _is_single_image(images: Any) -> bool:
    from PIL import Image

    return isinstance(images, (str, os.PathLike, Image.Image)) or (isinstance(images, np.ndarray) and images.ndim <= 3)


def _output_specs(model: keras.Model) -> tuple[OutputSpec, ...]:
    """The registry's output specs, with generic labels where the model's config changed an output's width."""
    try:
        specs = model_info(model.name).outputs
    except ValueError:
        specs = ()
    outputs = model.output if isinstance(model.output, dict) else {specs[0].name if specs else "output": model.output}
    by_name = {spec.name: spec for spec in specs}
    decoded = []
    for name, tensor in outputs.items():
        width = int(tensor.shape[-1])
        spec = by_name.get(name)
        if spec is None or spec.width != width:
            spec = OutputSpec(name, "regression") if width == 1 else OutputSpec(name, "classification", tuple(map(str, range(width))))
        decoded.append(spec)
    return tuple(decoded)


def _batches(items: list, size: tuple[int, int], batch_size: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start index, float32 batch)``, decoding the next batch on threads while the caller predicts."""
    starts = range(0, len(items), batch_size)
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 1)) as pool:

        def submit(start: int):
            return [pool.submit(load_image, item, size) for item in items[start : start + batch_size]]

        pending = submit(starts[0]) if starts else []
        for index, start in enumerate(starts):
            current = pending
            if index + 1 < len(starts):
                pending = submit(starts[index + 1])
            yield start, np.stack([future.result() for future in current])
