"""`nnrun lr-find`: the range test on a real model, its files, and clean errors."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from typer.testing import CliRunner

from nnrun.cli.app import app
from tests.conftest import CONFIGS, run_cli


@pytest.mark.slow
def test_lr_find_breast_cancer_suggests_a_sane_rate(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["lr-find", str(CONFIGS / "breast_cancer.yaml"), "--out", str(tmp_path), "-q"])
    assert result.exit_code == 0, result.output
    (out_dir,) = (tmp_path / "breast-cancer-mlp").iterdir()
    assert re.fullmatch(r"lr-find-\d{8}-\d{6}-[0-9a-f]{6}", out_dir.name)

    summary = json.loads((out_dir / "lr_find.json").read_text())
    assert 1e-4 <= summary["suggestion"] <= 1.0
    assert f"suggested learning rate: {summary['suggestion']:.2g}" in result.output
    assert str(out_dir / "lr_find.png") in result.output

    rows = list(csv.DictReader((out_dir / "lr_find.csv").open()))
    assert len(rows) == summary["steps_run"] > 20
    rates = np.array([float(r["learning_rate"]) for r in rows])
    assert rates[0] == pytest.approx(1e-7)
    assert np.allclose(rates, np.geomspace(1e-7, 10.0, 250)[: len(rates)])
    losses = np.array([float(r["smoothed_loss"]) for r in rows])
    assert np.isfinite(losses).all()
    # The suggestion lies on the way down: the loss there is below where it started.
    at = losses[int(np.argmin(np.abs(rates - summary["suggestion"])))]
    assert at < losses[0]

    image = matplotlib.image.imread(out_dir / "lr_find.png")
    assert image.shape[0] >= 300 and image.shape[1] >= 500
    assert (out_dir / "config.yaml").is_file()
    assert not list(out_dir.glob(".*"))  # no temporary files left behind


def test_bad_config_exits_2_without_a_folder(tmp_path: Path, write_config) -> None:
    config = write_config(
        "name: bad\ndata: {dataset: breast_cancr}\nmodel: {layers: [{type: dense, units: 1}]}\nloss: mse\n"
    )
    proc = run_cli("lr-find", str(config), "--out", str(tmp_path / "runs"))
    assert proc.returncode == 2, proc.stderr
    assert "breast_cancer" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs" / "bad").exists()


def test_bad_range_exits_2(tmp_path: Path) -> None:
    proc = run_cli("lr-find", str(CONFIGS / "xor.yaml"), "--start", "1", "--end", "0.1", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "expected 0 < --start < --end" in proc.stderr
