"""How a sweep picks its best point: a stated criterion at the kept epoch, checked on real sweeps
whose right answer is known (issue 11: an lr sweep must not crown an unstable lr=1, a grid over
`loss` must not compare MSE with MAE)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.errors import NnrunError
from nnrun.sweep import select
from tests.conftest import CONFIGS


def test_cli_select_syntax() -> None:
    assert select.parse_cli("val_mae") == {"metric": "val_mae"}
    assert select.parse_cli("val_accuracy:max") == {"metric": "val_accuracy", "mode": "max"}
    with pytest.raises(NnrunError, match="min or max"):
        select.parse_cli("val_mae:lowest")


def test_yaml_select_is_read_and_checked() -> None:
    assert select.from_config({"select": {"metric": "val_mae", "mode": "min"}}, None) == {
        "metric": "val_mae",
        "mode": "min",
    }
    assert select.from_config({"select": {"metric": "val_mae"}}, "val_mse:min") == {"metric": "val_mse", "mode": "min"}
    with pytest.raises(NnrunError, match="sweep.select"):
        select.from_config({"select": {"metric": "val_mae", "direction": "min"}}, None)


def test_a_loss_grid_cannot_be_ranked_by_loss_values() -> None:
    with pytest.raises(NnrunError, match="different units"):
        select.check({"metric": "val_loss"}, {"loss": ["mse", "mae"]}, ["loss", "val_loss"])
    select.check({"metric": "val_mae"}, {"loss": ["mse", "mae"]}, ["loss", "val_loss"])  # mae runs: val_loss


def test_an_unknown_metric_names_the_nearest() -> None:
    with pytest.raises(NnrunError, match="did you mean 'val_accuracy'"):
        select.check({"metric": "val_acuracy"}, {}, ["loss", "val_loss", "accuracy", "val_accuracy"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--grid", "loss=mse,mae", "--select", "val_loss"], "different units"),
        (["--lr", "0.01,0.1", "--select", "val_msa"], "did you mean 'val_mse'"),
    ],
)
def test_sweep_refuses_a_criterion_before_training(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sweep", str(CONFIGS / "diabetes_mae.yaml"), *args, "--out", str(tmp_path)])
    assert isinstance(result.exception, NnrunError), result.output  # `nnrun` prints it, exit code 2
    assert message in str(result.exception)
    assert not any(tmp_path.iterdir())  # nothing created


def _sweep(nnrun, root: Path, config: str, *args: str) -> tuple[str, Path, dict]:
    """`nnrun sweep` through the CLI's main in this process, its points trained one after another
    here (`--backend inline`): what is checked is the choice of the best point, which reads the
    run folders whichever backend trained them (the worker processes are tested in test_sweep_run.py)."""
    code, out, err = nnrun("sweep", CONFIGS / config, *args, "--backend", "inline", "--out", root)
    assert code == 0, out + err
    (sweep_dir,) = [p for p in root.rglob("sweep.json")]
    return out, sweep_dir.parent, json.loads(sweep_dir.read_text())


@pytest.mark.slow
def test_breast_cancer_sgd_lr_sweep_does_not_crown_lr_1(tmp_path: Path, nnrun) -> None:
    """The issue's sweep, as given (the walk-through config validates on the test split): lr=1
    is one test row ahead at the epoch its early stopping kept, which is noise; the lowest
    val_loss at any epoch used to name it best."""
    out, sweep_dir, record = _sweep(
        nnrun, tmp_path, "breast_cancer.yaml", "--set", "optimizer.name=sgd", "--lr", "0.0001,0.001,0.01,0.1,1.0"
    )
    best = record["best"]
    assert best["values"]["optimizer.learning_rate"] != 1.0
    assert best["metric"] == "val_accuracy" and best["mode"] == "max"
    rows = {float(r["optimizer.learning_rate"]): r for r in csv.DictReader((sweep_dir / "summary.csv").open())}
    chosen = rows[best["values"]["optimizer.learning_rate"]]
    top = max(float(r["kept_val_accuracy"]) for r in rows.values())
    n = 114  # validation rows (the test split here)
    assert top - float(chosen["kept_val_accuracy"]) <= (top * (1 - top) / n) ** 0.5  # within one standard error
    assert chosen["fit"] == "good fit"
    assert "chosen by the highest mean val_accuracy at each run's kept epoch" in out
    assert "Chosen by the highest mean val_accuracy" in (sweep_dir / "summary.md").read_text()
    assert best["selected_on_test"] is True and "chosen on the test rows" in (sweep_dir / "summary.md").read_text()


@pytest.mark.slow
def test_a_grid_over_loss_ranks_by_a_metric_every_point_shares(tmp_path: Path, nnrun) -> None:
    out, sweep_dir, record = _sweep(
        nnrun, tmp_path, "diabetes_mae.yaml", "--grid", "loss=mse,mae", "--set", "training.epochs=40"
    )
    best = record["best"]
    assert best["metric"] == "val_mse"  # diabetes_mae.yaml tracks mse: the mse run has it as val_loss
    assert "different units" in best["criterion"] and "different units" in out
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    values = {r["loss"]: float(r["kept_val_mse"]) for r in rows}
    assert best["values"]["loss"] == min(values, key=values.__getitem__)
    # the mse run's val_mse is its own val_loss: one number in one unit for both points
    mse_row = next(r for r in rows if r["loss"] == "mse")
    assert float(mse_row["kept_val_mse"]) == pytest.approx(float(mse_row["kept_val_loss"]), rel=1e-4)


@pytest.mark.slow
def test_seeds_rank_by_the_mean_and_draw_a_band(tmp_path: Path, nnrun) -> None:
    out, sweep_dir, record = _sweep(
        nnrun, tmp_path, "xor.yaml", "--lr", "0.005,0.05", "--seeds", "3", "--set", "training.epochs=60"
    )
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    means = {float(r["optimizer.learning_rate"]): float(r["kept_val_accuracy"]) for r in rows}
    assert all(r["kept_val_accuracy_std"] != "" for r in rows)
    assert record["best"]["value"] == pytest.approx(means[record["best"]["values"]["optimizer.learning_rate"]])
    assert record["best"]["value"] == pytest.approx(max(means.values()))
    text = (sweep_dir / "summary.md").read_text()
    assert " ± " in text and "mean val_accuracy" in text
    import matplotlib.image as mpimg

    image = mpimg.imread(sweep_dir / "curves.png")
    assert image.shape[0] > 200
