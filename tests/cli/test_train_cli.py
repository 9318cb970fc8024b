"""The spine end to end in a real subprocess: train XOR, read the run folder it wrote."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS, missing_run_files, run_cli

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow


def test_train_xor_writes_complete_run_folder(tmp_path: Path) -> None:
    proc = run_cli(
        "train",
        str(CONFIGS / "xor.yaml"),
        "--out",
        str(tmp_path),
        "--set",
        "training.epochs=40",
    )
    # standard output is a pipe (block-buffered): the result lines still arrive before the entry
    # point's fast exit (tests/cli/test_entry.py), with exit code 0
    assert proc.returncode == 0, proc.stderr
    assert "completed" in proc.stdout and "run folder:" in proc.stdout
    (run_dir,) = list((tmp_path / "xor").iterdir())
    assert not missing_run_files(run_dir)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "completed"
    assert record["epochs_run"] == 40
    rows = list(csv.DictReader((run_dir / "history.csv").open()))
    assert len(rows) == 40
    assert {"epoch", "loss", "val_loss", "accuracy", "val_accuracy", "learning_rate"} <= set(rows[0])
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["training"]["epochs"] == 40
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert 0.0 <= metrics["test"]["accuracy"] <= 1.0
