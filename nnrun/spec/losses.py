"""Losses and metrics by name: what a config may name, what nnrun needs to know about each, and
the Keras class that computes it, named as a string so the spec never imports Keras.

Adding a loss is one `LOSSES` entry (and a test): the spec's valid names and aliases, the label
encoding (`nnrun.data.prepare.encode_labels`), the accuracy metric that matches it and the
builder (`nnrun.build.registry.loss`) all read it from here. A metric is one `METRICS` entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from nnrun.registry import Registry

#: How a loss wants class labels: `auto` one column of 0/1 for a binary target and one-hot
#: rows for a multiclass one; `one_hot` always one-hot rows; `indices` the class numbers.
Labels = Literal["auto", "one_hot", "indices"]

#: The Keras accuracy of a loss whose labels are one-hot rows or class numbers (Keras picks the
#: same by the loss); with `auto` labels accuracy is `METRICS["accuracy"]`, at the decision threshold.
ACCURACY: dict[str, str] = {"one_hot": "CategoricalAccuracy", "indices": "SparseCategoricalAccuracy"}


@dataclass(frozen=True)
class LossEntry:
    """One loss: its class in `keras.losses`, whether it is for classification, how labels are encoded."""

    keras_class: str
    classification: bool
    labels: Labels = "auto"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class MetricEntry:
    """One metric: its class in `keras.metrics` and the argument, if any, that takes the decision
    threshold (`evaluation.threshold`). `accuracy`'s class may follow the loss (`ACCURACY`)."""

    keras_class: str
    threshold_arg: str | None = None


LOSSES: Registry[LossEntry] = Registry(
    "loss",
    {
        "mse": LossEntry("MeanSquaredError", classification=False, aliases=("mean_squared_error",)),
        "mae": LossEntry("MeanAbsoluteError", classification=False, aliases=("mean_absolute_error",)),
        "binary_crossentropy": LossEntry("BinaryCrossentropy", classification=True, aliases=("bce",)),
        "categorical_crossentropy": LossEntry(
            "CategoricalCrossentropy", classification=True, labels="one_hot", aliases=("cce",)
        ),
        "sparse_categorical_crossentropy": LossEntry(
            "SparseCategoricalCrossentropy", classification=True, labels="indices"
        ),
    },
)

METRICS: Registry[MetricEntry] = Registry(
    "metric",
    {
        "accuracy": MetricEntry("BinaryAccuracy", threshold_arg="threshold"),
        "mae": MetricEntry("MeanAbsoluteError"),
        "mse": MetricEntry("MeanSquaredError"),
        "auc": MetricEntry("AUC"),
        "precision": MetricEntry("Precision", threshold_arg="thresholds"),
        "recall": MetricEntry("Recall", threshold_arg="thresholds"),
    },
)

#: Another name a config may use -> the loss's name.
LOSS_ALIASES: dict[str, str] = {alias: name for name, entry in LOSSES.items() for alias in entry.aliases}
CLASSIFICATION_LOSSES = frozenset(name for name, entry in LOSSES.items() if entry.classification)

# The valid names as types, so pydantic's errors list them (and the nearest) as for any choice.
LossName = Literal[tuple(LOSSES)]  # type: ignore[valid-type]
MetricName = Literal[tuple(METRICS)]  # type: ignore[valid-type]
