"""A real small learning-rate sweep of XOR with seeds, run once through the CLI on the local
backend; the tests read what it wrote: sweep.json, summary.csv, summary.md, the figures and
every point's run folder."""

from __future__ import annotations

import csv
import json
import statistics
from pathlib import Path

import pytest
import yaml

from tests.conftest import CONFIGS, run_cli

#: Every test here trains or starts nnrun processes: only in the full suite.
pytestmark = pytest.mark.slow

LRS = [0.01, 0.1, 1.0]
SEEDS = 2
EPOCHS = 25
ARGS = ["--lr", "0.01,0.1,1", "--seeds", str(SEEDS), "--workers", "2", "--set", f"training.epochs={EPOCHS}"]


def _sweep(root: Path, *extra: str) -> tuple[object, Path]:
    proc = run_cli("sweep", str(CONFIGS / "xor.yaml"), *ARGS, "--out", str(root), *extra)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (sweep_dir,) = (root / "xor").iterdir()
    return proc, sweep_dir


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    return _sweep(tmp_path_factory.mktemp("local"))


def _record(sweep_dir: Path) -> dict:
    return json.loads((sweep_dir / "sweep.json").read_text())


def _run(sweep_dir: Path, point: dict) -> dict:
    return json.loads((sweep_dir / point["run_dir"] / "run.json").read_text())


def _metrics(sweep_dir: Path, point: dict) -> dict:
    return json.loads((sweep_dir / point["run_dir"] / "metrics.json").read_text())


def test_sweep_json_records_the_grid_command_and_every_point(local) -> None:
    _, sweep_dir = local
    assert sweep_dir.name.startswith("sweep-")
    record = _record(sweep_dir)
    assert record["status"] == "completed"
    assert record["grid"] == {"optimizer.learning_rate": LRS}
    assert record["seeds"] == SEEDS and record["learning_rate_sweep"] is True
    assert "sweep" in record["command"] and "--lr" in record["command"]
    points = record["points"]
    assert [(p["values"]["optimizer.learning_rate"], p["seed"]) for p in points] == [
        (lr, seed) for lr in LRS for seed in (42, 43)
    ]
    assert all(p["status"] == "completed" and p["epochs_run"] == EPOCHS for p in points)


def test_every_point_is_an_ordinary_run_folder(local) -> None:
    _, sweep_dir = local
    points = _record(sweep_dir)["points"]
    assert sorted(p.name for p in sweep_dir.iterdir() if p.is_dir() and not p.name.startswith(".")) == sorted(
        p["run_dir"] for p in points
    )
    pids = set()
    for p in points:
        run_dir = sweep_dir / p["run_dir"]
        run = _run(sweep_dir, p)
        assert run["status"] == "completed"
        assert run["sweep"] == {
            "id": sweep_dir.name,
            "index": p["index"],
            "point": p["values"],
            "seed_index": p["seed_index"],
        }
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        assert config["optimizer"]["learning_rate"] == p["values"]["optimizer.learning_rate"]
        assert config["seed"] == p["seed"] and config["training"]["epochs"] == EPOCHS
        assert "sweep" not in config  # the point's config trains that point alone
        rows = list(csv.DictReader((run_dir / "history.csv").open()))
        assert len(rows) == EPOCHS
        for name in ("model.keras", "metrics.json", "loss.png"):
            assert (run_dir / name).is_file()
        pids.add(run["pid"])
    # long-lived workers: 6 points trained by at most 2 processes, none of them the sweep itself
    assert 1 <= len(pids) <= 2


def test_summary_csv_has_one_row_per_point_with_mean_and_std_over_seeds(local) -> None:
    _, sweep_dir = local
    points = _record(sweep_dir)["points"]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    assert [float(r["optimizer.learning_rate"]) for r in rows] == LRS
    for row, lr in zip(rows, LRS, strict=True):
        mine = [p for p in points if p["values"]["optimizer.learning_rate"] == lr]
        best = [_metrics(sweep_dir, p)["best_val_loss"]["val_loss"] for p in mine]
        acc = [_metrics(sweep_dir, p)["test"]["accuracy"] for p in mine]
        assert float(row["best_val_loss"]) == pytest.approx(statistics.fmean(best))
        assert float(row["best_val_loss_std"]) == pytest.approx(statistics.stdev(best))
        assert float(row["test_accuracy"]) == pytest.approx(statistics.fmean(acc))
        assert row["runs_completed"] == "2" and row["status"] == "2/2 completed"
        assert float(row["epochs"]) == EPOCHS
        assert row["fit"]  # the fit diagnosis of the point's runs


