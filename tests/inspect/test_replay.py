"""The replaying recorder (`nnrun.inspect.replay`): its NumPy forward pass is Keras's, it gives
the internals the traced statistics give on the same run, and other networks are traced.

Real models and real tiny trainings, as in tests/inspect/test_recorder.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import keras
import numpy as np
import pytest

from nnrun.build.model import build_model
from nnrun.experiment import prepare_experiment
from nnrun.inspect import dense_numpy, internals, replay
from nnrun.inspect.recorder import Recorder, recorder_for
from nnrun.inspect.replay import ReplayRecorder
from nnrun.train.graph import GraphTrainer
from tests.train.test_graph import SAME_AS_FIT, config, train, write

#: Every activation the catalogue allows on a Dense layer, and the layers a dense net may hold.
EVERY_ACTIVATION = [
    {"type": "flatten"},
    {"type": "dense", "units": 6, "activation": "relu"},
    {"type": "dense", "units": 6, "activation": "sigmoid"},
    {"type": "dropout", "rate": 0.5},
    {"type": "dense", "units": 6, "activation": "tanh"},
    {"type": "gaussian_noise", "stddev": 0.3},
    {"type": "dense", "units": 6, "activation": {"name": "leaky_relu", "alpha": 0.2}},
    {"type": "dense", "units": 6, "activation": "step"},
    {"type": "dense", "units": 6, "activation": "linear"},
    {"type": "dense", "units": 3, "activation": "softmax"},
]


def _model(tmp_path: Path, layers: list[dict]) -> tuple[keras.Model, object]:
    cfg = config({"dataset": "iris"}, layers, {"name": "adam"}, "categorical_crossentropy", {"epochs": 3})
    prepared = prepare_experiment(write(tmp_path, cfg))
    return build_model(prepared.spec, prepared.data.input_shape), prepared


def test_the_numpy_forward_pass_is_kerass_for_every_activation(tmp_path: Path) -> None:
    model, _ = _model(tmp_path, EVERY_ACTIVATION)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 1.5, w.shape).astype("float32") for w in model.get_weights()])
    params = [v for layer in model.layers for v in layer.trainable_weights]
    every = [(layer, None) for layer in model.layers]  # every layer's output measured
    plan = replay._plan(model, (4,), params, every)  # noqa: SLF001 - the plan itself, for all outputs
    assert plan is not None and [s.kind for s in plan][:4] == ["identity", "dense", "dense", "identity"]
    x = rng.normal(0, 2, (50, 4)).astype("float32")
    x[0] = 0.0  # an exact zero into the step's threshold
    weights = [w[None] for w in model.get_weights()]  # one epoch
    ours = dense_numpy.outputs(plan, weights, x)
    theirs = keras.Model(model.inputs[0], [layer.output for layer in model.layers])(x, training=False)
    assert len(ours) == len(theirs) == len(model.layers)
    for layer, a, b in zip(model.layers, ours, theirs, strict=True):
        np.testing.assert_allclose(a[0].T, np.asarray(b), rtol=1e-5, atol=1e-6, err_msg=layer.name)  # [units, rows]
    kinds = [type(layer).__name__ for layer in model.layers]
    leaky, step = ours[kinds.index("LeakyReLU")][0], ours[kinds.index("Step")][0]
    assert (leaky < 0).any() and set(np.unique(step)) == {0.0, 1.0}


def test_dense_nets_are_replayed_and_others_traced(tmp_path: Path) -> None:
    model, prepared = _model(tmp_path, EVERY_ACTIVATION)
    assert isinstance(recorder_for(model, prepared.spec, prepared.data), ReplayRecorder)
    norm = [{"type": "dense", "units": 4, "activation": "relu"}, {"type": "batch_normalization"}]
    model, prepared = _model(tmp_path, [*norm, {"type": "dense", "units": 3, "activation": "softmax"}])
    assert type(recorder_for(model, prepared.spec, prepared.data)) is Recorder


def test_a_long_run_keeps_the_needed_epochs_and_its_last_two() -> None:
    epochs = 700
    needed = set(internals.recorded_epochs(epochs, 1))
    needed |= {e - 1 for e in needed if e > 1}
    slots = replay._slots(needed, epochs)  # noqa: SLF001
    assert slots.max() + 1 == len(needed) + 2
    buffer = np.zeros(slots.max() + 1, int)
    for last in range(1, epochs + 1):  # the run may stop after any epoch
        buffer[slots[last]] = last
        for e in {e for e in needed if e <= last} | {last, last - 1} - {0}:
            assert buffer[slots[e]] == e, (last, e)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "epochs", "every_row"),
    [
        ("sgd-xor-full-batch", 40, True),
        ("sgd-xor-full-batch", 40, False),  # the needed epochs' rows only (`_slots`)
        ("dropout-minibatch-partial-last-batch", None, True),
    ],
)
def test_replayed_internals_are_the_traced_ones(
    case: str, epochs: int | None, every_row: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not every_row:
        monkeypatch.setattr(replay, "EVERY_ROW_BYTES", 0)
    slots = replay._slots  # noqa: SLF001
    cfg = SAME_AS_FIT[case]
    if epochs is not None:
        cfg = {**cfg, "training": {**cfg["training"], "epochs": epochs}}
    prepared = prepare_experiment(write(tmp_path, cfg))
    made: list[object] = []
    monkeypatch.setattr(replay, "_slots", lambda *a: made.append(a) or slots(*a))
    replayed, _ = train(GraphTrainer(), prepared)
    assert len(made) == (not every_row)
    monkeypatch.setattr(ReplayRecorder, "plan", staticmethod(lambda *_: None))
    traced, _ = train(GraphTrainer(), prepared)
    r, t = replayed.inspection, traced.inspection
    recorded = internals.recorded_epochs(prepared.spec.training.epochs, replayed.batches_per_epoch)
    assert len(r.rows) == len(t.rows) == len(recorded) * len(r.layers)
    for a, b in zip(t.rows, r.rows, strict=True):
        assert (a["epoch"], a["activation"]) == (b["epoch"], b["activation"])  # names count up per process
        for key in internals.VALUES:
            if a[key] is None:
                assert b[key] is None, key
            else:
                assert math.isclose(a[key], b[key], rel_tol=1e-5, abs_tol=1e-7), (key, a, b)
    assert sorted(r.snapshots) == sorted(t.snapshots)
    for e in t.snapshots:
        for x, y in zip(t.snapshots[e], r.snapshots[e], strict=True):
            np.testing.assert_array_equal(x, y)


def test_images_are_flattened_as_keras_flattens_them() -> None:
    model = keras.Sequential(
        [keras.Input((3, 4)), keras.layers.Flatten(), keras.layers.Dense(5, activation="tanh"), keras.layers.Dense(2)]
    )
    params = [v for layer in model.layers for v in layer.trainable_weights]
    plan = replay._plan(model, (3, 4), params, [(layer, None) for layer in model.layers])  # noqa: SLF001
    assert plan is not None and plan[0].kind == "flatten"
    x = np.random.default_rng(1).normal(size=(7, 3, 4)).astype("float32")
    ours = dense_numpy.outputs(plan, [w[None] for w in model.get_weights()], x)
    theirs = keras.Model(model.inputs[0], [layer.output for layer in model.layers])(x, training=False)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a[0].T, np.asarray(b), rtol=1e-5, atol=1e-6)
