"""Generated configs through `nnrun validate` (in-process, the real CLI): valid ones built from
the registries are accepted; mutated ones (keys deleted or misspelt, values swapped for wrong
types, strings misspelt, numbers pushed to extremes) are accepted or fail with exit code 2
and a message, never any other exception."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from nnrun.cli.app import app
from nnrun.spec.activations import ACTIVATIONS
from nnrun.spec.data import DATASETS
from nnrun.spec.optimizers import OPTIMIZERS
from tests.conftest import CONFIGS

SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HIDDEN_ACTIVATIONS = [a for a in ACTIVATIONS if a not in ("softmax",)]
# An MLP takes flat rows: sine needs a sequence model, images a Flatten or a CNN; csv, npz and
# images need a file, and the Keras datasets a file in Keras's cache (tests never download).
BY_TASK = {
    task: [
        n
        for n, info in DATASETS.items()
        if info.task == task and not info.keras and info.input_shape is not None and len(info.input_shape) == 1
    ]
    for task in ("binary", "multiclass", "regression")
}


def _output(task: str, dataset: str, loss: str) -> dict[str, Any]:
    if task == "regression":
        return {"type": "dense", "units": 1}
    if task == "binary":
        if loss == "binary_crossentropy":
            return {"type": "dense", "units": 1, "activation": "sigmoid"}
        return {"type": "dense", "units": 2, "activation": "softmax"}
    return {"type": "dense", "units": DATASETS[dataset].n_classes, "activation": "softmax"}


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A config that must validate: an MLP matched to its dataset's task, from the registries."""
    task = draw(st.sampled_from(sorted(BY_TASK)))
    dataset = draw(st.sampled_from(BY_TASK[task]))
    loss = {
        "binary": draw(st.sampled_from(["binary_crossentropy", "sparse_categorical_crossentropy"])),
        "multiclass": draw(st.sampled_from(["sparse_categorical_crossentropy", "categorical_crossentropy"])),
        "regression": draw(st.sampled_from(["mse", "mae"])),
    }[task]
    hidden = []
    for _ in range(draw(st.integers(0, 3))):
        layer: dict[str, Any] = {
            "type": "dense",
            "units": draw(st.integers(1, 64)),
            "activation": draw(st.sampled_from(HIDDEN_ACTIVATIONS)),
        }
        if draw(st.booleans()):
            layer["kernel_regularizer"] = {"l2": draw(st.floats(0, 1))}
        hidden.append(layer)
        if draw(st.booleans()):
            hidden.append({"type": "dropout", "rate": draw(st.floats(0, 0.9))})
    optimizer = {"name": draw(st.sampled_from(sorted(OPTIMIZERS))), "learning_rate": draw(st.floats(1e-5, 10))}
    training: dict[str, Any] = {
        "epochs": draw(st.integers(1, 100_000)),
        "batch_size": draw(st.one_of(st.just("full"), st.integers(1, 512))),
        "trainer": draw(st.sampled_from(["auto", "graph", "fit"])),
    }
    metrics = ["accuracy"] if task != "regression" else ["mae"]
    if draw(st.booleans()):
        training["early_stopping"] = {
            "monitor": draw(st.sampled_from(["loss", "val_loss", f"val_{metrics[0]}"])),
            "patience": draw(st.integers(0, 50)),
        }
    spec: dict[str, Any] = {
        "name": draw(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)),
        "seed": draw(st.integers(0, 2**31 - 1)),
        "data": {"dataset": dataset, "test_size": draw(st.floats(0.1, 0.5))},
        "model": {"layers": [*hidden, _output(task, dataset, loss)]},
        "optimizer": optimizer,
        "loss": loss,
        "metrics": metrics,
        "training": training,
    }
    if DATASETS[dataset].sized:
        spec["data"]["n_samples"] = draw(st.integers(40, 400))
    return spec


