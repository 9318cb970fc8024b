"""The interface every trainer implements, and what a trainer hands back.

A trainer takes a compiled model and the arrays, trains, and reports epochs to `Hooks`
as they finish (one at a time for `fit`, in chunks for the in-graph loop). It never
writes files: the runner turns epochs into history.csv, progress and checkpoints.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, overload

if TYPE_CHECKING:
    import keras

    from nnrun.data import Dataset
    from nnrun.spec import Spec

StopReason = Literal["completed", "early_stopping", "diverged", "interrupted"]
Row = dict[str, float]


class History(Sequence[Row]):
    """Epoch rows kept column by column in typed arrays (8 bytes a value): a million epochs take
    tens of MB instead of the half gigabyte that a million dicts would. Reads like a list of
    rows (`history[-1]`, slices, iteration); `column(key)` gives a NumPy array without copying.
    """

    def __init__(self, rows: Iterable[Mapping[str, float]] = ()) -> None:
        self._columns: dict[str, array] = {}
        self._n = 0
        self.extend(rows)

    def append(self, row: Mapping[str, float]) -> None:
        for key, value in row.items():
            col = self._columns.get(key)
            code = "q" if isinstance(value, int) and not isinstance(value, bool) else "d"
            if col is None:
                col = self._columns[key] = (
                    array(code, [0] * self._n) if code == "q" else array("d", [math.nan] * self._n)
                )
            elif col.typecode == "q" and code == "d":
                col = self._columns[key] = array("d", col)
            col.append(value)
        for col in self._columns.values():
            if len(col) == self._n:  # a key this row lacks
                col.append(math.nan if col.typecode == "d" else 0)
        self._n += 1

    def extend(self, rows: Iterable[Mapping[str, float]]) -> None:
        for row in rows:
            self.append(row)

    def keys(self) -> list[str]:
        return list(self._columns)

    def column(self, key: str) -> Any:
        import numpy as np

        col = self._columns.get(key)
        if col is None:
            return np.full(self._n, math.nan)
        return np.frombuffer(col, dtype=np.int64 if col.typecode == "q" else np.float64)

    def __len__(self) -> int:
        return self._n

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> History: ...
    def __getitem__(self, index: int | slice) -> Row | History:
        if isinstance(index, slice):
            return History(self[i] for i in range(*index.indices(self._n)))
        if index < 0:
            index += self._n
        if not 0 <= index < self._n:
            raise IndexError(index)
        return {k: col[index] for k, col in self._columns.items()}


class Hooks:
    """Called by trainers; `stop_requested` is set asynchronously (e.g. by Ctrl-C)."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.rows = History()

    def epochs_done(self, rows: list[Row]) -> None:
        """Receives finished epochs in order; subclasses persist and display them."""
        self.rows.extend(rows)


@dataclass
class TrainResult:
    history: Sequence[Row]
    stop_reason: StopReason
    best_epoch: int | None = None  # 1-based; the epoch whose weights the model holds
    stopped_epoch: int | None = None  # 1-based; the last epoch run when stopped early
    batches_per_epoch: int = 0
    total_updates: int = 0
    details: dict[str, Any] = field(default_factory=dict)
    #: What `training.inspect` recorded (an `nnrun.inspect.internals.Inspection`), or None.
    inspection: Any = None


def batch_size(spec: Spec, n_train: int) -> int:
    bs = spec.training.batch_size
    return n_train if bs == "full" else min(int(bs), n_train)


def batches_per_epoch(spec: Spec, n_train: int) -> int:
    return math.ceil(n_train / batch_size(spec, n_train))


def non_finite(row: Row) -> bool:
    """A loss that is NaN or infinite: the run diverged."""
    return any(not math.isfinite(v) for k, v in row.items() if k.endswith("loss"))


class Trainer(ABC):
    name: ClassVar[str]

    @classmethod
    def unsupported(cls, spec: Spec, data: Dataset) -> str | None:
        """Why this trainer cannot run the spec, or None if it can."""
        return None

    def reuse(self, model: keras.Model, spec: Spec, data: Dataset) -> keras.Model:
        """The model to train: `model` as built, or one kept from an earlier run of the same
        architecture, set to `model`'s state (`nnrun.train.warm`, the graph trainer's)."""
        return model

    def build(
        self, spec: Spec, data: Dataset, seed: Callable[[], None], make: Callable[[], keras.Model]
    ) -> keras.Model:
        """The model to train: `make()`'s, built after `seed()` as a fresh process builds it, or
        (`reuse`) one kept from an earlier run set to exactly that state."""
        seed()
        return self.reuse(make(), spec, data)

    @abstractmethod
    def train(self, model: keras.Model, spec: Spec, data: Dataset, hooks: Hooks) -> TrainResult: ...
