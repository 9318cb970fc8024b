"""The graph trainer on streamed data (`nnrun.train.graph_stream`) against `fit` on the same
stream, and against itself on the same rows loaded whole: same numbers, same stopping, the
same internals; a stop request ends the epoch under way after its current step.

Real tiny trainings on real npz files; nothing is mocked.
"""

from __future__ import annotations

import csv
import json
import math
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nnrun.experiment import execute, prepare_experiment
from nnrun.inspect import internals
from nnrun.train.base import Hooks
from nnrun.train.fit import FitTrainer
from nnrun.train.graph import GraphTrainer
from tests.conftest import start_cli
from tests.train.test_graph import close, train

pytestmark = pytest.mark.slow

CONFIG = """\
name: streamed
seed: 5
data: {dataset: npz, path: d.npz, stream: true}
model:
  layers:
    - {type: dense, units: 12, activation: relu}
    - {type: dropout, rate: 0.2}
    - {type: dense, units: 3, activation: softmax}
optimizer: {name: adam, learning_rate: 0.02}
loss: sparse_categorical_crossentropy
metrics: [accuracy]
training: {epochs: 6, batch_size: 48}
"""


def _data(folder: Path, rows: int = 900) -> None:
    """Three classes, each a shifted feature, in noise: 900 rows make 576 training rows (12
    batches of 48) and 144 validation rows."""
    rng = np.random.default_rng(0)
    y = np.arange(rows) % 3
    x = rng.normal(size=(rows, 6)).astype("float32")
    x[np.arange(rows), y] += 1.5
    np.savez(folder / "d.npz", x=x, y=y)


def _config(folder: Path, text: str = CONFIG) -> Path:
    _data(folder)
    path = folder / "c.yaml"
    path.write_text(text)
    return path


