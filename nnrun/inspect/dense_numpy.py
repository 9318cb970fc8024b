"""A dense network's inference pass in NumPy, from a plan of steps (no TensorFlow).

`nnrun.inspect.replay` describes a Keras model made of Dense layers and layers that do
nothing at inference (dropout, Gaussian noise) or one NumPy line (flatten, the step and
leaky ReLU activation layers) as a list of `Step`s, and replays the probe batch through it
with the weights of each recorded epoch after training. The operations are Keras's own, in
float32 (`Dense.call`: matmul, bias, activation; `Step.call`: x + (hard - x)), so the outputs
are Keras's to float32 rounding (tested against the model on every activation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # exp(-x) is inf for x < -88: the output is 0, as it should be
        return np.float32(1.0) / (np.float32(1.0) + np.exp(-x))


def _softmax(x: np.ndarray) -> np.ndarray:  # over the units: the next-to-last axis here
    e = np.exp(x - x.max(axis=-2, keepdims=True))
    return e / e.sum(axis=-2, keepdims=True)


#: The activations a Dense layer may have here, by Keras's name for them.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, np.float32(0.0)),
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "softmax": _softmax,
}


@dataclass(frozen=True)
class Step:
    """One layer's inference pass.

    kind: "dense" (weights `kernel` and `bias`, indices into the weights list, bias -1 for none;
    then `activation`), "flatten", "step", "leaky_relu" (slope `alpha`) or "identity".
    """

    kind: str
    kernel: int = -1
    bias: int = -1
    activation: str = "linear"
    alpha: float = 0.0
    #: The layer's output is measured (index of its activation layer among the watched ones), or -1.
    watched: int = -1


def _apply(step: Step, h: np.ndarray, weights: Sequence[np.ndarray]) -> np.ndarray:
    if step.kind == "dense":  # [in, rows] or [epochs, in, rows]; kernel [epochs, in, out]
        h = np.matmul(weights[step.kernel].transpose(0, 2, 1), h)
        if step.bias >= 0:
            h = h + weights[step.bias][:, :, None]
        return ACTIVATIONS[step.activation](h)
    if step.kind == "flatten":  # only before the first Dense layer (`replay._plan`): no epoch axis yet
        return h.reshape(len(h), -1)
    if step.kind == "step":
        hard = (h > 0).astype(np.float32)
        return h + (hard - h)
    if step.kind == "leaky_relu":
        return np.where(h > 0, h, h * np.float32(step.alpha))
    return h


def outputs(plan: Sequence[Step], weights: Sequence[np.ndarray], x: np.ndarray) -> list[np.ndarray]:
    """The watched layers' outputs (float32) for the rows `x`, in watched order, with the weights
    of several epochs at once: each of `weights` has a leading axis of epochs. An output is laid
    out [epochs, units, rows], so reducing over the rows runs along contiguous memory."""
    epochs = len(weights[0]) if weights else 1
    out: dict[int, np.ndarray] = {}
    h = np.asarray(x, np.float32)
    rows_last = False  # the input is [rows, features...] until its first Dense layer
    for step in plan:
        if step.kind == "dense" and not rows_last:
            h, rows_last = h.T, True
        h = _apply(step, h, weights).astype(np.float32, copy=False)
        if step.watched >= 0:
            units = h if rows_last else h.T
            out[step.watched] = np.broadcast_to(units, (epochs, *units.shape[-2:]))
    return [out[j] for j in sorted(out)]
