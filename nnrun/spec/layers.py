"""Layer specs, one class per `type`, registered by name.

Each class knows its Keras class name and the keyword arguments to build it with, so the
builder needs no per-layer code: adding a layer is one class here (and, for a layer that
Keras does not ship, one custom layer in `nnrun.build.custom`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, PositiveInt, field_validator

from nnrun.spec.activations import Activation
from nnrun.spec.base import Registry, StrictModel
from nnrun.spec.initializers import Initializer
from nnrun.spec.regularizers import Regularizer

LAYERS = Registry("layer", tag="type")


class LayerSpec(StrictModel):
    keras_class: ClassVar[str]
    #: Input rank (without the batch axis) the layer needs; None = any.
    input_rank: ClassVar[tuple[int, ...] | None] = None
    #: Has trainable kernels (may take a kernel_regularizer).
    weighted: ClassVar[bool] = False

    def keras_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for the Keras constructor (activation/regularizer handled apart)."""
        return self.model_dump(
            exclude={"type", "activation", "kernel_regularizer", "kernel_initializer", "bias_initializer"}
        )

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The shape this layer gives for input `shape` (no batch axis); exact enough for
        `validate` to catch rank and size mistakes. Every layer states its own rule: there is
        no default, so a new layer cannot silently be assumed to keep the shape."""
        raise NotImplementedError(f"{type(self).__name__} must define output_shape()")


class SameShape(LayerSpec):
    """A layer whose output has its input's shape (dropout, normalisation, augmentation)."""

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape


def _pair(v: int | list[int]) -> list[int]:
    return list(v) if isinstance(v, list) else [v, v]


