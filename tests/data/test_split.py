"""Three splits by default, split as the study guide does when asked (issue 11, items 1 and 2)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from nnrun.data import prepare
from nnrun.data.prepare import load_raw, split
from nnrun.spec.parse import loads_spec

HEADS = {
    "binary_crossentropy": "{type: dense, units: 1, activation: sigmoid}",
    "categorical_crossentropy": "{type: dense, units: 3, activation: softmax}",
    "mse": "{type: dense, units: 1}",
}


def _spec(data: str, loss: str = "binary_crossentropy", seed: int = 42):
    return loads_spec(f"seed: {seed}\ndata: {data}\nmodel: {{layers: [{HEADS[loss]}]}}\nloss: {loss}\n")


def test_the_default_holds_out_a_validation_split_disjoint_from_test(tmp_path: Path) -> None:
    spec = _spec("{dataset: breast_cancer}")
    assert spec.data.validation == 0.2 and spec.data.stratify is True and spec.data.split_seed is None
    raw = load_raw(spec, tmp_path)
    train, val, test = split(raw, spec)
    assert (len(train), len(val), len(test)) == (364, 91, 114)
    assert not set(val) & set(test) and not set(train) & set(val) and not set(train) & set(test)
    assert len(set(train) | set(val) | set(test)) == len(raw.y)
    rate = raw.y.mean()
    for part in (train, val, test):  # stratified: every split keeps the class proportions
        assert raw.y[part].mean() == pytest.approx(rate, abs=0.01)


@pytest.mark.parametrize("dataset", ["breast_cancer", "iris", "wine", "diabetes"])
def test_unstratified_split_seed_42_gives_exactly_scikit_learns_rows(dataset: str, tmp_path: Path) -> None:
    """The guide: X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)."""
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    loss = {"diabetes": "mse", "breast_cancer": "binary_crossentropy"}.get(dataset, "categorical_crossentropy")
    spec = _spec(
        f"{{dataset: {dataset}, stratify: false, split_seed: 42, test_size: 0.2, validation: test}}", loss, seed=7
    )
    raw = load_raw(spec, tmp_path)
    train, val, test = split(raw, spec)
    X, y = getattr(sklearn.datasets, f"load_{dataset}")(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
    # the same call on row numbers names the rows the guide's call returns (in its order)
    idx_train, idx_test = train_test_split(np.arange(len(X)), test_size=0.2, random_state=42)
    np.testing.assert_array_equal(X[idx_test], X_test)
    np.testing.assert_array_equal(X[idx_train], X_train)
    np.testing.assert_array_equal(train, np.sort(idx_train))
    np.testing.assert_array_equal(test, np.sort(idx_test))
    features = raw.frame.to_numpy(dtype="float64")
    np.testing.assert_allclose(features[test], X[test])
    np.testing.assert_array_equal(val, test)


def test_split_seed_defaults_to_the_seed_and_changes_the_rows(tmp_path: Path) -> None:
    a = _spec("{dataset: breast_cancer}", seed=1)
    b = _spec("{dataset: breast_cancer, split_seed: 1}", seed=2)
    c = _spec("{dataset: breast_cancer}", seed=2)
    raw = load_raw(a, tmp_path)
    sa, sb, sc = split(raw, a), split(raw, b), split(raw, c)
    assert all(np.array_equal(x, y) for x, y in zip(sa, sb, strict=True))
    assert not np.array_equal(sa[2], sc[2])


def test_tiny_datasets_use_the_same_rows_and_say_so(tmp_path: Path) -> None:
    spec = _spec("{dataset: xor}")
    data = prepare(spec, tmp_path)
    assert data.same_rows and len(data.x_train) == len(data.x_val) == len(data.x_test) == 4
    assert any("same rows" in note for note in data.notes)
    csv_file = tmp_path / "three.csv"
    csv_file.write_text("x1,x2,y\n0,0,0\n0,1,1\n1,1,0\n")
    spec = _spec(f"{{dataset: csv, path: {csv_file}, target: y, task: binary}}")
    data = prepare(spec, tmp_path)
    assert data.same_rows and len(data.x_train) == len(data.x_test) == 3


def test_validate_reports_all_three_split_sizes() -> None:
    from typer.testing import CliRunner

    from nnrun.cli.app import app
    from tests.conftest import CONFIGS

    out = CliRunner().invoke(app, ["validate", str(CONFIGS / "breast_cancer_early_stopping.yaml")]).output
    assert "364 train / 91 validation / 114 test rows" in out
    out = CliRunner().invoke(app, ["validate", str(CONFIGS / "breast_cancer.yaml")]).output
    assert "455 train / 114 validation / 114 test rows: validation is the test split" in out
    out = CliRunner().invoke(app, ["validate", str(CONFIGS / "xor.yaml")]).output
    assert "4 train / 4 validation / 4 test rows: the same rows" in out


@pytest.mark.slow
def test_a_run_records_its_splits_and_predictions_keep_the_original_row(tmp_path: Path, nnrun) -> None:
    """Through the CLI's main in this process (the `nnrun` fixture): train, show and compare."""
    from sklearn.model_selection import train_test_split

    from tests.conftest import CONFIGS

    code, _, err = nnrun("train", CONFIGS / "breast_cancer.yaml", "--set", "training.epochs=3", "--out", tmp_path, "-q")
    assert code == 0, err
    assert err.count("warning: early stopping chose with the test split") == 1
    (run_dir,) = (tmp_path / "breast-cancer-mlp").iterdir()
    record = json.loads((run_dir / "run.json").read_text())
    assert record["split"]["train"] == 455 and record["split"]["test"] == 114
    assert record["split"]["validation_is_test"] is True and record["selected_on_test"] is True
    _, test_rows = train_test_split(np.arange(569), test_size=0.2, random_state=42)
    rows = [int(r["row"]) for r in csv.DictReader((run_dir / "predictions.csv").open())]
    assert sorted(rows) == sorted(test_rows.tolist())
    _, shown, _ = nnrun("show", run_dir)
    assert "early stopping chose with the test split" in shown
    _, compared, _ = nnrun("compare", tmp_path, "--format", "csv")
    assert "selected_on_test" in compared.splitlines()[0]
