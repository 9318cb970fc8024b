"""Spec objects -> Keras objects. One small function per kind; each spec class already
names its Keras class and arguments, so a new optimizer or layer needs no code here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from nnrun.build import custom
from nnrun.registry import Registry
from nnrun.spec.activations import Activation
from nnrun.spec.initializers import Initializer
from nnrun.spec.layers import LayerSpec
from nnrun.spec.optimizers import OptimizerSpec
from nnrun.spec.regularizers import Regularizer

#: Activation name (`nnrun.spec.activations.ACTIVATIONS`) -> the name Keras knows it by, or a
#: function making a layer of its own (Keras has no name for it, or it takes an argument).
ACTIVATIONS: Registry[str | Callable[[Activation], keras.layers.Layer]] = Registry(
    "activation",
    {
        "linear": "linear",
        "sigmoid": "sigmoid",
        "tanh": "tanh",
        "relu": "relu",
        "softmax": "softmax",
        "step": lambda spec: custom.Step(),
        "leaky_relu": lambda spec: keras.layers.LeakyReLU(negative_slope=spec.alpha),
    },
)

CUSTOM_LAYERS: dict[str, type[keras.layers.Layer]] = {"TransformerEncoder": custom.TransformerEncoder}

#: Loss name (as a config spells it, `nnrun.spec.config.LOSSES`) -> Keras loss class.
LOSSES: Registry[Callable[[], keras.losses.Loss]] = Registry(
    "loss",
    {
        "mse": keras.losses.MeanSquaredError,
        "mae": keras.losses.MeanAbsoluteError,
        "binary_crossentropy": keras.losses.BinaryCrossentropy,
        "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
        "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
    },
)

#: Metric name (`nnrun.spec.config.METRICS`) -> a Keras metric for a decision threshold.
#: `accuracy` is the one metric whose Keras class depends on the loss's label encoding.
METRICS: Registry[Callable[[float], keras.metrics.Metric]] = Registry(
    "metric",
    {
        "accuracy": lambda threshold: keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold),
        "mae": lambda threshold: keras.metrics.MeanAbsoluteError(name="mae"),
        "mse": lambda threshold: keras.metrics.MeanSquaredError(name="mse"),
        "auc": lambda threshold: keras.metrics.AUC(name="auc"),
        "precision": lambda threshold: keras.metrics.Precision(name="precision", thresholds=threshold),
        "recall": lambda threshold: keras.metrics.Recall(name="recall", thresholds=threshold),
    },
)

#: Schedule type (`nnrun.spec.schedules.SCHEDULES`) -> Keras schedule from the initial rate and the spec.
SCHEDULES: Registry[Callable[[float, Any], Any]] = Registry(
    "schedule",
    {
        "inverse_time": lambda lr, s: keras.optimizers.schedules.InverseTimeDecay(
            lr, s.decay_steps, s.decay_rate, staircase=s.staircase
        ),
        "exponential": lambda lr, s: keras.optimizers.schedules.ExponentialDecay(
            lr, s.decay_steps, s.decay_rate, staircase=s.staircase
        ),
        "step": lambda lr, s: custom.StepDecay(lr, s.boundaries, s.factor),
        "cyclical": lambda lr, s: custom.Cyclical(lr, s.max_learning_rate, s.step_size),
    },
)


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


def activation_layer(spec: Activation) -> keras.layers.Layer | None:
    """A separate layer for activations Keras cannot name (step, leaky_relu with alpha)."""
    entry = ACTIVATIONS.get(spec.name)
    return None if isinstance(entry, str) else entry(spec)


def layers(spec: LayerSpec) -> list[keras.layers.Layer]:
    """One spec layer -> one Keras layer (plus an activation layer where needed)."""
    kwargs: dict[str, Any] = spec.keras_kwargs()
    act: Activation | None = getattr(spec, "activation", None)
    extra = None
    if act is not None:
        entry = ACTIVATIONS.get(act.name)
        if isinstance(entry, str):
            kwargs["activation"] = entry
        else:
            kwargs["activation"] = "linear"
            extra = entry(act)
    for key in ("kernel_initializer", "bias_initializer"):
        init = getattr(spec, key, None)
        if init is not None:
            kwargs[key] = initializer(init)
    if type(spec).weighted and hasattr(spec, "kernel_regularizer"):
        kwargs["kernel_regularizer"] = regularizer(spec.kernel_regularizer)  # type: ignore[attr-defined]
    cls = CUSTOM_LAYERS.get(spec.keras_class) or getattr(keras.layers, spec.keras_class)
    built = [cls(**kwargs)]
    return built + ([extra] if extra is not None else [])


def schedule(spec: OptimizerSpec, steps_per_epoch: int = 1) -> Any:
    """The learning rate: a float, or a schedule starting from the optimizer's rate (counting
    finished epochs for `unit: epoch`, optimizer updates for `unit: step`)."""
    lr = float(spec.learning_rate)  # type: ignore[attr-defined]
    s = spec.schedule
    if s is None:
        return lr
    built = SCHEDULES.get(s.type)(lr, s)
    return custom.EpochUnits(built, steps_per_epoch) if s.unit == "epoch" else built


def optimizer(spec: OptimizerSpec, steps_per_epoch: int = 1) -> keras.optimizers.Optimizer:
    cls = getattr(keras.optimizers, spec.keras_class)
    return cls(learning_rate=schedule(spec, steps_per_epoch), **spec.keras_kwargs())


def loss(name: str, reduction: str = "mean") -> keras.losses.Loss:
    """The loss; `reduction: sum` adds a batch's per-sample losses instead of averaging them."""
    built = LOSSES.get(name)()
    if reduction == "sum":
        built.reduction = "sum"
    return built


def metric(name: str, loss_name: str, threshold: float = 0.5) -> keras.metrics.Metric:
    """Per-epoch metric objects, chosen to match the label encoding of the loss."""
    if name == "accuracy":
        if loss_name == "sparse_categorical_crossentropy":
            return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        if loss_name == "categorical_crossentropy":
            return keras.metrics.CategoricalAccuracy(name="accuracy")
        return keras.metrics.BinaryAccuracy(name="accuracy", threshold=threshold)
    return METRICS.get(name)(threshold)