def _spatial(shape: tuple[int, ...], window: list[int], strides: list[int], padding: str) -> list[int]:
    if padding == "same":
        return [-(-shape[i] // strides[i]) for i in range(2)]
    return [(shape[i] - window[i]) // strides[i] + 1 for i in range(2)]


@LAYERS.register("dense")
class Dense(LayerSpec):
    """Fully connected layer."""

    type: Literal["dense"]
    units: PositiveInt = Field(description="Number of neurons.")
    activation: Activation = Field(default_factory=lambda: Activation(name="linear"))
    kernel_regularizer: Regularizer | None = None
    use_bias: bool = True
    kernel_initializer: Initializer | None = Field(None, description="Keras's default: glorot_uniform.")
    bias_initializer: Initializer | None = Field(None, description="Keras's default: zeros.")
    keras_class: ClassVar[str] = "Dense"
    weighted: ClassVar[bool] = True

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (*shape[:-1], self.units)


@LAYERS.register("dropout")
class Dropout(SameShape):
    """Randomly zeroes a fraction `rate` of inputs during training only."""

    type: Literal["dropout"]
    rate: float = Field(ge=0, lt=1, description="Fraction of inputs to drop, in [0, 1).")
    keras_class: ClassVar[str] = "Dropout"


@LAYERS.register("conv2d")
class Conv2D(LayerSpec):
    """2-D convolution over (height, width, channels) images."""

    type: Literal["conv2d"]
    filters: PositiveInt
    kernel_size: PositiveInt | list[PositiveInt] = 3
    strides: PositiveInt | list[PositiveInt] = 1
    padding: Literal["valid", "same"] = "valid"
    activation: Activation = Field(default_factory=lambda: Activation(name="linear"))
    kernel_regularizer: Regularizer | None = None
    kernel_initializer: Initializer | None = Field(None, description="Keras's default: glorot_uniform.")
    bias_initializer: Initializer | None = Field(None, description="Keras's default: zeros.")
    keras_class: ClassVar[str] = "Conv2D"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)
    weighted: ClassVar[bool] = True

    @field_validator("kernel_size", "strides")
    @classmethod
    def _two(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, list) and len(v) != 2:
            raise ValueError(f"expected an integer or a list of two integers. Received: {v}")
        return v

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        hw = _spatial(shape, _pair(self.kernel_size), _pair(self.strides), self.padding)
        return (hw[0], hw[1], self.filters)


@LAYERS.register("max_pooling2d")
class MaxPooling2D(LayerSpec):
    """Max over `pool_size` windows of an image."""

    type: Literal["max_pooling2d"]
    pool_size: PositiveInt | list[PositiveInt] = 2
    strides: PositiveInt | None = None
    padding: Literal["valid", "same"] = "valid"
    keras_class: ClassVar[str] = "MaxPooling2D"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        pool = _pair(self.pool_size)
        hw = _spatial(shape, pool, _pair(self.strides) if self.strides else pool, self.padding)
        return (hw[0], hw[1], shape[2])


@LAYERS.register("flatten")
class Flatten(LayerSpec):
    type: Literal["flatten"]
    keras_class: ClassVar[str] = "Flatten"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (math.prod(shape),)


@LAYERS.register("reshape")
class Reshape(LayerSpec):
    """Reshape each sample, e.g. 64 digit pixels -> [8, 8, 1] for a CNN or [8, 8] for an RNN."""

    type: Literal["reshape"]
    target_shape: list[PositiveInt] = Field(min_length=1, max_length=4)
    keras_class: ClassVar[str] = "Reshape"

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(self.target_shape)


@LAYERS.register("batch_normalization")
class BatchNormalization(SameShape):
    type: Literal["batch_normalization"]
    momentum: float = Field(0.99, gt=0, lt=1)
    epsilon: float = Field(0.001, gt=0)
    keras_class: ClassVar[str] = "BatchNormalization"


class _Recurrent(LayerSpec):
    units: PositiveInt
    activation: Activation = Field(default_factory=lambda: Activation(name="tanh"))
    return_sequences: bool = False
    dropout: float = Field(0.0, ge=0, lt=1)
    kernel_regularizer: Regularizer | None = None
    input_rank: ClassVar[tuple[int, ...] | None] = (2,)
    weighted: ClassVar[bool] = True

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[0], self.units) if self.return_sequences else (self.units,)


@LAYERS.register("simple_rnn")
class SimpleRNN(_Recurrent):
    """Elman recurrent layer over (steps, features) sequences."""

    type: Literal["simple_rnn"]
    keras_class: ClassVar[str] = "SimpleRNN"


@LAYERS.register("lstm")
class LSTM(_Recurrent):
    type: Literal["lstm"]
    keras_class: ClassVar[str] = "LSTM"


@LAYERS.register("gru")
class GRU(_Recurrent):
    type: Literal["gru"]
    keras_class: ClassVar[str] = "GRU"


@LAYERS.register("transformer_encoder")
class TransformerEncoder(LayerSpec):
    """Multi-head self-attention + feed-forward, each with a residual and layer norm."""

    type: Literal["transformer_encoder"]
    num_heads: PositiveInt = 2
    key_dim: PositiveInt = 16
    ff_dim: PositiveInt = 32
    dropout: float = Field(0.0, ge=0, lt=1)
    keras_class: ClassVar[str] = "TransformerEncoder"
    input_rank: ClassVar[tuple[int, ...] | None] = (2,)
    weighted: ClassVar[bool] = True

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape  # residual connections: (steps, features) in and out


@LAYERS.register("global_average_pooling1d")
class GlobalAveragePooling1D(LayerSpec):
    """Average over the steps of a sequence: (steps, features) -> (features,)."""

    type: Literal["global_average_pooling1d"]
    keras_class: ClassVar[str] = "GlobalAveragePooling1D"
    input_rank: ClassVar[tuple[int, ...] | None] = (2,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[-1],)


@LAYERS.register("random_flip")
class RandomFlip(SameShape):
    """Augmentation: flips training images at random (inactive at evaluation)."""

    type: Literal["random_flip"]
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = "horizontal"
    keras_class: ClassVar[str] = "RandomFlip"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)


@LAYERS.register("random_rotation")
class RandomRotation(SameShape):
    """Augmentation: rotates training images by up to `factor` x 360 degrees."""

    type: Literal["random_rotation"]
    factor: float = Field(0.05, gt=0, le=1)
    keras_class: ClassVar[str] = "RandomRotation"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)


@LAYERS.register("random_translation")
class RandomTranslation(SameShape):
    """Augmentation: shifts training images by up to a fraction of their size."""

    type: Literal["random_translation"]
    height_factor: float = Field(0.1, gt=0, le=1)
    width_factor: float = Field(0.1, gt=0, le=1)
    keras_class: ClassVar[str] = "RandomTranslation"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)


@LAYERS.register("gaussian_noise")
class GaussianNoise(SameShape):
    """Augmentation: adds N(0, stddev) noise to training inputs."""

    type: Literal["gaussian_noise"]
    stddev: float = Field(0.1, gt=0)
    keras_class: ClassVar[str] = "GaussianNoise"


