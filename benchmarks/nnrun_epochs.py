"""`nnrun train` in this process, its epochs timed as the trainer hands them over, for bench_mnist
(run in its own process, so its peak memory is its own).

    python benchmarks/nnrun_epochs.py CONFIG EPOCHS [KEY=VALUE ...]

Trains 1 + EPOCHS epochs through the path `nnrun train` takes (`train_prepared`, a run folder in
a temporary directory) with the overrides given, and prints JSON: the trainer that ran and the mean
seconds of the epochs after the first, read from the ends
of the chunks of rows the trainer hands over (the graph trainer's first call is one epoch), as
`keras_fit.timed_fit` reads plain Keras's epochs in one `fit` call. The difference of two runs
of 1 and 1 + EPOCHS epochs, which this replaces, carried each run's tracing time (it varies by
tenths of a second) into the epoch's.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def main(config: str, epochs: int, overrides: list[str]) -> dict[str, float]:
    from nnrun.api.functions import train_prepared
    from nnrun.experiment import prepare_experiment

    prepared = prepare_experiment(Path(config), [*overrides, f"training.epochs={1 + epochs}"])
    ends: list[tuple[int, float]] = []  # (epochs done, when)

    def stamp(rows: list[dict[str, float]]) -> None:
        ends.append(((ends[-1][0] if ends else 0) + len(rows), time.perf_counter()))

    with tempfile.TemporaryDirectory() as out:
        outcome = train_prepared(prepared, out, ["nnrun_epochs.py", config], on_rows=stamp)
    (first, t_first), (last, t_last) = ends[0], ends[-1]
    if outcome.status != "completed" or last != 1 + epochs or first == last:
        raise RuntimeError(f"{config}: {outcome.status} after {last} epochs, chunks {[n for n, _ in ends]}")
    return {
        "epoch_seconds": (t_last - t_first) / (last - first),
        "trainer": outcome.record.get("trainer"),
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])))
