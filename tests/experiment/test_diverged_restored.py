"""A run that diverged after early stopping had kept the weights of a finite epoch: its saved
model is that epoch's, so it is evaluated on the test split and drawn like any run, while its
run.json and verdict still say it diverged at epoch N and kept epoch K. A run that blew up is
not a setting to recommend: a sweep never picks it as best and `compare --sort` by a result
ranks it after every run that did not diverge.

The fixture: a ReLU net on moons with plain SGD at learning rate 100: epoch 1 is finite, the
loss is NaN at epoch 2 and early stopping (patience longer than the run) restores epoch 1.
Validation is the test split, so the test metrics of the kept weights are known: the
validation accuracy history.csv recorded at epoch 1."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from nnrun.runs.layout import RunFolder, Status

pytestmark = pytest.mark.slow

MOONS = """\
name: moons
seed: 1
data: {dataset: moons, n_samples: 200, validation: test}
model:
  layers:
    - {type: dense, units: 8, activation: relu}
    - {type: dense, units: 2, activation: softmax}
optimizer: {name: sgd, learning_rate: 100.0}
loss: categorical_crossentropy
metrics: [accuracy]
training: {epochs: 6, batch_size: 16, early_stopping: {monitor: val_loss, patience: 40, restore_best_weights: true}}
"""


#: The title of every run picture the fixture's runs drew, by the PNG's path.
TITLES: dict[Path, str] = {}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The diverged run (both trainers) and a sweep over the learning rate whose other point
    barely learns (1e-4 for 2 epochs), trained in this process."""
    import nnrun
    from nnrun.experiment import execute, prepare_experiment
    from nnrun.inspect import plots

    def save_png(fig, path: Path) -> Path:  # noqa: ANN001 - the titles as drawn, read off the figure
        TITLES[path] = fig.axes[0].get_title()
        return real(fig, path)

    root = tmp_path_factory.mktemp("restored")
    config = root / "moons.yaml"
    config.write_text(MOONS)
    out: dict[str, Path] = {}
    real = plots.save_png
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(plots, "save_png", save_png)
        for trainer in ("graph", "fit"):
            prepared = prepare_experiment(config, [f"training.trainer={trainer}"])
            out[trainer] = execute(prepared, root / "runs", command=["test"]).run_dir
    slow = root / "slow.yaml"
    slow.write_text(MOONS.replace("epochs: 6", "epochs: 2"))
    out["sweep"] = nnrun.sweep(slow, workers=0, out=root / "sweeps", lr=[1e-4, 100.0]).dir  # type: ignore[arg-type]
    return out


def _read(run_dir: Path) -> tuple[dict, dict, list[dict[str, float]]]:
    from nnrun.runs.reader import read_history

    files = RunFolder(run_dir)
    return (
        json.loads(files.run_json.read_text()),
        json.loads(files.metrics.read_text()),
        read_history(files.history),
    )


@pytest.mark.parametrize("trainer", ["graph", "fit"])
def test_the_kept_weights_are_evaluated_and_drawn(made: dict[str, Path], trainer: str) -> None:
    run_dir = made[trainer]
    record, metrics, history = _read(run_dir)
    assert record["status"] == Status.DIVERGED
    assert (record["stopped_epoch"], record["kept_epoch"]) == (2, 1)
    assert not math.isfinite(history[1]["loss"]) and math.isfinite(history[0]["loss"])
    # the test split is the validation split: the kept weights score what epoch 1 recorded
    test = metrics["test"]
    assert test["accuracy"] == pytest.approx(history[0]["val_accuracy"], abs=1e-6)
    assert sum(map(sum, test["confusion_matrix"])) == record["split"]["test"]
    assert metrics["kept"]["epoch"] == 1
    for picture in ("boundary.png", "boundary_epochs.png", "confusion_matrix.png", "loss.png", "weights.png"):
        assert (run_dir / picture).stat().st_size > 1000, picture
    assert (run_dir / "predictions.csv").is_file()
    # the regions drawn are the kept epoch's, and the title says so (as loss.png and weights.png do)
    title = TITLES[run_dir / "boundary.png"]
    assert "decision regions (kept weights, epoch 1 of 2)" in title and "final model" not in title, title


def test_run_json_and_verdict_still_say_it_diverged(made: dict[str, Path]) -> None:
    record, _, _ = _read(made["graph"])
    diagnosis = record["diagnosis"]
    assert diagnosis["verdict"] == "diverged" and diagnosis["epoch"] == 2
    assert diagnosis["label"] == "diverged at epoch 2 (kept epoch 1)"
    assert "Early stopping kept the weights of epoch 1" in diagnosis["hint"]
    assert record["hint"].startswith("the loss became NaN/inf at epoch 2; early stopping kept the weights of epoch 1")
    assert "learning_rate" in record["hint"]


def test_the_summary_line_says_whose_weights_were_tested(made: dict[str, Path]) -> None:
    from nnrun.cli.train import summary_line
    from nnrun.experiment.lifecycle import Outcome

    record, metrics, _ = _read(made["graph"])
    line = summary_line(Outcome(made["graph"], record["status"], record, metrics))
    assert line.startswith("diverged, test accuracy ") and " (epoch 1's weights), 2 epochs in " in line, line


def test_a_sweep_never_picks_the_point_that_diverged(made: dict[str, Path]) -> None:
    from nnrun.sweep import summary
    from nnrun.sweep.record import SweepRecord

    groups, _, _, best = summary.build(SweepRecord.load(made["sweep"]))
    by_lr = {g.values["optimizer.learning_rate"]: g for g in groups}
    blown, slow = by_lr[100.0].runs[0], by_lr[1e-4].runs[0]
    assert blown.status == Status.DIVERGED and blown.kept_epoch == 1 and blown.test  # evaluated
    # the choice is not decided by the scores: the diverged point scores at least as well
    assert (blown.kept or {})["val_accuracy"] >= (slow.kept or slow.final)["val_accuracy"]
    assert best is not None and best["point"] == by_lr[1e-4].number
    text = (made["sweep"] / "summary.md").read_text()
    assert "Points whose runs diverged are never chosen" in text


def test_compare_sorts_a_diverged_run_after_the_others(made: dict[str, Path]) -> None:
    from nnrun.compare.table import sort_runs
    from nnrun.runs.reader import read_run

    blown, slow = (read_run(p) for p in sorted(made["sweep"].rglob("run.json")))
    blown, slow = (blown, slow) if blown.status == Status.DIVERGED else (slow, blown)
    assert blown.test["accuracy"] >= slow.test["accuracy"]  # it would come first by its score alone
    for key in ("test.accuracy", "val_accuracy"):
        assert sort_runs([blown, slow], key) == [slow, blown]
        assert sort_runs([blown, slow], key, reverse=True) == [blown, slow]
    assert sort_runs([slow, blown], "run") == sorted([slow, blown], key=lambda r: r.id)  # not a result: by id only
