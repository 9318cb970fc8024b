"""Recording a small dense network by its weights, and its internals replayed in NumPy after.

For a network of Dense layers, plus layers whose inference pass is nothing or one NumPy line
(dropout, Gaussian noise, flatten, the step and leaky ReLU activation layers: `plan`),
everything internals.csv holds but the gradients follows from the weights: their norms, the
update ratios (the weights before the epoch are the previous epoch's), the probe batch's
activations (`dense_numpy`, Keras's own float32 operations). So the training loop keeps only
the weights of the epochs that need them (each recorded epoch and the one before it) and the
gradients of the recorded ones, and NumPy derives the rest after training, where it costs no
op to trace: tracing the statistics was most of what inspecting cost a small network (a
full-batch XOR run: about 85 more graph nodes, 0.05-0.08 s a process, a quarter of its training).

In the graph trainer's loop (`take`) each epoch writes one row into a preallocated buffer
variable: the weights as one flat vector, then the epoch's gradients (full batch: the one
update's, flattened; else the accumulated per-update norms, cleared for the next epoch): a
reshape per matrix, a concat and a scatter. Its slot is the epoch's own when every epoch is recorded or the rows are
small (`EVERY_ROW_BYTES`), else a slot of its own for the epochs that are needed and one of two
alternating slots for the rest (so the last two epochs are always there, for a run that stopped
early). Python reads the buffer once, after training.
The `fit` trainer's callback keeps the same rows in Python. Both then replay the same rows with
the same code, so they record the same internals. Networks with any other layer, streamed data
or a buffer over `MAX_BUFFER_BYTES` get `nnrun.inspect.recorder.Recorder` instead.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from nnrun.build.custom import Step as StepLayer
from nnrun.inspect import dense_numpy
from nnrun.inspect.dense_numpy import Step
from nnrun.inspect.internals import PROBE_ROWS, Inspection
from nnrun.inspect.recorder import Recording

if TYPE_CHECKING:
    from nnrun.data import Dataset

#: The rows of weights a training keeps take at most this many bytes; a larger network (or a
#: long run of a wide one that records every epoch) is recorded by the traced statistics.
MAX_BUFFER_BYTES = 16 << 20
#: A long run of tiny epochs keeps every epoch's row when they take at most this many bytes
#: (no op an epoch to find its slot), else only the needed ones (`_slots`).
EVERY_ROW_BYTES = 1 << 20
#: Epochs replayed at once (their activations on the probe batch are held together).
REPLAYED = 32


def _plan(model: keras.Model, features: tuple[int, ...], params: list[Any], watched: list[Any]) -> list[Step] | None:
    """The model's layers as `dense_numpy` steps, or None if one of them is not one of those."""
    index = {id(v): i for i, v in enumerate(params)}
    measured = {id(layer): j for j, (layer, _) in enumerate(watched)}
    rank = len(features)
    plan = []
    for layer in model.layers:
        kind, j = type(layer), measured.get(id(layer), -1)
        if kind is keras.layers.Dense:
            activation = getattr(layer.activation, "__name__", None)
            if (
                rank != 1
                or layer.dtype_policy.name != "float32"
                or layer.quantization_mode is not None
                or layer.lora_enabled
                or activation not in dense_numpy.ACTIVATIONS
                or id(layer.kernel) not in index
                or (layer.bias is not None and id(layer.bias) not in index)
            ):
                return None
            bias = -1 if layer.bias is None else index[id(layer.bias)]
            plan.append(Step("dense", index[id(layer.kernel)], bias, activation, watched=j))
        elif kind in (keras.layers.Dropout, keras.layers.GaussianNoise):
            plan.append(Step("identity", watched=j))
        elif kind is keras.layers.Flatten and layer.data_format == "channels_last":
            plan.append(Step("flatten" if rank > 1 else "identity", watched=j))
            rank = 1
        elif kind is StepLayer:
            plan.append(Step("step", watched=j))
        elif kind is keras.layers.LeakyReLU:
            plan.append(Step("leaky_relu", alpha=float(layer.negative_slope), watched=j))
        else:
            return None
    return plan


def _slots(needed: set[int], epochs: int) -> np.ndarray:
    """Each epoch's row in the buffer (index: epoch, 0 unused): the needed epochs one each, the
    others the two slots after them, alternately."""
    order = sorted(needed)
    slot = {e: k for k, e in enumerate(order)}
    spare = len(order)
    return np.array([slot.get(e, spare + e % 2) for e in range(epochs + 1)], np.int64)


