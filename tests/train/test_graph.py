"""The in-graph trainer against `model.fit`: same numbers, same stopping, same run folder.

Every test trains real tiny Keras models with both trainers from the same seed; nothing
is mocked. Where the two trainers must agree exactly (no shuffle), they are compared
epoch by epoch; with shuffling they draw different permutations, so they are compared
on test accuracy over several seeds.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from nnrun.errors import NnrunError
from nnrun.experiment import Prepared, execute, prepare_experiment, seed_everything
from nnrun.train import graph
from nnrun.train.base import Hooks, TrainResult
from nnrun.train.fit import FitTrainer
from nnrun.train.graph import GraphTrainer
from tests.conftest import CONFIGS, start_cli


def write(tmp: Path, config: dict[str, Any], name: str = "config.yaml") -> Path:
    path = tmp / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def config(
    dataset: dict[str, Any],
    layers: list[dict[str, Any]],
    optimizer: dict[str, Any],
    loss: str,
    training: dict[str, Any],
    metrics: list[str] | None = None,
    seed: int = 7,
) -> dict[str, Any]:
    return {
        "name": "graph-test",
        "seed": seed,
        "data": dataset,
        "model": {"layers": layers},
        "optimizer": optimizer,
        "loss": loss,
        "metrics": metrics or [],
        "training": training,
    }


def train(trainer: Any, prepared: Prepared, hooks: Hooks | None = None) -> tuple[TrainResult, Any]:
    """Seed, build and train as `execute` does, without writing a run folder."""
    from nnrun.build.model import build_model

    seed_everything(prepared.spec.seed)
    model = build_model(prepared.spec, prepared.data.input_shape)
    return trainer.train(model, prepared.spec, prepared.data, hooks or Hooks()), model


def close(a: float, b: float, rel: float = 1e-5) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-8)


XOR = {"dataset": "xor"}
TANH_SIGMOID = [
    {"type": "dense", "units": 4, "activation": "tanh"},
    {"type": "dense", "units": 1, "activation": "sigmoid"},
]

#: Unshuffled configs on which the graph trainer must reproduce fit's history.
SAME_AS_FIT = {
    "sgd-xor-full-batch": config(
        XOR,
        TANH_SIGMOID,
        {"name": "sgd", "learning_rate": 0.5},
        "binary_crossentropy",
        {"epochs": 25, "batch_size": "full", "shuffle": False},
        ["accuracy"],
    ),
    "adam-exponential-schedule-iris-full-batch": config(
        {"dataset": "iris"},
        [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 3, "activation": "softmax"}],
        {
            "name": "adam",
            "learning_rate": 0.05,
            "schedule": {"type": "exponential", "decay_rate": 0.5, "decay_steps": 5},
        },
        "categorical_crossentropy",
        {"epochs": 25, "batch_size": "full", "shuffle": False},
        ["accuracy"],
    ),
    "l2-breast-cancer-full-batch": config(
        {"dataset": "breast_cancer"},
        [
            {"type": "dense", "units": 16, "activation": "relu", "kernel_regularizer": {"l2": 0.01}},
            {"type": "dense", "units": 1, "activation": "sigmoid", "kernel_regularizer": {"l2": 0.01}},
        ],
        {"name": "adam", "learning_rate": 0.01},
        "binary_crossentropy",
        {"epochs": 20, "batch_size": "full", "shuffle": False},
        ["accuracy", "auc"],
    ),
    # 455 rows in batches of 64: seven full batches and a partial one of 7; dropout draws
    # from the same seed generator in both trainers.
    "dropout-minibatch-partial-last-batch": config(
        {"dataset": "breast_cancer"},
        [
            {"type": "dense", "units": 16, "activation": "relu"},
            {"type": "dropout", "rate": 0.3},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        {"name": "adam", "learning_rate": 0.003},
        "binary_crossentropy",
        {"epochs": 5, "batch_size": 64, "shuffle": False},
        ["accuracy"],
    ),
    # more validation rows than EVAL_BATCH: validated in two batches (1 024 and the rest) by both
    "moons-validation-in-two-batches": config(
        {"dataset": "moons", "n_samples": 7000},
        [{"type": "dense", "units": 8, "activation": "relu"}, {"type": "dense", "units": 1, "activation": "sigmoid"}],
        {"name": "adam", "learning_rate": 0.01},
        "binary_crossentropy",
        {"epochs": 3, "batch_size": 512, "shuffle": False},
        ["accuracy"],
    ),
    "stochastic-batch-size-1-step-decay": config(
        XOR,
        TANH_SIGMOID,
        {"name": "sgd", "learning_rate": 0.3, "schedule": {"type": "step", "boundaries": [8, 20], "factor": 0.5}},
        "mse",
        {"epochs": 8, "batch_size": 1, "shuffle": False},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(SAME_AS_FIT))
def test_unshuffled_history_matches_fit(case: str, tmp_path: Path) -> None:
    prepared = prepare_experiment(write(tmp_path, SAME_AS_FIT[case]))
    by_fit, _ = train(FitTrainer(), prepared)
    by_graph, _ = train(GraphTrainer(), prepared)

    assert len(by_graph.history) == len(by_fit.history) == prepared.spec.training.epochs
    assert by_graph.stop_reason == by_fit.stop_reason == "completed"
    assert by_graph.batches_per_epoch == by_fit.batches_per_epoch
    assert by_graph.total_updates == by_fit.total_updates
    for g, f in zip(by_graph.history, by_fit.history, strict=True):
        assert list(g) == list(f), "same columns in the same order"
        assert g["epoch"] == f["epoch"]
        for key in ("loss", "val_loss", "learning_rate"):
            assert close(g[key], f[key]), (case, f["epoch"], key, g[key], f[key])
        for key in set(f) - {"epoch", "loss", "val_loss", "learning_rate"}:
            assert close(g[key], f[key], rel=1e-4), (case, f["epoch"], key, g[key], f[key])
    if case.startswith("adam-exponential"):
        rates = [row["learning_rate"] for row in by_graph.history]
        assert rates[0] == pytest.approx(0.05) and rates[-1] < rates[0] / 4, "the schedule decays per update"
    if case.startswith("stochastic"):
        assert by_graph.batches_per_epoch == 4 and by_graph.total_updates == 32
    if case.startswith("moons"):
        from nnrun.data.stream import EVAL_BATCH

        assert len(prepared.data.x_val) > EVAL_BATCH


@pytest.mark.slow
def test_shuffled_minibatch_reaches_fits_test_accuracy_over_five_seeds(tmp_path: Path) -> None:
    """The two trainers shuffle differently, so compare what they reach, seed by seed."""
    path = write(
        tmp_path,
        config(
            {"dataset": "breast_cancer"},
            [
                {"type": "dense", "units": 16, "activation": "relu"},
                {"type": "dense", "units": 8, "activation": "relu"},
                {"type": "dense", "units": 1, "activation": "sigmoid"},
            ],
            {"name": "adam", "learning_rate": 0.003},
            "binary_crossentropy",
            {"epochs": 12, "batch_size": 32, "shuffle": True},
            ["accuracy"],
        ),
    )
    accuracy: dict[str, list[float]] = {"fit": [], "graph": []}
    for seed in range(5):
        prepared = prepare_experiment(path, [f"seed={seed}"])
        data = prepared.data
        for trainer in (FitTrainer(), GraphTrainer()):
            result, model = train(trainer, prepared)
            assert result.stop_reason == "completed"
            predicted = model.predict(data.x_test, verbose=0).reshape(-1) > 0.5
            accuracy[trainer.name].append(float(np.mean(predicted == data.y_test.reshape(-1).astype(bool))))
    for name, values in accuracy.items():
        assert min(values) >= 0.9, (name, values)
    assert abs(np.mean(accuracy["graph"]) - np.mean(accuracy["fit"])) <= 0.025, accuracy


@pytest.mark.slow
def test_same_seed_same_run_and_the_shuffle_is_real(tmp_path: Path) -> None:
    base = config(
        {"dataset": "breast_cancer"},
        [
            {"type": "dense", "units": 8, "activation": "relu"},
            {"type": "dropout", "rate": 0.2},
            {"type": "dense", "units": 1, "activation": "sigmoid"},
        ],
        {"name": "adam", "learning_rate": 0.01},
        "binary_crossentropy",
        {"epochs": 4, "batch_size": 50, "shuffle": True},
    )
    prepared = prepare_experiment(write(tmp_path, base))
    first, model_a = train(GraphTrainer(), prepared)
    second, model_b = train(GraphTrainer(), prepared)
    assert first.history == second.history
    for a, b in zip(model_a.get_weights(), model_b.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    unshuffled, _ = train(GraphTrainer(), prepare_experiment(write(tmp_path, base), ["training.shuffle=false"]))
    assert unshuffled.history[0]["loss"] != first.history[0]["loss"]


ES_BASE = config(
    {"dataset": "breast_cancer", "validation": 0.2},
    [{"type": "dense", "units": 32, "activation": "relu"}, {"type": "dense", "units": 1, "activation": "sigmoid"}],
    {"name": "adam", "learning_rate": 0.01},
    "binary_crossentropy",
    {"epochs": 60, "batch_size": 64, "shuffle": False},
    ["accuracy"],
    seed=3,
)
EARLY_STOPPING = {
    "val-loss-patience-3": ["optimizer.learning_rate=0.05", "training.early_stopping.patience=3"],
    "val-accuracy-max-mode": ["training.early_stopping.monitor=val_accuracy", "training.early_stopping.patience=2"],
    "min-delta": ["training.early_stopping.min_delta=0.002", "training.early_stopping.patience=2"],
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(EARLY_STOPPING))
def test_early_stopping_stops_where_keras_does_and_restores_the_best_weights(case: str, tmp_path: Path) -> None:
    spec = {**ES_BASE, "training": {**ES_BASE["training"], "early_stopping": {"restore_best_weights": True}}}
    prepared = prepare_experiment(write(tmp_path, spec), EARLY_STOPPING[case])
    by_fit, _ = train(FitTrainer(), prepared)
    by_graph, model = train(GraphTrainer(), prepared)

    assert by_fit.stop_reason == "early_stopping", "the case must stop early to test anything"
    assert by_graph.stop_reason == "early_stopping"
    assert by_graph.stopped_epoch == by_fit.stopped_epoch == len(by_graph.history) < 60
    assert by_graph.best_epoch == by_fit.best_epoch
    assert by_graph.best_epoch is not None and by_graph.best_epoch < by_graph.stopped_epoch
    # The model holds the best epoch's weights, not the last epoch's.
    data = prepared.data
    now = model.evaluate(data.x_val, data.y_val, batch_size=len(data.x_val), verbose=0, return_dict=True)
    best = by_graph.history[by_graph.best_epoch - 1]
    last = by_graph.history[-1]
    assert close(now["loss"], best["val_loss"], rel=1e-5)
    assert not close(now["loss"], last["val_loss"], rel=1e-5)


@pytest.mark.slow
def test_divergence_stops_at_the_first_non_finite_epoch(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        config(
            {"dataset": "linear", "n_samples": 64},
            [{"type": "dense", "units": 8, "activation": "linear"}, {"type": "dense", "units": 1}],
            {"name": "sgd", "learning_rate": 3.0},
            "mse",
            {"epochs": 500, "batch_size": "full"},
        ),
    )
    prepared = prepare_experiment(path)
    by_graph, _ = train(GraphTrainer(), prepared)
    by_fit, _ = train(FitTrainer(), prepared)

    assert by_graph.stop_reason == by_fit.stop_reason == "diverged"
    assert by_graph.stopped_epoch == by_fit.stopped_epoch == len(by_graph.history)
    *before, last = by_graph.history
    assert not all(math.isfinite(last[k]) for k in ("loss", "val_loss"))
    assert all(math.isfinite(row["loss"]) and math.isfinite(row["val_loss"]) for row in before)


class StopAfterFirstChunk(Hooks):
    """Sets stop_requested as a signal handler would, while the first rows are shown."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[int]] = []

    def epochs_done(self, rows: list[dict[str, float]]) -> None:
        super().epochs_done(rows)
        self.calls.append([int(r["epoch"]) for r in rows])
        self.stop_requested = True


