"""Which runs share a traced loop in a warm worker (`nnrun.train.warm.architecture`): those
that differ only in what the loop takes as inputs or variables. Training through a kept
model is tested on a real sweep in tests/sweep/test_warm.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnrun.experiment import prepare_experiment
from nnrun.train import warm
from nnrun.train.warm import architecture
from tests.conftest import CONFIGS


def _key(*overrides: str, config: Path = CONFIGS / "xor.yaml") -> str:
    prepared = prepare_experiment(config, list(overrides))
    return architecture(prepared.spec, prepared.data)


@pytest.mark.parametrize(
    "change",
    [
        ["optimizer.learning_rate=0.3"],
        ["seed=7"],
        ["name=other"],
        ["training.inspect=false", "training.epochs=20"],
        ["training.tensorboard=true"],
    ],
)
def test_runs_that_differ_in_inputs_share(change: list[str]) -> None:
    base = ["training.inspect=false"] if "training.inspect=false" in change else []
    assert _key(*base) == _key(*change)


@pytest.mark.parametrize(
    "change",
    [
        ["model.layers.0.units=8"],
        ["optimizer.beta_1=0.8"],  # baked into the traced update
        ["training.batch_size=2"],
        ["training.epochs=20"],  # the recorder's epochs depend on it
        ["training.early_stopping.patience=3"],
        ["training.shuffle=false"],
        ["loss=mse"],
    ],
)
def test_runs_that_differ_in_the_traced_loop_do_not(change: list[str]) -> None:
    assert _key() != _key(*change)


def test_a_schedule_keeps_its_learning_rate_in_the_key() -> None:
    config = CONFIGS / "exponential_decay.yaml"
    assert _key(config=config) != _key("optimizer.learning_rate=0.1", config=config)
    assert _key(config=config) == _key("seed=7", config=config)


def test_nnrun_sweep_warm_0_keeps_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(warm.ENV, "0")
    warm.enable()
    try:
        assert not warm.enabled()
    finally:
        warm.disable()
    monkeypatch.delenv(warm.ENV)
    warm.enable()
    try:
        assert warm.enabled()
    finally:
        warm.disable()
