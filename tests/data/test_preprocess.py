"""The one Preprocessor: what training fits is what predict applies, saved as readable JSON,
old run folders' preprocessing.json still loads, and bad rows are refused by name."""

from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nnrun.data.preprocess import InputProblem, Preprocessor, Target, UnusableRecord
from nnrun.errors import SpecError
from nnrun.experiment import prepare_experiment
from nnrun.predict import predict_csv
from tests.conftest import CONFIGS

FIXTURES = Path(__file__).parent / "fixtures"
#: A run folder written by nnrun before the Preprocessor existed (csv_example.yaml, 3 epochs),
#: with its test rows as input.csv.
OLD_CSV_RUN = FIXTURES / "csv_run_v1"

CSV_CONFIG = """
name: t
data: {{dataset: csv, path: {path}, target: {target}{extra}}}
model: {{layers: [{{type: dense, units: {units}, activation: {act}}}]}}
loss: {loss}
training: {{epochs: 2}}
"""


def _csv_config(tmp_path: Path, frame: pd.DataFrame, target: str = "y", extra: str = "", **kw: str) -> Path:
    frame.to_csv(tmp_path / "d.csv", index=False)
    fields = {"units": "1", "act": "sigmoid", "loss": "binary_crossentropy", **kw}
    path = tmp_path / "config.yaml"
    path.write_text(CSV_CONFIG.format(path="d.csv", target=target, extra=extra, **fields))
    return path


def test_fit_transform_save_load_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame({"size": [1.0, 2.0, 3.0, 4.0], "colour": ["red", "blue", "red", "green"]})
    pre = Preprocessor(target=Target(task="binary", class_names=["no", "yes"], column="y")).fit(frame)
    assert pre.feature_names == ["size", "colour_blue", "colour_green", "colour_red"]
    x = pre.transform(frame)
    assert x.dtype == np.float32 and x.shape == (4, 4)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-6)
    pre.save(tmp_path / "preprocessing.json")
    record = json.loads((tmp_path / "preprocessing.json").read_text())
    assert record["categorical_levels"] == {"colour": ["blue", "green", "red"]}
    again = Preprocessor.load(tmp_path / "preprocessing.json")
    assert again.target == pre.target
    np.testing.assert_array_equal(again.transform(frame[["colour", "size"]]), x)  # column order does not matter


def test_old_builtin_preprocessing_json_gives_the_training_arrays() -> None:
    """iris_preprocessing_v1.json was written by nnrun before the Preprocessor; it still loads
    and turns iris's raw columns into the arrays today's training uses."""
    old = Preprocessor.load(FIXTURES / "iris_preprocessing_v1.json")
    # made when validation defaulted to the test split: the scaler saw those training rows
    prepared = prepare_experiment(CONFIGS / "iris_softmax.yaml", ["data.validation=test"])
    from nnrun.data.prepare import load_raw, split

    raw = load_raw(prepared.spec, CONFIGS)
    _, _, test_idx = split(raw, prepared.spec)
    x = old.transform(raw.frame.iloc[test_idx])
    np.testing.assert_allclose(x, prepared.data.x_test, atol=1e-5)
    assert old.target is not None and old.target.column == "target"
    assert old.target.class_names == ["setosa", "versicolor", "virginica"]


@pytest.mark.slow
def test_old_csv_run_folder_predicts_its_own_predictions(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(OLD_CSV_RUN, run)
    result = predict_csv(run, run / "input.csv")
    ours = pd.DataFrame(result.rows)
    theirs = pd.read_csv(run / "predictions.csv")
    # predict now writes each row's inputs beside its prediction; this run's file predates that
    inputs = list(pd.read_csv(run / "input.csv").columns.drop("fruit"))
    assert list(ours.columns) == ["row", *inputs, *list(theirs.columns)[1:]]
    assert ours["predicted"].tolist() == theirs["predicted"].tolist()
    for col in ("p_apple", "p_banana", "p_cherry"):
        np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-4, atol=1e-6)
    test = json.loads((run / "metrics.json").read_text())["test"]
    assert result.metrics["accuracy"] == pytest.approx(test["accuracy"])


