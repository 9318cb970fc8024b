"""The arrays a trainer sees, and the problems data loading can report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnrun.errors import NnrunError
from nnrun.spec.data import Task


class DataProblem(NnrunError):
    """Something wrong with the data a config points at, tied to a config key."""

    def __init__(self, key: tuple[str | int, ...], message: str, suggestion: str | None = None) -> None:
        self.key = key
        self.message = message
        self.suggestion = suggestion
        super().__init__(message)


@dataclass
class Raw:
    """Features and target as a source delivers them, before split and scaling."""

    x: np.ndarray
    y: np.ndarray
    task: Task
    feature_names: list[str]
    class_names: list[str] | None = None
    #: The whole set is both train and test (logic gates: 4 rows).
    no_split: bool = False
    encoders: dict[str, Any] = field(default_factory=dict)


@dataclass
class Dataset:
    """Split, scaled and encoded arrays, ready for a Keras model."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: Task
    n_classes: int | None
    class_names: list[str] | None
    feature_names: list[str]
    preprocessing: dict[str, Any]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])
