"""Worker processes: a worker whose memory has grown too much is replaced between points, and
the sweep goes on with the same results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import CONFIGS, run_cli

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow


def test_a_worker_that_grew_too_much_is_replaced_between_points(tmp_path: Path) -> None:
    # a threshold below zero: every worker retires after its second point
    proc = run_cli(
        "sweep",
        str(CONFIGS / "xor.yaml"),
        *("--lr", "0.01,0.1,1", "--workers", "1", "--set", "training.epochs=20", "--out", str(tmp_path), "-q"),
        env={"NNRUN_SWEEP_RECYCLE_MIB": "-100000"},
    )
    assert proc.returncode == 0, proc.stderr
    (sweep_json,) = tmp_path.glob("xor/sweep-*/sweep.json")
    points = json.loads(sweep_json.read_text())["points"]
    assert [p["status"] for p in points] == ["completed"] * 3
    pids = [p["worker_pid"] for p in points]
    assert pids[0] == pids[1] != pids[2]  # one worker, two points, then a fresh one
    assert all(p["rss_mib"] > 100 and p["peak_rss_mib"] > 100 for p in points)  # MiB, TensorFlow loaded
    for p in points:
        run = json.loads((sweep_json.parent / p["run_dir"] / "run.json").read_text())
        assert run["pid"] == p["worker_pid"] and run["status"] == "completed"


def test_two_workers_train_early_stopped_points(tmp_path: Path) -> None:
    # Two workers on two cores get one intra-op thread each. With one inter-op thread too, the
    # graph trainer's loop with early stopping deadlocked in both workers (an asynchronous kernel
    # waiting for the pool's only thread); the timeout only keeps a regression from hanging the suite.
    proc = run_cli(
        "sweep",
        str(CONFIGS / "iris_softmax.yaml"),
        *("--lr", "1e-3,1e-2", "--workers", "2", "--out", str(tmp_path), "-q"),
        *("--set", "training.epochs=30", "--set", "training.early_stopping={monitor: val_loss, patience: 5}"),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    (sweep_json,) = tmp_path.glob("iris-softmax/sweep-*/sweep.json")
    points = json.loads(sweep_json.read_text())["points"]
    assert [p["status"] for p in points] == ["completed"] * 2