def _same(a: float, b: float, rel: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or close(a, b, rel=rel)


def _same_history(a: Any, b: Any, rel: float) -> None:
    assert len(a.history) == len(b.history)
    for x, y in zip(a.history, b.history, strict=True):
        assert list(x) == list(y), "same columns in the same order"
        # a diverged epoch: NaN losses, and metrics of NaN outputs that depend on the op order
        keys = {"loss", "val_loss"} if math.isnan(x["loss"]) else set(x) - {"epoch"}
        for key in keys:
            assert _same(x[key], y[key], rel), (x["epoch"], key, x[key], y[key])


@pytest.mark.parametrize(
    "changes",
    [
        [],  # shuffled mini-batches with dropout: the stream's shuffle is both trainers'
        ["training.batch_size=100", "training.shuffle=false"],  # a partial last batch
        [  # early stopping that stops, with the best weights restored
            "training.epochs=60",
            "optimizer.learning_rate=0.1",
            "training.early_stopping.patience=2",
            "training.early_stopping.restore_best_weights=true",
        ],
        ["optimizer.name=sgd", "optimizer.learning_rate=100", "training.epochs=20"],  # NaN in epoch 2
    ],
    ids=["shuffled-dropout", "unshuffled-partial-batch", "early-stopping", "diverges"],
)
def test_graph_and_fit_on_the_same_stream_give_the_same_epochs(changes: list[str], tmp_path: Path) -> None:
    prepared = prepare_experiment(_config(tmp_path), changes)
    assert prepared.data.streamed
    by_fit, fit_model = train(FitTrainer(), prepared)
    by_graph, graph_model = train(GraphTrainer(), prepared)

    _same_history(by_graph, by_fit, rel=1e-4)
    assert by_graph.stop_reason == by_fit.stop_reason
    assert by_graph.stopped_epoch == by_fit.stopped_epoch
    assert by_graph.best_epoch == by_fit.best_epoch
    assert by_graph.batches_per_epoch == by_fit.batches_per_epoch
    if changes and changes[-1].startswith("training.early_stopping"):
        assert by_graph.stop_reason == "early_stopping" and by_graph.best_epoch < by_graph.stopped_epoch < 60
    if "optimizer.name=sgd" in changes:
        assert by_graph.stop_reason == "diverged" and by_graph.stopped_epoch == 2
    for a, b in zip(fit_model.get_weights(), graph_model.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    # training.inspect (on by default) records the same internals from the stream
    f, g = by_fit.inspection, by_graph.inspection
    assert [r["epoch"] for r in g.rows] == [r["epoch"] for r in f.rows] and g.rows
    finite = {row["epoch"] for row in by_fit.history if math.isfinite(row["loss"])}
    for a, b in zip(f.rows, g.rows, strict=True):
        for key in internals.VALUES if a["epoch"] in finite else ():
            assert (a[key] is None) == (b[key] is None), key
            if a[key] is not None:
                assert _same(a[key], b[key], 1e-3), (key, a, b)


def test_graph_on_the_stream_is_graph_on_the_loaded_rows(tmp_path: Path) -> None:
    """Unshuffled, so both read the rows in the same order; validation is one batch loaded and
    batches of `EVAL_BATCH` streamed: the same mean up to rounding."""
    path = _config(tmp_path)
    changes = ["training.shuffle=false"]
    streamed = prepare_experiment(path, changes)
    loaded = prepare_experiment(path, [*changes, "data.stream=false"])
    assert streamed.data.streamed and not loaded.data.streamed
    by_stream, _ = train(GraphTrainer(), streamed)
    by_memory, _ = train(GraphTrainer(), loaded)
    _same_history(by_stream, by_memory, rel=1e-4)
    assert by_stream.history[-1]["val_accuracy"] > 0.7


class StopInEpochTwo(Hooks):
    """Asks to stop from another thread, as a signal handler would, a few steps into epoch 2."""

    def __init__(self, model: Any, batches: int) -> None:
        super().__init__()

        def watch() -> None:
            while int(model.optimizer.iterations.numpy()) < batches + 5:
                time.sleep(0.002)
            self.stop_requested = True

        threading.Thread(target=watch, daemon=True).start()


def test_a_stop_request_ends_the_epoch_after_the_current_step(tmp_path: Path) -> None:
    """Batches of one row: the request arrives early in epoch 2, 1 920 steps long, and that epoch
    ends after the step under way (fit's way: its metrics and a validation pass, then stop)."""
    from nnrun.build.model import build_model
    from nnrun.experiment import seed_everything

    _data(tmp_path, rows=3000)
    (tmp_path / "c.yaml").write_text(CONFIG)
    prepared = prepare_experiment(tmp_path / "c.yaml", ["training.batch_size=1", "training.epochs=10"])
    batches = len(prepared.data.x_train)
    assert batches == 1920
    seed_everything(prepared.spec.seed)
    model = build_model(prepared.spec, prepared.data.input_shape)
    hooks = StopInEpochTwo(model, batches)
    result = GraphTrainer().train(model, prepared.spec, prepared.data, hooks)
    assert result.stop_reason == "interrupted"
    assert result.stopped_epoch == len(result.history) == len(hooks.rows) == 2
    steps = int(model.optimizer.iterations.numpy())
    assert batches + 5 <= steps < 2 * batches, "epoch 2 is cut"
    assert all(math.isfinite(row["val_loss"]) for row in result.history), "the cut epoch was validated"


def test_auto_picks_the_graph_trainer_for_streamed_data(tmp_path: Path) -> None:
    outcome = execute(prepare_experiment(_config(tmp_path), ["training.epochs=2"]), tmp_path / "runs", command=["t"])
    record = json.loads((outcome.run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["trainer"] == "graph"
    assert record["graph_trainer_skipped"] is None
    assert (outcome.run_dir / "internals.csv").is_file()


@pytest.mark.parametrize("sent", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_stops_a_streamed_graph_run_and_keeps_its_history(sent: int, tmp_path: Path) -> None:
    config = _config(tmp_path, CONFIG.replace("epochs: 6", "epochs: 100000"))
    out = tmp_path / "runs"
    sets = ("--set", "training.trainer=graph", "--set", "training.inspect=false")  # the loop without a recorder
    proc = start_cli("train", str(config), "--quiet", "--out", str(out), *sets)
    try:
        history = None
        while history is None and proc.poll() is None:
            found = list(out.glob("streamed/*/history.csv"))
            history = found[0] if found else None
            time.sleep(0.1)
        assert history is not None, proc.communicate()[1]
        proc.send_signal(sent)
        _, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sent, stderr
    record = json.loads((history.parent / "run.json").read_text())
    assert record["status"] == "interrupted" and record["trainer"] == "graph"
    assert record["stop_reason"] == "interrupted"
    rows = list(csv.DictReader(history.open()))
    assert 0 < record["epochs_run"] == len(rows) == record["stopped_epoch"] < 100_000
    assert (history.parent / "model.keras").is_file()


def test_a_warm_worker_reuses_the_streamed_loop_and_makes_the_fresh_run(tmp_path: Path) -> None:
    """A sweep worker's second point of the architecture takes the traced loop with new
    iterators over its own pipelines (`nnrun.train.warm`), and is the run a fresh process makes."""
    from nnrun.build.model import build_model
    from nnrun.experiment import seed_everything
    from nnrun.train import warm

    path = _config(tmp_path)
    rates = ("0.02", "0.05")
    warm.enable()
    try:
        kept = []
        for rate in rates:
            prepared = prepare_experiment(path, [f"optimizer.learning_rate={rate}", "training.epochs=3"])
            seed_everything(prepared.spec.seed)
            trainer = GraphTrainer()
            model = trainer.reuse(build_model(prepared.spec, prepared.data.input_shape), prepared.spec, prepared.data)
            kept.append(trainer.train(model, prepared.spec, prepared.data, Hooks()))
    finally:
        warm.disable()
    assert [r.details["traced"] for r in kept] == [1, 0]
    fresh, _ = train(
        GraphTrainer(), prepare_experiment(path, [f"optimizer.learning_rate={rates[1]}", "training.epochs=3"])
    )
    assert kept[1].history == fresh.history
