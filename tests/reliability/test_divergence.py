"""A learning rate far too high: the first epoch whose loss is NaN/inf ends training at once,
for both trainers, as status `diverged` with the epoch and a hint; never 60 epochs of NaN."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.runs.layout import Status
from nnrun.runs.reader import read_history, read_run
from tests.reliability.procs import DIVERGING, TRAINERS, assert_every_file_parses


def _finite(row: dict[str, float]) -> bool:
    return all(math.isfinite(v) for k, v in row.items() if k.endswith("loss"))


@pytest.mark.slow
@pytest.mark.parametrize("trainer", TRAINERS)
def test_nan_loss_stops_training_at_once(tmp_path: Path, trainer: str) -> None:
    config = tmp_path / "diverging.yaml"
    config.write_text(DIVERGING)
    out = tmp_path / "runs"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = CliRunner().invoke(
            app, ["train", str(config), "--set", f"training.trainer={trainer}", "--out", str(out), "-q"]
        )
    # the overflowing weights reach the learner as inf/NaN in internals.csv, never as NumPy's warnings
    ours = [w for w in caught if "/nnrun/" in w.filename.replace("\\", "/")]
    assert not ours, [f"{w.filename}:{w.lineno}: {w.message}" for w in ours]

    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.exit_code == 0, result.output  # diverged is a result (the status says so), not an error
    assert result.output.startswith("diverged")
    assert "hint: the loss became NaN/inf at epoch" in result.output
    (run_dir,) = [p.parent for p in out.rglob("run.json")]
    files = assert_every_file_parses(run_dir)
    record = files["run.json"]
    history = read_history(run_dir / "history.csv")

    first_bad = next(i for i, row in enumerate(history, start=1) if not _finite(row))
    assert first_bad == len(history) < 60  # the NaN epoch is the last one run
    assert all(_finite(row) for row in history[:-1])
    assert record["status"] == Status.DIVERGED
    assert record["stop_reason"] == "diverged"
    assert record["stopped_epoch"] == record["epochs_run"] == first_bad
    assert f"epoch {first_bad}" in record["hint"] and "learning_rate" in record["hint"]
    assert record["diagnosis"]["verdict"] == "diverged"
    assert "test" not in files["metrics.json"]  # a NaN model is not evaluated
    assert read_run(run_dir).status == Status.DIVERGED
