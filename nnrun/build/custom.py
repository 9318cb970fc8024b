"""Keras objects that Keras does not ship: the step activation, the transformer encoder
block and the cyclical learning rate. All are serializable, so `model.keras` reloads."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nnrun")
class Step(keras.layers.Layer):
    """Heaviside step (x > 0 -> 1, else 0) with a straight-through gradient.

    The forward pass is the hard threshold of the classic perceptron; the backward pass
    treats it as the identity so gradient descent can still move the weights.
    """

    def call(self, inputs: Any) -> Any:
        hard = ops.cast(ops.greater(inputs, 0), inputs.dtype)
        return inputs + ops.stop_gradient(hard - inputs)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape


@keras.saving.register_keras_serializable(package="nnrun")
class TransformerEncoder(keras.layers.Layer):
    """Self-attention + position-wise feed-forward, each with a residual and layer norm."""

    def __init__(self, num_heads: int = 2, key_dim: int = 16, ff_dim: int = 32, dropout: float = 0.0, **kwargs: Any):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.ff_dim = ff_dim
        self.dropout = dropout

    def build(self, input_shape: Any) -> None:
        d = int(input_shape[-1])
        self.attention = keras.layers.MultiHeadAttention(self.num_heads, self.key_dim, dropout=self.dropout)
        self.attention.build(input_shape, input_shape)
        self.norm1 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.norm1.build(input_shape)
        self.ff1 = keras.layers.Dense(self.ff_dim, activation="relu")
        self.ff1.build(input_shape)
        self.ff2 = keras.layers.Dense(d)
        self.ff2.build((*input_shape[:-1], self.ff_dim))
        self.norm2 = keras.layers.LayerNormalization(epsilon=1e-6)
        self.norm2.build(input_shape)
        self.drop = keras.layers.Dropout(self.dropout)

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        attended = self.attention(inputs, inputs, training=training)
        x = self.norm1(inputs + self.drop(attended, training=training))
        ff = self.ff2(self.ff1(x))
        return self.norm2(x + self.drop(ff, training=training))

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "key_dim": self.key_dim,
            "ff_dim": self.ff_dim,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="nnrun")
class Cyclical(keras.optimizers.schedules.LearningRateSchedule):
    """Triangular cyclical learning rate (Smith, 2017)."""

    def __init__(self, base_learning_rate: float, max_learning_rate: float, step_size: int) -> None:
        self.base_learning_rate = base_learning_rate
        self.max_learning_rate = max_learning_rate
        self.step_size = step_size

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        cycle = ops.floor(1 + step / (2 * self.step_size))
        x = ops.abs(step / self.step_size - 2 * cycle + 1)
        return self.base_learning_rate + (self.max_learning_rate - self.base_learning_rate) * ops.maximum(0.0, 1 - x)

    def get_config(self) -> dict[str, Any]:
        return {
            "base_learning_rate": self.base_learning_rate,
            "max_learning_rate": self.max_learning_rate,
            "step_size": self.step_size,
        }


@keras.saving.register_keras_serializable(package="nnrun")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """lr_0 * factor ** (number of boundaries passed)."""

    def __init__(self, initial_learning_rate: float, boundaries: list[int], factor: float) -> None:
        self.initial_learning_rate = initial_learning_rate
        self.boundaries = list(boundaries)
        self.factor = factor

    def __call__(self, step: Any) -> Any:
        step = ops.cast(step, "float32")
        # one count per step, so a vector of steps (the per-update record) works as a scalar does
        crossed = ops.greater_equal(ops.expand_dims(step, -1), ops.array(self.boundaries, "float32"))
        passed = ops.sum(ops.cast(crossed, "float32"), axis=-1)
        return self.initial_learning_rate * ops.power(self.factor, passed)

    def get_config(self) -> dict[str, Any]:
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "boundaries": self.boundaries,
            "factor": self.factor,
        }


@keras.saving.register_keras_serializable(package="nnrun")
class EpochUnits(keras.optimizers.schedules.LearningRateSchedule):
    """A schedule written in epochs (`schedule.unit: epoch`): the inner schedule sees the
    number of finished epochs, floor(update / steps_per_epoch), so the rate is constant within
    an epoch and `decay_steps: 1` decays once per epoch, as the guide's alpha_0 / (1 + lambda * t)."""

    def __init__(self, schedule: Any, steps_per_epoch: int) -> None:
        if isinstance(schedule, dict):
            schedule = keras.saving.deserialize_keras_object(schedule)
        self.schedule = schedule
        self.steps_per_epoch = int(steps_per_epoch)

    def __call__(self, step: Any) -> Any:
        epoch = ops.floor(ops.cast(step, "float32") / float(self.steps_per_epoch))
        return self.schedule(epoch)

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "steps_per_epoch": self.steps_per_epoch}