def test_one_hot_name_clash_is_refused_at_training(tmp_path: Path) -> None:
    """A text column `color` (red, ...) beside a numeric `color_red` would share a feature name."""
    rng = np.random.default_rng(0)
    n = 40
    frame = pd.DataFrame(
        {
            "color": rng.choice(["red", "green", "blue"], n),
            "color_red": rng.normal(size=n),
            "y": rng.integers(0, 2, n),
        }
    )
    with pytest.raises(SpecError, match=r"'color_red' would come from both the column 'color_red' and the text"):
        prepare_experiment(_csv_config(tmp_path, frame))


def test_old_record_with_a_name_clash_is_unusable(tmp_path: Path) -> None:
    """Such a preprocessing.json (written by older versions) cannot predict reliably: refused."""
    record = json.loads((OLD_CSV_RUN / "preprocessing.json").read_text())
    record["csv_columns"] = ["weight_g", "color_red", "color"]
    record["feature_names"] = ["weight_g", "color_red", "color_black", "color_green", "color_red", "color_yellow"]
    (tmp_path / "preprocessing.json").write_text(json.dumps(record))
    with pytest.raises(UnusableRecord, match=r"preprocessing.json is unusable: .*'color_red' would come from both"):
        Preprocessor.load(tmp_path / "preprocessing.json")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r.update(feature_names=r["feature_names"][:-1]), "feature_names do not follow"),
        (lambda r: r["scaler"]["mean"].pop(), "scaler has 5 means for 6 features"),
        (lambda r: r.update(task="clustering"), "task: Input should be"),
        (lambda r: r.update(input_shape=[7]), "6 features do not fit the input shape \\[7\\]"),
        (lambda r: r["scaler"].update(scale=[0, 1, 1, 1, 1, 1]), "non-finite or non-positive"),
    ],
    ids=["features", "scaler", "task", "shape", "zero-scale"],
)
def test_edited_preprocessing_json_names_the_file(tmp_path: Path, edit, message: str) -> None:
    record = json.loads((OLD_CSV_RUN / "preprocessing.json").read_text())
    edit(record)
    (tmp_path / "preprocessing.json").write_text(json.dumps(record))
    with pytest.raises(UnusableRecord, match=f"preprocessing.json is unusable: .*{message}"):
        Preprocessor.load(tmp_path / "preprocessing.json")


def test_not_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "preprocessing.json").write_text('{"task": "binary", ')
    with pytest.raises(UnusableRecord, match="cannot read .*preprocessing.json"):
        Preprocessor.load(tmp_path / "preprocessing.json")


@pytest.mark.parametrize("value", ["inf", "1e400", "-inf"])
def test_non_finite_training_values_are_refused_by_column_and_line(tmp_path: Path, value: str) -> None:
    rows = "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20))
    lines = rows.splitlines()
    lines[6] = f"6,{value},0"
    (tmp_path / "d.csv").write_text("a,b,y\n" + "\n".join(lines) + "\n")
    config = tmp_path / "config.yaml"
    config.write_text(CSV_CONFIG.format(path="d.csv", target="y", extra="", units=1, act="sigmoid", loss="mse"))
    with pytest.raises(SpecError, match=r"d.csv: column 'b' has the non-finite value -?inf on line 8"):
        prepare_experiment(config)


def test_non_finite_input_rows_are_refused() -> None:
    pre = Preprocessor().fit(pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.0, 1.0, 0.5]}))
    with pytest.raises(InputProblem, match=r"new.csv: column 'a' has the non-finite value inf on line 3 \(and 1 more"):
        pre.transform(pd.DataFrame({"a": [1.0, np.inf, -np.inf], "b": [0.0, 1.0, 0.5]}), "new.csv")


