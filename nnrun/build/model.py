"""Spec -> compiled keras.Model."""

from __future__ import annotations

import math

import keras

from nnrun.build import registry
from nnrun.spec.config import Spec


def sequential(spec: Spec, input_shape: tuple[int, ...]) -> keras.Sequential:
    """A Sequential model with the spec's layers, not compiled."""
    model = keras.Sequential(name=spec.name.replace(".", "_").replace("-", "_"))
    model.add(keras.Input(shape=input_shape))
    for layer_spec in spec.model.layers:
        for layer in registry.layers(layer_spec):
            model.add(layer)
    return model


def build_model(spec: Spec, input_shape: tuple[int, ...], steps_per_epoch: int = 1) -> keras.Model:
    """A Sequential model with the spec's layers, compiled with its optimizer, loss and metrics.

    `steps_per_epoch` (optimizer updates per epoch) turns a schedule written in epochs into
    Keras's count of updates."""
    model = sequential(spec, input_shape)
    model.compile(
        optimizer=registry.optimizer(spec.optimizer, steps_per_epoch),
        loss=registry.loss(spec.loss, spec.loss_reduction),
        metrics=[registry.metric(m, spec.loss, spec.evaluation.threshold) for m in spec.metrics or []],
    )
    return model


def trainable_params(model: keras.Model) -> int:
    """The number of trainable parameters (what a learner compares between architectures)."""
    return int(sum(math.prod(w.shape) for w in model.trainable_weights))
