"""How many threads each TensorFlow op may split its work over, chosen from the spec before
TensorFlow's runtime starts (its intra-op pool is the process's and cannot change later).

Networks of dense layers (`INLINE_LAYERS`) get one: their ops, a batch of 128 rows through
784 x 128 weights or Adam's steps over a hundred thousand numbers, are too small to gain from
a second thread, and handing each one's pieces to the pool's threads and waiting for them cost
more CPU than the op itself. Measured on the MLP 784-128-10 at MNIST size (48 000 rows, batch
128, 2 cores, graph trainer): an epoch took 0.40 CPU-s with TensorFlow's default pool (one thread
per core) and 0.20 with one thread (0.63 and 0.35 with the internals recorded). Convolutions,
pooling, attention and the image layers keep TensorFlow's default: their kernels split real work.

The first run in a process decides (`nnrun.tf_import.request_intra_op_threads`); a sweep worker
sets its own share of the cores before any run (`nnrun.sweep.worker.setup`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nnrun.spec import Spec

#: Layer types whose ops are small enough to run on the calling thread alone.
INLINE_LAYERS = frozenset(
    {"dense", "dropout", "flatten", "reshape", "batch_normalization", "gaussian_noise", "rescaling"}
)


#: ... as long as no layer is wider than this: a wide dense layer's matrix product (a batch of
#: 128 rows through 4096 x 4096 weights) is real work that a second core does share. Only
#: narrower networks were measured to gain from one thread.
MAX_INLINE_UNITS = 512


def intra_op_threads(spec: Spec) -> int | None:
    """1 for a network of `INLINE_LAYERS` only, none wider than `MAX_INLINE_UNITS`, else None
    (TensorFlow's default)."""
    layers = spec.model.layers
    narrow = all(getattr(layer, "units", 0) <= MAX_INLINE_UNITS for layer in layers)
    return 1 if narrow and all(layer.type in INLINE_LAYERS for layer in layers) else None