def test_id_like_text_column_is_refused_before_allocating(tmp_path: Path) -> None:
    """60 000 distinct ids would one-hot encode into a 60 000 x 60 000 matrix (a MemoryError)."""
    n = 60_000
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {"id": [f"user{i:06d}" for i in range(n)], "x": rng.normal(size=n), "y": rng.integers(0, 2, n)}
    )
    config = _csv_config(tmp_path, frame)
    t0 = time.perf_counter()
    with pytest.raises(SpecError, match=r"text column 'id' has 60000 distinct values in 60000 rows.*Drop the column"):
        prepare_experiment(config)
    assert time.perf_counter() - t0 < 10


def test_small_text_categories_are_still_accepted() -> None:
    # 12 rows, 6 values: half the rows, but few values: a category, not an ID
    frame = pd.DataFrame({"c": list("abcdef") * 2, "x": range(12)})
    assert len(Preprocessor().fit(frame).feature_names) == 7


@pytest.mark.parametrize(
    ("values", "task", "note"),
    [
        ([0.0, 1.0], "binary", "holds 2 whole numbers \\(0.0, 1.0\\), so this is binary classification"),
        ([0, 1, 2], "multiclass", "set data.task: regression if they are quantities"),
        (list(range(30)), "regression", "30 distinct whole numbers \\(more than 20\\), so this is regression"),
    ],
)
def test_auto_task_says_what_it_inferred(tmp_path: Path, values: list, task: str, note: str) -> None:
    n = 60
    frame = pd.DataFrame({"x": np.linspace(0, 1, n), "y": [values[i % len(values)] for i in range(n)]})
    loss = "mse" if task == "regression" else "sparse_categorical_crossentropy"
    units = 1 if task == "regression" else len(values)
    act = "linear" if task == "regression" else "softmax"
    prepared = prepare_experiment(_csv_config(tmp_path, frame, units=str(units), act=act, loss=loss))
    assert prepared.data.task == task
    (line,) = prepared.data.notes
    assert re.search(note, line), line


def test_task_classification_and_regression_override_auto(tmp_path: Path) -> None:
    n = 60
    frame = pd.DataFrame({"x": np.linspace(0, 1, n), "y": [i % 25 for i in range(n)]})
    prepared = prepare_experiment(
        _csv_config(
            tmp_path,
            frame,
            extra=", task: classification",
            units="25",
            act="softmax",
            loss="sparse_categorical_crossentropy",
        )
    )
    assert prepared.data.task == "multiclass" and prepared.data.notes == []
    frame["y"] = [float(i % 2) for i in range(n)]
    prepared = prepare_experiment(_csv_config(tmp_path, frame, extra=", task: regression", act="linear", loss="mse"))
    assert prepared.data.task == "regression" and prepared.data.notes == []


@pytest.mark.slow
def test_a_csv_runs_config_yaml_trains_as_is_from_anywhere(tmp_path: Path) -> None:
    """The saved config.yaml keeps the CSV's absolute path, so `nnrun train <run>/config.yaml`
    works from any folder (the relative path of the original config resolved nowhere)."""
    import yaml

    from nnrun.experiment import execute
    from tests.conftest import run_cli

    prepared = prepare_experiment(CONFIGS / "csv_example.yaml", ["training.epochs=2"])
    run = execute(prepared, tmp_path / "runs", command=["pytest"]).run_dir
    saved = yaml.safe_load((run / "config.yaml").read_text())["data"]["path"]
    assert Path(saved).is_absolute() and Path(saved) == (CONFIGS / "data" / "fruit.csv").resolve()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = run_cli("train", str(run / "config.yaml"), "--out", str(tmp_path / "again"), "-q", cwd=elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert "completed" in proc.stdout


def test_validate_prints_the_inferred_task(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nnrun.cli.app import app

    n = 40
    frame = pd.DataFrame({"x": np.linspace(0, 1, n), "y": [float(i % 2) for i in range(n)]})
    result = CliRunner().invoke(app, ["validate", str(_csv_config(tmp_path, frame))])
    assert result.exit_code == 0, result.output
    assert "binary on csv" in result.output
    assert "note: data.task auto: the target 'y' holds 2 whole numbers (0.0, 1.0)" in result.output
