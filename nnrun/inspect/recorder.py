"""Recording a network's internals while it trains, with TensorFlow ops only.

Both trainers use one `Recorder`, so they record the same numbers:

- every update: the gradient's L2 norm per layer is added to an accumulator, from inside the
  model's own `train_step` (`watching` wraps the optimizer's `apply_gradients` for the length
  of the training: it is where `train_step` hands over the gradients, and Keras offers no
  other hook short of rewriting `train_step`; the wrapper changes no number and is gone before
  the model is saved, so model.keras stays a plain Keras model);
- every epoch (`epoch_begin`): the accumulator is cleared and the weights kept, to measure
  the epoch's update;
- after a recorded epoch (`stats`): averaged gradient norms, weight norms, update ratios and
  the activation statistics on the probe batch, as one float32 vector; and, in Python, a copy
  of the weights at the `snapshot_epochs`.

The graph trainer computes `stats` inside its `tf.while_loop` when every epoch is recorded
(no Python per epoch), else once at the end of each call, which it ends at recorded epochs;
it stops a call at each snapshot epoch (about six per run) to copy the weights. The `fit`
trainer calls the same functions, each wrapped in a `tf.function`, from `RecorderCallback`.
There is no `tf.cond` here on purpose: without Grappler each one is a function call that
costs more than an epoch of a small MLP.
See `nnrun.inspect.internals` for what each number means.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from nnrun.inspect.internals import (
    PROBE_ROWS,
    SATURATED_ROWS,
    SATURATION_MARGIN,
    Inspection,
    LayerInfo,
    recorded_epochs,
    snapshot_epochs,
)

if TYPE_CHECKING:
    from nnrun.data import Dataset
    from nnrun.spec import Spec

#: Output range of the activations whose saturation is measured.
_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def activation_kind(layer: keras.layers.Layer) -> str | None:
    """relu, leaky_relu, sigmoid or tanh: the activation a layer's output has gone through."""
    if isinstance(layer, keras.layers.LeakyReLU):
        return "leaky_relu"
    if isinstance(layer, keras.layers.ReLU):
        return "relu"
    fn = getattr(layer, "activation", None)
    name = getattr(fn, "__name__", None)
    return name if name in ("relu", "sigmoid", "tanh") else None


