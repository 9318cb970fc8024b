"""Datasets load without a network, split reproducibly, scale on train only, and encode
labels to suit the loss."""

from __future__ import annotations

import numpy as np
import pytest

from nnrun.data import prepare
from nnrun.spec import loads_spec
from nnrun.spec.data import DATASETS


def _spec(
    dataset: str, loss: str = "binary_crossentropy", units: int = 1, act: str = "sigmoid", extra: str = ""
) -> str:
    return f"""
data: {{dataset: {dataset}{extra}}}
model: {{layers: [{{type: dense, units: {units}, activation: {act}}}]}}
loss: {loss}
"""


CASES = {
    "xor": ("binary_crossentropy", 1, "sigmoid"),
    "and": ("binary_crossentropy", 1, "sigmoid"),
    "or": ("binary_crossentropy", 1, "sigmoid"),
    "breast_cancer": ("binary_crossentropy", 1, "sigmoid"),
    "iris": ("categorical_crossentropy", 3, "softmax"),
    "wine": ("sparse_categorical_crossentropy", 3, "softmax"),
    "digits": ("sparse_categorical_crossentropy", 10, "softmax"),
    "moons": ("binary_crossentropy", 1, "sigmoid"),
    "circles": ("binary_crossentropy", 1, "sigmoid"),
    "diabetes": ("mse", 1, "linear"),
    "linear": ("mse", 1, "linear"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_builtin_dataset_shapes_and_encoding(name: str, tmp_path) -> None:
    loss, units, act = CASES[name]
    spec = loads_spec(_spec(name, loss, units, act))
    data = prepare(spec, tmp_path)
    info = DATASETS[name]
    assert data.input_shape == info.input_shape
    assert data.task == info.task
    if loss == "categorical_crossentropy":
        assert data.y_train.shape[1] == units and set(np.unique(data.y_train)) <= {0.0, 1.0}
    elif loss == "sparse_categorical_crossentropy":
        assert data.y_train.ndim == 1 and data.y_train.max() == units - 1
    else:
        assert data.y_train.shape[1] == 1
    if name in ("xor", "and", "or"):
        assert len(data.x_train) == len(data.x_test) == 4
    else:
        total = len(data.x_train) + len(data.x_val) + len(data.x_test)
        assert abs(len(data.x_test) - 0.2 * total) <= 1  # test: 20 % of all rows
        assert abs(len(data.x_val) - 0.2 * (total - len(data.x_test))) <= 1  # validation: 20 % of the rest


def test_sine_is_a_sequence_task(tmp_path) -> None:
    spec = loads_spec(
        _spec("sine", "mse", 1, "linear", ", sequence_length: 12, n_samples: 100").replace(
            "[{type: dense", "[{type: simple_rnn, units: 2}, {type: dense"
        )
    )
    data = prepare(spec, tmp_path)
    assert data.input_shape == (12, 1)
    # the target is the value right after the window
    assert data.y_train.shape == (64, 1)  # 100 windows: 20 test, 16 validation


def test_standardize_fits_on_train_only(tmp_path) -> None:
    spec = loads_spec(_spec("breast_cancer"))
    data = prepare(spec, tmp_path)
    np.testing.assert_allclose(data.x_train.mean(axis=0), 0, atol=1e-4)
    assert not np.allclose(data.x_test.mean(axis=0), 0, atol=1e-3)
    assert len(data.preprocessor.record().scaler.mean) == 30


def test_validation_fraction_holds_out_part_of_train(tmp_path) -> None:
    spec = loads_spec(_spec("breast_cancer", extra=", validation: 0.25"))
    data = prepare(spec, tmp_path)
    assert len(data.x_val) == pytest.approx(0.25 * (len(data.x_train) + len(data.x_val)), abs=1)
    train_rows = {r.tobytes() for r in data.x_train}
    assert not any(r.tobytes() in train_rows for r in data.x_val)


def test_split_is_seeded(tmp_path) -> None:
    a = prepare(loads_spec(_spec("moons")), tmp_path)
    b = prepare(loads_spec(_spec("moons")), tmp_path)
    c = prepare(loads_spec("seed: 7\n" + _spec("moons")), tmp_path)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.x_train, c.x_train)


def test_csv_numeric_and_categorical(tmp_path) -> None:
    (tmp_path / "d.csv").write_text(
        "size,colour,label\n" + "".join(f"{i},{['red', 'blue'][i % 2]},{['a', 'b', 'c'][i % 3]}\n" for i in range(30))
    )
    spec = loads_spec(
        _spec("csv", "sparse_categorical_crossentropy", 3, "softmax", ", path: d.csv, target: label"), source="x"
    )
    data = prepare(spec, tmp_path)
    assert data.task == "multiclass"
    assert data.feature_names == ["size", "colour_blue", "colour_red"]
    assert data.preprocessor.record().categorical_levels == {"colour": ["blue", "red"]}
    assert data.class_names == ["a", "b", "c"]


def test_every_dataset_has_one_loader_and_get_names_the_nearest() -> None:
    from nnrun.data.sources import SOURCES
    from nnrun.errors import NnrunError

    assert set(SOURCES) == set(DATASETS)
    assert SOURCES.get("iris") is SOURCES["iris"]
    with pytest.raises(
        NnrunError, match=r"unknown dataset 'irs' \(did you mean 'iris'\?\); expected one of: and, breast_cancer"
    ):
        SOURCES.get("irs")
    with pytest.raises(ValueError, match="no entry in nnrun.spec.data.DATASETS"):
        SOURCES.register("svhn")
