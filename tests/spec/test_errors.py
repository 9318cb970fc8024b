"""Bad configs: each gives a clear message naming file, line, key, expectation and,
for a misspelt name, the nearest valid one."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from nnrun.errors import SpecError
from nnrun.experiment import prepare_experiment
from tests.conftest import run_cli

BASE = """\
name: t
data:
  dataset: xor
model:
  layers:
    - {type: dense, units: 4, activation: tanh}
    - {type: dense, units: 1, activation: sigmoid}
optimizer: {name: adam, learning_rate: 0.05}
loss: binary_crossentropy
training:
  epochs: 5
  batch_size: full
"""

# (config text, expected line, dotted key, message fragment, suggestion or None)
CASES = [
    pytest.param(
        BASE.replace("tanh", "relux"),
        6,
        "model.layers[0].activation",
        "expected one of",
        "relu",
        id="misspelt-activation",
    ),
    pytest.param(
        BASE.replace("dataset: xor", "dataset: breast_cancr"),
        3,
        "data.dataset",
        "expected one of",
        "breast_cancer",
        id="misspelt-dataset",
    ),
    pytest.param(
        BASE.replace("name: adam", "name: adamm"),
        8,
        "optimizer.name",
        "unknown name 'adamm'",
        "adam",
        id="misspelt-optimizer",
    ),
    pytest.param(
        BASE.replace("{type: dense, units: 4", "{type: dense_layer, units: 4"),
        6,
        "model.layers[0].type",
        "unknown type",
        "dense",
        id="misspelt-layer-type",
    ),
    pytest.param(
        BASE.replace("loss: binary_crossentropy", "loss: binary_crosentropy"),
        9,
        "loss",
        "expected one of",
        "binary_crossentropy",
        id="misspelt-loss",
    ),
    pytest.param(
        BASE.replace("loss: binary_crossentropy", "loss: binary_crossentropy\nmetrics: [auc, acuracy]"),
        10,
        "metrics[1]",
        "expected one of accuracy, mae, mse, auc, precision, recall. Received: metrics[1]='acuracy'",
        "accuracy",
        id="misspelt-metric",
    ),
    pytest.param(
        BASE.replace("  epochs: 5", "  epoch: 5"),
        11,
        "training.epoch",
        "unknown key",
        "epochs",
        id="unknown-key-suggested",
    ),
    pytest.param(
        BASE.replace("units: 4,", "units: -3,"),
        6,
        "model.layers[0].units",
        "greater than 0. Received: units=-3",
        None,
        id="negative-units",
    ),
    pytest.param(
        BASE.replace("units: 4,", "units: four,"),
        6,
        "model.layers[0].units",
        "valid integer",
        None,
        id="units-not-a-number",
    ),
    pytest.param(
        BASE.replace("learning_rate: 0.05", "learning_rate: -1"),
        8,
        "optimizer.learning_rate",
        "greater than 0",
        None,
        id="negative-learning-rate",
    ),
    pytest.param(
        BASE.replace("learning_rate: 0.05}", "learning_rate: 0.05, clipnorm: 1.0, clipvalue: 0.5}"),
        8,
        "optimizer",
        "set clipnorm or clipvalue, not both",
        None,
        id="two-kinds-of-clipping",
    ),
    pytest.param(
        BASE.replace("batch_size: full", "batch_size: half"),
        12,
        "training.batch_size",
        "half",
        None,
        id="bad-batch-size",
    ),
    pytest.param(BASE.replace("name: t", "name: ../escape"), 1, "name", "pattern", None, id="name-with-path"),
    pytest.param(
        BASE.replace("data:\n  dataset: xor\n", "data:\n  dataset: xor\n  test_size: 1.5\n"),
        4,
        "data.test_size",
        "less than 1",
        None,
        id="test-size-out-of-range",
    ),
    pytest.param(
        BASE.replace("  dataset: xor", "  dataset: csv"),
        2,
        "data",
        "needs 'path' and 'target'",
        None,
        id="csv-without-path",
    ),
    pytest.param(
        BASE.replace("{type: dense, units: 1, activation: sigmoid}", "{type: dense, units: 1, activation: softmax}"),
        7,
        "model.layers[1].activation",
        "softmax on a 1-unit output",
        None,
        id="softmax-one-unit",
    ),
    pytest.param(
        BASE.replace("    - {type: dense, units: 4, activation: tanh}", "    - {type: conv2d, filters: 4}"),
        6,
        "model.layers[0].type",
        "conv2d needs image",
        None,
        id="conv2d-on-tabular",
    ),
    pytest.param(
        BASE.replace("dataset: xor", "dataset: diabetes")
        .replace("activation: sigmoid", "activation: linear")
        .replace("loss: binary_crossentropy", "loss: categorical_crossentropy"),
        9,
        "loss",
        "is for classification",
        None,
        id="categorical-loss-on-regression",
    ),
    pytest.param(
        BASE.replace("dataset: xor", "dataset: iris"),
        7,
        "model.layers[1].units",
        "expected 3 output units",
        None,
        id="wrong-output-units",
    ),
    pytest.param(
        BASE + "  early_stopping: {monitor: val_acc}\n",
        13,
        "training.early_stopping.monitor",
        "expected one of",
        "val_accuracy",
        id="bad-monitor",
    ),
    pytest.param(
        BASE.replace("activation: tanh}", "activation: {name: tanh, alpha: 0.2}}"),
        6,
        "model.layers[0].activation",
        "alpha' applies to leaky_relu only",
        None,
        id="alpha-on-tanh",
    ),
    pytest.param(
        BASE + "  early_stopping: {patience: many}\n",
        13,
        "training.early_stopping.patience",
        "valid integer",
        None,
        id="patience-not-int",
    ),
    pytest.param(
        BASE.replace("model:\n  layers:", "model:\n  layer:"),
        5,
        "model.layer",
        "unknown key",
        "layers",
        id="misspelt-model-layers",
    ),
    pytest.param(
        BASE.replace("{name: adam, learning_rate: 0.05}", "{name: sgd, schedule: {type: cosine}}"),
        8,
        "optimizer.schedule.type",
        "unknown type 'cosine'",
        None,
        id="unknown-schedule",
    ),
    pytest.param("data: {dataset: xor}\nloss: mse\n", 1, "model", "required", None, id="missing-model"),
    pytest.param(
        BASE + "  trainer: fast\n", 13, "training.trainer", "expected one of auto, graph, fit", None, id="bad-trainer"
    ),
    pytest.param(  # a union (an integer or 'full'): one line naming both forms, not one per branch
        BASE.replace("batch_size: full", "batch_size: huge"),
        12,
        "training.batch_size",
        "expected one of full or a valid integer. Received: batch_size='huge'",
        None,
        id="batch-size-union",
    ),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment", "suggestion"), CASES)
def test_bad_config_names_line_key_and_suggestion(
    write_config, text: str, line: int, key: str, fragment: str, suggestion: str | None
) -> None:
    path = write_config(text)
    with pytest.raises(SpecError) as info:
        prepare_experiment(path)
    problems = {p.key: p for p in info.value.problems}
    assert key in problems, info.value.render()
    problem = problems[key]
    assert problem.line == line, info.value.render()
    assert fragment in problem.message, info.value.render()
    assert problem.suggestion == suggestion
    rendered = info.value.render()
    assert f"{path}:{line}: {key}:" in rendered


def test_all_problems_reported_at_once(write_config) -> None:
    text = BASE.replace("tanh", "relux").replace("epochs: 5", "epochs: 0").replace("name: adam", "name: adamm")
    with pytest.raises(SpecError) as info:
        prepare_experiment(write_config(text))
    keys = {p.key for p in info.value.problems}
    assert {"model.layers[0].activation", "training.epochs", "optimizer.name"} <= keys


def test_csv_problems_point_at_data_keys(tmp_path: Path, write_config) -> None:
    (tmp_path / "d.csv").write_text("a,b,label\n1,2,x\n3,4,y\n5,6,x\n7,8,y\n9,1,x\n")
    text = BASE.replace("  dataset: xor", "  dataset: csv\n  path: d.csv\n  target: lable")
    with pytest.raises(SpecError) as info:
        prepare_experiment(write_config(text))
    (problem,) = info.value.problems
    assert problem.key == "data.target"
    assert problem.line == 5
    assert problem.suggestion == "label"

    (tmp_path / "m.csv").write_text("a,b,label\n1,,x\n3,4,y\n5,6,x\n7,8,y\n")
    text = BASE.replace("  dataset: xor", "  dataset: csv\n  path: m.csv\n  target: label")
    with pytest.raises(SpecError, match=r"missing values in b \(1 rows\)"):
        prepare_experiment(write_config(text))

    text = BASE.replace("  dataset: xor", "  dataset: csv\n  path: nowhere.csv\n  target: label")
    with pytest.raises(SpecError, match="no such file"):
        prepare_experiment(write_config(text))


def test_override_errors_name_the_override(write_config) -> None:
    from nnrun.spec import load_spec

    with pytest.raises(SpecError) as info:
        load_spec(write_config(BASE), ["training.epochs=-2"])
    assert info.value.problems[0].key == "training.epochs"
    with pytest.raises(SpecError, match="expected KEY=VALUE"):
        load_spec(write_config(BASE), ["training.epochs"])


def test_python_tags_are_refused_not_executed(write_config, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\n" + BASE.split("\n", 1)[1]
    with pytest.raises(SpecError, match="tags like !!python"):
        prepare_experiment(write_config(text))
    assert not marker.exists()


@pytest.mark.slow
def test_cli_bad_config_exit_2_no_traceback_no_run_folder(write_config, tmp_path: Path) -> None:
    path = write_config(BASE.replace("tanh", "relux"))
    out = tmp_path / "runs"
    proc = run_cli("train", str(path), "--out", str(out))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{path}:6: model.layers[0].activation" in proc.stderr
    assert "did you mean 'relu'?" in proc.stderr
    assert not out.exists()


@pytest.mark.slow
def test_validate_cli_reports_each_file(write_config) -> None:
    good = write_config(BASE, "good.yaml")
    bad = write_config(textwrap.dedent(BASE).replace("units: 4,", "units: 0,"), "bad.yaml")
    proc = run_cli("validate", str(good), str(bad))
    assert proc.returncode == 2
    assert f"ok {good}" in proc.stdout
    assert f"{bad}:6: model.layers[0].units" in proc.stderr
