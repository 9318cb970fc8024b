"""Spec objects -> Keras objects. One small function per kind; each spec class already
names its Keras class and arguments, so a new optimizer or layer needs no code here."""

from __future__ import annotations

from typing import Any

import keras

from nnrun.build import custom
from nnrun.spec.activations import ACTIVATIONS, Activation
from nnrun.spec.initializers import Initializer
from nnrun.spec.layers import LayerSpec
from nnrun.spec.losses import ACCURACY, LOSSES, METRICS
from nnrun.spec.optimizers import OptimizerSpec
from nnrun.spec.regularizers import Regularizer

#: The Keras layers nnrun defines itself, by the class name a spec entry gives.
CUSTOM_LAYERS: dict[str, type[keras.layers.Layer]] = {
    "TransformerEncoder": custom.TransformerEncoder,
    "Step": custom.Step,
}

#: The learning-rate schedules nnrun defines itself, by the class name a schedule spec gives.
CUSTOM_SCHEDULES: dict[str, type[keras.optimizers.schedules.LearningRateSchedule]] = {
    "StepDecay": custom.StepDecay,
    "Cyclical": custom.Cyclical,
}


def regularizer(spec: Regularizer | None) -> keras.regularizers.Regularizer | None:
    if spec is None:
        return None
    if spec.kind == "l1":
        return keras.regularizers.L1(spec.l1)
    if spec.kind == "l2":
        return keras.regularizers.L2(spec.l2)
    return keras.regularizers.L1L2(l1=spec.l1, l2=spec.l2)


def initializer(spec: Initializer) -> keras.initializers.Initializer:
    """`random_uniform` with {minval: -1, maxval: 1} -> keras.initializers.RandomUniform(-1, 1)."""
    cls = getattr(keras.initializers, "".join(part.capitalize() for part in spec.name.split("_")))
    return cls(**spec.args)


def keras_layer_class(name: str) -> type[keras.layers.Layer]:
    return CUSTOM_LAYERS.get(name) or getattr(keras.layers, name)


def activation_layer(spec: Activation) -> keras.layers.Layer | None:
    """A separate layer for activations Keras cannot name (step, leaky_relu with alpha)."""
    entry = ACTIVATIONS.get(spec.name)
    if entry.layer is None:
        return None
    return keras_layer_class(entry.layer)(**({entry.alpha_arg: spec.alpha} if entry.alpha_arg else {}))


def layers(spec: LayerSpec) -> list[keras.layers.Layer]:
    """One spec layer -> one Keras layer (plus an activation layer where needed)."""
    kwargs: dict[str, Any] = spec.keras_kwargs()
    act: Activation | None = getattr(spec, "activation", None)
    extra = None
    if act is not None:
        extra = activation_layer(act)
        kwargs["activation"] = ACTIVATIONS.get(act.name).keras_name or "linear"
    for key in ("kernel_initializer", "bias_initializer"):
        init = getattr(spec, key, None)
        if init is not None:
            kwargs[key] = initializer(init)
    if type(spec).weighted and hasattr(spec, "kernel_regularizer"):
        kwargs["kernel_regularizer"] = regularizer(spec.kernel_regularizer)  # type: ignore[attr-defined]
    built = [keras_layer_class(spec.keras_class)(**kwargs)]
    return built + ([extra] if extra is not None else [])


def schedule(spec: OptimizerSpec, steps_per_epoch: int = 1) -> Any:
    """The learning rate: a float, or a schedule starting from the optimizer's rate (counting
    finished epochs for `unit: epoch`, optimizer updates for `unit: step`)."""
    lr = float(spec.learning_rate)  # type: ignore[attr-defined]
    s = spec.schedule
    if s is None:
        return lr
    cls = CUSTOM_SCHEDULES.get(s.keras_class) or getattr(keras.optimizers.schedules, s.keras_class)
    built = cls(lr, **s.keras_kwargs())
    return custom.EpochUnits(built, steps_per_epoch) if s.unit == "epoch" else built


def optimizer(spec: OptimizerSpec, steps_per_epoch: int = 1) -> keras.optimizers.Optimizer:
    cls = getattr(keras.optimizers, spec.keras_class)
    return cls(learning_rate=schedule(spec, steps_per_epoch), **spec.keras_kwargs())


def loss(name: str, reduction: str = "mean") -> keras.losses.Loss:
    """The loss (`nnrun.spec.losses.LOSSES`); `reduction: sum` adds a batch's per-sample losses
    instead of averaging them."""
    built = getattr(keras.losses, LOSSES.get(name).keras_class)()
    if reduction == "sum":
        built.reduction = "sum"
    return built


def metric(name: str, loss_name: str, threshold: float = 0.5) -> keras.metrics.Metric:
    """A per-epoch metric (`nnrun.spec.losses.METRICS`); accuracy is the one whose Keras class
    depends on the loss's label encoding."""
    entry = METRICS.get(name)
    labels = LOSSES.get(loss_name).labels
    if name == "accuracy" and labels in ACCURACY:  # one-hot rows or class numbers: no threshold
        return getattr(keras.metrics, ACCURACY[labels])(name=name)
    kwargs: dict[str, Any] = {entry.threshold_arg: threshold} if entry.threshold_arg else {}
    return getattr(keras.metrics, entry.keras_class)(name=name, **kwargs)
