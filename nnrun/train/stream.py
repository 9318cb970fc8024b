"""Streamed data (`nnrun.data.stream`) and the trainers: `fit` trains on the `tf.data` pipeline;
the graph trainer does not, and this says why (`trainer: auto` records it in run.json).

The graph trainer's gain is the Python that `fit` runs around each epoch (tens of
milliseconds), which matters when an epoch takes a millisecond: tiny models on arrays held as
tensors. A streamed epoch reads and transforms every batch from the files in Python; at MNIST
size that is about 0.5 s of an epoch (benchmarks/bench_mnist.py), so moving the loop into the
graph would save a few percent while the data pipeline sets the pace.
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
    the next epoch (a new shuffle when `seed` is given). Batches are read one ahead of training."""
    import tensorflow as tf

    epochs = itertools.count()

    def generate() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        epoch = next(epochs)
        for positions, x in rows.batches(batch_size, seed, epoch):
            yield x, y[positions]

    signature = (
        tf.TensorSpec((None, *rows.shape[1:]), tf.float32),
        tf.TensorSpec((None, *y.shape[1:]), tf.as_dtype(y.dtype)),
    )
    ds = tf.data.Dataset.from_generator(generate, output_signature=signature)
    ds = ds.apply(tf.data.experimental.assert_cardinality(math.ceil(len(rows) / batch_size)))
    return ds.prefetch(2)
