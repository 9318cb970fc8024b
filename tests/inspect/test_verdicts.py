"""Verdicts on the internals, from real tiny trainings built to show each one, and from
well-behaved runs that must get none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nnrun.experiment import execute, prepare_experiment
from nnrun.inspect.verdicts import DYING_RELU, EXPLODING, VANISHING, Verdict, judge, summary
from tests.conftest import CONFIGS


def verdicts_of(config: str, tmp_path: Path, overrides: list[str]) -> tuple[list[Verdict], dict]:
    outcome = execute(prepare_experiment(CONFIGS / config, overrides), tmp_path, command=["test"])
    record = json.loads((outcome.run_dir / "run.json").read_text())
    found = [Verdict.from_dict(v) for v in record["internals_verdicts"]]
    assert all(v is not None for v in found)
    return [v for v in found if v is not None], record


@pytest.mark.slow
def test_deep_sigmoid_has_vanishing_gradients_and_deep_relu_not(tmp_path: Path) -> None:
    sigmoid, _ = verdicts_of("deep_sigmoid.yaml", tmp_path, ["training.epochs=8"])
    assert [v.verdict for v in sigmoid] == [VANISHING]
    assert sigmoid[0].epoch == 1 and (sigmoid[0].layer or "").startswith("dense")  # the first layer
    assert "10^-" in sigmoid[0].hint and "the hidden layers use sigmoid" in sigmoid[0].hint
    assert "use relu (or leaky_relu) there instead, with He initialisation (kernel_initializer: he_normal)" in (
        sigmoid[0].hint
    )
    relu, _ = verdicts_of("deep_relu.yaml", tmp_path, ["training.epochs=8"])
    assert relu == []


@pytest.mark.slow
def test_too_high_learning_rate_kills_relu_units_and_leaky_relu_survives(tmp_path: Path) -> None:
    dying, record = verdicts_of("dying_relu.yaml", tmp_path, ["training.epochs=10"])
    assert {v.verdict for v in dying} == {DYING_RELU}
    assert all(v.layer and v.layer in v.label and v.epoch is not None for v in dying)
    assert "% of" in dying[0].hint and "leaky_relu" in dying[0].hint
    leaky, _ = verdicts_of("leaky_relu_rescue.yaml", tmp_path, ["training.epochs=10"])
    assert leaky == []


@pytest.mark.slow
@pytest.mark.parametrize("config", ["xor.yaml", "breast_cancer.yaml", "circles_leaky_relu.yaml"])
def test_well_tuned_examples_get_no_verdict(config: str, tmp_path: Path) -> None:
    found, record = verdicts_of(config, tmp_path, [])
    assert found == [], found
    assert record["diagnosis"]["verdict"] in ("good fit", "not converged", "overfitting")


@pytest.mark.slow
def test_exploding_gradients_before_a_divergence(tmp_path: Path) -> None:
    found, record = verdicts_of(
        "linear_optimizers.yaml", tmp_path, ["optimizer={name: sgd, learning_rate: 2.0}", "training.epochs=30"]
    )
    assert record["status"] == "diverged", record
    assert [v.verdict for v in found] == [EXPLODING]
    assert found[0].epoch is not None and found[0].epoch < record["stopped_epoch"]
    assert "before the loss diverged" in found[0].hint and "10^" in found[0].hint
    assert "optimizer.clipnorm: 1.0" in found[0].hint


def rows(grads: list[list[float]], dead: list[float] | None = None) -> list[dict]:
    """internals.csv rows for a run with len(grads[0]) dense layers."""
    out = []
    for e, per_layer in enumerate(grads, start=1):
        for i, g in enumerate(per_layer):
            row = {"epoch": e, "layer": f"dense_{i}", "activation": "relu", "grad_norm": g}
            row["dead_fraction"] = dead[e - 1] if dead is not None and i == 0 else 0.0
            out.append(row)
    return out


def test_one_low_epoch_is_not_vanishing_but_three_are() -> None:
    assert judge(rows([[1e-4, 1, 1], [1, 1, 1], [1e-4, 1, 1], [1, 1, 1]])) == []
    (v,) = judge(rows([[1, 1, 1], [1e-4, 1, 1], [1e-4, 1, 1], [1e-5, 1, 1]]))
    assert (v.verdict, v.epoch) == (VANISHING, 2)
    assert "10^-4" in v.hint


def test_the_vanishing_hint_never_suggests_what_the_network_already_does() -> None:
    """A deep ReLU net (the rows' activations) whose gradients vanish is not told to use ReLU; one
    already started with He initialisation and normalised between layers is told neither."""
    vanishing = [[1e-4, 1, 1, 1]] * 3
    (v,) = judge(rows(vanishing))
    assert "already use relu" in v.hint and "use relu" not in v.hint.replace("already use relu", ""), v.hint
    assert "leaky_relu" in v.hint and "he_normal" in v.hint and "batch_normalization" in v.hint
    layers = [{"type": "dense", "units": 8, "activation": "relu", "kernel_initializer": "he_normal"}] * 3
    config = {"model": {"layers": [*layers, {"type": "batch_normalization"}, {"type": "dense", "units": 1}]}}
    config["model"]["layers"][-1]["kernel_initializer"] = {"name": "he_uniform", "seed": 1}
    (v,) = judge(rows(vanishing), config=config)
    assert "He initialisation" not in v.hint and "batch_normalization" not in v.hint, v.hint
    assert v.hint.endswith("try leaky_relu (a ReLU unit stuck at 0 passes no gradient back) or fewer layers")


def test_two_layers_are_too_shallow_to_call_vanishing() -> None:
    assert judge(rows([[1e-5, 1]] * 5)) == []


def test_a_unit_that_recovers_is_not_dead() -> None:
    assert judge(rows([[1, 1, 1]] * 4, dead=[0.0, 0.8, 0.9, 0.2])) == []
    (v,) = judge(rows([[1, 1, 1]] * 4, dead=[0.0, 0.8, 0.2, 0.9]))
    assert (v.verdict, v.epoch, v.layer) == (DYING_RELU, 4, "dense_0")
    assert summary([v]) == "dying ReLU dense_0 (e4)"


def test_growth_without_divergence_must_persist() -> None:
    steady = [[1.0, 1.0]] * 3
    assert judge(rows([*steady, [500.0, 1.0], *steady])) == []
    (v,) = judge(rows([*steady, [500.0, 1.0], [800.0, 1.0], [900.0, 1.0]]))
    assert (v.verdict, v.epoch) == (EXPLODING, 4)
    (v,) = judge(rows([*steady, [500.0, 1.0], [float("nan"), 1.0]]), status="diverged")
    assert (v.verdict, v.epoch) == (EXPLODING, 4) and "before the loss diverged" in v.hint


def test_verdicts_round_trip_through_run_json_data() -> None:
    v = Verdict(VANISHING, "vanishing gradients from epoch 3", "hint", 3, "dense")
    assert Verdict.from_dict(json.loads(json.dumps(v.as_dict()))) == v
    assert Verdict.from_dict({"verdict": "good fit"}) is None
    assert summary([]) == "none"
