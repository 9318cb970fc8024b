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
from typing import Annotated, Any, TypeVar

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


def _non_finite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


#: A field that reads as None when its value has the wrong type.
Lenient = WrapValidator(_or_none)
OptStr = Annotated[str | None, Lenient]
OptInt = Annotated[int | None, Lenient]
OptFloat = Annotated[float | None, WrapValidator(_finite_or_none)]
OptDict = Annotated[dict[str, Any] | None, Lenient]
OptList = Annotated[list[Any] | None, Lenient]
OptStatus = Annotated[Status | None, Lenient]


class Record(BaseModel):
    """A JSON record of a run folder: unknown fields kept, wrong-typed known fields read as None.

    Writers build records too, through `set()`, which takes declared fields only: a misspelt
    key or a value of the wrong type is a bug raised here instead of a file nobody can read.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Any:
        return cls.model_validate(data)

    @classmethod
    def new(cls, **fields: Any) -> Any:
        """A record to write, from declared fields only (see `set`)."""
        record = cls()
        record.set(**fields)
        return record

    def set(self, **fields: Any) -> None:
        """Give declared fields these values; an unknown name or a value the field refuses raises."""
        unknown = [name for name in fields if name not in type(self).model_fields]
        if unknown:
            raise AttributeError(
                f"{type(self).__name__} has no field {', '.join(map(repr, unknown))}: declare it in nnrun/runs/records.py"
            )
        for name, value in fields.items():
            setattr(self, name, value)
            if value is not None and getattr(self, name) is None and not _non_finite(value):
                # a lenient field dropped it (NaN and infinities are written as null, as ever)
                raise TypeError(f"{type(self).__name__}.{name} cannot hold {value!r}")

    def to_data(self) -> dict[str, Any]:
        """The record as JSON-ready data (statuses as plain strings): the fields it was given
        or read with (so a file is written back with the keys it had), unknown ones included."""
        return self.model_dump(mode="json", exclude_unset=True)


class RunJson(Record):
    """run.json: written at the start and rewritten atomically on every change of state
    (`nnrun.runs.folder.RunRecord`); fields in the order they are written."""

    id: OptStr = None
    name: OptStr = None
    status: OptStatus = None
    started: OptStr = None
    ended: OptStr = None
    duration_seconds: OptFloat = None
    train_seconds: OptFloat = None
    seed: OptInt = None
    command: OptList = None
    cwd: OptStr = None
    pid: OptInt = None
    host: OptStr = None
    versions: OptDict = None
    config_source: OptStr = None  # the config file the run was started from
    trainer: OptStr = None  # "fit" or "graph"
    graph_trainer_skipped: OptStr = None  # why the graph trainer could not take this run
    params: OptInt = None  # trainable parameters of the model
    sweep: OptDict = None  # id, index, point, seed_index of a sweep point
    rerun_of: OptStr = None  # the run folder `nnrun rerun` repeated
    epochs_run: OptInt = None
    stop_reason: OptStr = None
    stopped_epoch: OptInt = None
    best_epoch: OptInt = None  # the epoch early stopping judged best
    batches_per_epoch: OptInt = None
    total_updates: OptInt = None
    graph_calls: OptInt = None  # the graph trainer's tf.function calls
    graph_executor: OptStr = None  # the executor the graph trainer's loop ran on
    traced: OptInt = None  # training loops the graph trainer traced for this run (0: a warm worker's kept loop)
    kept_epoch: OptInt = None  # the epoch whose weights model.keras holds
    split: OptDict = None  # rows per split: train, validation, test, validation_is_test, same_rows, ...
    selected_on_test: Annotated[bool | None, Lenient] = None  # early stopping chose with the test split
    baseline: OptDict = None  # majority_rate and constant_loss per split (nnrun.train.evaluate.baseline)
    hint: OptStr = None  # what to try after a diverged run
    diagnosis: OptDict = None
    internals_verdicts: OptList = None  # nnrun.inspect.verdicts: [] when inspected and nothing found
    error: OptDict = None  # type and message of what failed the run


class MetricsJson(Record):
    """metrics.json: the test metrics and the best/final epoch figures of a finished run."""

    test: OptDict = None
    final: OptDict = None
    kept: OptDict = None  # the kept epoch's row
    best: OptDict = None  # the row of the epoch early stopping judged best
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
    worker_pid: OptInt = None
    peak_rss_mib: OptFloat = None  # the worker's peak resident memory right after the point
    rss_mib: OptFloat = None
    attempts: OptList = None  # earlier tries' run_dir, status and error, when --resume re-ran it
    started: OptStr = None


class SweepJson(Record):
    """sweep.json (see nnrun/sweep/record.py for the layout); fields in the order they are written."""

    id: OptStr = None
    name: OptStr = None
    status: OptStatus = None
    created: OptStr = None
    ended: OptStr = None
    command: OptList = None
    cwd: OptStr = None
    pid: OptInt = None
    host: OptStr = None
    config_source: OptStr = None
    base_dir: OptStr = None  # where relative data paths start
    backend: OptStr = None
    address: OptStr = None
    workers: OptInt = None
    threads_per_worker: OptInt = None
    fail_fast: Annotated[bool | None, Lenient] = None
    grid: OptDict = None
    seeds: OptInt = None
    base_seed: OptInt = None
    learning_rate_sweep: Annotated[bool | None, Lenient] = None
    select: OptDict = None  # the selection asked for (sweep.select, --select)
    points: Annotated[list[SweepPoint] | None, Lenient] = None
    best: OptDict = None
    resumed: OptList = None  # when, by which command and how many points each --resume ran
    selection: OptDict = None  # the criterion the summary used (nnrun.sweep.select)


class LrFindJson(Record):
    """lr_find.json: what `nnrun lr-find` found."""

    suggestion: OptFloat = None
    why_no_suggestion: OptStr = None
    min_loss_learning_rate: OptFloat = None
    steps_run: OptInt = None
    stop_reason: OptStr = None
    # the settings of the search
    name: OptStr = None
    seed: OptInt = None
    optimizer: OptStr = None
    loss: OptStr = None
    batch_size: OptInt = None
    start: OptFloat = None
    end: OptFloat = None
    steps: OptInt = None
    smoothing: OptFloat = None
    diverge_factor: OptFloat = None


M = TypeVar("M", bound=BaseModel)


def written(model: type[M], **fields: Any) -> M:
    """`model(**fields)` for the writer of a record that drops unknown keys when it reads them
    (preprocessing.json, vocabulary.json): a field the model does not declare, a misspelt key,
    is refused here instead of being silently left out of the file."""
    unknown = sorted(set(fields) - set(model.model_fields))
    if unknown:
        raise AttributeError(f"{model.__name__} has no field {', '.join(map(repr, unknown))}")
    return model(**fields)


#: The record class of each JSON file, for code that reads any of them.
RECORDS: dict[str, type[Record]] = {
    RunFolder.RUN: RunJson,
    RunFolder.METRICS: MetricsJson,
    RunFolder.LR_FIND_JSON: LrFindJson,
    SweepFolder.SWEEP: SweepJson,
}
