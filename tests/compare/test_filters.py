"""`--filter` parsing and matching, on plain values (no runs needed)."""

from __future__ import annotations

import pytest

from nnrun.compare.filters import equal, parse_filter, parse_value
from nnrun.errors import NnrunError

RUN = {
    "optimizer.name": "adam",
    "optimizer.learning_rate": 0.001,
    "model.layers.0.units": 16,
    "training.shuffle": True,
    "metrics": ["accuracy", "auc"],
    "name": "breast-cancer-mlp",
    "test.accuracy": 0.93,
    "started": "2025-01-02T10:00:00+00:00",
    "status": "completed",
}


def holds(text: str, values: dict | None = None) -> bool:
    values = RUN if values is None else values
    return parse_filter(text).matches(values.get)


@pytest.mark.parametrize(
    "text",
    [
        "optimizer.name=adam",
        "optimizer.name==adam",
        "optimizer.name = adam",
        "optimizer.learning_rate=1e-3",
        "optimizer.learning_rate=0.0010",
        "model.layers.0.units=16",
        "model.layers.0.units=16.0",
        "training.shuffle=true",
        "metrics=auc",
        "name=breast*",
        "name='breast-cancer-mlp'",
        "optimizer.name!=sgd",
        "test.accuracy>0.9",
        "test.accuracy>=0.93",
        "test.accuracy<1",
        "test.accuracy<=0.93",
        "optimizer.name in (adam,sgd)",
        "optimizer.name in ( sgd , adam )",
        "optimizer.name IN (adam)",
        "optimizer.name not in (sgd,rmsprop)",
        "0.0001<=optimizer.learning_rate<=0.1",
        "0.0001<optimizer.learning_rate<0.01",
        "0.1>=optimizer.learning_rate>=0.001",
        "optimizer.name=sgd or optimizer.learning_rate=0.001",
        "optimizer.name=adam and test.accuracy>0.9",
        "optimizer.name=sgd or optimizer.name=adam and model.layers.0.units=16",
        "started>=2025-01-02",
        "status in (completed, interrupted)",
    ],
)
def test_clauses_that_hold(text: str) -> None:
    assert holds(text)


@pytest.mark.parametrize(
    "text",
    [
        "optimizer.name=sgd",
        "optimizer.learning_rate=0.01",
        "training.shuffle=false",
        "metrics=mae",
        "name=iris*",
        "optimizer.name!=adam",
        "test.accuracy>0.93",
        "test.accuracy<0.5",
        "optimizer.name in (sgd,rmsprop)",
        "optimizer.name not in (adam)",
        "0.01<=optimizer.learning_rate<=0.1",
        "0.001<optimizer.learning_rate<0.1",
        "optimizer.name=sgd or model.layers.0.units=8",
        "optimizer.name=adam and test.accuracy>0.95",
        "optimizer.name>3",  # text against a number never orders
        "started<2025-01-01",
    ],
)
def test_clauses_that_do_not_hold(text: str) -> None:
    assert not holds(text)


@pytest.mark.parametrize("text", ["missing.key=1", "missing.key!=1", "missing.key not in (1)", "0<missing.key<1"])
def test_a_missing_value_never_matches(text: str) -> None:
    assert not holds(text)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("optimizer.name", "expected KEY=VALUE"),
        ("optimizer.name~adam", "expected KEY=VALUE"),
        ("optimizer.name=", "no value after"),
        ("optimizer.name in ()", "at least one value"),
        ("0.1<=optimizer.learning_rate>=0.01", "a range goes one way"),
        ("optimizer.name=adam or ", "an empty condition"),
        ("", "an empty condition"),
    ],
)
def test_bad_filters_are_user_errors(text: str, why: str) -> None:
    with pytest.raises(NnrunError, match=why) as info:
        parse_filter(text)
    assert repr(text) in str(info.value)


def test_or_inside_parentheses_and_quotes_is_a_value() -> None:
    f = parse_filter("name in ('a or b', c)")
    assert f.matches({"name": "a or b"}.get)
    assert [c.op for group in f.any_of for c in group] == ["in"]


def test_keys_lists_every_key_named() -> None:
    assert parse_filter("a=1 or b>2 and 0<c<1").keys == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [("3", 3), ("1e-3", 0.001), ("-2.5", -2.5), ("true", True), ("False", False), ("null", None), ("adam", "adam")],
)
def test_parse_value(raw: str, value: object) -> None:
    assert parse_value(raw) == value and type(parse_value(raw)) is type(value)


def test_equal_does_not_confuse_bools_and_numbers() -> None:
    assert not equal(True, 1)
    assert equal(1, 1.0)
    assert equal(True, "true")
