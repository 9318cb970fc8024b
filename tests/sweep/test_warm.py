"""Warm workers (nnrun.train.warm): the points of one architecture in a worker share one traced
loop, and each is still the run a fresh process makes: `nnrun rerun` of every point agrees,
including a point trained right after one that diverged or stopped early."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.experiment import release_session
from tests.conftest import run_cli, xor_yaml

#: What a run's record says about its results (timings, process and trace counts are not results).
NOT_RESULTS = {"id", "started", "ended", "duration_seconds", "train_seconds", "command", "cwd", "pid", "host"}
NOT_RESULTS |= {"sweep", "rerun_of", "graph_calls", "traced", "config_source"}

#: XOR with a linear output, SGD with momentum and early stopping, two mini-batches an epoch:
#: 1e-4 stops early (no improvement of 0.01), 100 diverges (NaN), 0.3 trains after both.
LEARNING_RATES = ("1e-4", "100", "0.3")


def _config(tmp_path: Path) -> Path:
    doc = yaml.safe_load(
        xor_yaml(
            "warm",
            epochs=30,
            optimizer={"name": "sgd", "learning_rate": 0.1, "momentum": 0.9},
            loss="mse",
            training={
                "epochs": 30,
                "batch_size": 2,
                "early_stopping": {
                    "monitor": "val_loss",
                    "patience": 4,
                    "min_delta": 0.01,
                    "restore_best_weights": True,
                },
            },
        )
    )
    doc["model"]["layers"][-1]["activation"] = "linear"
    path = tmp_path / "warm.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _results(run_dir: Path) -> dict:
    record = json.loads((run_dir / "run.json").read_text())
    return {k: v for k, v in record.items() if k not in NOT_RESULTS}


@pytest.mark.slow
def test_points_in_a_warm_worker_equal_fresh_reruns(tmp_path: Path) -> None:
    config = _config(tmp_path)
    grid = "optimizer.learning_rate=" + ",".join(LEARNING_RATES)
    proc = run_cli("sweep", str(config), "--grid", grid, "--workers", "1", "--out", str(tmp_path / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    (sweep_json,) = (tmp_path / "out").glob("warm/sweep-*/sweep.json")
    points = json.loads(sweep_json.read_text())["points"]
    runs = [sweep_json.parent / p["run_dir"] for p in points]
    records = [json.loads((r / "run.json").read_text()) for r in runs]

    assert len({p["worker_pid"] for p in points}) == 1
    assert [r["traced"] for r in records] == [1, 0, 0]  # one trace for the architecture
    assert [r["stop_reason"] for r in records] == ["early_stopping", "diverged", "early_stopping"]
    assert records[0]["best_epoch"] != records[0]["epochs_run"]  # restored its best weights

    for run in runs:  # each in a fresh build (this process keeps no models), named as in a new process
        release_session()
        before = set((tmp_path / "again").rglob("run.json"))
        result = CliRunner().invoke(app, ["rerun", str(run), "--out", str(tmp_path / "again")])
        assert result.exit_code == 0, result.output
        assert result.output.rstrip().endswith("identical"), result.output
        (fresh,) = {p.parent for p in (tmp_path / "again").rglob("run.json")} - {p.parent for p in before}
        assert _results(fresh) == _results(run)
        assert (fresh / "internals.csv").read_bytes() == (run / "internals.csv").read_bytes()
        assert (fresh / "history.csv").read_bytes() == (run / "history.csv").read_bytes()
