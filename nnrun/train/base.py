"""The interface every trainer implements, and what a trainer hands back.

A trainer takes a compiled model and the arrays, trains, and reports epochs to `Hooks`
as they finish (one at a time for `fit`, in chunks for the in-graph loop). It never
writes files: the runner turns epochs into history.csv, progress and checkpoints.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    import keras

    from nnrun.data import Dataset
    from nnrun.spec import Spec

StopReason = Literal["completed", "early_stopping", "diverged", "interrupted"]
Row = dict[str, float]


class Hooks:
    """Called by trainers; `stop_requested` is set asynchronously (e.g. by Ctrl-C)."""

    def __init__(self) -> None:
        self.stop_requested = False
        self.rows: list[Row] = []

    def epochs_done(self, rows: list[Row]) -> None:
        """Receives finished epochs in order; subclasses persist and display them."""
        self.rows.extend(rows)


@dataclass
class TrainResult:
    history: list[Row]
    stop_reason: StopReason
    best_epoch: int | None = None  # 1-based; the epoch whose weights the model holds
    stopped_epoch: int | None = None  # 1-based; the last epoch run when stopped early
    batches_per_epoch: int = 0
    total_updates: int = 0
    details: dict[str, Any] = field(default_factory=dict)


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

    @abstractmethod
    def train(self, model: keras.Model, spec: Spec, data: Dataset, hooks: Hooks) -> TrainResult: ...
