"""Batched prediction with decoded outputs: the zoo's main job."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Sequence, TypeGuard, Union, cast

import numpy as np

from facezoo._deprecation import renamed_arguments
from facezoo._outputs import output_specs
from facezoo.factory import load_model
from facezoo.specs import OutputSpec

if TYPE_CHECKING:
    import keras
    from PIL import Image

    ImageInput = Union[str, os.PathLike, "Image.Image", np.ndarray]

__all__ = [
    "IMAGE_SUFFIXES",
    "read_image",
    "load_image",
    "expand_image_paths",
    "predict",
    "forward",
    "decode_output",
    "output_specs",
    "is_single_image",
    "image_label",
    "describe_image_error",
]

logger = logging.getLogger("facezoo")

#: File suffixes :func:`expand_image_paths` takes from a folder.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def read_image(image: ImageInput) -> np.ndarray:
    """Decode ``image`` as an image viewer shows it: RGB uint8 ``(height, width, 3)`` at its own size.

    Accepts a path, a PIL image, or an array (``HxW`` grayscale, ``HxWx1``, ``HxWx3`` RGB or ``HxWx4`` RGBA;
    uint8, uint16 (scaled by 1/257), or floats in [0, 255]). EXIF orientation is applied. Grayscale, palette, CMYK
    and alpha images become RGB (alpha dropped); 16-bit images are scaled to 8 bits, 32-bit float images are read
    as values in [0, 1] (the TIFF convention), 32-bit integer images as 16-bit values.

    Raises:
        ValueError: the file is not a readable image, or has more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``
            (a decompression bomb), naming the file; or the array has an unsupported shape.
    """
    from PIL import Image, UnidentifiedImageError

    if isinstance(image, (str, os.PathLike)):
        name = os.fspath(image)
        try:
            with Image.open(image) as opened:
                limit = Image.MAX_IMAGE_PIXELS
                if limit and opened.width * opened.height > limit:
                    raise Image.DecompressionBombError(
                        f"{opened.width}x{opened.height} pixels exceed PIL.Image.MAX_IMAGE_PIXELS={limit}"
                    )
                opened.load()
                return _to_rgb(opened)
        except Image.DecompressionBombError as error:
            raise ValueError(
                f"Refusing {name!r}: {error}, a possible decompression bomb; raise PIL.Image.MAX_IMAGE_PIXELS "
                "if you trust the file."
            ) from error
        except UnidentifiedImageError as error:
            raise ValueError(
                f"Cannot read {name!r}: not an image format Pillow knows; is it a non-image file?"
            ) from error
        except (OSError, SyntaxError, ValueError) as error:
            raise ValueError(
                f"Cannot read {name!r} as an image ({error}); is it a truncated or non-image file?"
            ) from error
    if isinstance(image, Image.Image):
        return _to_rgb(image)
    array = np.asarray(image)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ValueError(f"An image array must be HxW, HxWx1, HxWx3 or HxWx4; got shape {array.shape}.")
    array = array[..., :3] if array.ndim == 3 else np.repeat(array[..., None], 3, axis=-1)
    if array.dtype == np.uint16:
        array = array / 257.0
    return np.clip(np.rint(array) if array.dtype.kind == "f" else array, 0, 255).astype(np.uint8)


def _to_rgb(pil: Image.Image) -> np.ndarray:
    """RGB uint8 pixels of a PIL image after its EXIF orientation, with high bit depths scaled to 8 bits."""
    from PIL import ImageOps

    pil = ImageOps.exif_transpose(pil)
    if pil.mode in ("F", "I") or pil.mode.startswith("I;16"):
        values = np.asarray(pil, dtype=np.float64)
        scale = 255.0 if pil.mode == "F" else 255.0 / 65535.0
        gray = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if pil.mode == "P" and "transparency" in pil.info:
        pil = pil.convert("RGBA")
    return np.asarray(pil.convert("RGB"), dtype=np.uint8)


@renamed_arguments(size="image_size")
def load_image(image: ImageInput, image_size: tuple[int, int]) -> np.ndarray:
    """Return ``image`` (see :func:`read_image`) as RGB float32 ``(height, width, 3)`` in [0, 255], resized
    (bilinear) to ``image_size`` ``(height, width)`` (formerly ``size=``, still accepted with a
    ``DeprecationWarning``)."""
    from PIL import Image

    pixels = read_image(image)
    height, width = image_size
    if pixels.shape[:2] != (height, width):
        pixels = np.asarray(Image.fromarray(pixels).resize((width, height), Image.Resampling.BILINEAR))
    return pixels.astype(np.float32)


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
    model_or_name: keras.Model | str | os.PathLike,
    images: ImageInput | Sequence[ImageInput],
    *,
    batch_size: int = 32,
    on_error: str = "raise",
    flip: bool = False,
) -> list[dict[str, Any]]:
    """Predict on whole images and decode every output.

    Images are decoded and resized on worker threads while the model runs, a batch at a time. The whole image is
    resized to the model's input: use it for images that already are aligned face crops, and
    :func:`facezoo.analyze` for photos.

    Args:
        model_or_name: A facezoo model, or any source :func:`facezoo.create_model` takes (a registered name loads
            its default pretrained weights; ``NAME.TAG``, ``hf://org/repo[@rev]``, ``org/repo`` or a local folder).
        images: One image or a sequence: paths, PIL images or arrays (see :func:`load_image`).
        batch_size: Images per forward pass.
        on_error: ``"raise"`` (default) on an input that is not a readable image, or ``"skip"`` it with a warning
            naming it (the others' results are kept).
        flip: Average each output over the image and its mirror image (test-time augmentation: twice the
            compute; each weights' card says what it gains).

    Returns:
        One dict per image: ``"image"`` (the path, or the index for in-memory images) and per output head either
        ``{"score": float}`` (regression) or ``{"label": str, "probability": float, "probabilities": {label: p}}``.
        Skipped images have no entry.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}.")
    model = load_model(model_or_name)
    items: list[ImageInput] = [images] if is_single_image(images) else list(cast("Sequence[ImageInput]", images))
    image_size = tuple(model.input_shape[1:3])
    specs = output_specs(model)
    results: list[dict[str, Any]] = []
    for indices, batch in _batches(items, image_size, batch_size, on_error):
        count = len(batch)
        if count < batch_size < len(items):
            # A last, smaller batch would make TensorFlow trace the model again for its shape: pad it instead.
            batch = np.concatenate([batch, np.zeros((batch_size - count, *batch.shape[1:]), batch.dtype)])
        outputs = forward(model, batch, specs[0].name, flip=flip)
        for offset, index in enumerate(indices):
            result: dict[str, Any] = {"image": image_label(items[index], index)}
            for spec in specs:
                result[spec.name] = decode_output(spec, np.asarray(outputs[spec.name])[offset])
            results.append(result)
    return results


def forward(model: keras.Model, batch: Any, single: str, *, flip: bool = False) -> dict[str, np.ndarray]:
    """The model's outputs on a batch of images (N, H, W, 3) by name (``single`` names a lone, unnamed output);
    ``flip`` averages them with the outputs on the horizontally mirrored batch."""
    raw = model.predict_on_batch(batch)
    outputs = {name: np.asarray(v) for name, v in raw.items()} if isinstance(raw, dict) else {single: np.asarray(raw)}
    if flip:
        mirrored = forward(model, np.asarray(batch)[:, :, ::-1], single)
        outputs = {name: (values + mirrored[name]) / 2 for name, values in outputs.items()}
    return outputs


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


def is_single_image(images: Any) -> TypeGuard[ImageInput]:
    """Whether ``images`` is one image (a path, a PIL image or an array of at most 3 axes), not a sequence."""
    from PIL import Image

    return isinstance(images, (str, os.PathLike, Image.Image)) or (isinstance(images, np.ndarray) and images.ndim <= 3)


def _batches(
    items: list, image_size: tuple[int, int], batch_size: int, on_error: str
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Yield ``(indices, float32 batch)``, decoding the next batch on threads while the caller predicts; with
    ``on_error="skip"`` unreadable images are left out with a warning."""
    starts = range(0, len(items), batch_size)
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) + 1)) as pool:

        def submit(start: int):
            return [pool.submit(load_image, item, image_size) for item in items[start : start + batch_size]]

        pending = submit(starts[0]) if starts else []
        for index, start in enumerate(starts):
            current = pending
            if index + 1 < len(starts):
                pending = submit(starts[index + 1])
            indices, arrays = [], []
            for offset, future in enumerate(current):
                try:
                    arrays.append(future.result())
                except ValueError as error:
                    if on_error == "raise":
                        raise
                    logger.warning("Skipping: %s", describe_image_error(error, items[start + offset], start + offset))
                    continue
                indices.append(start + offset)
            if arrays:
                yield indices, np.stack(arrays)


def describe_image_error(error: Exception, item: Any, index: int) -> str:
    """An image error for a warning: the message names a file; an in-memory image is named by its index."""
    return str(error) if isinstance(item, (str, os.PathLike)) else f"image {index}: {error}"


def image_label(item: Any, index: int) -> str | int:
    """How results name an input: its path, or its index for an in-memory image."""
    return os.fspath(item) if isinstance(item, (str, os.PathLike)) else index
