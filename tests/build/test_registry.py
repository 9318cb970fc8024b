"""Registries map every config name to a working Keras object."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from nnrun.build import custom, registry
from nnrun.build.model import build_model
from nnrun.spec import loads_spec
from nnrun.spec.layers import LAYERS
from nnrun.spec.optimizers import OPTIMIZERS


def _lr_at(schedule, step: int) -> float:
    return float(keras.ops.convert_to_numpy(schedule(step)))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_optimizer_builds_with_its_learning_rate(name: str) -> None:
    spec = OPTIMIZERS[name].model_validate({"name": name, "learning_rate": 0.123})
    opt = registry.optimizer(spec)
    assert np.isclose(float(keras.ops.convert_to_numpy(opt.learning_rate)), 0.123)


def test_sgd_momentum_and_nesterov_reach_keras() -> None:
    opt = registry.optimizer(OPTIMIZERS["sgd"].model_validate({"name": "sgd", "momentum": 0.9, "nesterov": True}))
    assert opt.momentum == 0.9 and opt.nesterov is True


@pytest.mark.parametrize(("clip", "moved"), [("clipnorm", [0.6, 0.8]), ("clipvalue", [1.0, 1.0])])
def test_gradient_clipping_reaches_keras_and_clips(clip: str, moved: list[float]) -> None:
    """optimizer.clipnorm / clipvalue (the exploding-gradients verdict's hint): plain SGD, lr 1."""
    opt = registry.optimizer(OPTIMIZERS["sgd"].model_validate({"name": "sgd", "learning_rate": 1.0, clip: 1.0}))
    w = keras.Variable(np.zeros(2, dtype="float32"))
    opt.apply([tf.constant([3.0, 4.0])], [w])  # a gradient of norm 5
    np.testing.assert_allclose(-keras.ops.convert_to_numpy(w), moved, rtol=1e-6)
    unclipped = registry.optimizer(OPTIMIZERS["sgd"].model_validate({"name": "sgd"}))
    assert unclipped.clipnorm is None and unclipped.clipvalue is None


def test_inverse_time_matches_formula() -> None:
    spec = OPTIMIZERS["sgd"].model_validate(
        {
            "name": "sgd",
            "learning_rate": 0.5,
            "schedule": {"type": "inverse_time", "decay_rate": 2.0, "decay_steps": 10},
        }
    )
    sched = registry.schedule(spec)
    for t in (0, 5, 10, 37):
        assert np.isclose(_lr_at(sched, t), 0.5 / (1 + 2.0 * t / 10), rtol=1e-6)


def test_exponential_and_step_and_cyclical_match_formulas() -> None:
    exp = registry.schedule(
        OPTIMIZERS["adam"].model_validate(
            {
                "name": "adam",
                "learning_rate": 0.1,
                "schedule": {"type": "exponential", "decay_rate": 0.5, "decay_steps": 4},
            }
        )
    )
    assert np.isclose(_lr_at(exp, 8), 0.1 * 0.5**2, rtol=1e-6)
    step = registry.schedule(
        OPTIMIZERS["sgd"].model_validate(
            {"name": "sgd", "learning_rate": 1.0, "schedule": {"type": "step", "boundaries": [10, 20], "factor": 0.1}}
        )
    )
    assert [round(_lr_at(step, t), 6) for t in (0, 9, 10, 19, 20, 100)] == [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
    cyc = custom.Cyclical(0.001, 0.1, 10)
    assert np.isclose(_lr_at(cyc, 0), 0.001)
    assert np.isclose(_lr_at(cyc, 10), 0.1)
    assert np.isclose(_lr_at(cyc, 5), 0.001 + 0.5 * (0.1 - 0.001))
    assert np.isclose(_lr_at(cyc, 20), 0.001)


def test_step_activation_is_hard_forward_and_straight_through_backward() -> None:
    x = tf.constant([[-2.0, -0.1, 0.0, 0.3, 4.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = custom.Step()(x)
    assert y.numpy().tolist() == [[0.0, 0.0, 0.0, 1.0, 1.0]]
    assert tape.gradient(y, x).numpy().tolist() == [[1.0] * 5]


def test_augmentation_is_active_in_training_only() -> None:
    spec = loads_spec(
        """
data: {dataset: digits}
model:
  layers:
    - {type: reshape, target_shape: [8, 8, 1]}
    - {type: random_translation, height_factor: 0.2, width_factor: 0.2}
    - {type: random_rotation, factor: 0.1}
    - {type: random_flip}
    - {type: gaussian_noise, stddev: 0.3}
    - {type: flatten}
    - {type: dense, units: 10, activation: softmax}
loss: sparse_categorical_crossentropy
"""
    )
    keras.utils.set_random_seed(0)
    model = build_model(spec, (64,))
    augment = keras.Sequential(model.layers[:5])
    x = np.random.default_rng(0).random((4, 64)).astype("float32")
    inference = keras.ops.convert_to_numpy(augment(x, training=False)).reshape(4, 64)
    np.testing.assert_allclose(inference, x, rtol=1e-6)
    training = keras.ops.convert_to_numpy(augment(x, training=True)).reshape(4, 64)
    assert not np.allclose(training, x)


def test_every_layer_type_is_used_by_some_example_config() -> None:
    from tests.conftest import CONFIGS

    text = "\n".join(p.read_text() for p in CONFIGS.glob("*.yaml"))
    missing = [name for name in LAYERS if f"type: {name}" not in text and name != "random_flip"]
    assert missing == []


def test_regularizers_add_losses() -> None:
    spec = loads_spec(
        """
data: {dataset: xor}
model:
  layers:
    - {type: dense, units: 4, activation: relu, kernel_regularizer: {l1: 0.1, l2: 0.1}}
    - {type: dense, units: 1, activation: sigmoid, kernel_regularizer: {l2: 0.5}}
loss: binary_crossentropy
"""
    )
    model = build_model(spec, (2,))
    model(np.zeros((1, 2), "float32"))
    assert len(model.losses) == 2
    assert isinstance(model.layers[0].kernel_regularizer, keras.regularizers.L1L2)


def test_leaky_relu_alpha_and_transformer_serialise(tmp_path) -> None:
    spec = loads_spec(
        """
data: {dataset: sine, sequence_length: 6}
model:
  layers:
    - {type: dense, units: 8, activation: {name: leaky_relu, alpha: 0.2}}
    - {type: transformer_encoder, num_heads: 2, key_dim: 4, ff_dim: 8}
    - {type: global_average_pooling1d}
    - {type: dense, units: 1}
loss: mse
"""
    )
    model = build_model(spec, (6, 1))
    leaky = [layer for layer in model.layers if isinstance(layer, keras.layers.LeakyReLU)]
    assert leaky and np.isclose(leaky[0].negative_slope, 0.2)
    x = np.random.default_rng(1).random((3, 6, 1)).astype("float32")
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m.keras")
    after = keras.models.load_model(tmp_path / "m.keras").predict(x, verbose=0)
    np.testing.assert_allclose(before, after, rtol=1e-5)


# --- one registry style: names from one place, get() with the nearest name -------------------


def test_every_registered_schedule_builds() -> None:
    """A schedule is one spec class naming its Keras class; the builder needs no code for it."""
    from nnrun.build.registry import schedule
    from nnrun.spec.optimizers import SGD
    from nnrun.spec.schedules import SCHEDULES

    examples = {
        "inverse_time": {"decay_rate": 0.5},
        "exponential": {"decay_rate": 0.5},
        "step": {"boundaries": [2]},
        "cyclical": {"max_learning_rate": 1.0},
    }
    assert sorted(examples) == sorted(SCHEDULES)  # a new schedule adds its example here
    for name, args in examples.items():
        built = schedule(
            SGD.model_validate(
                {"name": "sgd", "learning_rate": 0.1, "schedule": {"type": name, "unit": "step", **args}}
            )
        )
        assert type(built).__name__ == SCHEDULES.get(name).keras_class
        assert float(built(0)) == pytest.approx(0.1)


def test_every_registered_activation_builds() -> None:
    """An activation is one entry in nnrun/spec/activations.py: a Keras name, or a layer of its own."""
    from nnrun.build.registry import activation_layer, layers
    from nnrun.spec.activations import ACTIVATIONS, Activation
    from nnrun.spec.layers import Dense

    for name, entry in ACTIVATIONS.items():
        spec = Activation(name=name, alpha=0.2) if entry.alpha_arg else Activation(name=name)
        built = layers(Dense(type="dense", units=3, activation=spec))
        extra = activation_layer(spec)
        assert (extra is None) == (entry.layer is None) == (len(built) == 1)
        if entry.layer is not None:
            assert type(built[1]).__name__ == entry.layer
    leaky = activation_layer(Activation(name="leaky_relu", alpha=0.2))
    assert leaky is not None and np.isclose(leaky.negative_slope, 0.2)


@pytest.mark.parametrize(
    "loss_name", ["mse", "binary_crossentropy", "categorical_crossentropy", "sparse_categorical_crossentropy"]
)
def test_every_registered_loss_and_metric_builds(loss_name: str) -> None:
    """A loss or a metric is one entry in nnrun/spec/losses.py naming its Keras class: each builds,
    under its own name, and accuracy follows the loss's label encoding."""
    import keras

    from nnrun.build.registry import loss, metric
    from nnrun.spec.losses import LOSSES, METRICS

    for name, entry in LOSSES.items():
        assert type(loss(name)).__name__ == entry.keras_class
    built = {name: metric(name, loss_name, 0.3) for name in METRICS}
    assert all(m.name == name for name, m in built.items())
    accuracy = {"categorical_crossentropy": keras.metrics.CategoricalAccuracy}.get(
        loss_name,
        keras.metrics.SparseCategoricalAccuracy if loss_name.startswith("sparse") else keras.metrics.BinaryAccuracy,
    )
    assert type(built["accuracy"]) is accuracy
    assert np.ravel(built["precision"].thresholds).tolist() == [0.3]


def test_the_spec_names_come_from_the_registry() -> None:
    from nnrun.spec.config import Spec
    from nnrun.spec.losses import LOSSES, METRICS

    def spec(**more: object) -> Spec:
        model = {"layers": [{"type": "dense", "units": 1, "activation": "sigmoid"}]}
        return Spec.model_validate({"data": {"dataset": "xor"}, "model": model, **more})

    for name, entry in LOSSES.items():
        assert spec(loss=name).loss == name
        assert all(spec(loss=alias).loss == name for alias in entry.aliases)
    assert spec(loss="mse", metrics=list(METRICS)).metrics == list(METRICS)


def test_get_names_the_valid_entries_and_the_nearest() -> None:
    from nnrun.errors import NnrunError
    from nnrun.spec.layers import LAYERS
    from nnrun.spec.losses import LOSSES

    with pytest.raises(NnrunError, match=r"unknown loss 'binary_crosentropy' \(did you mean 'binary_crossentropy'\?\)"):
        LOSSES.get("binary_crosentropy")
    with pytest.raises(NnrunError, match="expected one of: .*dense.*lstm"):
        LAYERS.get("densse")
    assert LAYERS.get("dense").__name__ == "Dense"


def test_every_layer_states_its_output_shape() -> None:
    """No default rule: a new layer that forgets output_shape() fails, instead of being
    silently assumed to keep its input's shape."""
    from nnrun.spec.layers import LAYERS, LayerSpec

    missing = [name for name, cls in LAYERS.items() if cls.output_shape is LayerSpec.output_shape]
    assert missing == []

    class Forgetful(LayerSpec):
        type: str = "forgetful"

    with pytest.raises(NotImplementedError, match="Forgetful must define output_shape"):
        Forgetful().output_shape((4,))


@pytest.mark.parametrize(
    ("layer", "shape", "expected"),
    [
        ({"type": "dense", "units": 3}, (5,), (3,)),
        ({"type": "conv2d", "filters": 4, "kernel_size": 3}, (8, 8, 1), (6, 6, 4)),
        ({"type": "conv2d", "filters": 4, "strides": 2, "padding": "same"}, (7, 7, 1), (4, 4, 4)),
        ({"type": "max_pooling2d"}, (6, 6, 4), (3, 3, 4)),
        ({"type": "flatten"}, (3, 3, 4), (36,)),
        ({"type": "reshape", "target_shape": [8, 8]}, (64,), (8, 8)),
        ({"type": "lstm", "units": 5, "return_sequences": True}, (8, 8), (8, 5)),
        ({"type": "gru", "units": 5}, (8, 8), (5,)),
        ({"type": "global_average_pooling1d"}, (8, 6), (6,)),
        ({"type": "dropout", "rate": 0.2}, (8, 6), (8, 6)),
        ({"type": "embedding", "input_dim": 100, "output_dim": 8}, (20,), (20, 8)),
        ({"type": "conv1d", "filters": 4, "kernel_size": 5}, (20, 8), (16, 4)),
        ({"type": "conv1d", "filters": 4, "strides": 2, "padding": "same"}, (21, 8), (11, 4)),
        ({"type": "max_pooling1d"}, (16, 4), (8, 4)),
        ({"type": "global_max_pooling1d"}, (8, 6), (6,)),
        ({"type": "global_average_pooling2d"}, (7, 7, 16), (16,)),
        ({"type": "rescaling", "scale": 0.5}, (8, 8, 3), (8, 8, 3)),
        ({"type": "random_zoom"}, (8, 8, 3), (8, 8, 3)),
        ({"type": "random_contrast"}, (8, 8, 3), (8, 8, 3)),
    ],
)
def test_output_shapes(layer: dict, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    from pydantic import TypeAdapter

    from nnrun.spec.layers import AnyLayer

    spec = TypeAdapter(AnyLayer).validate_python(layer)
    assert spec.output_shape(shape) == expected
    built = registry.layers(spec)[0]  # and Keras agrees
    assert tuple(built.compute_output_shape((None, *shape))[1:]) == expected
