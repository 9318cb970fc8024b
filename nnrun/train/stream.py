"""Streamed data (`nnrun.data.stream`) and the trainers: `fit` trains on the `tf.data` pipeline
made here; the graph trainer does not take streamed data, and says why (`trainer: auto` records
it in run.json, `trainer: graph` refuses).

Measured on the MLP 784-128-10 with 38 400 MNIST-shaped training rows per epoch (in-process,
CPU seconds): the pipeline alone (read, transform, hand to tf.data, rebatch) costs 0.43 s an
epoch; `fit` on it 0.95-1.06 s, `fit` on the arrays in memory 0.61-0.63 s, the graph trainer on
them about 0.3 s. The graph trainer's gain is the Python around each epoch and batch; a stream's
epoch is bounded below by its pipeline, so an in-graph loop over the tf.data iterator would at
best bring a streamed epoch from about 1.0 s to about 0.75 s. It is not built: the graph
trainer keeps its arrays in memory as tensors.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from nnrun.data.stream import Rows

STREAMED = (
    "the data is streamed from its files (data.stream), and the graph trainer keeps the arrays in memory as "
    "tensors; fit reads the batches through tf.data (reading them, not fit's per-epoch Python, sets the pace)"
)


def outputs(model: Any, x: Any) -> np.ndarray:
    """The model's outputs for every row of `x`: called directly on arrays (one batch), and
    batch by batch on streamed rows (`nnrun.data.stream.Rows`)."""
    from nnrun.data.stream import EVAL_BATCH, Rows

    if isinstance(x, Rows):
        return np.concatenate([np.asarray(model(batch, training=False)) for _, batch in x.batches(EVAL_BATCH)])
    return np.asarray(model(x, training=False))


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
    # The next piece is read while the net trains on this one (one more piece in memory).
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature).prefetch(1).rebatch(batch_size)
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(len(rows) / batch_size)))
    return ds.prefetch(2)
