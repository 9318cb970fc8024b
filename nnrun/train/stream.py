"""Streamed data (`nnrun.data.stream`) and the trainers: both train on the `tf.data` pipeline
made here, `fit` through `model.fit`, the graph trainer in its in-graph loop
(`nnrun.train.graph_stream`), which `trainer: auto` picks for streamed data as for loaded data.

Measured on the MLP 784-128-10 with 48 000 MNIST-shaped training rows per epoch (in-process,
CPU seconds per epoch, medians of 3 rounds on a shared machine): the graph trainer on the
stream 0.55 s (0.68 s while the pipeline was built with `Dataset.from_generator`, see
`pipeline`), on the arrays loaded whole 0.51 s. A stream's epoch is bounded below by its
pipeline (reading, transforming, handing the pieces to tf.data): about 0.05 s an epoch here
(0.38-0.43 s before its reads went into reused memory: `nnrun.data.rows.Scratch`).

That reading overlaps the training: tf.data reads `PIECES_AHEAD` pieces ahead, in its own
threads, on another core. It did not while TensorFlow's op determinism turned the prefetch off
(see `_pieces`): the graph trainer's thread then waited 0.044-0.094 s (median 0.049 s) an epoch
for pieces and the streamed epoch was 1.38x the loaded one in `make bench`; since, it waits for
none, and does 0.147 s of work an epoch against 0.153 s on the arrays loaded whole (MNIST MLP,
38 400 training rows; the thread's run time and the wall time it was neither running nor
runnable, from /proc's schedstat, medians of 5 interleaved rounds on a loaded 2-core machine).
Epoch seconds in 3 interleaved rounds while the machine was otherwise idle: streamed 0.141-0.150
(before 0.198-0.216, wall = CPU time: nothing overlapped), loaded whole 0.145-0.148. With the
second core busy elsewhere the reading cannot overlap, and the streamed epoch is again its CPU
time (about 0.20 s, 0.05 s of it the pipeline's).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nnrun.data.stream import Rows

#: Pieces (`Rows.pieces`, `TRANSFORM_BYTES` each) read ahead of training.
PIECES_AHEAD = 3


def outputs(model: Any, x: Any) -> np.ndarray:
    """The model's outputs for every row of `x`, `EVAL_BATCH` rows at a time (arrays up to that
    size in one call): arrays or streamed rows (`nnrun.data.stream.Rows`)."""
    from nnrun.data.stream import EVAL_BATCH, Rows
    from nnrun.train.forward import call

    if isinstance(x, Rows):
        return np.concatenate([call(model, batch) for _, batch in x.batches(EVAL_BATCH)])
    if len(x) <= EVAL_BATCH:
        return call(model, x)
    return np.concatenate([call(model, x[i : i + EVAL_BATCH]) for i in range(0, len(x), EVAL_BATCH)])


def pipeline(rows: Rows, y: np.ndarray, batch_size: int, seed: int | None = None) -> Any:
    """A `tf.data.Dataset` of (inputs, targets) batches of streamed rows, for `fit`; each pass
    over it is the next epoch (a new shuffle when `seed` is given). Batches are read ahead of
    training."""
    import tensorflow as tf

    ds = _pieces(rows, y, batch_size, seed, endless=False).rebatch(batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(len(rows) / batch_size)))
    return ds.prefetch(2)


def endless_pieces(rows: Rows, y: np.ndarray, batch_size: int, seed: int | None = None) -> Any:
    """The (inputs, targets) pieces of epoch after epoch, with no end, for a consumer that knows
    an epoch's length and cuts the pieces into `pipeline`'s batches itself
    (`nnrun.train.graph_stream`). A piece is `Rows.piece_rows` rows, a whole number of batches;
    an epoch's last piece may be smaller. The reading ahead goes on across the end of an epoch,
    where a new pass over a dataset would begin again with nothing read."""
    return _pieces(rows, y, batch_size, seed, endless=True)


def _pieces(rows: Rows, y: np.ndarray, batch_size: int, seed: int | None, endless: bool) -> Any:
    """The epoch's pieces (`Rows.pieces`), read `PIECES_AHEAD` ahead; `endless`: epoch after epoch."""
    import tensorflow as tf

    size = rows.piece_rows(batch_size)
    count = math.ceil(len(rows) / size)
    epochs = itertools.count()
    reading: list[Iterator[tuple[np.ndarray, np.ndarray]]] = []

    def piece(i: np.int64) -> tuple[np.ndarray, np.ndarray]:
        if i == 0:  # an epoch begins (the pieces come in order: one call at a time)
            reading[:] = [rows.pieces(size, seed, next(epochs))]
        positions, x = next(reading[0])
        return x, y[positions]

    def read(i: Any) -> tuple[Any, Any]:
        # stateful=False, though `piece` is not: TensorFlow's op determinism (on in every run:
        # `seed_everything`) turns off `prefetch` in a pipeline with a stateful function, and the
        # net then waited for each piece to be read (MNIST MLP, graph trainer: 1.38x the epoch of
        # the arrays loaded whole). The calls stay one at a time, in order: `map` is sequential
        # and tf.data may not parallelize it (`map_parallelization` off below).
        x, t = tf.numpy_function(piece, [i], (tf.float32, tf.as_dtype(y.dtype)), stateful=False)
        x.set_shape((None, *rows.shape[1:]))
        t.set_shape((None, *y.shape[1:]))
        return x, t

    # Python hands over whole pieces (megabytes of rows); a Python call per batch cost about 1.3 ms
    # of CPU (MNIST MLP: 0.5 s an epoch). The next pieces are read while the net trains on this one
    # (PIECES_AHEAD more in memory, fewer than `rows.LENT`, so their memory is reused).
    # Not `Dataset.from_generator`: building one sets glibc's mmap threshold for the whole process
    # to 128 KiB for good (TensorFlow's mitigation of a Python 3.11 leak), and each step of a
    # model's matrix products then maps and faults in fresh pages (MNIST MLP: 36 000 page faults,
    # about 0.1 s of CPU, an epoch).
    options = tf.data.Options()
    options.experimental_optimization.map_parallelization = False
    numbers = tf.data.Dataset.range(count)
    if endless:
        numbers = numbers.repeat()
    ds = numbers.map(read).prefetch(PIECES_AHEAD).with_options(options)
    return ds if endless else ds.apply(tf.data.experimental.assert_cardinality(count))
