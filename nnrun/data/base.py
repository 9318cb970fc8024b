"""The arrays a trainer sees, and the problems data loading can report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from nnrun.errors import NnrunError
from nnrun.spec.data import Task

if TYPE_CHECKING:
    import pandas as pd

    from nnrun.data.preprocess import Preprocessor
    from nnrun.data.text import TextVectorizer


class DataProblem(NnrunError):
    """Something wrong with the data a config points at, tied to a config key."""

    def __init__(self, key: tuple[str | int, ...], message: str, suggestion: str | None = None) -> None:
        self.key = key
        self.message = message
        self.suggestion = suggestion
        super().__init__(message)


@dataclass
class Raw:
    """Features and target as a source delivers them, before split, encoding and scaling.

    `frame` has one named column per input value (text stays text); `input_shape` is one
    sample's shape when it is not flat (images, sequences: the frame holds them flattened).
    """

    frame: pd.DataFrame
    y: np.ndarray
    task: Task
    class_names: list[str] | None = None
    input_shape: tuple[int, ...] | None = None
    #: The whole set is both train and test (logic gates: 4 rows).
    no_split: bool = False
    #: The target column's name (predictions.csv and `predict` inputs use it).
    target: str = "target"
    #: Where the rows come from, for error messages (a CSV file's name).
    source: str = "the data"
    #: What was inferred and how to change it, shown before training.
    notes: list[str] = field(default_factory=list)
    #: Rows that are the source's own test split (Keras's test files, an npz's x_test): used
    #: as the test split instead of `data.test_size`.
    test_rows: np.ndarray | None = None

    @classmethod
    def from_array(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        task: Task,
        feature_names: list[str],
        class_names: list[str] | None = None,
        **kwargs: object,
    ) -> Raw:
        """A numeric array (n, ...) whose flattened values are named `feature_names`."""
        import pandas as pd

        flat = np.asarray(x).reshape(len(x), -1)
        shape = tuple(int(d) for d in np.shape(x)[1:])
        frame = pd.DataFrame(flat, columns=feature_names)
        return cls(frame, y, task, class_names, shape if len(shape) > 1 else None, **kwargs)  # type: ignore[arg-type]


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
    #: The fitted transformer, saved in the run folder as preprocessing.json for `predict`.
    preprocessor: Preprocessor
    notes: list[str] = field(default_factory=list)
    #: Each test row's index in the original dataset (predictions.csv's `row`).
    test_rows: np.ndarray | None = None
    #: Train, validation and test are the same rows (a dataset too small to split).
    same_rows: bool = False
    #: A CSV text column's fitted vocabulary (data.text), saved as vocabulary.json for `predict`.
    text: TextVectorizer | None = None
    #: The test split's input columns as the source gave them (original units, before
    #: encoding and scaling), for predictions.csv; None for images and sequences.
    test_inputs: pd.DataFrame | None = None

    @property
    def streamed(self) -> bool:
        """The inputs stay in their files and are read batch by batch (`nnrun.data.stream.Rows`)."""
        return not isinstance(self.x_train, np.ndarray)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def n_outputs(self) -> int:
        return 1 if self.y_train.ndim == 1 else int(self.y_train.shape[1])
