"""A kept model takes a new run's state without building that run's model (`warm.build`): every
layer variable (weights, a dropout layer's seed state) and every optimizer variable equals what
a fresh build with the run's seed and learning rate has, whatever the kept model went through."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from tests.conftest import xor_yaml


def _state(model) -> list[np.ndarray]:  # noqa: ANN001 - a keras.Model
    return [v.numpy() for layer in model.layers for v in layer.variables] + [
        v.numpy() for v in model.optimizer.variables
    ]


@pytest.mark.parametrize("optimizer", [{"name": "adam"}, {"name": "sgd", "momentum": 0.9}])
def test_a_kept_model_takes_exactly_a_fresh_builds_state(tmp_path: Path, optimizer: dict) -> None:
    from nnrun.build.model import build_model
    from nnrun.experiment import prepare_experiment, release_session, seed_everything
    from nnrun.train import warm
    from nnrun.train.base import Hooks
    from nnrun.train.graph import GraphTrainer

    doc = yaml.safe_load(xor_yaml("kept", units=6, epochs=4, optimizer={**optimizer, "learning_rate": 0.05}))
    doc["model"]["layers"].insert(1, {"type": "dropout", "rate": 0.25})
    path = tmp_path / "kept.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def build(trainer: GraphTrainer, overrides: list[str]):  # noqa: ANN202
        prepared = prepare_experiment(path, overrides)
        spec, data = prepared.spec, prepared.data
        model = trainer.build(
            spec, data, lambda: seed_everything(spec.seed), lambda: build_model(spec, data.input_shape)
        )
        return model, spec, data

    second = ["seed=7", "optimizer.learning_rate=0.2"]
    warm.enable()
    try:
        trainer = GraphTrainer()
        first, spec, data = build(trainer, ["seed=1"])
        trainer.train(first, spec, data, Hooks())  # trained: weights, slots and iterations moved
        kept, spec2, _ = build(trainer, second)
        assert kept is first  # the kept model, not a new one
        taken = _state(kept)
    finally:
        warm.disable()
        release_session()
    fresh, _, _ = build(GraphTrainer(), second)  # what a fresh process builds for the run
    fresh.optimizer.build(fresh.trainable_variables)
    expected = _state(fresh)
    assert len(taken) == len(expected)
    for a, b in zip(taken, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(kept.optimizer.learning_rate.numpy()) == pytest.approx(0.2)
