"""Recording a network's internals while it trains, with TensorFlow ops only.

Both trainers use one `Recorder`, so they record the same numbers:

- every update: the gradient's L2 norm per layer is added to an accumulator, from inside the
  model's own `train_step` (`watching` wraps the optimizer's `apply_gradients` for the length
  of the training: it is where `train_step` hands over the gradients, and Keras offers no
  other hook short of rewriting `train_step`; the wrapper changes no number and is gone before
  the model is saved, so model.keras stays a plain Keras model);
- after a recorded epoch (`stats`): what the epoch leaves to measure, as one float32 vector:
  the gradient norm sums, the squared norms of the weights, of the epoch's update and of the
  weights before it, and per unit of each activation layer four reductions over the probe
  batch; `_derive` turns it, in NumPy, into internals' numbers (square roots, ratios, the
  layers' dead and saturated fractions, means and standard deviations), so those cost no op
  in the traced loop. The accumulator is cleared and the weights kept before each epoch
  (`epoch_begin`), or by `stats` itself when every epoch is recorded; and, in Python, a
  copy of the weights at the `snapshot_epochs`.

Nothing is built per layer: weights and gradients go through one flat vector and one segment
sum, the activation layers' outputs through one concatenation and one reduction each, so the
ops the recorder adds to the traced loop (about 100 for a small MLP, against about 470 for its
training) do not grow with depth; tracing them is most of what inspecting costs.

The graph trainer takes `stats` inside its traced loop after every epoch, or, in a long run of
tiny epochs (`stride` > 1: about `internals.MAX_RECORDED` recorded epochs), once at the end of
each call, the calls ending at the recorded epochs: an outer loop around the epoch loop,
which ran it to the next recorded epoch, traced the epoch's captures twice (on XOR about
0.025 s more tracing; an extra call costs about 0.4 ms). The `fit` trainer calls the same functions, each wrapped in a
`tf.function`, from `RecorderCallback`. There is no `tf.cond` here on purpose: without
Grappler each one is a function call that costs more than an epoch of a small MLP.
See `nnrun.inspect.internals` for what each number means.
"""

from __future__ import annotations

