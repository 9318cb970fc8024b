"""`nnrun predict`: real tiny runs (binary, CSV with a categorical column, multiclass,
regression); their test rows written back to CSV files and predicted again must give the
run's own predictions.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.data.prepare import load_raw, split
from nnrun.experiment import execute, prepare_experiment
from nnrun.predict import predict_csv
from tests.conftest import CONFIGS, run_cli

#: Every test here uses runs trained by the module fixture (or spawns nnrun).
pytestmark = pytest.mark.slow

RUNS = {
    "breast_cancer": ("breast_cancer.yaml", ["training.epochs=3"]),
    "csv": ("csv_example.yaml", ["training.epochs=5"]),
    "iris": ("iris_softmax.yaml", ["training.epochs=3"]),
    "diabetes": ("diabetes_mae.yaml", ["training.epochs=2"]),
}


def _test_rows(prepared) -> pd.DataFrame:
    """The run's test split as raw (unscaled, unencoded) rows, target included, in order."""
    spec = prepared.spec
    config_dir = Path(prepared.config_path).resolve().parent
    raw = load_raw(spec, config_dir)
    _, _, test_idx = split(raw, spec)
    if spec.data.dataset == "csv":
        frame = pd.read_csv(config_dir / spec.data.path)
        return frame.iloc[test_idx].reset_index(drop=True)
    frame = raw.frame.astype("float64").iloc[test_idx]
    y = raw.y[test_idx]
    frame["target"] = [raw.class_names[int(v)] for v in y] if raw.class_names else y.astype("float64")
    return frame.reset_index(drop=True)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    """name -> (run folder, input CSV of its test rows with the columns shuffled)."""
    root = tmp_path_factory.mktemp("predict")
    out: dict[str, tuple[Path, Path]] = {}
    for name, (config, overrides) in RUNS.items():
        prepared = prepare_experiment(CONFIGS / config, overrides)
        outcome = execute(prepared, root / "runs", command=["pytest"])
        assert outcome.status == "completed", outcome.record
        rows = _test_rows(prepared)
        rows["notes"] = "ignored"  # an extra column must not matter, nor the column order
        rows = rows[list(reversed(rows.columns))]
        path = root / f"{name}.csv"
        rows.to_csv(path, index=False)
        out[name] = (outcome.run_dir, path)
    return out


def _assert_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    """Same predictions, row by row. `row` differs by design: predict numbers the rows of its
    input file, predictions.csv the test rows' places in the whole dataset."""
    assert list(ours.columns) == list(theirs.columns)
    assert len(ours) == len(theirs) > 0
    assert ours["row"].tolist() == list(range(len(ours)))
    assert theirs["row"].is_monotonic_increasing and theirs["row"].is_unique
    for col in ours.columns.drop("row"):
        if ours[col].dtype.kind == "f":
            np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-5, atol=1e-6, err_msg=col)
        else:
            assert ours[col].astype(str).tolist() == theirs[col].astype(str).tolist(), col


@pytest.mark.parametrize("name", list(RUNS))
def test_predict_reproduces_the_runs_test_predictions(runs, name: str) -> None:
    run_dir, input_csv = runs[name]
    result = predict_csv(run_dir, input_csv)
    ours = pd.DataFrame(result.rows)
    theirs = pd.read_csv(run_dir / "predictions.csv")
    _assert_same(ours, theirs)
    assert result.ignored_columns == ["notes"]
    test = json.loads((run_dir / "metrics.json").read_text())["test"]
    key = "mae" if name == "diabetes" else "accuracy"
    assert result.metrics[key] == pytest.approx(test[key], abs=1e-6)


def test_predict_without_target_column_gives_the_same_predictions(runs, tmp_path: Path) -> None:
    run_dir, input_csv = runs["csv"]
    frame = pd.read_csv(input_csv).drop(columns=["fruit"])
    path = tmp_path / "new.csv"
    frame.to_csv(path, index=False)
    result = predict_csv(run_dir, path)
    theirs = pd.read_csv(run_dir / "predictions.csv").drop(columns=["target"])
    _assert_same(pd.DataFrame(result.rows), theirs)
    assert result.metrics == {}


def test_threshold_override_changes_binary_classes(runs) -> None:
    run_dir, input_csv = runs["breast_cancer"]
    high = pd.DataFrame(predict_csv(run_dir, input_csv, threshold=0.99).rows)
    p1 = high["p_benign"].to_numpy()
    assert high["predicted"].tolist() == np.where(p1 > 0.99, "benign", "malignant").tolist()
    default = pd.DataFrame(predict_csv(run_dir, input_csv).rows)
    assert default["predicted"].tolist() == np.where(p1 > 0.5, "benign", "malignant").tolist()


def test_cli_writes_default_output_and_stdout(runs) -> None:
    run_dir, input_csv = runs["iris"]
    runner = CliRunner()
    result = runner.invoke(app, ["predict", str(run_dir), str(input_csv)])
    assert result.exit_code == 0, result.output
    written = input_csv.with_name("iris.predictions.csv")
    assert "accuracy" in result.output and str(written) in result.output
    _assert_same(pd.read_csv(written), pd.read_csv(run_dir / "predictions.csv"))

    result = runner.invoke(app, ["predict", str(run_dir), str(input_csv), "-o", "-"])
    assert result.exit_code == 0, result.output
    header = result.stdout.splitlines()[0]
    inputs = "sepal length (cm),sepal width (cm),petal length (cm),petal width (cm)"
    assert header == f"row,{inputs},target,predicted,p_setosa,p_versicolor,p_virginica"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.rename(columns={"color": "colour"}), "lacks 1 column.*'color' \\(did you mean 'colour'\\?\\)"),
        (lambda f: f.assign(color="purple"), "column 'color' has the value 'purple'.*known values: black, green"),
        (lambda f: f.assign(weight_g="heavy"), "column 'weight_g' must be numeric; line 2 has 'heavy'"),
        (lambda f: f.assign(fruit="kiwi"), "target column 'fruit' has the class 'kiwi'"),
    ],
    ids=["missing-column", "unseen-category", "text-in-numeric", "unknown-class"],
)
def test_bad_input_is_a_clean_error(runs, tmp_path: Path, edit, message: str) -> None:
    run_dir, input_csv = runs["csv"]
    bad = tmp_path / "bad.csv"
    edit(pd.read_csv(input_csv)).to_csv(bad, index=False)
    with pytest.raises(ValueError, match=message):
        predict_csv(run_dir, bad)


def test_cli_bad_input_exit_2_and_no_output_file(runs, tmp_path: Path) -> None:
    """End to end in a subprocess: one clean line, exit code 2, nothing written."""
    run_dir, input_csv = runs["csv"]
    bad = tmp_path / "bad.csv"
    pd.read_csv(input_csv).assign(color="purple").to_csv(bad, index=False)
    proc = run_cli("predict", str(run_dir), str(bad), "-o", str(tmp_path / "out.csv"))
    assert proc.returncode == 2
    assert "error:" in proc.stderr and "'purple'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out.csv").exists()

    proc = run_cli("predict", str(tmp_path / "nowhere"), str(bad))
    assert proc.returncode == 2 and "no such run folder" in proc.stderr