@LAYERS.register("embedding")
class Embedding(LayerSpec):
    """Word indices -> learned vectors: (steps,) -> (steps, output_dim). `input_dim` is the
    vocabulary size; by default the data's (imdb's `num_words`, a text column's vocabulary)."""

    type: Literal["embedding"]
    output_dim: PositiveInt = Field(description="Length of each word's vector.")
    input_dim: PositiveInt | None = Field(None, description="Vocabulary size; default: the data's.")
    keras_class: ClassVar[str] = "Embedding"
    input_rank: ClassVar[tuple[int, ...] | None] = (1,)
    weighted: ClassVar[bool] = True

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[0], self.output_dim)


def _steps(length: int, window: int, stride: int, padding: str) -> int:
    return -(-length // stride) if padding == "same" else (length - window) // stride + 1


@LAYERS.register("conv1d")
class Conv1D(LayerSpec):
    """1-D convolution along the steps of a sequence: (steps, features) -> (steps', filters)."""

    type: Literal["conv1d"]
    filters: PositiveInt
    kernel_size: PositiveInt = 3
    strides: PositiveInt = 1
    padding: Literal["valid", "same"] = "valid"
    activation: Activation = Field(default_factory=lambda: Activation(name="linear"))
    kernel_regularizer: Regularizer | None = None
    keras_class: ClassVar[str] = "Conv1D"
    input_rank: ClassVar[tuple[int, ...] | None] = (2,)
    weighted: ClassVar[bool] = True

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (_steps(shape[0], self.kernel_size, self.strides, self.padding), self.filters)


@LAYERS.register("max_pooling1d")
class MaxPooling1D(LayerSpec):
    """Max over `pool_size` steps of a sequence."""

    type: Literal["max_pooling1d"]
    pool_size: PositiveInt = 2
    strides: PositiveInt | None = None
    padding: Literal["valid", "same"] = "valid"
    keras_class: ClassVar[str] = "MaxPooling1D"
    input_rank: ClassVar[tuple[int, ...] | None] = (2,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (_steps(shape[0], self.pool_size, self.strides or self.pool_size, self.padding), shape[1])


@LAYERS.register("global_max_pooling1d")
class GlobalMaxPooling1D(LayerSpec):
    """Max over the steps of a sequence: (steps, features) -> (features,)."""

    type: Literal["global_max_pooling1d"]
    keras_class: ClassVar[str] = "GlobalMaxPooling1D"
    input_rank: ClassVar[tuple[int, ...] | None] = (2,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[-1],)


@LAYERS.register("global_average_pooling2d")
class GlobalAveragePooling2D(LayerSpec):
    """Average over an image's height and width: (h, w, channels) -> (channels,)."""

    type: Literal["global_average_pooling2d"]
    keras_class: ClassVar[str] = "GlobalAveragePooling2D"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)

    def output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (shape[-1],)


@LAYERS.register("rescaling")
class Rescaling(SameShape):
    """Multiplies inputs by `scale` and adds `offset` (e.g. 1/255 for raw pixels)."""

    type: Literal["rescaling"]
    scale: float = Field(description="Factor, e.g. 0.00392156862745098 (1/255).")
    offset: float = 0.0
    keras_class: ClassVar[str] = "Rescaling"


@LAYERS.register("random_zoom")
class RandomZoom(SameShape):
    """Augmentation: zooms training images in or out by up to `height_factor` of their size."""

    type: Literal["random_zoom"]
    height_factor: float = Field(0.1, gt=0, lt=1)
    width_factor: float | None = Field(None, gt=0, lt=1)
    keras_class: ClassVar[str] = "RandomZoom"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)


@LAYERS.register("random_contrast")
class RandomContrast(SameShape):
    """Augmentation: changes training images' contrast by up to `factor`."""

    type: Literal["random_contrast"]
    factor: float = Field(0.1, gt=0, le=1)
    keras_class: ClassVar[str] = "RandomContrast"
    input_rank: ClassVar[tuple[int, ...] | None] = (3,)


AUGMENTATION = frozenset(
    {"random_flip", "random_rotation", "random_translation", "gaussian_noise", "random_zoom", "random_contrast"}
)
AnyLayer = LAYERS.union()
