"""Recording a network's internals while it trains, with TensorFlow ops only.

Two recorders share `Recording` (the layers measured, the gradients of every update, the
derivation of internals' numbers), and each trainer records through the same one, so the two
trainers record the same numbers: `recorder_for` gives a small network of Dense layers a
`nnrun.inspect.replay.ReplayRecorder` (only the weights and gradients kept in the loop, the
rest replayed in NumPy after training), and any other network a `Recorder`, whose statistics
are traced into the loop, as follows.

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

Little is built per layer: a recorded epoch's weights go through one flat vector and one
segment sum, the activation layers' outputs through one concatenation and one reduction each;
each update's gradients through one op per weight tensor (`_norms`: copying them into one
vector every update cost more than the norms). Tracing these ops is most of what inspecting
costs a small network.

The graph trainer takes `stats` inside its traced loop (`take`): after every epoch, or, in a
long run of tiny epochs (`stride` > 1: about `internals.MAX_RECORDED` recorded epochs), in a
loop of one iteration or none after each epoch, which runs at the recorded epochs and at each
call's last. A call costs 0.5-0.7 ms of CPU, and ending one at each recorded epoch made about
30 more of them; a loop that runs no iteration costs about 2 microseconds. In full-batch training the
gradients of the epoch's one update are taken as they are (`carrying`), with no op per update.
The `fit` trainer calls the same functions, each wrapped in a
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


def _inference(layer: keras.layers.Layer, h: Any, read: dict[int, Any]) -> Any:
    """`layer(h, training=False)`; a plain float32 Dense layer (or a dropout layer, which does
    nothing then) by its own ops, as its `call` runs them, with its weights' values already
    `read` (by id): the same numbers, without the milliseconds of Python that tracing a Keras
    layer call costs."""
    if type(layer) is keras.layers.Dropout:
        return h
    if (
        type(layer) is keras.layers.Dense
        and layer.dtype_policy.name == "float32"
        and layer.quantization_mode is None
        and not layer.lora_enabled
        and h.dtype == tf.float32
        and len(h.shape) == 2
    ):
        h = tf.matmul(h, _value(layer.kernel, read))
        if layer.bias is not None:
            h = tf.add(h, _value(layer.bias, read))
        return h if layer.activation is None else layer.activation(h)
    return layer(h, training=False)


def _value(variable: Any, read: dict[int, Any]) -> Any:
    value = read.get(id(variable))
    return variable.value if value is None else value


def recorder_for(model: keras.Model, spec: Spec, data: Dataset, in_graph: bool = False) -> Recording | None:
    """The recorder of one training when `training.inspect` is on, else None: a `ReplayRecorder`
    for the small dense networks it can replay in NumPy (`nnrun.inspect.replay`), else a `Recorder`.
    `in_graph`: for the graph trainer's loop (else the `fit` trainer's callback)."""
    if not spec.training.inspect:
        return None
    from nnrun.inspect.replay import ReplayRecorder
    from nnrun.train.base import batches_per_epoch

    epochs, updates = spec.training.epochs, batches_per_epoch(spec, len(data.x_train))
    plan = ReplayRecorder.plan(model, data, epochs, updates)
    if plan is not None:
        return ReplayRecorder(model, data.x_train, epochs, updates, plan, in_graph)
    return Recorder(model, data.x_train, epochs, updates)


class Recording:
    """What both recorders share: the layers measured, the gradients of every update
    (`watching`), the epochs recorded, and turning the measurements into internals (`_derive`).

    A trainer uses a recorder through `watching`; the graph trainer's loop also through
    `carrying`, `needs_epoch_begin`/`epoch_begin`, `loop_state`/`take`/`loop_output`, `collect`
    and `next_stop`; the `fit` trainer through `callback`; both end with `finish`."""

    def __init__(self, model: keras.Model, epochs: int, updates_per_epoch: int, sums: bool = True) -> None:
        self.model = model
        self.layers_ = [layer for layer in model.layers if layer.trainable_weights or activation_kind(layer)]
        self.weighted = [layer for layer in self.layers_ if layer.trainable_weights]
        self.watched = [(layer, kind) for layer in self.layers_ if (kind := activation_kind(layer))]
        self.params = [v for layer in self.weighted for v in layer.trainable_weights]
        self._slot = {id(v): i for i, v in enumerate(self.params)}
        #: For each of `params`, the index of its layer, and a last entry of its own for the 1
        #: that counts an update (`_norms`).
        self._counted = np.array(
            [i for i, layer in enumerate(self.weighted) for _ in layer.trainable_weights] + [len(self.weighted)],
            np.int32,
        )
        #: (index into `watched`, units) in the order the units' reductions are laid out (`_derive`).
        self._layout: list[tuple[int, int]] = []
        #: The sums of each layer's gradient norms over the epoch's updates, and their count
        #: (`_norms`); None for a recorder that takes only carried gradients (`sums` False).
        self.grads = tf.Variable(tf.zeros([len(self.weighted) + 1]), trainable=False) if sums else None
        self.recorded_epochs = recorded_epochs(epochs, updates_per_epoch)
        #: 1: the statistics are taken after every epoch; else every `stride` epochs (plus the
        #: snapshots and the last).
        self.stride = recorded_stride(epochs, updates_per_epoch)
        self._recorded_set = set(self.recorded_epochs)
        self._snap_set = set(snapshot_epochs(epochs))
        #: While the graph trainer traces an epoch (`carrying`): that graph, and the gradients
        #: of the update traced in it, which the epoch's statistics take as they are.
        self._carry_graph: Any = None
        self._carried: list[Any] | None = None
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

    def _fresh(self) -> None:
        """A new training of the same model: an empty `Inspection`, the gradient sums cleared."""
        self.inspection = Inspection(layers=self.inspection.layers, kernels=self.inspection.kernels)
        if self.grads is not None:
            self.grads.assign(tf.zeros_like(self.grads))

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
        if self._carried is None and tf.compat.v1.get_default_graph() is self._carry_graph:
            self._carried = grads  # the epoch's one update: its statistics take them (`take`), no op here
            return
        if self.grads is None:
            raise AssertionError("gradients applied outside the graph of the epoch that carries them")
        self.grads.assign_add(self._norms(grads))

    def _norms(self, grads: list[Any]) -> Any:
        """[each layer's gradient norm / sqrt(2)..., 1]: one update's share of the gradient sums
        (`_derive` multiplies the sums by sqrt(2): one op less per weight tensor, every update).

        Every update, so each gradient's squared norm is one op where it lies (`l2_loss`, half
        the sum of squares), and only those few numbers are summed by layer: flattening the
        gradients into one vector first copied every value of the network each update (for an
        MLP 784-128-10 that copy was most of what recording cost)."""
        squares = [tf.nn.l2_loss(tf.cast(g, tf.float32)) for g in grads]
        # the trailing 1, alone in the last segment, counts the update (its norm is 1)
        n = len(self.weighted) + 1
        return tf.sqrt(tf.math.unsorted_segment_sum(tf.stack([*squares, tf.ones([])]), self._counted, n))

    # -- in the graph trainer's loop -------------------------------------------------

    def carrying(self) -> None:
        """Before the graph trainer traces an epoch: the gradients of an update traced in the
        epoch's own graph (full batch: `train_step` is called there, not in a loop over batches)
        go to `take` as they are, rather than through the accumulator."""
        self._carry_graph, self._carried = tf.compat.v1.get_default_graph(), None

    def is_recorded(self, epoch: int) -> bool:
        return epoch in self._recorded_set

    def _ranges(self, members: list[tuple[int, Any]]) -> tuple[np.ndarray, np.ndarray]:
        """Per unit: the centre of its layer's output range, and how far from it an output is
        near a limit (infinitely far for the activations without a range)."""
        centre, reach = [], []
        for j, units in members:
            c, r = self._range(j)
            width = int(units.shape[-1])
            centre += [c] * width
            reach += [r] * width
        return np.asarray(centre, np.float32), np.asarray(reach, np.float32)

    def _range(self, j: int) -> tuple[float, float]:
        """The centre of the `j`-th watched layer's output range, and how far from it an output
        is near a limit (infinitely far for the activations without a range)."""
        lo, hi = _RANGES.get(self.watched[j][1], (-math.inf, math.inf))
        if not math.isfinite(hi - lo):
            return 0.0, math.inf
        return (lo + hi) / 2, (hi - lo) / 2 - SATURATION_MARGIN * (hi - lo)

    def _derive(self, raw: np.ndarray) -> np.ndarray:
        """`stats`'s vectors (one a row) -> internals' (see `internals.rows_from_vector`), in one
        pass over all the rows."""
        raw = np.asarray(raw, dtype="float64")
        n, k = len(self.weighted), len(raw)
        grad, count = raw[:, :n] * math.sqrt(2.0), raw[:, n : n + 1]  # the sums of norms / sqrt(2) (`_norms`)
        squares = np.sqrt(raw[:, n + 1 : 4 * n + 1].reshape(k, n, 3))
        now, moved, before = squares[..., 0], squares[..., 1], squares[..., 2]
        units = raw[:, 4 * n + 1 :].reshape(k, 4, -1)
        kinds = [kind for _, kind in self.watched]
        dead, sat, mean, std = (np.full((k, len(kinds)), np.nan) for _ in range(4))
        start = 0
        for j, width in self._layout:
            top, near, mu, var = (units[:, q, start : start + width] for q in range(4))
            start += width
            if kinds[j] == "relu":
                dead[:, j] = np.mean(top <= 0.0, axis=1)
            if kinds[j] in _RANGES:
                sat[:, j] = np.mean(near >= SATURATED_ROWS, axis=1)
            # the layer's mean and variance over all its outputs, from its units' (every unit has as many rows)
            mean[:, j] = np.mean(mu, axis=1)
            std[:, j] = np.sqrt(np.mean(var, axis=1) + np.var(mu, axis=1))
        ratio = moved / np.maximum(before, 1e-12)
        return np.concatenate([grad / np.maximum(count, 1.0), now, ratio, dead, sat, mean, std], axis=1)


class Recorder(Recording):
    """Statistics traced into the training loop: any model (see the module docstring)."""

    def __init__(self, model: keras.Model, x_train: np.ndarray, epochs: int, updates_per_epoch: int) -> None:
        super().__init__(model, epochs, updates_per_epoch)
        #: For each value of the trainable weights (flattened and concatenated, see `_flat`) the
        #: index of its layer: one segment sum gives every layer's squared norm at once, a few
        #: ops whatever the depth.
        self._segments = np.concatenate(
            [
                np.full(int(np.prod(v.shape)), i, np.int32)
                for i, layer in enumerate(self.weighted)
                for v in layer.trainable_weights
            ]
            or [np.zeros(0, np.int32)]
        )
        self.start = tf.Variable(self._flat([v.value for v in self.params]), trainable=False)
        # a variable, not a constant of the trace: a sweep worker's next run of the same
        # architecture reuses the traced loop with its own rows (`restart`)
        self.probe = tf.Variable(x_train[:PROBE_ROWS], trainable=False)
        self._pending: tuple[int, np.ndarray] | None = None
        self._taken: list[tuple[int, np.ndarray]] = []

    def restart(self, x_train: np.ndarray) -> None:
        """Record a new training of the same model from scratch (its variables already reset):
        a fresh `Inspection`, this training's probe rows, the measurements started again."""
        self.probe.assign(x_train[:PROBE_ROWS])
        self._restart(self._flat([v.value for v in self.params]))
        self._pending = None
        self._taken = []
        self.inspection = Inspection(layers=self.inspection.layers, kernels=self.inspection.kernels)

    @property
    def needs_epoch_begin(self) -> bool:
        """The graph trainer calls `epoch_begin` before every epoch (else `stats` restarts)."""
        return self.stride > 1

    def loop_state(self, epochs: Any) -> tuple[Any, ...]:
        """What the graph trainer's loop carries for the recorder: the statistics' rows."""
        return (tf.TensorArray(tf.float32, size=epochs),)

    def loop_output(self, state: tuple[Any, ...]) -> Any:
        return state[0].stack()

    def collect(self, first: int, stats: np.ndarray, count: int) -> None:
        """After a call of the graph trainer's loop (`first` epochs done before it, `count` in
        it): the statistics it took (`loop_output`), and the weights if it ended at a snapshot."""
        for taken in stats[:count]:  # [epoch, internals...]; epoch 0: none taken
            if taken[0] > 0:
                self.offer(int(taken[0]), taken[1:])
        self.snapshot(first + count)

    def callback(self) -> keras.callbacks.Callback:
        return RecorderCallback(self)

    def _flat(self, values: list[Any], *tail: Any) -> Any:
        """The tensors (one per `params` entry), then `tail`, as one float32 vector."""
        flat = tf.constant([-1])
        parts = [tf.cast(v, tf.float32) for v in values]  # vectors (biases) as they are: fewer ops to trace
        return tf.concat([v if len(v.shape) == 1 else tf.reshape(v, flat) for v in parts] + list(tail), 0)

    def take(self, state: tuple[Any, ...], i: Any, done: Any, last: Any) -> tuple[Any, ...]:
        """After the epoch traced since `carrying`, the `i`-th of the call (`done` epochs done):
        `state`'s rows (a TensorArray) with the epoch's `stats_row` at `i` if it is recorded, or
        if it is the call's `last` (kept in case it ends the run), else as they were.

        With `stride` > 1 the statistics run in a loop of one iteration or none: a few ops
        and a function call per epoch (a `tf.cond` costs several times more without Grappler),
        against half a millisecond per call the loop would otherwise end at each recorded epoch.
        """
        carried, self._carry_graph, self._carried = self._carried, None, None
        (stats,) = state
        if self.stride == 1:
            return (stats.write(i, self.stats_row(done, carried)),)
        due = np.zeros(self.recorded_epochs[-1] + 2, bool)
        due[self.recorded_epochs] = True
        now = tf.logical_or(tf.gather(tf.constant(due), tf.minimum(done, len(due) - 1)), last)

        def record(k: Any, stats: Any) -> tuple[Any, Any]:
            return k + 1, stats.write(i, self.stats_row(done, carried))

        return (tf.while_loop(lambda k, _: k < tf.cast(now, tf.int32), record, (tf.constant(0), stats))[1],)

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

    def stats(self, restart: bool = False, carried: list[Any] | None = None) -> Any:
        """What the epoch that just ended leaves to measure, as one float32 vector (`_derive`
        turns it into internals' numbers); with `restart`, then the start of the next epoch's
        (as `epoch_begin`).

        [gradient norm sums (n), updates (1); per layer, the squared norms of the weights now,
        of the epoch's update and of the weights before (n x 3); per unit of the activation
        layers, `_units`]: the square roots, ratios and the layer means are left to `_derive`,
        in NumPy, where they cost no op in the traced loop.
        """
        grads = self.grads.read_value()
        if carried is not None:
            grads = grads + self._norms(carried)
        weights = [v.value for v in self.params]  # read once, for the norms and the probe pass
        now, before = self._flat(weights), self.start.read_value()
        squares = tf.square(tf.stack([now, now - before, before], 1))
        norms = tf.math.unsorted_segment_sum(squares, self._segments, len(self.weighted))
        values = tf.concat([grads, tf.reshape(norms, [-1]), self._units(weights)], 0)
        if not restart:
            return values
        with tf.control_dependencies([values]), tf.control_dependencies(self._restart(now)):
            return tf.identity(values)

    def stats_row(self, done: Any, carried: list[Any] | None = None) -> Any:
        """[epoch (`done`, 1-based), `stats()`...]: what the graph trainer keeps of an epoch."""
        epoch = tf.cast(tf.reshape(done, [1]), tf.float32)
        return tf.concat([epoch, self.stats(restart=self.stride == 1, carried=carried)], 0)

    def _units(self, weights: list[Any]) -> Any:
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
        read = {id(v): w for v, w in zip(self.params, weights, strict=True)}
        for layer in self.model.layers:
            h = _inference(layer, h, read)
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

    # -- Python side ---------------------------------------------------------------------

    def next_stop(self, done: int) -> int:
        """Where the graph trainer ends its next call after `done` epochs: the next epoch whose
        weights are kept (a snapshot; the last epoch is one)."""
        return min((e for e in self._snap_set if e > done), default=self.recorded_epochs[-1])

    def snapshot(self, epoch: int) -> None:
        """Keep the weights after `epoch` if it is a snapshot epoch."""
        if epoch in self._snap_set:
            self.inspection.snapshots[epoch] = [np.array(w) for w in self.model.get_weights()]

    def add(self, epoch: int, values: np.ndarray) -> None:
        """The statistics after `epoch` (1-based) into the rows."""
        self.inspection.add_epoch(epoch, self._derive(values[None])[0])

    def offer(self, epoch: int, values: np.ndarray) -> None:
        """Statistics the graph took after `epoch`: kept when it is a recorded epoch, else held
        until `finish` in case it is the run's last (a run that stopped early records it);
        turned into rows by `finish`, all at once."""
        if self.is_recorded(epoch):
            self._taken.append((epoch, values))
            self._pending = None
        else:
            self._pending = (epoch, values)

    def finish(self) -> Inspection:
        if self._pending is not None:
            self._taken.append(self._pending)
            self._pending = None
        if self._taken:
            for (epoch, _), derived in zip(
                self._taken, self._derive(np.stack([v for _, v in self._taken])), strict=True
            ):
                self.inspection.add_epoch(epoch, derived)
            self._taken = []
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
