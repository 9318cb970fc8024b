"""Streamed data (`nnrun.data.stream`) and the trainers: both train on the `tf.data` pipeline
made here, `fit` through `model.fit`, the graph trainer in its in-graph loop
(`nnrun.train.graph_stream`), which `trainer: auto` picks for streamed data as for loaded data.

Measured on the MLP 784-128-10 with 38 400 MNIST-shaped training rows per epoch (in-process,
CPU seconds per epoch, medians of 4 A/B rounds on a shared machine): the graph trainer on the
stream 0.69 s, `fit` on the same stream 0.90 s, the graph trainer on the arrays loaded whole
0.62 s. A stream's epoch is bounded below by its pipeline (reading, transforming, handing the
pieces to tf.data); the graph trainer saves `fit`'s Python around each batch and epoch.
The pipeline alone costs 0.09-0.11 s an epoch (0.38-0.43 s before its reads went into reused
memory: `nnrun.data.rows.Scratch`).
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
    """A `tf.data.Dataset` of (inputs, targets) batches of streamed rows; each pass over it is
    the next epoch (a new shuffle when `seed` is given). Batches are read ahead of training."""
    import tensorflow as tf

    epochs = itertools.count()

    def generate() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch = next(epochs)
        for positions, x in rows.pieces(seed, epoch):
            yield x, y[positions]

    signature = (
        tf.TensorSpec((None, *rows.shape[1:]), tf.float32),
        tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)),
    )
    # Python hands over whole pieces (megabytes of rows); tf.data cuts them into batches exactly as
    # `Rows.batches` does. A Python call per batch cost about 1.3 ms of CPU (MNIST MLP: 0.5 s an epoch).
    # The next pieces are read while the net trains on this one (PIECES_AHEAD more in memory, fewer
    # than `rows.LENT`, so their memory is reused).
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(PIECES_AHEAD)
    ds = ds.rebatch(batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(len(rows) / batch_size)))
    return ds.prefetch(2)
