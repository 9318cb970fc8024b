"""Plain Keras `model.fit`, as a user would write it, for bench_train (run in its own process).

    python benchmarks/keras_fit.py CONFIG EPOCHS

Builds the config's network by hand with Keras (the arrays come from nnrun's loader, so
both sides train on the same numbers), trains one epoch (tracing included), then EPOCHS
more, and prints JSON: the first epoch's seconds and the per-epoch milliseconds after it.
Each epoch validates on the validation split in one batch, as nnrun's trainers do.
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
    """`model.fit` for one epoch (tracing included), then for EPOCHS more: the seconds of each."""
    kwargs = {
        "batch_size": batch_size,
        "validation_data": (data.x_val, data.y_val),
        "validation_batch_size": len(data.x_val),
        "verbose": 0,
    }
    t0 = time.perf_counter()
    model.fit(data.x_train, data.y_train, epochs=1, **kwargs)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.fit(data.x_train, data.y_train, epochs=epochs, **kwargs)
    return first, time.perf_counter() - t0


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