class Recorder:
    """The accumulators, snapshots and probe batch of one training (see the module docstring)."""

    def __init__(self, model: keras.Model, x_train: np.ndarray, epochs: int, updates_per_epoch: int) -> None:
        self.model = model
        self.layers_ = [layer for layer in model.layers if layer.trainable_weights or activation_kind(layer)]
        self.weighted = [layer for layer in self.layers_ if layer.trainable_weights]
        self.watched = [(layer, kind) for layer in self.layers_ if (kind := activation_kind(layer))]
        self._layer_of = {id(v): i for i, layer in enumerate(self.weighted) for v in layer.trainable_weights}
        self.grads = tf.Variable(tf.zeros([len(self.weighted) + 1]), trainable=False)
        self.start = [
            [tf.Variable(v.value, trainable=False) for v in layer.trainable_weights] for layer in self.weighted
        ]
        # a variable, not a constant of the trace: a sweep worker's next run of the same
        # architecture reuses the traced loop with its own rows (`restart`)
        self.probe = tf.Variable(x_train[:PROBE_ROWS], trainable=False)
        self.recorded_epochs = recorded_epochs(epochs, updates_per_epoch)
        #: Every epoch recorded: the graph trainer computes the statistics inside its loop.
        self.every_epoch = len(self.recorded_epochs) == epochs
        self._recorded_set = set(self.recorded_epochs)
        self._snap_set = set(snapshot_epochs(epochs))
        weights = list(model.weights)
        self.inspection = Inspection(
            layers=[
                LayerInfo(layer.name, kind, bool(layer.trainable_weights))
                for layer in self.layers_
                for kind in [activation_kind(layer)]
            ],
            kernels={
                layer.name: [
                    i
                    for i, w in enumerate(weights)
                    if any(w is v for v in layer.trainable_weights) and "bias" not in w.path.rsplit("/", 1)[-1]
                ]
                for layer in self.weighted
            },
        )

    @classmethod
    def for_training(cls, model: keras.Model, spec: Spec, data: Dataset) -> Recorder | None:
        """A recorder when `training.inspect` is on, else None."""
        if not spec.training.inspect:
            return None
        from nnrun.train.base import batches_per_epoch

        return cls(model, data.x_train, spec.training.epochs, batches_per_epoch(spec, len(data.x_train)))

    def restart(self, x_train: np.ndarray) -> None:
        """Record a new training of the same model from scratch (the variables the graph reads
        are set again by `epoch_begin`): a fresh `Inspection`, this training's probe rows."""
        self.probe.assign(x_train[:PROBE_ROWS])
        self.inspection = Inspection(layers=self.inspection.layers, kernels=self.inspection.kernels)

    # -- every update --------------------------------------------------------------------

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Record the gradients the model's optimizer applies while the block runs."""
        optimizer = self.model.optimizer
        apply = optimizer.apply_gradients

        def apply_gradients(grads_and_vars: Any) -> Any:
            pairs = list(grads_and_vars)
            self._record(pairs)
            return apply(pairs)

        optimizer.apply_gradients = apply_gradients
        try:
            yield
        finally:
            del optimizer.apply_gradients  # the class's method again

    def _record(self, pairs: list[tuple[Any, Any]]) -> None:
        halves: list[Any] = [tf.constant(0.0)] * len(self.weighted)
        for g, v in pairs:
            i = self._layer_of.get(id(v))
            if g is None or i is None:
                continue
            halves[i] = halves[i] + tf.nn.l2_loss(tf.cast(tf.convert_to_tensor(g), tf.float32))  # sum(g^2) / 2
        self.grads.assign_add(tf.concat([tf.sqrt(2.0 * tf.stack(halves)), [1.0]], 0))

    # -- every epoch, and after a recorded one -----------------------------------------

    def epoch_begin(self) -> Any:
        """Before every epoch: clear the gradient sums, keep the weights to measure the update.

        Unconditional on purpose: a `tf.cond` in the graph trainer's loop costs more than
        these few assignments (it is a function call per epoch without Grappler).
        """
        ops = [self.grads.assign(tf.zeros_like(self.grads))]
        ops += [
            s.assign(v.value)
            for layer, st in zip(self.weighted, self.start, strict=True)
            for s, v in zip(st, layer.trainable_weights, strict=True)
        ]
        with tf.control_dependencies(ops):
            return tf.constant(True)

    def stats(self) -> Any:
        """The statistics of the epoch that just ended, as one float32 vector (see `internals`)."""
        acc = self.grads.read_value()
        grad = acc[:-1] / tf.maximum(acc[-1], 1.0)
        weight, ratio = [], []
        for layer, start in zip(self.weighted, self.start, strict=True):
            now = [tf.cast(v.value, tf.float32) for v in layer.trainable_weights]
            before = [tf.cast(s, tf.float32) for s in start]
            norm = tf.sqrt(2.0 * tf.add_n([tf.nn.l2_loss(w) for w in now]))
            moved = tf.sqrt(2.0 * tf.add_n([tf.nn.l2_loss(w - b) for w, b in zip(now, before, strict=True)]))
            old = tf.sqrt(2.0 * tf.add_n([tf.nn.l2_loss(b) for b in before]))
            weight.append(norm)
            ratio.append(moved / tf.maximum(old, 1e-12))
        return tf.concat(
            [
                grad,
                tf.stack(weight) if weight else tf.zeros([0]),
                tf.stack(ratio) if ratio else tf.zeros([0]),
                self._activations(),
            ],
            0,
        )

    def _activations(self) -> Any:
        if not self.watched:
            return tf.zeros([0])
        watched = {id(layer): kind for layer, kind in self.watched}
        nan = tf.constant(float("nan"))
        dead, sat, mean, std = [], [], [], []
        h = self.probe.read_value()
        for layer in self.model.layers:
            h = layer(h, training=False)
            kind = watched.get(id(layer))
            if kind is None:
                continue
            out = tf.cast(h, tf.float32)
            units = tf.reshape(out, [-1, out.shape[-1]])
            # only what applies to the kind: each op is a cost paid every epoch
            dead.append(tf.reduce_mean(tf.cast(tf.reduce_max(units, 0) <= 0.0, tf.float32)) if kind == "relu" else nan)
            if kind in _RANGES:
                lo, hi = _RANGES[kind]
                centre, reach = (lo + hi) / 2, (hi - lo) / 2 - SATURATION_MARGIN * (hi - lo)
                near = tf.cast(tf.abs(units - centre) > reach, tf.float32)
                sat.append(tf.reduce_mean(tf.cast(tf.reduce_mean(near, 0) >= SATURATED_ROWS, tf.float32)))
            else:
                sat.append(nan)
            m, v = tf.nn.moments(out, axes=list(range(len(out.shape))))
            mean.append(m)
            std.append(tf.sqrt(v))
        return tf.concat([tf.stack(dead), tf.stack(sat), tf.stack(mean), tf.stack(std)], 0)

    # -- Python side ---------------------------------------------------------------------

    def next_stop(self, done: int) -> int:
        """Where the graph trainer ends its next call after `done` epochs: the next epoch whose
        weights are kept (a snapshot) or, when not every epoch is recorded, the next recorded one."""
        stops = self._snap_set if self.every_epoch else self._recorded_set
        return min((e for e in stops if e > done), default=self.recorded_epochs[-1])

    def snapshot(self, epoch: int) -> None:
        """Keep the weights after `epoch` if it is a snapshot epoch."""
        if epoch in self._snap_set:
            self.inspection.snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    def is_recorded(self, epoch: int) -> bool:
        return epoch in self._recorded_set

    def add(self, epoch: int, values: np.ndarray) -> None:
        """The statistics after `epoch` (1-based) into the rows."""
        self.inspection.add_epoch(epoch, values)

    def finish(self) -> Inspection:
        return self.inspection


class RecorderCallback(keras.callbacks.Callback):
    """The `fit` trainer's side: the same `epoch_begin` and `stats`, each traced once."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.begin = tf.function(recorder.epoch_begin, autograph=False)
        self.stats = tf.function(recorder.stats, autograph=False)
        self.last = 0
        self.added = 0

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.begin()

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.last = epoch + 1
        if self.recorder.is_recorded(self.last):
            self._add()

    def on_train_end(self, logs: Any = None) -> None:
        # a run that stopped early (diverged, early stopping, Ctrl-C): its last epoch too,
        # before EarlyStopping restores the best weights (this callback comes first)
        if self.last and self.added != self.last:
            self._add()

    def _add(self) -> None:
        self.recorder.add(self.last, self.stats().numpy())
        self.recorder.snapshot(self.last)
        self.added = self.last
