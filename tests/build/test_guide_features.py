"""What the study guide's from-scratch experiments need (issue 11, items 5 and 6): schedules in
epochs, the learning rate of every update, `decay_rate: 0`, initializers, a summed loss, and the
guide's own configs trained for real."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import keras
import numpy as np
import pytest

from nnrun.build import registry
from nnrun.build.model import build_model
from nnrun.errors import SpecError
from nnrun.spec import loads_spec
from nnrun.spec.optimizers import OPTIMIZERS
from tests.conftest import CONFIGS


def _sgd(schedule: dict) -> object:
    return OPTIMIZERS["sgd"].model_validate({"name": "sgd", "learning_rate": 0.5, "schedule": schedule})


def _lr(schedule, step: int) -> float:
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_unit_epoch_is_the_guides_alpha_over_one_plus_lambda_t() -> None:
    """alpha_t = alpha_0 / (1 + lambda * t), t the epoch, whatever the batches per epoch."""
    sched = registry.schedule(_sgd({"type": "inverse_time", "decay_rate": 0.1, "decay_steps": 1}), steps_per_epoch=7)
    for epoch in range(4):
        for update in range(7):  # constant within an epoch
            assert _lr(sched, epoch * 7 + update) == pytest.approx(0.5 / (1 + 0.1 * epoch), rel=1e-6)
    keras_steps = registry.schedule(
        _sgd({"type": "inverse_time", "decay_rate": 0.1, "decay_steps": 1, "unit": "step"}), steps_per_epoch=7
    )
    assert _lr(keras_steps, 7) == pytest.approx(0.5 / (1 + 0.1 * 7), rel=1e-6)


def test_decay_rate_zero_is_the_no_decay_baseline() -> None:
    sched = registry.schedule(_sgd({"type": "inverse_time", "decay_rate": 0}), steps_per_epoch=3)
    assert {round(_lr(sched, t), 9) for t in range(0, 50, 7)} == {0.5}
    with pytest.raises(SpecError, match="decay_rate"):
        loads_spec(
            "data: {dataset: xor}\nmodel: {layers: [{type: dense, units: 1, activation: sigmoid}]}\n"
            "loss: binary_crossentropy\noptimizer: {name: sgd, schedule: {type: inverse_time, decay_rate: -1}}\n"
        )


XOR = """
data: {dataset: xor}
model:
  layers:
    - {type: dense, units: 2, activation: sigmoid, use_bias: false, kernel_initializer: %s}
    - {type: dense, units: 1, activation: sigmoid, bias_initializer: {name: constant, value: 0.25}}
loss: %s
"""


def test_initializers_take_keras_names_and_arguments() -> None:
    spec = loads_spec(XOR % ("{name: random_uniform, minval: -1, maxval: 1}", "mse"))
    model = build_model(spec, (2,))
    kernel = model.layers[0].get_weights()[0]
    assert kernel.shape == (2, 2) and np.all(np.abs(kernel) <= 1) and np.abs(kernel).max() > 0.1
    assert len(model.layers[0].get_weights()) == 1  # use_bias: false, as the guide's matrices
    np.testing.assert_allclose(model.layers[1].get_weights()[1], [0.25])
    for name in ("glorot_uniform", "he_normal", "zeros", "orthogonal"):
        assert build_model(loads_spec(XOR % (name, "mse")), (2,)) is not None
    assert spec.to_yaml_dict()["model"]["layers"][0]["kernel_initializer"] == {
        "name": "random_uniform",
        "minval": -1,
        "maxval": 1,
    }


@pytest.mark.parametrize(
    ("initializer", "message"),
    [("he_normall", "did you mean 'he_normal'"), ("{name: random_uniform, low: -1}", "takes minval, maxval, seed")],
)
def test_a_wrong_initializer_is_named(initializer: str, message: str) -> None:
    with pytest.raises(SpecError, match=message):
        loads_spec(XOR % (initializer, "mse"))


def test_summed_loss_is_the_sum_over_the_batch() -> None:
    spec = loads_spec(XOR % ("zeros", "{name: mse, reduction: sum}"))
    assert spec.loss == "mse" and spec.loss_reduction == "sum"
    assert spec.to_yaml_dict()["loss"] == {"name": "mse", "reduction": "sum"}
    assert loads_spec(XOR % ("zeros", "mse")).to_yaml_dict()["loss"] == "mse"
    y, p = np.array([[0.0], [1.0], [1.0], [0.0]]), np.array([[0.5], [0.5], [0.9], [0.2]])
    summed = float(registry.loss("mse", "sum")(y, p))
    assert summed == pytest.approx(float(np.sum((y - p) ** 2)), rel=1e-6)
    assert summed == pytest.approx(4 * float(registry.loss("mse")(y, p)), rel=1e-6)
    with pytest.raises(SpecError, match="reduction"):
        loads_spec(XOR % ("zeros", "{name: mse, reduction: total}"))


@pytest.mark.slow
def test_cyclical_learning_rate_is_recorded_at_every_update(tmp_path: Path) -> None:
    from nnrun.experiment import execute, prepare_experiment

    outcome = execute(prepare_experiment(CONFIGS / "cyclical_lr.yaml", ["training.epochs=12"]), tmp_path)
    record = outcome.record
    rows = list(csv.DictReader((outcome.run_dir / "lr_steps.csv").open()))
    assert len(rows) == record["total_updates"] == 12 * record["batches_per_epoch"]
    lrs = np.array([float(r["learning_rate"]) for r in rows])
    # the triangle: 0.001 up to 0.1 in 60 updates and back, whatever the epochs
    assert lrs[0] == pytest.approx(0.001, rel=1e-5) and lrs[60] == pytest.approx(0.1, rel=1e-5)
    assert lrs[120] == pytest.approx(0.001, rel=1e-4)
    assert np.all(np.diff(lrs[:60]) > 0) and np.all(np.diff(lrs[60:120]) < 0)
    assert (outcome.run_dir / "learning_rate.png").is_file()


@pytest.mark.slow
def test_the_guides_configs_train_as_written(tmp_path: Path) -> None:
    from nnrun.experiment import execute, prepare_experiment

    xor = execute(prepare_experiment(CONFIGS / "guide_xor.yaml", ["training.epochs=2000"]), tmp_path)
    spec = loads_spec((xor.run_dir / "config.yaml").read_text())
    assert spec.loss_reduction == "sum" and spec.optimizer.learning_rate == 0.5
    assert spec.model.layers[0].kernel_initializer.args == {"minval": -1, "maxval": 1}
    assert xor.record["split"]["same_rows"] is True
    history = list(csv.DictReader((xor.run_dir / "history.csv").open()))
    assert float(history[-1]["loss"]) < float(history[0]["loss"])
    three = execute(prepare_experiment(CONFIGS / "guide_three_rows.yaml"), tmp_path)
    record = json.loads((three.run_dir / "run.json").read_text())
    assert record["status"] == "completed" and record["split"]["train"] == record["split"]["test"] == 3
    assert record["split"]["same_rows"] is True
    rows = list(csv.DictReader((three.run_dir / "predictions.csv").open()))
    assert [int(r["row"]) for r in rows] == [0, 1, 2]


def test_every_listed_initializer_reaches_keras() -> None:
    from nnrun.spec.initializers import INITIALIZERS, Initializer

    needs = {"constant": {"value": 0.5}}
    for name in INITIALIZERS:
        built = registry.initializer(Initializer.model_validate({"name": name, **needs.get(name, {})}))
        assert isinstance(built, keras.initializers.Initializer), name
