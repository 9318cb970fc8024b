"""Which epochs are recorded and snapshotted, and internals.csv written and read back."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from nnrun.inspect import internals
from nnrun.inspect.internals import LayerInfo, recorded_epochs, rows_from_vector, snapshot_epochs


def test_snapshots_are_about_six_epochs_on_a_log_scale() -> None:
    assert snapshot_epochs(4) == [1, 2, 3, 4]
    assert snapshot_epochs(500) == [1, 3, 12, 42, 144, 500]
    assert snapshot_epochs(10_000)[0] == 1 and snapshot_epochs(10_000)[-1] == 10_000


def test_every_epoch_is_recorded_unless_the_epochs_are_tiny_and_many() -> None:
    assert recorded_epochs(30, updates_per_epoch=1) == list(range(1, 31))
    assert recorded_epochs(5000, updates_per_epoch=15) == list(range(1, 5001))
    few = recorded_epochs(5000, updates_per_epoch=1)
    assert 30 <= len(few) <= 40 and few[-1] == 5000
    assert set(snapshot_epochs(5000)) <= set(few)


def test_rows_from_the_recorders_vector_and_back(tmp_path: Path) -> None:
    layers = [
        LayerInfo("dense", "relu", True),
        LayerInfo("leaky_re_lu", "leaky_relu", False),
        LayerInfo("out", None, True),
    ]
    # grad x2, weight x2, ratio x2; then dead, saturated, mean, std for the two activation layers
    vector = np.array([0.1, 0.2, 1.0, 2.0, 0.01, 0.02, 0.25, np.nan, np.nan, np.nan, 0.5, 0.1, 0.9, 0.3])
    rows = rows_from_vector(layers, 7, vector)
    assert [r["layer"] for r in rows] == ["dense", "leaky_re_lu", "out"]
    dense, leaky, out = rows
    assert (dense["grad_norm"], dense["weight_norm"], dense["update_ratio"]) == (0.1, 1.0, 0.01)
    assert (dense["dead_fraction"], dense["saturated_fraction"], dense["activation_mean"]) == (0.25, None, 0.5)
    assert leaky["grad_norm"] is None and leaky["dead_fraction"] is None and leaky["activation_std"] == 0.3
    assert out["activation"] == "" and out["activation_mean"] is None and out["grad_norm"] == 0.2
    path = tmp_path / "internals.csv"
    internals.write(path, rows)
    back = internals.read(path)
    assert [r["layer"] for r in back] == ["dense", "leaky_re_lu", "out"]
    assert back[0]["epoch"] == 7.0 and back[0]["grad_norm"] == 0.1 and math.isnan(back[0]["saturated_fraction"])
    assert internals.read(tmp_path / "missing.csv") == []
