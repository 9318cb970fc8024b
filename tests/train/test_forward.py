"""A kept model's traced forward pass (`nnrun.train.forward`) gives the eager call's numbers, bit
for bit, with its own weights or a snapshot's, and leaves the model's weights alone."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from nnrun.experiment import prepare_experiment
from nnrun.train import forward, warm
from tests.conftest import CONFIGS


@pytest.fixture
def kept() -> Iterator[tuple[object, np.ndarray]]:
    from nnrun.build.model import build_model
    from nnrun.experiment.lifecycle import release_session, seed_everything

    prepared = prepare_experiment(CONFIGS / "xor.yaml", ["training.inspect=false"])
    seed_everything(0)
    model = build_model(prepared.spec, prepared.data.input_shape)
    warm.enable()
    try:
        assert warm.adopt(model, prepared.spec, prepared.data) is model
        x = np.random.default_rng(0).uniform(-2, 2, (500, 2)).astype("float32")
        yield model, x
    finally:
        warm.disable()
        release_session()  # the next test's layers are named as in a fresh process


def test_a_kept_model_is_called_through_one_traced_function(kept: tuple[object, np.ndarray]) -> None:
    model, x = kept
    eager = np.asarray(model(x, training=False))  # type: ignore[operator]
    assert np.array_equal(forward.call(model, x), eager)  # type: ignore[arg-type]
    # another number of rows, another trace or not: still the eager call's numbers (which
    # depend on the number of rows: the kernels vectorize differently)
    assert np.array_equal(forward.call(model, x[:3]), np.asarray(model(x[:3], training=False)))  # type: ignore[arg-type,operator]
    assert warm.forward_of(model) is warm.forward_of(model)  # type: ignore[arg-type]


def test_snapshots_are_used_without_being_assigned(kept: tuple[object, np.ndarray]) -> None:
    model, x = kept
    own = model.get_weights()  # type: ignore[attr-defined]
    snapshots = [[w * (i + 1) for w in own] for i in range(3)]
    traced = forward.call_each(model, x, snapshots)  # type: ignore[arg-type]
    warm.disable()  # the same through eager calls and set_weights
    eager = forward.call_each(model, x, snapshots)  # type: ignore[arg-type]
    for a, b in zip(traced, eager, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(traced[0], traced[1])
    for w, o in zip(model.get_weights(), own, strict=True):  # type: ignore[attr-defined]
        assert np.array_equal(w, o)