def test_stop_requested_stops_between_chunks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        config(XOR, TANH_SIGMOID, {"name": "adam", "learning_rate": 0.05}, "binary_crossentropy", {"epochs": 5000}),
    )
    hooks = StopAfterFirstChunk()
    result, _ = train(GraphTrainer(), prepare_experiment(path), hooks)
    assert hooks.calls == [[1]], "the first chunk is one epoch, then the request is honoured"
    assert result.stop_reason == "interrupted"
    assert result.stopped_epoch == len(result.history) == 1


def test_rows_reach_the_hooks_in_order_in_growing_chunks(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        config(XOR, TANH_SIGMOID, {"name": "adam", "learning_rate": 0.05}, "binary_crossentropy", {"epochs": 300}),
    )

    class Recorder(Hooks):
        def __init__(self) -> None:
            super().__init__()
            self.sizes: list[int] = []

        def epochs_done(self, rows: list[dict[str, float]]) -> None:
            super().epochs_done(rows)
            self.sizes.append(len(rows))

    hooks = Recorder()
    result, _ = train(GraphTrainer(), prepare_experiment(path), hooks)
    assert [row["epoch"] for row in hooks.rows] == list(range(1, 301))
    assert hooks.rows == result.history
    assert hooks.sizes[0] == 1 and len(hooks.sizes) > 2 and max(hooks.sizes) > 1
    assert result.details["graph_calls"] == len(hooks.sizes)


