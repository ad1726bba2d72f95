"""Random training-time augmentation as TensorFlow ops inside ``tf.data``.

:class:`Augmentation` takes Keras ``ImageDataGenerator``'s ranges (the write-ups' own) plus random erasing (cutout,
as the person-attribute write-up's ``get_random_eraser``). One affine transform per image combines rotation, shift,
shear and zoom (``fill_mode`` as in Keras); then the flip; then the erasing. Randomness is stateless, drawn from
``tf.data.Dataset.random(seed)``, so a seed reproduces every epoch's augmentations.

```python
aug = Augmentation(horizontal_flip=True, rotation_range=20, width_shift_range=0.2, zoom_range=0.3)
ds = dataset.as_tf_dataset((128, 128), 32, shuffle=True, augment=aug, seed=0)
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = ["Augmentation", "PERSON_ATTRIBUTES", "augment_fn", "from_image_data_generator"]

_FILL_MODES = ("nearest", "constant", "reflect", "wrap")


@dataclass(frozen=True)
class Augmentation:
    """Random augmentation of each training image.

    Attributes:
        horizontal_flip: Flip left-right with probability 0.5.
        rotation_range: Maximum rotation in degrees.
        width_shift_range: Maximum horizontal shift, fraction of the width.
        height_shift_range: Maximum vertical shift, fraction of the height.
        shear_range: Maximum shear angle in degrees.
        zoom_range: Zoom factors drawn in ``[1 - zoom_range, 1 + zoom_range]``, per axis (as Keras).
        fill_mode: How pixels from outside the image are filled: ``"nearest"``, ``"constant"`` (0), ``"reflect"``,
            ``"wrap"``.
        random_erasing: Probability of erasing one rectangle with one random value in ``[0, 255]``.
        erasing_area: Range of the erased fraction of the image area (``s_l``, ``s_h``).
        erasing_aspect: Range of the erased rectangle's height / width ratio (``r_1``, ``r_2``).
    """

    horizontal_flip: bool = False
    rotation_range: float = 0.0
    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    shear_range: float = 0.0
    zoom_range: float = 0.0
    fill_mode: str = "nearest"
    random_erasing: float = 0.0
    erasing_area: tuple[float, float] = (0.01, 0.2)
    erasing_aspect: tuple[float, float] = (0.1, 1.0)

    def __post_init__(self) -> None:
        if self.fill_mode not in _FILL_MODES:
            raise ValueError(f"fill_mode must be one of {_FILL_MODES}, got {self.fill_mode!r}")
        if not 0.0 <= self.random_erasing <= 1.0:
            raise ValueError(f"random_erasing is a probability in [0, 1], got {self.random_erasing}")
        if not 0.0 <= self.zoom_range < 1.0:
            raise ValueError(f"zoom_range must be in [0, 1), got {self.zoom_range}")

    @property
    def affine(self) -> bool:
        """Whether any of rotation, shift, shear and zoom is on."""
        ranges = (self.rotation_range, self.width_shift_range, self.height_shift_range, self.shear_range)
        return any(ranges) or bool(self.zoom_range)


#: The person-attribute write-up's recipe: shifts, zoom, flip and cutout (``get_random_eraser(p=0.5, s_l=0.01,
#: s_h=0.2, r_1=0.1, r_2=1)``).
PERSON_ATTRIBUTES = Augmentation(
    horizontal_flip=True,
    width_shift_range=0.2,
    height_shift_range=0.1,
    zoom_range=0.2,
    random_erasing=0.5,
    erasing_area=(0.01, 0.2),
    erasing_aspect=(0.1, 1.0),
)


def from_image_data_generator(**kwargs: Any) -> Augmentation:
    """An :class:`Augmentation` from ``ImageDataGenerator``-style keyword arguments (its field names).

    Raises:
        TypeError: A keyword is not an :class:`Augmentation` field.
    """
    known = {f.name for f in fields(Augmentation)}
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(f"Unsupported augmentation option(s) {unknown}; supported: {sorted(known)}")
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return Augmentation(**values)


def augment_fn(aug: Augmentation) -> Callable[[Any, tf.Tensor], tuple[tf.Tensor, Any]]:
    """A ``tf.data`` map function ``((image, target), seed) -> (image, target)`` applying ``aug``.

    ``image`` is float32 ``(H, W, 3)`` in ``[0, 255]``; ``seed`` an int64 ``(2,)`` tensor for the stateless ops.
    """
    import tensorflow as tf

    def apply(element: tuple[tf.Tensor, Any], seed: tf.Tensor) -> tuple[tf.Tensor, Any]:
        image, target = element
        u = tf.random.stateless_uniform((13,), seed=seed)
        if aug.affine:
            image = _affine(image, aug, u[:6])
        if aug.horizontal_flip:
            image = tf.cond(u[6] < 0.5, lambda: tf.image.flip_left_right(image), lambda: image)
        if aug.random_erasing > 0:
            image = tf.cond(u[7] < aug.random_erasing, lambda: _erase(image, aug, u[8:13]), lambda: image)
        return tf.clip_by_value(image, 0.0, 255.0), target

    return apply


def _affine(image: tf.Tensor, aug: Augmentation, u: tf.Tensor) -> tf.Tensor:
    """Rotate, shift, shear and zoom about the centre; ``u`` holds six uniforms in ``[0, 1)``."""
    import tensorflow as tf

    height, width = tf.unstack(tf.cast(tf.shape(image)[:2], tf.float32))
    sym = 2.0 * u - 1.0  # uniforms in [-1, 1)
    theta = sym[0] * aug.rotation_range * math.pi / 180
    shear = sym[1] * aug.shear_range * math.pi / 180
    tx, ty = sym[2] * aug.width_shift_range * width, sym[3] * aug.height_shift_range * height
    zx, zy = 1.0 + sym[4] * aug.zoom_range, 1.0 + sym[5] * aug.zoom_range
    cx, cy = (width - 1) / 2, (height - 1) / 2
    cos, sin = tf.cos(theta), tf.sin(theta)

    def mat(*rows: list[Any]) -> tf.Tensor:
        return tf.stack([tf.stack([tf.cast(v, tf.float32) for v in row]) for row in rows])

    # Output -> input pixel coordinates (x = column, y = row), as ImageDataGenerator builds them.
    m = (
        mat([1, 0, cx], [0, 1, cy], [0, 0, 1])
        @ mat([cos, -sin, 0], [sin, cos, 0], [0, 0, 1])
        @ mat([1, 0, tx], [0, 1, ty], [0, 0, 1])
        @ mat([1, -tf.sin(shear), 0], [0, tf.cos(shear), 0], [0, 0, 1])
        @ mat([zx, 0, 0], [0, zy, 0], [0, 0, 1])
        @ mat([1, 0, -cx], [0, 1, -cy], [0, 0, 1])
    )
    transform = tf.reshape(m, (9,))[:8][None]
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image[None],
        transforms=transform,
        output_shape=tf.shape(image)[:2],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode=aug.fill_mode.upper(),
    )
    return tf.reshape(out[0], tf.shape(image))


def _erase(image: tf.Tensor, aug: Augmentation, u: tf.Tensor) -> tf.Tensor:
    """Fill one random rectangle with one random value; ``u`` holds five uniforms in ``[0, 1)``."""
    import tensorflow as tf

    shape = tf.shape(image)
    height, width = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    (s_l, s_h), (r_1, r_2) = aug.erasing_area, aug.erasing_aspect
    area = (s_l + (s_h - s_l) * u[0]) * height * width
    ratio = r_1 + (r_2 - r_1) * u[1]
    h = tf.minimum(tf.round(tf.sqrt(area * ratio)), height)
    w = tf.minimum(tf.round(tf.sqrt(area / ratio)), width)
    top = tf.floor(u[2] * (height - h + 1))
    left = tf.floor(u[3] * (width - w + 1))
    rows = tf.range(height)[:, None]
    cols = tf.range(width)[None, :]
    inside = (rows >= top) & (rows < top + h) & (cols >= left) & (cols < left + w)
    return tf.where(inside[..., None], 255.0 * u[4], image)
