"""Recording a network's internals while it trains, with TensorFlow ops only.

Both trainers use one `Recorder`, so they record the same numbers:

- every update: the gradient's L2 norm per layer is added to an accumulator, from inside the
  model's own `train_step` (`watching` wraps the optimizer's `apply_gradients` for the length
  of the training: it is where `train_step` hands over the gradients, and Keras offers no
  other hook short of rewriting `train_step`; the wrapper changes no number and is gone before
  the model is saved, so model.keras stays a plain Keras model);
- after a recorded epoch (`stats`): averaged gradient norms, weight norms, update ratios and
  the activation statistics on the probe batch, as one float32 vector; then the accumulator
  is cleared and the weights kept, to measure the next epoch's update (`epoch_begin` does
  only that, before epochs whose predecessor was not recorded); and, in Python, a copy of
  the weights at the `snapshot_epochs`.

The weights and gradients are handled as one flat vector (`_flat`) whose per-layer norms
come from one segment sum (`_norms`): the recorder adds a few dozen ops to the traced loop
whatever the depth of the network, and tracing them is most of what inspecting costs.

The graph trainer takes `stats` inside its traced loop every `stride` epochs (every epoch,
in the epoch loop itself; or about `internals.MAX_RECORDED` times in a long run of tiny
epochs, from an outer loop that runs to the next recorded epoch: the nesting costs about
0.03 s of tracing, less than ending a call at each), with no Python in between; it ends a
call only at the snapshot epochs (about six per run) to copy the weights. The `fit`
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
    recorded_stride,
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
        #: The trainable weights layer by layer, and for each of their values (flattened and
        #: concatenated, see `_flat`) the index of its layer: one segment sum gives every
        #: layer's squared norm at once, a few ops whatever the depth.
        self.params = [v for layer in self.weighted for v in layer.trainable_weights]
        self._slot = {id(v): i for i, v in enumerate(self.params)}
        self._segments = np.concatenate(
            [
                np.full(int(np.prod(v.shape)), i, np.int32)
                for i, layer in enumerate(self.weighted)
                for v in layer.trainable_weights
            ]
            or [np.zeros(0, np.int32)]
        )
        self.grads = tf.Variable(tf.zeros([len(self.weighted) + 1]), trainable=False)
        self.start = tf.Variable(self._flat([v.value for v in self.params]), trainable=False)
        # a variable, not a constant of the trace: a sweep worker's next run of the same
        # architecture reuses the traced loop with its own rows (`restart`)
        self.probe = tf.Variable(x_train[:PROBE_ROWS], trainable=False)
        self.recorded_epochs = recorded_epochs(epochs, updates_per_epoch)
        #: In-graph, the statistics are taken every `stride` epochs (1: every epoch); the
        #: other recorded epochs (snapshots, the last) end a call of the graph trainer.
        self.stride = recorded_stride(epochs, updates_per_epoch)
        self._stride = tf.Variable(self.stride, dtype=tf.int64, trainable=False)
        self._recorded_set = set(self.recorded_epochs)
        self._snap_set = set(snapshot_epochs(epochs))
        self._pending: tuple[int, np.ndarray] | None = None
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
        """Record a new training of the same model from scratch (its variables already reset):
        a fresh `Inspection`, this training's probe rows, the measurements started again."""
        self.probe.assign(x_train[:PROBE_ROWS])
        self._restart(self._flat([v.value for v in self.params]))
        self._pending = None
        self.inspection = Inspection(layers=self.inspection.layers, kernels=self.inspection.kernels)

    def _flat(self, values: list[Any]) -> Any:
        """The tensors (one per `params` entry) as one float32 vector."""
        if not values:
            return tf.zeros([0])
        flat = tf.constant([-1])
        return tf.concat([tf.reshape(tf.cast(v, tf.float32), flat) for v in values], 0)

    def _norms(self, flat: Any) -> Any:
        """Per-layer L2 norms of a flat vector (or of each column of a [values, k] matrix)."""
        sums = tf.math.unsorted_segment_sum(tf.square(flat), self._segments, len(self.weighted))
        return tf.sqrt(sums)

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
        grads: list[Any] = [None] * len(self.params)
        for g, v in pairs:
            i = self._slot.get(id(v))
            if g is not None and i is not None:
                grads[i] = tf.convert_to_tensor(g)
        grads = [tf.zeros(v.shape) if g is None else g for g, v in zip(grads, self.params, strict=True)]
        self.grads.assign_add(tf.concat([self._norms(self._flat(grads)), [1.0]], 0))

    # -- every epoch, and after a recorded one -----------------------------------------

    def epoch_begin(self) -> Any:
        """Before an epoch: clear the gradient sums, keep the weights to measure the update.

        `stats` does the same after it has read them, so only a trainer that does not take
        the statistics after every epoch needs this (the graph trainer calls it before every
        epoch when `stride` > 1: unconditional on purpose, a `tf.cond` in its loop costs more
        than these few assignments, being a function call per epoch without Grappler).
        """
        with tf.control_dependencies(self._restart(self._flat([v.value for v in self.params]))):
            return tf.constant(True)

    def _restart(self, weights: Any) -> list[Any]:
        return [self.grads.assign(tf.zeros_like(self.grads)), self.start.assign(weights)]

    def stats(self) -> Any:
        """The statistics of the epoch that just ended, as one float32 vector (see `internals`),
        then the start of the next epoch's (as `epoch_begin`)."""
        n = len(self.weighted)
        grad, count = tf.split(self.grads.read_value(), [n, 1])
        now, before = self._flat([v.value for v in self.params]), self.start.read_value()
        # one segment sum for the three norms: weights now, the epoch's update, weights before
        weight, moved, old = tf.unstack(self._norms(tf.stack([now, now - before, before], 1)), num=3, axis=1)
        values = tf.concat(
            [grad / tf.maximum(count, 1.0), weight, moved / tf.maximum(old, 1e-12), self._activations()], 0
        )
        with tf.control_dependencies([values]), tf.control_dependencies(self._restart(now)):
            return tf.identity(values)

    def epochs_to_next(self, done: Any) -> Any:
        """How many epochs from `done` (int64, epochs finished) to the next one taken in-graph."""
        return tf.cast(self._stride - done % self._stride, tf.int32)

    def stats_row(self, done: Any) -> Any:
        """[epoch (`done`, 1-based), `stats()`...]: what the graph trainer keeps of a recorded epoch."""
        return tf.concat([tf.cast(tf.reshape(done, [1]), tf.float32), self.stats()], 0)

    def _activations(self) -> Any:
        if not self.watched:
            return tf.zeros([0])
        watched = {id(layer): kind for layer, kind in self.watched}
        nan = tf.constant(float("nan"))
        rows = tf.constant(0)
        dead, sat, mean, std = [], [], [], []
        h = self.probe.read_value()
        for layer in self.model.layers:
            h = layer(h, training=False)
            kind = watched.get(id(layer))
            if kind is None:
                continue
            out = tf.cast(h, tf.float32)
            units = out if len(out.shape) == 2 else tf.reshape(out, [-1, out.shape[-1]])
            # only what applies to the kind: each op is a cost paid every recorded epoch
            dead.append(
                tf.reduce_mean(tf.cast(tf.reduce_max(units, rows) <= 0.0, tf.float32)) if kind == "relu" else nan
            )
            if kind in _RANGES:
                lo, hi = _RANGES[kind]
                centre, reach = (lo + hi) / 2, (hi - lo) / 2 - SATURATION_MARGIN * (hi - lo)
                near = tf.cast(tf.abs(units - centre) > reach, tf.float32)
                sat.append(tf.reduce_mean(tf.cast(tf.reduce_mean(near, rows) >= SATURATED_ROWS, tf.float32)))
            else:
                sat.append(nan)
            m = tf.reduce_mean(units)
            mean.append(m)
            std.append(tf.sqrt(tf.reduce_mean(tf.square(units - m))))
        return tf.concat([tf.stack(dead), tf.stack(sat), tf.stack(mean), tf.stack(std)], 0)

    # -- Python side ---------------------------------------------------------------------

    def next_stop(self, done: int) -> int:
        """Where the graph trainer ends its next call after `done` epochs: the next epoch whose
        weights are kept (a snapshot; the last epoch is one)."""
        return min((e for e in self._snap_set if e > done), default=self.recorded_epochs[-1])

    def snapshot(self, epoch: int) -> None:
        """Keep the weights after `epoch` if it is a snapshot epoch."""
        if epoch in self._snap_set:
            self.inspection.snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    def is_recorded(self, epoch: int) -> bool:
        return epoch in self._recorded_set

    def add(self, epoch: int, values: np.ndarray) -> None:
        """The statistics after `epoch` (1-based) into the rows."""
        self.inspection.add_epoch(epoch, values)

    def offer(self, epoch: int, values: np.ndarray) -> None:
        """Statistics the graph took after `epoch`: kept when it is a recorded epoch, else held
        until `finish` in case it is the run's last (a run that stopped early records it)."""
        if self.is_recorded(epoch):
            self.add(epoch, values)
            self._pending = None
        else:
            self._pending = (epoch, values)

    def finish(self) -> Inspection:
        if self._pending is not None:
            self.add(*self._pending)
            self._pending = None
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
