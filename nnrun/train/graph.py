"""The fast trainer: many epochs per `tf.function` call.

`model.fit` pays tens of milliseconds of Python per epoch (callbacks, iterators, logs),
which dominates small experiments: 10 000 full-batch epochs of XOR take minutes with `fit`
and about a second here. The whole epoch loop (shuffle, mini-batches, the model's own
`train_step`, validation, early stopping) is one `tf.while_loop` in one traced function,
run by TensorFlow's single-threaded executor: the ops of a small model are tiny and
sequential, so running them inline beats dispatching each to a thread pool (models with
convolutions get the default executor instead: `executor_for`). Python only
runs between chunks of epochs, to hand rows to the hooks and to notice Ctrl-C. Chunks
start at one epoch, so the first epochs show at once, then grow to about
`CHUNK_SECONDS` of work each.

XLA (`jit_compile=True`) was measured and left out: it makes an epoch up to ten times
faster but takes 1-2.5 s to compile even a small MLP, more than it saves on typical runs,
and how long it takes depends on the model in ways that are hard to predict.

The numbers are `fit`'s: the per-epoch loss and metrics come from the model's own
`train_step`/`test_step` and metric objects, batches are cut the same way (a last partial
batch included), validation runs in batches of `EVAL_BATCH` rows (one batch for most data), the learning rate is the optimizer's
schedule at the epoch's first update, and early stopping follows
`keras.callbacks.EarlyStopping` rule for rule, with the best weights in graph variables.
The one difference is the shuffle: a per-epoch permutation drawn in-graph from the run's
seed and the epoch number, so runs are reproducible but not permuted the way `fit` does.

Streamed data (`nnrun.data.stream`) runs this loop with its rows read from the `tf.data`
pipeline inside the graph instead: `nnrun.train.graph_stream`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import time
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from nnrun.train.base import History, Hooks, Row, Trainer, TrainResult, batch_size, batches_per_epoch

if TYPE_CHECKING:
    import keras

    from nnrun.data import Dataset
    from nnrun.spec import Spec

#: Aim for one call into the graph (one display refresh) about this often.
CHUNK_SECONDS = 0.25
#: A chunk is at most this many times longer than the previous one: the first chunk's
#: time includes tracing, and the estimate of an epoch's cost settles before chunks get long.
CHUNK_GROWTH = 4
#: Epochs per call at most, which bounds the buffer of rows a call returns.
MAX_CHUNK = 8192
#: Training + validation arrays above this size go to `fit`, which streams batches: the
#: graph trainer holds them as tensors, possibly a second copy next to the NumPy arrays.
MAX_DATA_BYTES = 1 << 30

#: TensorFlow's executor for the loop (ops run inline, one after the other).
EXECUTOR = "SINGLE_THREADED_EXECUTOR"
#: ... and for models with convolutions or pooling: TensorFlow's default executor, whose
#: thread pools the (oneDNN) convolution kernels use. Measured on the guide's CNN at MNIST size
#: (48 000 training images, batch 128): an epoch took 27 s wall / 9.5 s CPU with the
#: single-threaded executor and 7.1 s / 4.2 s with the default one (plain Keras fit: 10.8 s /
#: 5.3 s); on the MLP 784-128-10 both took 0.4 s CPU, and on tiny models the inline executor wins.
CONV_EXECUTOR = ""
#: Grappler, TensorFlow's graph optimizer, cost 0.1-0.15 s CPU on the first call of the
#: breast_cancer MLP's loop and made no epoch measurably faster (MLP, CNN, LSTM): off here.
#: Measured again on the guide's CNN at MNIST size, where its remapper could fuse Conv2D + bias +
#: ReLU as in `fit`: CPU seconds an epoch (2nd and 3rd), alternating runs, 4.3-5.1 (median 4.8)
#: with it, 4.2-5.6 (median 4.5) without; plain Keras fit 4.2-5.0 (median 4.3).
GRAPPLER = False

#: Why the graph stopped inside a chunk.
_RUNNING, _EARLY_STOPPING, _DIVERGED = 0, 1, 2


def executor_for(model: keras.Model) -> str:
    """`CONV_EXECUTOR` for a model with a convolution or pooling layer, else `EXECUTOR`."""
    from keras.src.layers.convolutional.base_conv import BaseConv
    from keras.src.layers.pooling.base_pooling import BasePooling

    layers = model._flatten_layers(include_self=False)  # noqa: SLF001 - nested models' layers too
    return CONV_EXECUTOR if any(isinstance(x, BaseConv | BasePooling) for x in layers) else EXECUTOR


@contextlib.contextmanager
def _call_options(executor: str = EXECUTOR) -> Iterator[None]:
    """Trace and call the loop with `executor` and, unless `GRAPPLER`, no graph optimizer.

    `tf.experimental.function_executor_type` sets the executor for the calls in its block by
    replacing the eager context's call options; no public API scopes the optimizer settings
    that way (`tf.config.optimizer` is process-wide), so this sets both the same way.
    """
    from tensorflow.core.protobuf import config_pb2
    from tensorflow.python.eager import context

    ctx = context.context()
    saved = ctx.function_call_options
    options = copy.copy(saved)
    config = config_pb2.ConfigProto()
    if saved.config_proto_serialized is not None:
        config.ParseFromString(saved.config_proto_serialized)
    if not GRAPPLER:
        config.graph_options.rewrite_options.disable_meta_optimizer = True
    options.config_proto_serialized = config
    options.executor_type = executor
    ctx.function_call_options = options
    try:
        yield
    finally:
        ctx.function_call_options = saved


def _not_a_retrace_warning(record: logging.LogRecord) -> bool:
    return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _one_trace_per_run() -> Iterator[None]:
    """Each model traces its loop once, by design (a sweep worker's points of one architecture
    share one model: `nnrun.train.warm`); in a process that trains many models (the tests, a
    sweep over architectures) TensorFlow would call that excessive retracing. Drop that warning only."""
    log = logging.getLogger("tensorflow")
    log.addFilter(_not_a_retrace_warning)
    try:
        yield
    finally:
        log.removeFilter(_not_a_retrace_warning)


def _data_bytes(data: Dataset) -> int:
    return sum(int(a.nbytes) for a in (data.x_train, data.y_train, data.x_val, data.y_val))


def _mib(n: int) -> str:
    return f"{n / 2**20:,.1f} MiB"


class GraphTrainer(Trainer):
    name = "graph"

    @classmethod
    def unsupported(cls, spec: Spec, data: Dataset) -> str | None:
        if data.streamed:  # an in-graph loop over the tf.data pipeline: nnrun.train.graph_stream
            return None
        size = _data_bytes(data)
        if size > MAX_DATA_BYTES:
            return (
                f"the training and validation arrays take {_mib(size)}; the graph trainer keeps them in memory "
                f"as tensors and takes at most {_mib(MAX_DATA_BYTES)}"
            )
        return None

    def reuse(self, model: keras.Model, spec: Spec, data: Dataset) -> keras.Model:
        from nnrun.train import warm

        return warm.adopt(model, spec, data)

    def build(
        self, spec: Spec, data: Dataset, seed: Callable[[], None], make: Callable[[], keras.Model]
    ) -> keras.Model:
        from nnrun.train import warm

        return warm.build(spec, data, seed, make)

    def train(self, model: keras.Model, spec: Spec, data: Dataset, hooks: Hooks) -> TrainResult:
        from nnrun.train import warm

        loop = warm.loop_of(model)  # a sweep worker's loop for this architecture, traced by an earlier point
        if loop is None:
            if data.streamed:
                from nnrun.train.graph_stream import StreamLoop

                loop = StreamLoop(model, spec, data)
            else:
                loop = _EpochLoop(model, spec, data)
            warm.keep_loop(model, loop)
        else:
            loop.restart(spec, data)
        traces = loop.traces
        try:
            with loop.recorder.watching() if loop.recorder else contextlib.nullcontext():
                result = self._train(loop, spec, hooks)
        except BaseException:
            warm.forget(model)  # stopped inside the graph: its state is not worth reusing
            raise
        result.details["traced"] = loop.traces - traces
        return result

    def _train(self, loop: _EpochLoop, spec: Spec, hooks: Hooks) -> TrainResult:
        epochs = spec.training.epochs
        history = History()
        result = TrainResult(history=history, stop_reason="completed", batches_per_epoch=loop.batches)
        chunk = 1
        while len(history) < epochs:
            n = min(chunk, epochs - len(history))
            if loop.recorder is not None:  # end the call where the recorder reads the weights
                n = min(n, loop.recorder.next_stop(len(history)) - len(history))
            t0 = time.perf_counter()
            rows, code = loop.run(n, hooks)
            elapsed = time.perf_counter() - t0
            history.extend(rows)
            hooks.epochs_done(rows)
            if code == _DIVERGED:
                result.stop_reason = "diverged"
            elif code == _EARLY_STOPPING:
                result.stop_reason = "early_stopping"
            elif hooks.stop_requested:
                result.stop_reason = "interrupted"
            if result.stop_reason != "completed":
                result.stopped_epoch = len(history)
                break
            per_epoch = elapsed / max(len(rows), 1)
            chunk = max(1, min(chunk * CHUNK_GROWTH, MAX_CHUNK, int(CHUNK_SECONDS / max(per_epoch, 1e-9))))
        loop.finish(trained=bool(history))
        result.best_epoch = loop.best_epoch()
        result.total_updates = result.batches_per_epoch * len(history)
        result.details["graph_calls"] = loop.calls
        result.details["graph_executor"] = loop.executor or "default"
        if loop.recorder is not None:
            result.inspection = loop.recorder.finish()
        return result


class _EpochLoop:
    """The traced function and the state that lives between its calls."""

    def __init__(self, model: keras.Model, spec: Spec, data: Dataset) -> None:
        import tensorflow as tf

        self.tf = tf
        self.model = model
        n = len(data.x_train)
        self.n = n
        self.bs = batch_size(spec, n)
        self.batches = batches_per_epoch(spec, n)
        # With one batch a permutation only reorders a sum: skip it.
        self.shuffle = spec.training.shuffle and self.batches > 1
        self._inputs(spec, data)
        # Create the optimizer's, compiled metrics' and compiled loss's variables now, as fit
        # does before its loop: a traced function may not create variables as it runs.
        model._symbolic_build(data_batch=(data.x_train[:1], data.y_train[:1]))  # noqa: SLF001
        self.keys: list[str] = []
        self.calls = 0
        self.traces = 0
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.es = spec.training.early_stopping
        self.best_weights: list[Any] = []
        if self.es is not None:
            self.es_best = tf.Variable(0.0, dtype=tf.float32, trainable=False)
            self.es_has_best = tf.Variable(False, trainable=False)
            self.es_wait = tf.Variable(0, dtype=tf.int64, trainable=False)
            self.es_best_epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
            if self.es.restore_best_weights:
                self.best_weights = [tf.Variable(w.value, trainable=False) for w in model.weights]
        from nnrun.inspect.recorder import recorder_for

        self.recorder = recorder_for(model, spec, data, in_graph=True)
        self.step = tf.function(self._chunk, autograph=False)
        self.executor = executor_for(model)

    def _inputs(self, spec: Spec, data: Dataset) -> None:
        """What differs between runs that share the traced loop: arguments of every call."""
        tf = self.tf
        self.seed = tf.constant(int(spec.seed), tf.int64)
        self.x = tf.convert_to_tensor(data.x_train)
        self.y = tf.convert_to_tensor(data.y_train)
        self.x_val = tf.convert_to_tensor(data.x_val)
        self.y_val = tf.convert_to_tensor(data.y_val)

    def restart(self, spec: Spec, data: Dataset) -> None:
        """Ready for another run of the same architecture (`nnrun.train.warm`): the model's and
        optimizer's variables are already reset; here the loop's own state and its inputs."""
        self._inputs(spec, data)
        self.calls = 0
        self.epoch.assign(0)
        if self.es is not None:
            self.es_best.assign(0.0)
            self.es_has_best.assign(False)
            self.es_wait.assign(0)
            self.es_best_epoch.assign(0)
            for b, w in zip(self.best_weights, self.model.weights, strict=True):
                b.assign(w.value)
        if self.recorder is not None:
            self.recorder.restart(data.x_train)

    # -- inside the graph ----------------------------------------------------------------

    def _learning_rate(self) -> Any:
        import keras

        tf = self.tf
        opt = self.model.optimizer
        lr = opt._learning_rate  # noqa: SLF001 - the schedule itself, as fit.current_learning_rate reads it
        if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
            lr = lr(opt.iterations)
        return tf.cast(tf.convert_to_tensor(lr), tf.float32)

    def _results(self, prefix: str) -> dict[str, Any]:
        """Every metric's result, flattened and sorted by name as fit's epoch logs are."""
        out: dict[str, Any] = {}
        for m in self.model.metrics:
            r = m.result()
            for k, v in r.items() if isinstance(r, dict) else [(m.name, r)]:
                out[prefix + k] = self.tf.cast(v, self.tf.float32)
        return dict(sorted(out.items()))

    def _train_epoch(self, epoch: Any, x: Any, y: Any, seed: Any) -> None:
        """All batches of one epoch, cut as fit cuts them (the last one may be partial)."""
        tf = self.tf
        n, bs = self.n, self.bs
        if self.batches == 1 and not self.shuffle:
            self.model.train_step((x, y))
            return
        if self.shuffle:
            keys = tf.random.stateless_uniform([n], seed=tf.stack([seed, epoch]))
            order = tf.argsort(keys, stable=True)
        else:
            order = tf.range(n)

        def step(start: Any, size: Any) -> None:
            idx = tf.slice(order, [start], [size])
            self.model.train_step((tf.gather(x, idx), tf.gather(y, idx)))

        def body(b: Any) -> tuple[Any]:
            start = b * bs
            step(start, tf.minimum(bs, n - start))
            return (b + 1,)

        tf.while_loop(lambda b: b < self.batches, body, (tf.constant(0),))

    def _validate(self, x_val: Any, y_val: Any) -> None:
        """The validation rows through the model's `test_step`: in one batch up to `EVAL_BATCH`
        rows, else in batches of `EVAL_BATCH` (the metrics add up over them, as in `fit` with the
        same `validation_batch_size`); a convolutional net's activations for ten thousand images
        in one batch took most of a gigabyte."""
        from nnrun.data.stream import EVAL_BATCH

        rows = x_val.shape[0]
        if rows is not None and rows <= EVAL_BATCH:
            self.model.test_step((x_val, y_val))
            return
        tf = self.tf
        n = tf.shape(x_val)[0]

        def body(b: Any) -> tuple[Any]:
            start = b * EVAL_BATCH
            self.model.test_step((x_val[start : start + EVAL_BATCH], y_val[start : start + EVAL_BATCH]))
            return (b + 1,)

        tf.while_loop(lambda b: b * EVAL_BATCH < n, body, (tf.constant(0),))

    def _early_stopping(self, current: Any, epoch: Any) -> Any:
        """`EarlyStopping.on_epoch_end`; True when training stops after this epoch.

        Keras subtracts min_delta from the logged value as Python floats, then compares in
        float32 (`keras.ops` converts Python floats to float32): the same roundings here.
        """
        tf = self.tf
        es = self.es
        assert es is not None
        delta = abs(float(es.min_delta))
        if es.resolved_mode == "max":
            shifted = tf.cast(tf.cast(current, tf.float64) - delta, tf.float32)
            better = tf.greater(shifted, self.es_best)
        else:
            shifted = tf.cast(tf.cast(current, tf.float64) + delta, tf.float32)
            better = tf.less(shifted, self.es_best)
        improved = tf.logical_or(tf.logical_not(self.es_has_best), better)

        def on_improvement() -> Any:
            updates = [
                self.es_best.assign(current),
                self.es_has_best.assign(True),
                self.es_best_epoch.assign(epoch),
                self.es_wait.assign(0),
            ]
            updates += [b.assign(w.value) for b, w in zip(self.best_weights, self.model.weights, strict=True)]
            with tf.control_dependencies(updates):
                return tf.constant(False)

        def otherwise() -> Any:
            wait = self.es_wait.assign_add(1)
            return tf.logical_and(wait >= es.patience, epoch > 0)

        return tf.cond(improved, on_improvement, otherwise)

    def _epoch(self, x: Any, y: Any, x_val: Any, y_val: Any, seed: Any) -> tuple[Any, Any]:
        """One epoch: the row of numbers and the stop code."""
        tf = self.tf
        model = self.model
        epoch = self.epoch.read_value()
        lr = self._learning_rate()
        model.reset_metrics()
        if self.recorder is not None and self.recorder.needs_epoch_begin:
            with tf.control_dependencies([self.recorder.epoch_begin()]):
                epoch = tf.identity(epoch)
        self._train_epoch(epoch, x, y, seed)
        train = self._results("")
        model.reset_metrics()
        self._validate(x_val, y_val)
        logs = {**train, **self._results("val_")}
        self.keys = list(logs)
        losses = tf.stack([v for k, v in logs.items() if k.endswith("loss")])
        diverged = tf.logical_not(tf.reduce_all(tf.math.is_finite(losses)))
        stop = tf.constant(False)
        if self.es is not None and self.es.monitor in logs:
            stop = self._early_stopping(logs[self.es.monitor], epoch)
        code = tf.where(diverged, _DIVERGED, tf.where(stop, _EARLY_STOPPING, _RUNNING))
        self.epoch.assign_add(1)
        return tf.stack([*logs.values(), lr]), code

    def _chunk(self, epochs: Any, x: Any, y: Any, x_val: Any, y_val: Any, seed: Any) -> tuple[Any, Any, Any, Any]:
        tf = self.tf
        self.traces += 1  # Python runs here only while tracing

        recorder = self.recorder

        def body(i: Any, rows: Any, code: Any, *stats: Any) -> tuple[Any, ...]:
            if recorder is not None:
                recorder.carrying()
            row, code = self._epoch(x, y, x_val, y_val, seed)
            if recorder is not None:  # the internals of the recorded epochs and of the call's last, in the loop
                last = tf.logical_or(tf.equal(i + 1, epochs), tf.not_equal(code, _RUNNING))
                stats = recorder.take(stats, i, self.epoch.read_value(), last)
            return (i + 1, rows.write(i, row), code, *stats)

        start = (tf.constant(0), tf.TensorArray(tf.float32, size=epochs), tf.constant(_RUNNING))
        stats = recorder.loop_state(epochs) if recorder is not None else ()
        count, rows, code, *stats = tf.while_loop(
            lambda i, rows, code, *_: tf.logical_and(i < epochs, tf.equal(code, _RUNNING)),
            body,
            (*start, *stats),
        )
        return rows.stack(), count, code, recorder.loop_output(stats) if recorder is not None else tf.zeros([0, 0])

    # -- Python side ---------------------------------------------------------------------

    def _call(self, epochs: int, hooks: Hooks) -> tuple[Any, Any, Any, Any]:
        """One call of the traced loop (Python waits for it: a stop request is seen after it)."""
        tf = self.tf
        with _call_options(self.executor), _one_trace_per_run():
            return self.step(
                tf.constant(min(epochs, MAX_CHUNK), dtype=tf.int32), self.x, self.y, self.x_val, self.y_val, self.seed
            )

    def run(self, epochs: int, hooks: Hooks) -> tuple[list[Row], int]:
        """Up to `epochs` more epochs: the finished rows and why the graph stopped."""
        first = int(self.epoch.numpy())
        values, count, code, stats = self._call(epochs, hooks)
        self.calls += 1
        if self.calls == 1 and self.es is not None and self.es.monitor not in self.keys:
            warnings.warn(
                f"early stopping monitors {self.es.monitor!r}, which is not one of {', '.join(self.keys)}",
                stacklevel=2,
            )
        rows: list[Row] = []
        width = len(self.keys) + 1
        for j, vals in enumerate(values.numpy()[: int(count)]):
            row: Row = {"epoch": first + j + 1}
            row.update({k: float(v) for k, v in zip(self.keys, vals[: width - 1], strict=True)})
            row["learning_rate"] = float(vals[width - 1])
            rows.append(row)
        if self.recorder is not None and rows:
            self.recorder.collect(first, stats.numpy(), len(rows))
        return rows, int(code)

    def finish(self, trained: bool) -> None:
        """What fit does after its last epoch: finalize the optimizer, then restore the best weights."""
        if trained:
            self.model.optimizer.finalize_variable_values(self.model.trainable_weights)
        if self.best_weights and bool(self.es_has_best.numpy()):
            for w, b in zip(self.model.weights, self.best_weights, strict=True):
                w.assign(b.numpy())

    def best_epoch(self) -> int | None:
        """1-based, as FitTrainer reports it: only when early stopping saw a finite best value."""
        if self.es is None or not bool(self.es_has_best.numpy()):
            return None
        best = float(self.es_best.numpy())
        return int(self.es_best_epoch.numpy()) + 1 if math.isfinite(best) else None