def test_summary_md_table_and_the_best_point(local) -> None:
    proc, sweep_dir = local
    record = _record(sweep_dir)
    points = record["points"]
    rows = list(csv.DictReader((sweep_dir / "summary.csv").open()))
    for row, lr in zip(rows, LRS, strict=True):  # the ranked number: val_accuracy at each run's kept epoch
        mine = [p for p in points if p["values"]["optimizer.learning_rate"] == lr]
        kept = [_metrics(sweep_dir, p)["kept"]["val_accuracy"] for p in mine]
        assert float(row["kept_val_accuracy"]) == pytest.approx(statistics.fmean(kept))
        assert float(row["kept_val_accuracy_std"]) == pytest.approx(statistics.stdev(kept))
    top = max(float(r["kept_val_accuracy"]) for r in rows)
    n = 4 * SEEDS  # validation rows over the seeds (XOR's 4)
    p = min(max(top, 0.5 / n), 1 - 0.5 / n)
    tied = [r for r in rows if float(r["kept_val_accuracy"]) >= top - (p * (1 - p) / n) ** 0.5 - 1e-12]
    best_row = min(tied, key=lambda r: (r["fit"] != "good fit", float(r["kept_val_loss"])))
    assert record["best"]["point"] == int(best_row["point"])
    assert record["best"]["metric"] == "val_accuracy" and record["best"]["mode"] == "max"
    assert record["selection"]["metric"] == "val_accuracy"
    text = (sweep_dir / "summary.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| #"))
    for column in ("optimizer.learning_rate", "kept epoch", "val_accuracy (kept)", "lowest val_loss", "test accuracy"):
        assert column in header
    table = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("| #")]
    assert len(table) == len(LRS)
    assert all(" ± " in line for line in table)
    assert f"| {best_row['point']} **(best)** |" in text
    assert "Chosen by the highest mean val_accuracy at each run's kept epoch" in text
    out = proc.stdout.splitlines()  # the terminal's table fits 100 columns (not a terminal) with the essentials
    rule = next(i for i, line in enumerate(out) if line.lstrip().startswith("---"))
    shown = out[: rule + 1 + len(LRS)]
    assert max(len(line) for line in shown) <= 100
    for word in ("learning_", "accuracy", "fit"):
        assert word in " ".join(out[:rule])
    assert any(line.lstrip().startswith(f"{best_row['point']} *") for line in shown)
    assert "same rows" in text  # XOR: train, validation and test are its 4 rows
    assert f"best: point {best_row['point']} (optimizer.learning_rate=" in proc.stdout
    assert "chosen by the highest mean val_accuracy" in proc.stdout
    assert f"sweep folder: {sweep_dir}" in proc.stdout


def test_figures_are_written(local) -> None:
    import matplotlib.image as mpimg

    _, sweep_dir = local
    for name in ("curves.png", "lr_vs_metric.png"):
        image = mpimg.imread(sweep_dir / name)
        assert image.shape[0] > 200 and image.shape[1] > 300, name


def test_each_point_is_reported_as_it_finishes(local) -> None:
    proc, _ = local
    done = [line for line in proc.stderr.splitlines() if line.startswith("✓ point")]
    assert len(done) == len(LRS) * SEEDS
    assert all("completed" in line and "best val_loss" in line for line in done)


def test_overlay_lines_that_average_seeds_are_not_named_or_coloured_by_a_seed(local) -> None:
    from nnrun.compare import collect
    from nnrun.compare.plot import colour_key, labels, style_key

    _, sweep_dir = local
    runs, _ = collect([sweep_dir])
    by_lr: dict[float, list] = {}
    for run in runs:
        by_lr.setdefault(run.flat_config["optimizer.learning_rate"], []).append(run)
    # the run standing for each line's seeds: seed 42 for one, 43 for the others (whichever started first)
    stand_ins = [sorted(group, key=lambda r: r.flat_config["seed"] == (42 if n == 0 else 43))[-1] for n, group in
                 enumerate(by_lr.values())]  # fmt: skip
    assert len({r.flat_config["seed"] for r in stand_ins}) == 2
    texts = labels(stand_ins, seeds_averaged=True)
    assert all("seed" not in t for t in texts) and len(set(texts)) == len(LRS)
    assert colour_key(stand_ins) == "optimizer.learning_rate"
    assert style_key(stand_ins, "optimizer.learning_rate") is None  # not a line style per seed
