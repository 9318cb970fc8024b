"""The same config and seed give the same history and metrics, bit for bit: in two separate
processes (`nnrun rerun` against a run made by `nnrun train`) and twice in one process, for
both trainers. `nnrun rerun` also says where two runs differ, and re-runs a CSV config from
anywhere (its data path stays relative to the original config)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.runs.layout import Status
from nnrun.runs.match import compare_runs
from tests.conftest import CONFIGS, ROOT
from tests.reliability.procs import SHORT_CANCER, TRAINERS, finish, read_json, run_dirs, spawn

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow


def _train(tmp_path: Path, trainer: str) -> Path:
    """A run made by `nnrun train` here; the re-run then happens in a separate process."""
    config = tmp_path / "short.yaml"
    config.write_text(SHORT_CANCER)
    out = tmp_path / "runs"
    args = ["train", str(config), "--set", f"training.trainer={trainer}", "--out", str(out), "-q"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (run_dir,) = run_dirs(out)
    return run_dir


@pytest.mark.parametrize("trainer", TRAINERS)
def test_rerun_in_a_new_process_is_identical(tmp_path: Path, trainer: str) -> None:
    original = _train(tmp_path, trainer)
    code, stdout, stderr = finish(spawn("rerun", str(original)))

    assert code == 0, stdout + stderr
    assert stdout.rstrip().endswith("identical")
    assert "history.csv: identical (12 epochs" in stdout
    new = [d for d in run_dirs(original.parent.parent) if d != original]
    assert len(new) == 1 and new[0].parent == original.parent  # same runs root, a new folder
    record = read_json(new[0] / "run.json")
    assert record["rerun_of"] == str(original.resolve())
    assert record["trainer"] == trainer and record["status"] == Status.COMPLETED
    assert (new[0] / "history.csv").read_bytes() == (original / "history.csv").read_bytes()
    assert read_json(new[0] / "metrics.json") == read_json(original / "metrics.json")


@pytest.mark.parametrize("trainer", TRAINERS)
def test_twice_in_one_process_is_identical(tmp_path: Path, trainer: str) -> None:
    from nnrun.experiment import execute, prepare_experiment

    config = tmp_path / "short.yaml"
    config.write_text(SHORT_CANCER)
    first, second = (
        execute(prepare_experiment(config, [f"training.trainer={trainer}"]), tmp_path / "runs") for _ in range(2)
    )

    assert first.run_dir != second.run_dir
    match = compare_runs(first.run_dir, second.run_dir)
    assert match.identical, match.lines()
    assert match.epochs == 12 and match.values > 10


def _tamper(run_dir: Path) -> None:
    """Make a copy look like a run from another machine: epoch 3's loss and the test accuracy differ."""
    path = run_dir / "history.csv"
    rows = list(csv.DictReader(path.open()))
    rows[2]["loss"] = repr(float(rows[2]["loss"]) + 0.125)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    metrics["test"]["accuracy"] = metrics["test"]["accuracy"] - 0.25
    (run_dir / "metrics.json").write_text(json.dumps(metrics))


def test_rerun_reports_the_first_difference_and_the_largest(tmp_path: Path) -> None:
    config = tmp_path / "short.yaml"
    config.write_text(SHORT_CANCER)
    runner = CliRunner()
    made = runner.invoke(app, ["train", str(config), "--set", "training.epochs=4", "--out", str(tmp_path / "runs")])
    assert made.exit_code == 0, made.output
    (original,) = run_dirs(tmp_path / "runs")
    _tamper(original)

    result = runner.invoke(app, ["rerun", str(original)])

    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    history = next(line for line in lines if line.startswith("history.csv:"))
    assert history.startswith("history.csv: differs from epoch 3 (loss: ")
    assert "largest difference 0.125 (loss, epoch 3)" in history
    metrics = next(line for line in lines if line.startswith("metrics.json:"))
    assert metrics.startswith("metrics.json: test.accuracy: ")
    assert "largest difference 0.25 (test.accuracy)" in metrics
    assert lines[-1] == "different"


def test_rerun_resolves_a_csv_path_from_the_original_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    relative = (CONFIGS / "csv_example.yaml").relative_to(ROOT)
    first = runner.invoke(app, ["train", str(relative), "--set", "training.epochs=3", "--out", str(tmp_path), "-q"])
    assert first.exit_code == 0, first.output
    (original,) = run_dirs(tmp_path)

    monkeypatch.chdir(tmp_path)  # somewhere the relative data/fruit.csv does not exist
    again = runner.invoke(app, ["rerun", str(original)])

    assert again.exit_code == 0, again.output
    assert again.output.rstrip().endswith("identical")


def test_rerun_of_something_that_is_not_a_run(tmp_path: Path) -> None:
    code, _, err = finish(spawn("rerun", str(tmp_path)))
    assert code == 2
    assert "run.json is missing" in err and "Traceback" not in err