# -- through the runner: what run.json records ---------------------------------------------


def run_json(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "run.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize(("wanted", "ran"), [("auto", "graph"), ("graph", "graph"), ("fit", "fit")])
def test_the_chosen_trainer_is_recorded_in_run_json(wanted: str, ran: str, tmp_path: Path) -> None:
    prepared = prepare_experiment(CONFIGS / "xor.yaml", ["training.epochs=6", f"training.trainer={wanted}"])
    outcome = execute(prepared, tmp_path / "runs", command=["test"])
    record = run_json(outcome.run_dir)
    assert record["status"] == "completed"
    assert record["trainer"] == ran
    assert record["graph_trainer_skipped"] is None
    assert record["epochs_run"] == 6 and record["total_updates"] == 6 and record["batches_per_epoch"] == 1
    rows = list(csv.DictReader((outcome.run_dir / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == list(range(1, 7))
    if ran == "graph":
        assert record["graph_calls"] >= 2


@pytest.mark.slow
def test_auto_falls_back_to_fit_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Lower the memory limit instead of allocating a gigabyte: XOR's arrays are 96 bytes.
    monkeypatch.setattr(graph, "MAX_DATA_BYTES", 64)
    prepared = prepare_experiment(CONFIGS / "xor.yaml", ["training.epochs=3"])
    outcome = execute(prepared, tmp_path / "runs", command=["test"])
    record = run_json(outcome.run_dir)
    assert record["trainer"] == "fit"
    assert "in memory" in record["graph_trainer_skipped"]
    assert record["status"] == "completed" and record["epochs_run"] == 3

    forced = prepare_experiment(CONFIGS / "xor.yaml", ["training.epochs=3", "training.trainer=graph"])
    with pytest.raises(NnrunError, match="training.trainer: graph cannot run this config: .*in memory"):
        execute(forced, tmp_path / "forced", command=["test"])
    assert not (tmp_path / "forced" / "xor").exists(), "no half-made run folder"


@pytest.mark.slow
def test_sigint_stops_graph_training_and_keeps_a_consistent_run_folder(tmp_path: Path) -> None:
    """A real Ctrl-C reaches the trainer between chunks; the runner records the epochs done."""
    out = tmp_path / "runs"
    proc = start_cli(
        "train", str(CONFIGS / "xor.yaml"), "--quiet", "--out", str(out), "--set", "training.epochs=10000000"
    )
    try:
        history = None
        while history is None and proc.poll() is None:
            found = list(out.glob("xor/*/history.csv"))
            history = found[0] if found else None
            time.sleep(0.1)
        assert history is not None, proc.communicate()[1]
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGINT, stderr
    record = run_json(history.parent)
    assert record["status"] == "interrupted" and record["trainer"] == "graph"
    assert record["stop_reason"] == "interrupted"
    rows = list(csv.DictReader(history.open()))
    assert 0 < record["epochs_run"] == len(rows) == record["stopped_epoch"] < 10_000_000
    assert (history.parent / "model.keras").is_file()


def test_models_with_convolutions_run_on_the_default_executor() -> None:
    """The inline executor starves oneDNN's convolution kernels (the guide's CNN: 27 s an epoch
    against 7 s), while it wins on dense models: the choice follows the layers."""
    import keras

    mlp = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    cnn = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3), keras.layers.Flatten()])
    nested = keras.Sequential([keras.Input((6, 6, 1)), keras.Sequential([keras.layers.MaxPooling2D()])])
    assert graph.executor_for(mlp) == graph.EXECUTOR == "SINGLE_THREADED_EXECUTOR"
    assert graph.executor_for(cnn) == graph.executor_for(nested) == graph.CONV_EXECUTOR
