"""The JSON records of a run folder and a sweep folder, shared by writers and readers.

    RunJson.model_validate(data)        # run.json; `.status`, `.started`, `.pid` ... typed

They are tolerant on purpose: run folders outlive nnrun versions and may be edited by hand,
so unknown fields are kept (and written back), and a known field holding a value of the
wrong type (`"started": 5`, a NaN or infinite duration, a status nnrun does not know) reads
as None instead of failing the whole run. The file names are in `nnrun.runs.layout`.
Preprocessing's record (preprocessing.json) is owned by the preprocessing code.
Never imports TensorFlow.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, ValidationError, ValidatorFunctionWrapHandler, WrapValidator

from nnrun.runs.layout import RunFolder, Status, SweepFolder


def _or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    try:
        return handler(value)
    except ValidationError:
        return None


def _finite_or_none(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return handler(value)


#: A field that reads as None when its value has the wrong type.
Lenient = WrapValidator(_or_none)
OptStr = Annotated[str | None, Lenient]
OptInt = Annotated[int | None, Lenient]
OptFloat = Annotated[float | None, WrapValidator(_finite_or_none)]
OptDict = Annotated[dict[str, Any] | None, Lenient]
OptList = Annotated[list[Any] | None, Lenient]
OptStatus = Annotated[Status | None, Lenient]


class Record(BaseModel):
    """A JSON record of a run folder: unknown fields kept, wrong-typed known fields read as None."""

    model_config = ConfigDict(extra="allow")

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Any:
        return cls.model_validate(data)

    def to_data(self) -> dict[str, Any]:
        """The record as JSON-ready data (statuses as plain strings)."""
        return self.model_dump(mode="json")


class RunJson(Record):
    """run.json: written at the start and rewritten atomically on every change of state."""

    id: OptStr = None
    name: OptStr = None
    status: OptStatus = None
    started: OptStr = None
    ended: OptStr = None
    duration_seconds: OptFloat = None
    train_seconds: OptFloat = None
    epochs_run: OptInt = None
    best_epoch: OptInt = None  # the epoch early stopping judged best
    kept_epoch: OptInt = None  # the epoch whose weights model.keras holds
    seed: OptInt = None
    command: OptList = None
    cwd: OptStr = None
    pid: OptInt = None
    host: OptStr = None
    versions: OptDict = None
    diagnosis: OptDict = None
    error: OptDict = None
    sweep: OptDict = None
    stop_reason: OptStr = None
    split: OptDict = None  # rows per split: train, validation, test, validation_is_test, same_rows, ...
    selected_on_test: Annotated[bool | None, Lenient] = None  # early stopping chose with the test split
    params: OptInt = None  # trainable parameters of the model
    baseline: OptDict = None  # majority_rate and constant_loss per split (nnrun.train.evaluate.baseline)
    internals_verdicts: OptList = None  # nnrun.inspect.verdicts: [] when inspected and nothing found


class MetricsJson(Record):
    """metrics.json: the test metrics and the best/final epoch figures of a finished run."""

    test: OptDict = None
    final: OptDict = None
    kept: OptDict = None  # the kept epoch's row
    best_val_loss: OptDict = None
    confusion_matrix: OptList = None


class SweepPoint(Record):
    """One point of sweep.json; `run_dir` is the point's folder name inside the sweep folder."""

    index: OptInt = None
    values: OptDict = None
    label: OptStr = None
    seed: OptInt = None
    seed_index: OptInt = None
    status: OptStatus = None
    run_dir: OptStr = None
    error: OptStr = None
    epochs_run: OptInt = None
    train_seconds: OptFloat = None


class SweepJson(Record):
    """sweep.json (see nnrun/sweep/record.py for the layout)."""

    id: OptStr = None
    name: OptStr = None
    status: OptStatus = None
    grid: OptDict = None
    points: Annotated[list[SweepPoint] | None, Lenient] = None
    best: OptDict = None


class LrFindJson(Record):
    """lr_find.json: what `nnrun lr-find` found."""

    suggestion: OptFloat = None
    why_no_suggestion: OptStr = None
    min_loss_learning_rate: OptFloat = None
    steps_run: OptInt = None
    stop_reason: OptStr = None


#: The record class of each JSON file, for code that reads any of them.
RECORDS: dict[str, type[Record]] = {
    RunFolder.RUN: RunJson,
    RunFolder.METRICS: MetricsJson,
    RunFolder.LR_FIND_JSON: LrFindJson,
    SweepFolder.SWEEP: SweepJson,
}
