"""The model's outputs after training (the test split's predictions, the decision-boundary grid,
the weight snapshots' regions), called directly rather than through `predict()`, which traces
a function for every new model.

For a sweep worker's kept model (`nnrun.train.warm`) the call is one traced function shared by
every run of that architecture: an eager call of a small MLP costs 1-2 ms of Keras's Python and a
point makes about ten of them, a traced call about 0.2 ms. Elsewhere (`nnrun train`, one run per
model) tracing would cost more than it saves, so the model is called eagerly. Both give the same
numbers: the traced function runs without TensorFlow's graph optimizer (`graph._call_options`),
so it runs the very kernels an eager call runs, one after the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import keras


class Traced:
    """`model(x, training=False)` as a traced function of the inputs and the weights, so a weight
    snapshot is used without being assigned to the model."""

    def __init__(self, model: keras.Model) -> None:
        import tensorflow as tf

        from nnrun.train.graph import executor_for

        self.model = model
        position = {id(v): i for i, v in enumerate(model.weights)}
        # where each variable of `stateless_call` is in a `get_weights()` list (None: not a
        # weight, e.g. a metric's or a seed generator's state, taken from the model as it is)
        self.trainable = [position[id(v)] for v in model.trainable_variables]
        self.non_trainable = [position.get(id(v)) for v in model.non_trainable_variables]
        self.executor = executor_for(model)
        self.fn = tf.function(self._call, autograph=False, reduce_retracing=True)

    def _call(self, trainable: list[Any], non_trainable: list[Any], x: Any) -> Any:
        y, _ = self.model.stateless_call(trainable, non_trainable, x, training=False)
        return y

    def __call__(self, x: Any, weights: Sequence[Any] | None = None) -> np.ndarray:
        from nnrun.train.graph import _call_options, _one_trace_per_run

        values = [v.value for v in self.model.weights] if weights is None else list(weights)
        trainable = [values[i] for i in self.trainable]
        others = self.model.non_trainable_variables
        non_trainable = [
            values[i] if i is not None else v.value for i, v in zip(self.non_trainable, others, strict=True)
        ]
        with _call_options(self.executor), _one_trace_per_run():
            return np.asarray(self.fn(trainable, non_trainable, x))


def _traced(model: keras.Model) -> Traced | None:
    from nnrun.train import warm

    return warm.forward_of(model)


def call(model: keras.Model, x: Any) -> np.ndarray:
    """`model`'s outputs for the rows `x`, in one call."""
    traced = _traced(model)
    if traced is None:
        return np.asarray(model(x, training=False))
    return traced(x)


def call_each(model: keras.Model, x: Any, snapshots: Sequence[Sequence[Any]]) -> list[np.ndarray]:
    """`model`'s outputs for `x` with each of `snapshots` (`model.get_weights()` lists) as its
    weights, one call each; the model keeps its own weights."""
    traced = _traced(model)
    if traced is not None:
        return [traced(x, s) for s in snapshots]
    own = model.get_weights()
    try:
        out = []
        for snapshot in snapshots:
            model.set_weights(snapshot)
            out.append(np.asarray(model(x, training=False)))
        return out
    finally:
        model.set_weights(own)