import contextlib
import math
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
        #: ... and a last segment of its own for the 1 that counts an update (`_record`).
        self._counted = np.append(self._segments, np.int32(len(self.weighted)))
        #: (index into `watched`, units) in the order `_units` lays them out; set by its trace.
        self._layout: list[tuple[int, int]] = []
        self.grads = tf.Variable(tf.zeros([len(self.weighted) + 1]), trainable=False)
        self.start = tf.Variable(self._flat([v.value for v in self.params]), trainable=False)
        # a variable, not a constant of the trace: a sweep worker's next run of the same
        # architecture reuses the traced loop with its own rows (`restart`)
        self.probe = tf.Variable(x_train[:PROBE_ROWS], trainable=False)
        self.recorded_epochs = recorded_epochs(epochs, updates_per_epoch)
        #: 1: the statistics are taken after every epoch, in the graph trainer's loop; else
        #: every `stride` epochs (plus the snapshots and the last), where its calls end.
        self.stride = recorded_stride(epochs, updates_per_epoch)
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

    def _flat(self, values: list[Any], *tail: Any) -> Any:
        """The tensors (one per `params` entry), then `tail`, as one float32 vector."""
        flat = tf.constant([-1])
        return tf.concat([tf.reshape(tf.cast(v, tf.float32), flat) for v in values] + list(tail), 0)

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
        # the trailing 1, alone in the last segment, counts the update (its norm is 1)
        flat = self._flat(grads, tf.ones([1]))
        n = len(self.weighted) + 1
        self.grads.assign_add(tf.sqrt(tf.math.unsorted_segment_sum(tf.square(flat), self._counted, n)))

    # -- every epoch, and after a recorded one -----------------------------------------

    def epoch_begin(self) -> Any:
        """Before an epoch: clear the gradient sums, keep the weights to measure the update.

        The graph trainer calls it before every epoch when `stride` > 1 (unconditional on
        purpose, a `tf.cond` in its loop costs more than these few assignments, being a
        function call per epoch without Grappler), the `fit` trainer before every epoch;
        with `stride` 1 the graph trainer's `stats(restart=True)` does it instead.
        """
        with tf.control_dependencies(self._restart(self._flat([v.value for v in self.params]))):
            return tf.constant(True)

    def _restart(self, weights: Any) -> list[Any]:
        return [self.grads.assign(tf.zeros_like(self.grads)), self.start.assign(weights)]

    def stats(self, restart: bool = False) -> Any:
        """What the epoch that just ended leaves to measure, as one float32 vector (`_derive`
        turns it into internals' numbers); with `restart`, then the start of the next epoch's
        (as `epoch_begin`).

        [gradient norm sums (n), updates (1); per layer, the squared norms of the weights now,
        of the epoch's update and of the weights before (n x 3); per unit of the activation
        layers, `_units`]: the square roots, ratios and the layer means are left to `_derive`,
        in NumPy, where they cost no op in the traced loop.
        """
        now, before = self._flat([v.value for v in self.params]), self.start.read_value()
        squares = tf.square(tf.stack([now, now - before, before], 1))
        norms = tf.math.unsorted_segment_sum(squares, self._segments, len(self.weighted))
        values = tf.concat([self.grads.read_value(), tf.reshape(norms, [-1]), self._units()], 0)
        if not restart:
            return values
        with tf.control_dependencies([values]), tf.control_dependencies(self._restart(now)):
            return tf.identity(values)

    def stats_row(self, done: Any) -> Any:
        """[epoch (`done`, 1-based), `stats()`...]: what the graph trainer keeps of a recorded epoch."""
        epoch = tf.cast(tf.reshape(done, [1]), tf.float32)
        return tf.concat([epoch, self.stats(restart=self.stride == 1)], 0)

    def _units(self) -> Any:
        """Per unit of every activation layer on the probe batch: [max over rows; fraction of
        rows near a limit of its range; mean; mean squared deviation from that mean], as one
        vector of 4 x units, in `_layout`'s order.

        The layers' outputs are concatenated (as [rows, units], a conv layer's positions as
        rows) and reduced at once, so the ops do not grow with depth; outputs with different
        numbers of rows (conv layers of different sizes) are reduced in groups.
        """
        if not self.watched:
            return tf.zeros([0])
        watched = {id(layer): j for j, (layer, _) in enumerate(self.watched)}
        groups: dict[Any, list[tuple[int, Any]]] = {}  # by number of rows
        h = self.probe.read_value()
        for layer in self.model.layers:
            h = layer(h, training=False)
            j = watched.get(id(layer))
            if j is not None:
                out = tf.cast(h, tf.float32)
                units = out if len(out.shape) == 2 else tf.reshape(out, [-1, out.shape[-1]])
                groups.setdefault(units.shape[0], []).append((j, units))
        parts, layout = [], []
        for members in groups.values():
            x = tf.concat([u for _, u in members], 1) if len(members) > 1 else members[0][1]
            centre, reach = self._ranges(members)
            mean = tf.reduce_mean(x, 0)
            parts.append(
                tf.stack(
                    [
                        tf.reduce_max(x, 0),
                        tf.reduce_mean(tf.cast(tf.abs(x - centre) > reach, tf.float32), 0),
                        mean,
                        tf.reduce_mean(tf.square(x - mean), 0),
                    ]
                )
            )
            layout += [(j, int(u.shape[-1])) for j, u in members]
        self._layout = layout
        return tf.reshape(tf.concat(parts, 1) if len(parts) > 1 else parts[0], [-1])

    def _ranges(self, members: list[tuple[int, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Per unit: the centre of its layer's output range, and how far from it an output is
        near a limit (infinitely far for the activations without a range)."""
        centre, reach = [], []
        for j, units in members:
            lo, hi = _RANGES.get(self.watched[j][1], (-math.inf, math.inf))
            width = int(units.shape[-1])
            if math.isfinite(hi - lo):
                centre += [(lo + hi) / 2] * width
                reach += [(hi - lo) / 2 - SATURATION_MARGIN * (hi - lo)] * width
            else:
                centre += [0.0] * width
                reach += [math.inf] * width
        return np.asarray(centre, np.float32), np.asarray(reach, np.float32)

    def _derive(self, raw: np.ndarray) -> np.ndarray:
        """`stats`'s vector -> internals' (see `internals.rows_from_vector`)."""
        raw = np.asarray(raw, dtype="float64")
        n = len(self.weighted)
        grad, count = raw[:n], raw[n]
        now, moved, before = np.sqrt(raw[n + 1 : 4 * n + 1].reshape(n, 3)).T
        units = raw[4 * n + 1 :].reshape(4, -1)
        kinds = [kind for _, kind in self.watched]
        dead, sat, mean, std = (np.full(len(kinds), np.nan) for _ in range(4))
        start = 0
        for j, width in self._layout:
            top, near, mu, var = units[:, start : start + width]
            start += width
            if kinds[j] == "relu":
                dead[j] = np.mean(top <= 0.0)
            if kinds[j] in _RANGES:
                sat[j] = np.mean(near >= SATURATED_ROWS)
            # the layer's mean and variance over all its outputs, from its units' (every unit has as many rows)
            mean[j] = np.mean(mu)
            std[j] = np.sqrt(np.mean(var) + np.var(mu))
        return np.concatenate([grad / max(count, 1.0), now, moved / np.maximum(before, 1e-12), dead, sat, mean, std])

    # -- Python side ---------------------------------------------------------------------

    def next_stop(self, done: int) -> int:
        """Where the graph trainer ends its next call after `done` epochs: the next epoch whose
        weights are kept (a snapshot; the last epoch is one), or with `stride` > 1 the next
        recorded epoch, whose statistics it takes at the end of the call."""
        stops = self._snap_set if self.stride == 1 else self._recorded_set
        return min((e for e in stops if e > done), default=self.recorded_epochs[-1])

    def snapshot(self, epoch: int) -> None:
        """Keep the weights after `epoch` if it is a snapshot epoch."""
        if epoch in self._snap_set:
            self.inspection.snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    def is_recorded(self, epoch: int) -> bool:
        return epoch in self._recorded_set

    def add(self, epoch: int, values: np.ndarray) -> None:
        """The statistics after `epoch` (1-based) into the rows."""
        self.inspection.add_epoch(epoch, self._derive(values))

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