class ReplayRecorder(Recording):
    """The weights and gradients of the epochs needed in the loop, the rest in NumPy after
    (see the module docstring)."""

    @staticmethod
    def plan(model: keras.Model, data: Dataset, epochs: int, updates_per_epoch: int) -> list[Step] | None:
        """The model's NumPy inference steps when this recorder can record its training, else None."""
        x = data.x_train
        if data.streamed or not isinstance(x, np.ndarray) or x.dtype != np.float32:
            return None
        layers = [layer for layer in model.layers if layer.trainable_weights]
        params = [v for layer in layers for v in layer.trainable_weights]
        weights = list(model.weights)
        if len(weights) != len(params) or any(a is not b for a, b in zip(weights, params, strict=True)):
            return None  # weights that are not trained (a snapshot is every weight): traced
        from nnrun.inspect.internals import recorded_epochs
        from nnrun.inspect.recorder import activation_kind

        size = sum(int(np.prod(v.shape)) for v in params)
        recorded = recorded_epochs(epochs, updates_per_epoch)
        rows = epochs + 1 if len(recorded) == epochs else 2 * len(recorded) + 2
        if rows * 2 * (size + len(layers) + 1) * 4 > MAX_BUFFER_BYTES:
            return None
        watched = [(layer, kind) for layer in model.layers if (kind := activation_kind(layer))]
        return _plan(model, x.shape[1:], params, watched)

    def __init__(
        self,
        model: keras.Model,
        x_train: np.ndarray,
        epochs: int,
        updates_per_epoch: int,
        plan: list[Step],
        in_graph: bool,
    ) -> None:
        #: In the graph trainer's loop with one update an epoch, that update's gradients as they
        #: are (`carrying`), no sums.
        self._gradient_values = in_graph and updates_per_epoch == 1
        super().__init__(model, epochs, updates_per_epoch, sums=not self._gradient_values)
        self.steps = plan
        self.probe = np.asarray(x_train[:PROBE_ROWS], np.float32)
        self._shapes = [tuple(int(d) for d in v.shape) for v in self.params]
        sizes = [int(np.prod(s)) for s in self._shapes]
        self._ends = np.cumsum(sizes)[:-1]
        self.size = sum(sizes)
        #: Where each layer's values start in the flat vector (a layer's weights are consecutive).
        self._layer_starts = np.searchsorted(np.repeat(self._counted[:-1], sizes), np.arange(len(self.weighted)))
        #: The epochs whose rows are kept: the recorded ones and the one before each.
        self._needed = set(self.recorded_epochs) | {e - 1 for e in self.recorded_epochs if e > 1}
        #: epoch -> [weights..., the epoch's gradients]: flattened gradients (`_gradient_values`)
        #: or the sums of the per-update norms and the count of updates.
        self._rows: dict[int, np.ndarray] = {}
        self._done = 0
        #: The weights before the first epoch, read now (the process's first eager read of a
        #: variable costs a few ms, but the graph trainer makes one anyway: reading them in its
        #: loop took ~2 ms more to trace).
        self.start = self.read_weights()
        self.buffer: Any = None
        self._slot_of: np.ndarray | None = None
        if in_graph:
            width = self.size + (self.size if self._gradient_values else len(self.weighted) + 1)
            if self.stride > 1 and (epochs + 1) * width * 4 > EVERY_ROW_BYTES:
                self._slot_of = _slots(self._needed, epochs)
            rows = epochs + 1 if self._slot_of is None else int(self._slot_of.max()) + 1
            self.buffer = tf.Variable(tf.zeros([rows, width]), trainable=False)

    def restart(self, x_train: np.ndarray) -> None:
        """Record a new training of the same model from scratch (its variables already reset)."""
        self.probe = np.asarray(x_train[:PROBE_ROWS], np.float32)
        self.start = self.read_weights()
        self._rows, self._done = {}, 0
        self._fresh()

    def read_weights(self) -> np.ndarray:
        return np.concatenate([np.ravel(v.numpy()) for v in self.params])

    def _flat(self, tensors: list[Any]) -> Any:
        """The tensors as one vector (vectors as they are: fewer ops to trace). A reshape a
        matrix and a concat run as fast as one `dynamic_stitch`, whose index constants are more
        ops to trace."""
        flat = tf.constant([-1])
        return tf.concat([t if len(t.shape) == 1 else tf.reshape(t, flat) for t in tensors], 0)

    # -- in the graph trainer's loop -------------------------------------------------

    needs_epoch_begin = False

    def loop_state(self, epochs: Any) -> tuple[Any, ...]:
        return ()  # nothing carried through the loop: the rows go to the buffer

    def loop_output(self, state: tuple[Any, ...]) -> Any:
        return tf.zeros([0, 0])

    def take(self, state: tuple[Any, ...], i: Any, done: Any, last: Any) -> tuple[Any, ...]:
        """After the epoch traced since `carrying` (`done` epochs done): its row into the buffer."""
        carried, self._carry_graph, self._carried = self._carried, None, None
        if (carried is not None) != self._gradient_values:
            raise AssertionError("an epoch of one update traced its gradients outside the epoch's graph")
        tail = carried if carried is not None else [self.grads.read_value()]
        row = self._flat([*[v.value for v in self.params], *tail])
        slot = done if self._slot_of is None else tf.gather(tf.constant(self._slot_of), done)
        tf.raw_ops.ResourceScatterUpdate(resource=self.buffer.handle, indices=slot, updates=row)  # the row at `slot`
        if carried is None:
            with tf.control_dependencies([row]):  # the sums read, then cleared for the next epoch
                self.grads.assign(tf.zeros_like(self.grads))
        return state

    def collect(self, first: int, stats: np.ndarray, count: int) -> None:
        """After a call of the graph trainer's loop: `first + count` epochs done."""
        self._done = first + count

    def next_stop(self, done: int) -> int:
        """The graph trainer's calls need not end anywhere for this recorder: the snapshots are rows."""
        return self.recorded_epochs[-1]

    # -- the fit trainer's side --------------------------------------------------------

    def callback(self) -> keras.callbacks.Callback:
        return _ReplayCallback(self)

    def keep(self, epoch: int) -> None:
        """After `epoch` (1-based) in the fit trainer: its row, and the gradient sums cleared."""
        self._rows[epoch] = np.concatenate([self.read_weights(), self.grads.numpy()])
        if epoch - 2 not in self._needed:  # the last two epochs are kept in case the run ends here
            self._rows.pop(epoch - 2, None)
        self._done = epoch

    # -- after training -----------------------------------------------------------------

    def finish(self) -> Inspection:
        last = self._done
        if self.buffer is not None and last:
            epochs = sorted({e for e in self._needed if e <= last} | {last, last - 1} - {0})
            slots = epochs if self._slot_of is None else self._slot_of[epochs]
            rows = tf.gather(self.buffer, slots).numpy()  # only the rows wanted: every epoch's can be many
            self._rows.update(zip(epochs, rows, strict=True))
        if last:
            epochs = [e for e in self.recorded_epochs if e <= last]
            epochs += [] if last in self._recorded_set else [last]  # a run that stopped early: its last epoch
            # a diverged run's weights overflow in the replay: inf and NaN, as TensorFlow's ops
            # give them, without NumPy printing a RuntimeWarning on the learner's terminal
            with np.errstate(all="ignore"):
                for k in range(0, len(epochs), REPLAYED):
                    group = epochs[k : k + REPLAYED]
                    for epoch, values in zip(group, self._derive(self._measure(group)), strict=True):
                        self.inspection.add_epoch(epoch, values)
            for e in sorted(self._snap_set):
                if e <= last:
                    self.inspection.snapshots[e] = [w[0] for w in self._unflat(self._rows[e][None, : self.size])]
        self._rows = {}
        return self.inspection

    def _unflat(self, flat: np.ndarray) -> list[np.ndarray]:
        """[epochs, size] -> each weight with a leading axis of epochs."""
        parts = np.split(flat, self._ends, axis=1)
        return [part.reshape(len(flat), *shape) for part, shape in zip(parts, self._shapes, strict=True)]

    def _measure(self, epochs: list[int]) -> np.ndarray:
        """The epochs' measurements as `Recorder.stats` lays them out, a row each (`_derive`
        turns them into internals)."""
        rows = np.stack([self._rows[e] for e in epochs])
        now = rows[:, : self.size]
        before = np.stack([self._rows[e - 1][: self.size] if e > 1 else self.start for e in epochs])
        by_layer = partial(np.add.reduceat, indices=self._layer_starts, axis=1)
        if self._gradient_values:
            g = rows[:, self.size :].astype(np.float64)
            grads = np.concatenate([np.sqrt(by_layer(g * g) / 2), np.ones((len(rows), 1))], 1)  # as `_norms`
        else:
            grads = rows[:, self.size :].astype(np.float64)
        now64, before64 = now.astype(np.float64), before.astype(np.float64)
        squares = np.stack([by_layer(v * v) for v in (now64, now64 - before64, before64)], 2)
        return np.concatenate([grads, squares.reshape(len(rows), -1), self._units(now)], 1)

    def _units(self, weights: np.ndarray) -> np.ndarray:
        """Per unit of the activation layers on the probe batch, as `Recorder._units` lays them
        out, a row for each row of `weights`: only the reductions `_derive` reads for the layer's
        activation (the maximum for ReLU, the rows near a limit for sigmoid and tanh), zeros for
        the rest, layer by layer (concatenating the outputs first cost more than the reductions)."""
        outputs = dense_numpy.outputs(self.steps, self._unflat(weights), self.probe)
        self._layout = [(j, int(out.shape[1])) for j, out in enumerate(outputs)]
        parts: list[list[np.ndarray]] = [[], [], [], []]
        for j, out in enumerate(outputs):  # [epochs, units, rows]
            kind, none = self.watched[j][1], np.zeros(out.shape[:2], np.float32)
            centre, reach = (np.float32(v) for v in self._range(j))
            mean = out.mean(-1)
            parts[0].append(out.max(-1) if kind == "relu" else none)
            parts[1].append((np.abs(out - centre) > reach).mean(-1) if np.isfinite(reach) else none)
            parts[2].append(mean)
            parts[3].append(np.square(out - mean[..., None]).mean(-1))
        if not outputs:
            return np.zeros((len(weights), 0))
        return np.concatenate([np.concatenate(q, 1) for q in parts], 1)


class _ReplayCallback(keras.callbacks.Callback):
    """The `fit` trainer's side: each epoch's row kept (the gradient sums cleared before it)."""

    def __init__(self, recorder: ReplayRecorder) -> None:
        super().__init__()
        self.recorder = recorder

    def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
        self.recorder.grads.assign(tf.zeros_like(self.recorder.grads))

    def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
        self.recorder.keep(epoch + 1)
