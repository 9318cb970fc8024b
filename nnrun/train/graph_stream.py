"""The graph trainer on streamed data: its in-graph epoch loop reads the `tf.data` pipeline.

A streamed dataset (`nnrun.data.stream`) cannot sit in the graph as tensors. `StreamLoop` is
the graph trainer's `_EpochLoop` with the rows coming from iterators instead: one over the
training rows' pieces (`nnrun.train.stream.endless_pieces`: epoch after epoch, each with the next
shuffle), one over the validation rows' (pieces of `EVAL_BATCH` batches, in order). Both read
ahead across the end of an epoch, so an epoch's first piece is ready when it begins. The
iterators give whole pieces of rows, each a whole number of batches, which the loop cuts into
batches (slices of a tensor, not copies): a `get_next` per piece instead of per batch. The
batches are the ones `fit` trains on (`nnrun.train.stream.pipeline`), so the two trainers see the same
rows in the same order and their losses agree epoch by epoch; everything else (metrics,
learning rate, early stopping, divergence, `training.inspect`) is the in-memory loop's.

A streamed epoch can be long (a file beyond memory), and Python's signal handlers only run
between two calls into the graph. So the call runs in a thread while the main thread waits
for it: a stop request (Ctrl-C, SIGTERM) sets a variable that the batch loop reads before
each step, and the epoch ends after the current step, as `fit` ends it (its metrics and a
validation pass, then the run stops as interrupted).
"""

from __future__ import annotations

import math
import threading
from typing import TYPE_CHECKING, Any

from nnrun.train.graph import _EpochLoop

if TYPE_CHECKING:
    import keras

    from nnrun.data import Dataset
    from nnrun.spec import Spec
    from nnrun.train.base import Hooks

#: Why the graph stopped inside a chunk, beyond graph.py's codes: a stop request.
_STOPPED = 3
#: How often the waiting main thread looks at the stop request (seconds).
POLL_SECONDS = 0.05


class StreamLoop(_EpochLoop):
    """`_EpochLoop` whose inputs are iterators over the training and validation pipelines."""

    def __init__(self, model: keras.Model, spec: Spec, data: Dataset) -> None:
        import tensorflow as tf

        from nnrun.data.stream import EVAL_BATCH

        self.stop = tf.Variable(False, trainable=False)
        self.val_batches = math.ceil(len(data.x_val) / EVAL_BATCH)
        super().__init__(model, spec, data)

    def _inputs(self, spec: Spec, data: Dataset) -> None:
        from nnrun.data.stream import EVAL_BATCH
        from nnrun.train.stream import endless_pieces

        tf = self.tf
        self.seed = tf.constant(int(spec.seed), tf.int64)
        seed = spec.seed if spec.training.shuffle else None
        train = endless_pieces(data.x_train, data.y_train, self.bs, seed)  # type: ignore[arg-type]
        val = endless_pieces(data.x_val, data.y_val, EVAL_BATCH)  # type: ignore[arg-type]
        self.x, self.x_val = iter(train), iter(val)
        # the loop's signature keeps the in-memory loop's arguments: the targets come with the inputs
        self.y = self.y_val = tf.zeros([0])

    def restart(self, spec: Spec, data: Dataset) -> None:
        super().restart(spec, data)
        self.stop.assign(False)

    # -- inside the graph ----------------------------------------------------------------

    def _train_epoch(self, epoch: Any, x: Any, y: Any, seed: Any) -> None:
        """The next epoch's batches from the training iterator, until a stop request."""
        self._batches(x, self.batches, self.bs, self.model.train_step, stoppable=True)

    def _validate(self, x_val: Any, y_val: Any) -> None:
        """Every validation batch through `test_step`: the metrics add up over the batches."""
        from nnrun.data.stream import EVAL_BATCH

        self._batches(x_val, self.val_batches, EVAL_BATCH, self.model.test_step)

    def _batches(self, it: Any, batches: int, size: int, step: Any, stoppable: bool = False) -> None:
        """`step` on each of the next `batches` batches of `size` rows, cut from the pieces `it`
        gives (a whole number of batches each, the epoch's last one may end in a shorter batch);
        `stoppable`: until a stop request too."""
        tf = self.tf

        def more(b: Any) -> Any:
            return tf.logical_and(b < batches, tf.logical_not(self.stop)) if stoppable else b < batches

        def element(b: Any) -> tuple[Any]:
            x, y = it.get_next()
            n = tf.shape(x)[0]

            def body(b: Any, start: Any) -> tuple[Any, Any]:
                step((x[start : start + size], y[start : start + size]))
                return b + 1, start + size

            b, _ = tf.while_loop(lambda b, start: tf.logical_and(start < n, more(b)), body, (b, tf.constant(0)))
            return (b,)

        tf.while_loop(more, element, (tf.constant(0),))

    def _epoch(self, x: Any, y: Any, x_val: Any, y_val: Any, seed: Any) -> tuple[Any, Any]:
        row, code = super()._epoch(x, y, x_val, y_val, seed)
        tf = self.tf
        # read after the epoch (two reads of a variable are not ordered by themselves): a request
        # that came during the epoch stops the loop after it, never after an epoch of no steps
        with tf.control_dependencies([row, code]):
            stop = self.stop.read_value()
        return row, tf.where(tf.logical_and(tf.equal(code, 0), stop), _STOPPED, code)

    # -- Python side ---------------------------------------------------------------------

    def _call(self, epochs: int, hooks: Hooks) -> tuple[Any, Any, Any, Any]:
        """The call in a thread; the main thread waits, handles signals, and passes a stop request on."""
        done: dict[str, Any] = {}

        def call() -> None:
            try:
                done["out"] = super(StreamLoop, self)._call(epochs, hooks)  # call options are per thread
            except BaseException as exc:  # noqa: BLE001 - re-raised in the main thread
                done["error"] = exc

        asked = hooks.stop_requested
        self.stop.assign(asked)
        worker = threading.Thread(target=call, name="nnrun-graph-stream", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(POLL_SECONDS)
                if hooks.stop_requested and not asked:
                    asked = True
                    self.stop.assign(True)
        except BaseException:  # a second Ctrl-C: end the step under way before leaving
            self.stop.assign(True)
            worker.join()
            raise
        if "error" in done:
            raise done["error"]
        return done["out"]

    def finish(self, trained: bool) -> None:
        super().finish(trained)
        # the iterators read ahead into an epoch that will not run: let them go
        self.x = self.x_val = None
