"""Plain Keras `model.fit`, as a user would write it, for bench_train (run in its own process).

    python benchmarks/keras_fit.py CONFIG EPOCHS

Builds the config's network by hand with Keras (the arrays come from nnrun's loader, so
both sides train on the same numbers), trains 1 + EPOCHS epochs in one `fit` call, and prints
JSON: the first epoch's seconds (tracing included) and the per-epoch milliseconds after it.
Each epoch validates on the validation split in batches of `EVAL_BATCH` rows (one batch up to
it), as nnrun's trainers do, so both sides do the same work.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(config: str, epochs: int) -> dict[str, float]:
    import keras

    from nnrun.experiment import prepare_experiment

    prepared = prepare_experiment(Path(config))
    spec, data = prepared.spec, prepared.data
    keras.utils.set_random_seed(spec.seed)
    model = keras.Sequential([keras.Input(shape=data.input_shape)])
    for layer in spec.model.layers:
        model.add(keras.layers.Dense(layer.units, activation=layer.activation.name))
    optimizer = {"adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD}[spec.optimizer.name]
    model.compile(optimizer=optimizer(spec.optimizer.learning_rate), loss=spec.loss, metrics=["accuracy"])
    n = len(data.x_train)
    batch = n if spec.training.batch_size == "full" else int(spec.training.batch_size)
    first, rest = timed_fit(model, data, batch, epochs)
    return {"first_epoch_seconds": first, "epoch_ms": 1000 * rest / epochs, "epochs_timed": epochs + 1}


def timed_fit(model, data, batch_size: int, epochs: int) -> tuple[float, float]:
    """One `model.fit` call of 1 + EPOCHS epochs: the seconds to the end of the first (tracing
    and fit's setup included), then those of the EPOCHS after it, each epoch's end (validation
    included) read by a callback.

    One call, not a call for the first epoch and another for the rest: each `fit` call sets up
    its data iterators again and its first epoch starts cold, about 0.2 CPU-s at MNIST size, which
    spread over a few timed epochs made plain Keras look slower than it is.
    """
    import keras

    from nnrun.data.stream import EVAL_BATCH

    class EpochEnds(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.ends: list[float] = []

        def on_epoch_end(self, epoch: int, logs: object = None) -> None:
            self.ends.append(time.perf_counter())

    clock = EpochEnds()
    t0 = time.perf_counter()
    model.fit(
        data.x_train,
        data.y_train,
        epochs=1 + epochs,
        batch_size=batch_size,
        validation_data=(data.x_val, data.y_val),
        validation_batch_size=min(len(data.x_val), EVAL_BATCH),
        verbose=0,
        callbacks=[clock],
    )
    return clock.ends[0] - t0, clock.ends[-1] - clock.ends[0]


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