def _examples() -> list[dict[str, Any]]:
    """Every shipped config, as data (the CSV path made absolute so it resolves from anywhere)."""
    out = []
    for path in sorted(CONFIGS.glob("*.yaml")):
        data = yaml.safe_load(path.read_text())
        if isinstance(data.get("data"), dict) and data["data"].get("path"):
            data["data"]["path"] = str((path.parent / data["data"]["path"]).resolve())
        out.append(data)
    return out


EXAMPLES = _examples()

WRONG_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0, -1, 2**31, 10**25, 1e300, -1e300, 1e-300, 0.5, 1.5, 3.0]),
    st.text(max_size=12),
    st.sampled_from(["", "full", "auto", "relu", "adam", "xor", "dense", "val_loss", "../x", "a/b", "~", "null"]),
    st.lists(st.integers(-3, 3), max_size=3),
    st.builds(dict),  # a new empty mapping each time: a later extra_key mutation must not change the strategy
    st.dictionaries(st.sampled_from(["type", "name", "units", "x"]), st.integers(-2, 5), max_size=2),
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*prefix, i))
    return out


def _parent(data: Any, path: tuple[Any, ...]) -> Any:
    for p in path[:-1]:
        data = data[p]
    return data


def _misspell(draw: st.DrawFn, word: str) -> str:
    if not word:
        return "x"
    i = draw(st.integers(0, len(word) - 1))
    how = draw(st.sampled_from(["drop", "double", "swap", "case", "replace"]))
    if how == "drop":
        return word[:i] + word[i + 1 :]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "swap" and i + 1 < len(word):
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if how == "case":
        return word.upper()
    return word[:i] + draw(st.sampled_from("aeiouxz_-")) + word[i + 1 :]


@st.composite
def mutated_specs(draw: st.DrawFn) -> dict[str, Any]:
    """A valid config (generated or shipped) with one to three things broken."""
    source = draw(st.one_of(valid_specs(), st.sampled_from(EXAMPLES)))
    data = yaml.safe_load(yaml.safe_dump(source))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _parent(data, path), path[-1]
        action = draw(st.sampled_from(["delete", "rename", "wrong_type", "misspell", "extra_key", "wrap"]))
        if action == "delete":
            del parent[last]
        elif action == "rename" and isinstance(parent, dict):
            parent[_misspell(draw, str(last))] = parent.pop(last)
        elif action == "misspell" and isinstance(parent[last], str):
            parent[last] = _misspell(draw, parent[last])
        elif action == "extra_key" and isinstance(parent[last], dict):
            parent[last][draw(st.sampled_from(["unit", "activaton", "lr", "epoch", "type", "name"]))] = 1
        elif action == "wrap":
            parent[last] = [parent[last]]
        else:
            parent[last] = draw(WRONG_VALUES)
    return data


@pytest.fixture(scope="module")
def workdir() -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp)


def _validate(workdir: Path, data: dict[str, Any]) -> Any:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return CliRunner().invoke(app, ["validate", str(path)])


@pytest.mark.slow
@SETTINGS
@given(spec=valid_specs())
def test_valid_generated_specs_are_accepted(workdir: Path, spec: dict[str, Any]) -> None:
    result = _validate(workdir, spec)
    assert result.exit_code == 0, f"{result.output}\n{yaml.safe_dump(spec, sort_keys=False)}"
    assert result.output.startswith("ok ")


@pytest.mark.slow
@settings(SETTINGS, max_examples=150)
@given(spec=mutated_specs())
def test_mutated_specs_are_accepted_or_cleanly_refused(workdir: Path, spec: dict[str, Any]) -> None:
    result = _validate(workdir, spec)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{type(result.exception).__name__}: {result.exception}") from result.exception
    assert result.exit_code in (0, 2), result.output
    if result.exit_code == 2:
        assert result.output.startswith("error: ") and "problem" in result.output
        assert "Traceback" not in result.output
    else:
        assert result.output.startswith("ok ")
