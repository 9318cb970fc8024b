"""Checks that need facts about the data: shapes through the layers, the output layer
against the task, the loss against the target. Pure Python, so `validate` can run them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from nnrun.spec.config import Spec
from nnrun.spec.data import DATASETS, Task
from nnrun.spec.layers import AUGMENTATION, Reshape
from nnrun.spec.losses import CLASSIFICATION_LOSSES

Key = tuple[str | int, ...]


@dataclass(frozen=True)
class DataFacts:
    task: Task
    input_shape: tuple[int, ...]
    n_classes: int | None
    n_outputs: int = 1


def static_facts(spec: Spec) -> DataFacts | None:
    """What is known about the data without loading it (None for csv)."""
    info = DATASETS[spec.data.dataset]
    if spec.data.dataset == "sine":
        return DataFacts("regression", (spec.data.sequence_length, 1), None)
    if spec.data.dataset == "imdb":
        return DataFacts("binary", (spec.data.sequence_length,), 2)
    if info.task is None or info.input_shape is None:
        return None
    return DataFacts(info.task, info.input_shape, info.n_classes, info.n_outputs)


def _rank_name(rank: int) -> str:
    return {
        1: "tabular (features,)",
        2: "sequence (steps, features)",
        3: "image (height, width, channels)",
    }.get(rank, f"rank-{rank}")


def problems(spec: Spec, facts: DataFacts) -> Iterator[tuple[Key, str]]:
    """Yield (key path, message) for each thing that cannot work with this data."""
    shape = facts.input_shape
    layers = spec.model.layers
    for i, layer in enumerate(layers):
        key: Key = ("model", "layers", i)
        need = type(layer).input_rank
        if need is not None and len(shape) not in need:
            want = " or ".join(_rank_name(r) for r in need)
            yield (
                (*key, "type"),
                f"{layer.type} needs {want} input but receives shape {shape} ({_rank_name(len(shape))}); "
                f"add a reshape layer first (e.g. digits: {{type: reshape, target_shape: [8, 8, 1]}})",
            )
            return
        if isinstance(layer, Reshape):
            size = 1
            for d in shape:
                size *= d
            target = 1
            for d in layer.target_shape:
                target *= d
            if size != target:
                yield (
                    (*key, "target_shape"),
                    f"cannot reshape {shape} ({size} values) to {layer.target_shape} ({target} values)",
                )
                return
        if layer.type == "embedding" and layer.input_dim is None:
            yield ((*key, "input_dim"), "embedding needs input_dim (the vocabulary size) for this dataset")
            return
        if layer.type in AUGMENTATION and layer.type != "gaussian_noise" and len(shape) != 3:
            return
        shape = layer.output_shape(shape)
        if any(d <= 0 for d in shape):
            yield (key, f"the input is too small for this layer: output shape would be {shape}")
            return

    last_i = len(layers) - 1
    last = layers[last_i]
    last_key: Key = ("model", "layers", last_i)
    units = shape[-1] if shape else None
    activation = getattr(last, "activation", None)
    act = activation.name if activation is not None else "linear"
    if len(shape) != 1:
        yield (
            last_key,
            f"the model must end with one value per output but ends with shape {shape}; "
            "add a flatten (or global_average_pooling1d) and a dense layer",
        )
        return

    loss = spec.loss
    if facts.task == "regression":
        if loss in CLASSIFICATION_LOSSES:
            yield (
                ("loss",),
                f"{loss} is for classification, but the target is a regression target; use mse or mae",
            )
        if units != facts.n_outputs:
            yield (
                (*last_key, "units"),
                f"expected {facts.n_outputs} output unit(s) for regression. Received: {units}",
            )
        if act in ("softmax", "step"):
            yield ((*last_key, "activation"), f"{act} on a regression output; use linear")
        for m in spec.metrics or []:
            if m in ("accuracy", "auc", "precision", "recall"):
                yield (
                    ("metrics",),
                    f"{m} is a classification metric; the target is a regression target",
                )
        return

    n_classes = facts.n_classes or 2
    if facts.task == "binary":
        if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy"):
            if units != 2:
                yield (
                    ("loss",),
                    f"{loss} needs one output unit per class (2 here, with softmax); "
                    "for one sigmoid unit use binary_crossentropy",
                )
            return
        if units != 1:
            yield (
                (*last_key, "units"),
                f"expected 1 output unit for a binary target with {loss}. Received: {units}",
            )
        if act == "softmax":
            yield (
                (*last_key, "activation"),
                "softmax on a 1-unit output always gives 1.0; use sigmoid (or 2 units with a categorical loss)",
            )
        elif loss == "binary_crossentropy" and act not in ("sigmoid",):
            yield (
                (*last_key, "activation"),
                f"binary_crossentropy expects a probability; the output activation is {act}; use sigmoid",
            )
        return

    # multiclass
    if loss == "binary_crossentropy":
        yield (
            ("loss",),
            f"the target has {n_classes} classes; use categorical_crossentropy or sparse_categorical_crossentropy",
        )
    if units != n_classes:
        yield (
            (*last_key, "units"),
            f"expected {n_classes} output units, one per class. Received: {units}",
        )
    if loss in ("categorical_crossentropy", "sparse_categorical_crossentropy") and act != "softmax":
        yield (
            (*last_key, "activation"),
            f"{loss} expects class probabilities; use softmax on the output layer",
        )


def monitor_problems(spec: Spec) -> Iterator[tuple[Key, str, list[str]]]:
    """The early-stopping monitor must be a column that history.csv will have."""
    es = spec.training.early_stopping
    if es is None:
        return
    names = ["loss", *(spec.metrics or [])]
    columns = names + [f"val_{n}" for n in names]
    if es.monitor not in columns:
        yield (
            ("training", "early_stopping", "monitor"),
            f"expected one of {', '.join(columns)}. Received: monitor={es.monitor!r}",
            columns,
        )
