"""Plain Keras `model.fit` on MNIST-shaped arrays, as a user would write it, for bench_mnist
(run in its own process, so its peak memory is its own).

    python benchmarks/keras_mnist_fit.py mlp|cnn EPOCHS

The arrays come from nnrun's loader (the same numbers both sides train on); the network is
written by hand: the MLP 784-128-10, or the study guide's CNN. One `fit` call of 1 + EPOCHS
epochs (`keras_fit.timed_fit`); prints JSON with the per-epoch seconds after the first.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from keras_fit import timed_fit  # run as a script: its own folder is on sys.path

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def main(which: str, epochs: int) -> dict[str, float]:
    import keras

    from nnrun.experiment import prepare_experiment

    config = CONFIGS / ("mlp_mnist.yaml" if which == "mlp" else "cnn_mnist.yaml")
    prepared = prepare_experiment(config)
    spec, data = prepared.spec, prepared.data
    keras.utils.set_random_seed(spec.seed)
    L = keras.layers
    if which == "mlp":
        layers = [L.Flatten(), L.Dense(128, activation="relu"), L.Dense(10, activation="softmax")]
    else:
        layers = [
            L.Conv2D(32, (3, 3), activation="relu"),
            L.MaxPooling2D(pool_size=(2, 2)),
            L.Flatten(),
            L.Dense(64, activation="relu"),
            L.Dense(10, activation="softmax"),
        ]
    model = keras.Sequential([keras.Input(shape=data.input_shape), *layers])
    model.compile(optimizer=keras.optimizers.Adam(spec.optimizer.learning_rate), loss=spec.loss, metrics=["accuracy"])
    first, rest = timed_fit(model, data, 128, epochs)
    return {"first_epoch_seconds": first, "epoch_seconds": rest / epochs}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]))))
