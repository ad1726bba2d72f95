"""Custom Keras layers used inside facezoo models (serializable, so ``.keras`` files load back)."""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="facezoo")
class ChannelReverse(keras.layers.Layer):
    """Reverse the channel axis (RGB <-> BGR); has no weights."""

    def call(self, inputs):
        return keras.ops.flip(inputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape
