"""The internals both trainers record: the same numbers for the same run, one row per epoch
and layer in internals.csv (layer names as in summary.txt), nothing when inspect is off.

Real tiny trainings, as the trainers' losses are compared in tests/train/test_graph.py.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from nnrun.experiment import execute, prepare_experiment
from nnrun.inspect import internals
from nnrun.inspect.replay import ReplayRecorder
from nnrun.runs.layout import RunFolder
from nnrun.train.fit import FitTrainer
from nnrun.train.graph import GraphTrainer
from tests.conftest import CONFIGS
from tests.train.test_graph import SAME_AS_FIT, train, write

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("case", "epochs", "traced"),
    [
        ("sgd-xor-full-batch", None, False),
        ("dropout-minibatch-partial-last-batch", None, False),
        # full batch past MAX_RECORDED epochs: every 2nd epoch, the snapshots and the last, in-graph
        ("sgd-xor-full-batch", 40, False),
        # the same dense nets with the statistics traced into the loop, as other networks are
        ("dropout-minibatch-partial-last-batch", None, True),
        ("sgd-xor-full-batch", 40, True),
    ],
)
def test_graph_and_fit_record_the_same_internals(
    case: str, epochs: int | None, traced: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if traced:
        monkeypatch.setattr(ReplayRecorder, "plan", staticmethod(lambda *_: None))
    config = SAME_AS_FIT[case]
    if epochs is not None:
        config = {**config, "training": {**config["training"], "epochs": epochs}}
    prepared = prepare_experiment(write(tmp_path, config))
    by_fit, _ = train(FitTrainer(), prepared)
    by_graph, _ = train(GraphTrainer(), prepared)
    f, g = by_fit.inspection, by_graph.inspection
    epochs = prepared.spec.training.epochs
    recorded = internals.recorded_epochs(epochs, by_graph.batches_per_epoch)
    assert (len(recorded) < epochs) == (epochs == 40)
    assert len(f.rows) == len(g.rows) == len(recorded) * len(g.layers)
    assert [r["epoch"] for r in g.rows[:: len(g.layers)]] == recorded
    assert [r["epoch"] for r in g.rows] == [r["epoch"] for r in f.rows]
    assert [layer.activation for layer in g.layers] == [layer.activation for layer in f.layers]
    for a, b in zip(f.rows, g.rows, strict=True):
        for key in internals.VALUES:
            if a[key] is None:
                assert b[key] is None, key
            else:
                assert math.isclose(a[key], b[key], rel_tol=1e-4, abs_tol=1e-7), (key, a, b)
    assert sorted(f.snapshots) == sorted(g.snapshots) == internals.snapshot_epochs(epochs)
    for e in g.snapshots:
        for x, y in zip(f.snapshots[e], g.snapshots[e], strict=True):
            np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-6)
    # the numbers are the model's: gradients are positive, a sigmoid output is in (0, 1)
    assert all(r["grad_norm"] > 0 and r["weight_norm"] > 0 for r in g.rows if r["grad_norm"] is not None)
    assert all(0 < r["activation_mean"] < 1 for r in g.rows if r["activation"] == "sigmoid")


def test_run_folder_has_internals_with_the_summary_layer_names(tmp_path: Path) -> None:
    prepared = prepare_experiment(CONFIGS / "xor.yaml", ["training.epochs=30"])
    run = execute(prepared, tmp_path, command=["test"]).run_dir
    rows = internals.read(run / RunFolder.INTERNALS)
    header = (run / RunFolder.INTERNALS).read_text().splitlines()[0].split(",")
    assert tuple(header) == internals.COLUMNS
    layers = list(dict.fromkeys(r["layer"] for r in rows))
    summary = (run / "summary.txt").read_text()
    assert len(layers) == 2 and all(f"{name} (Dense)" in summary for name in layers)
    assert [r["epoch"] for r in rows] == [float(e) for e in range(1, 31) for _ in layers]
    assert {r["activation"] for r in rows} == {"tanh", "sigmoid"}
    tanh = [r for r in rows if r["activation"] == "tanh"]
    assert all(0 <= r["saturated_fraction"] <= 1 and math.isnan(r["dead_fraction"]) for r in tanh)
    for name in ("gradients.png", "activations.png", "weights.png", "boundary.png", "boundary_epochs.png"):
        assert (run / name).stat().st_size > 10_000, name
    record = json.loads((run / "run.json").read_text())
    assert record["internals_verdicts"] == []


def test_inspect_off_records_nothing(tmp_path: Path) -> None:
    prepared = prepare_experiment(CONFIGS / "xor.yaml", ["training.epochs=5", "training.inspect=false"])
    outcome = execute(prepared, tmp_path, command=["test"])
    run = outcome.run_dir
    assert not (run / RunFolder.INTERNALS).exists()
    assert not (run / "gradients.png").exists()
    assert "internals_verdicts" not in outcome.record
    assert (run / "boundary.png").is_file(), "the final decision regions need no recording"
