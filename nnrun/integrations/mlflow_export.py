"""Log run folders into MLflow: each folder becomes one MLflow run.

What goes where:
    params     the flattened config.yaml (`optimizer.learning_rate`, `model.layers.0.units`)
    metrics    every history.csv column per epoch (step = epoch); the test metrics from
               metrics.json as `test_<name>`; `train_seconds` and `epochs_run`
    tags       `nnrun.run_id`, `nnrun.name`, `nnrun.status`, `nnrun.trainer`, `nnrun.run_dir`, ...
    artifacts  the folder's files (config, run.json, history, metrics, plots, model.keras, ...)

Run folders are read with `nnrun.runs.reader` (a "running" run whose process is gone is
exported as crashed). Run folders stay the source of truth; exporting is repeatable. An MLflow run is found again
by its `nnrun.run_id` and `nnrun.name` tags, so a second export skips folders already there.
A run whose export broke half-way (no `nnrun.export: complete` tag) is deleted and redone.

Per-epoch points carry the run's end time as their timestamp (run folders do not record when
each epoch ended); chart them against the step. MLflow is imported inside functions only.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError
from nnrun.runs.layout import Status
from nnrun.runs.reader import RunInfo
from nnrun.signals import StopAtCheckpoints

INSTALL_HINT = "pip install 'nnrun[mlflow]'"
TAG_RUN_ID = "nnrun.run_id"
TAG_NAME = "nnrun.name"
TAG_EXPORT = "nnrun.export"
EXPORT_COMPLETE = "complete"
#: nnrun status -> MLflow run status.
STATUS = {
    Status.COMPLETED: "FINISHED",
    Status.DIVERGED: "FAILED",
    Status.FAILED: "FAILED",
    Status.CRASHED: "FAILED",
    Status.INTERRUPTED: "KILLED",
}
# MLflow's limits on one log_batch call and on a param value.
BATCH_METRICS = 1000
BATCH_PARAMS = 100
MAX_PARAM_VALUE = 6000


@dataclass
class Exported:
    """What happened to one run folder."""

    run_dir: Path
    action: str  # "exported" | "already" | "skipped" | "error"
    mlflow_run_id: str | None = None
    reason: str | None = None


def load_mlflow() -> Any:
    try:
        import mlflow  # noqa: F401
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise NnrunError(f"MLflow is not installed; install it with: {INSTALL_HINT}") from None
    return MlflowClient


# --- turning a run folder into MLflow entities ------------------------------------------------


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_PARAM_VALUE else text[: MAX_PARAM_VALUE - 3] + "..."


def params_of(config: dict[str, Any]) -> dict[str, str]:
    """MLflow params: the config's dotted keys (`model.layers.0.units`, as `--set` spells them),
    values as text; a list of plain values stays one param (`metrics` -> `["accuracy"]`)."""
    from nnrun.runs.reader import flatten

    return {key: _param_value(value) for key, value in flatten(config).items()}


def _millis(stamp: Any) -> int | None:
    if not isinstance(stamp, str):
        return None
    try:
        return int(_dt.datetime.fromisoformat(stamp).timestamp() * 1000)
    except ValueError:
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def final_metrics(test: dict[str, Any], record: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in test.items():
        number = _number(value)
        if number is not None:
            out[f"test_{key}"] = number
    for key in ("train_seconds", "epochs_run", "best_epoch"):
        number = _number(record.get(key))
        if number is not None:
            out[key] = number
    return out


def _tags(run: RunInfo) -> dict[str, str]:
    record = run.record
    tags = {
        TAG_RUN_ID: run.id,
        TAG_NAME: run.name,
        "nnrun.status": run.status,
        "nnrun.run_dir": str(run.dir.resolve()),
    }
    for key in ("trainer", "stop_reason", "seed", "host"):
        if record.get(key) is not None:
            tags[f"nnrun.{key}"] = str(record[key])
    versions = record.get("versions") or {}
    if isinstance(versions, dict) and versions.get("nnrun"):
        tags["nnrun.version"] = str(versions["nnrun"])
    return tags


def quoted(value: str) -> str | None:
    """`value` as a string literal of MLflow's filter language, or None if it cannot be one
    (it holds both quote characters: the caller then filters in Python)."""
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    return None


def history_problem(history: list[dict[str, float]]) -> str | None:
    """Why history.csv cannot be exported (a damaged or binary file), or None."""
    for i, row in enumerate(history):
        epoch = row.get("epoch", math.nan)
        if not math.isfinite(epoch) or epoch != int(epoch) or epoch < 0:
            return f"history.csv line {i + 2} has no epoch number (a damaged or binary file); fix or remove it"
    return None


#: Called as the points of one run are logged: (run folder, points logged, points in all).
Progress = Callable[[Path, int, int], None]


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- the export ------------------------------------------------------------------------------


class Exporter:
    """Exports run folders into one MLflow experiment."""

    def __init__(self, tracking_uri: str, experiment: str) -> None:
        client_class = load_mlflow()
        from mlflow.exceptions import MlflowException

        self.errors: tuple[type[BaseException], ...] = (MlflowException, OSError)
        try:
            self.client = client_class(tracking_uri=tracking_uri)
            found = self.client.get_experiment_by_name(experiment)
            if found is None:
                self.experiment_id = self.client.create_experiment(experiment)
            elif found.lifecycle_stage != "active":
                raise NnrunError(f"the MLflow experiment '{experiment}' is deleted; restore it or pick another name")
            else:
                self.experiment_id = found.experiment_id
        except MlflowException as exc:
            raise NnrunError(f"MLflow at {tracking_uri}: {exc.message}") from None

    def existing(self, run_id: str, name: str) -> list[Any]:
        """The MLflow runs exported from this folder before. The filter is built from quoted
        literals (a name may hold a quote); the tags are checked again here in any case."""
        clauses = [f"tags.`{tag}` = {q}" for tag, q in ((TAG_RUN_ID, quoted(run_id)), (TAG_NAME, quoted(name))) if q]
        found = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string=" and ".join(clauses), max_results=1000, page_token=token
            )
            found.extend(r for r in page if r.data.tags.get(TAG_RUN_ID) == run_id and r.data.tags.get(TAG_NAME) == name)
            token = getattr(page, "token", None)
            if not token or len(clauses) == 2:
                return found

    def export(
        self, run: RunInfo, progress: Progress | None = None, check: Callable[[], None] = lambda: None
    ) -> Exported:
        if run.status == Status.RUNNING:
            return Exported(run.dir, "skipped", reason="still running; export it when it ends")
        problem = history_problem(run.history())
        if problem is not None:
            return Exported(run.dir, "skipped", reason=problem)
        tags = _tags(run)
        for old in self.existing(tags[TAG_RUN_ID], tags[TAG_NAME]):
            if old.data.tags.get(TAG_EXPORT) == EXPORT_COMPLETE:
                return Exported(run.dir, "already", old.info.run_id)
            self.client.delete_run(old.info.run_id)  # a broken earlier export: redo it
        try:
            return self._create(run, tags, progress, check)
        except self.errors as exc:
            message = getattr(exc, "message", None) or str(exc)
            return Exported(run.dir, "error", reason=str(message).splitlines()[0][:300])

    def _create(
        self, run: RunInfo, tags: dict[str, str], progress: Progress | None, check: Callable[[], None]
    ) -> Exported:
        from mlflow.entities import Metric, Param, RunTag

        record, run_dir = run.record, run.dir
        start = _millis(record.get("started"))
        end = _millis(record.get("ended")) or start
        created = self.client.create_run(
            self.experiment_id,
            start_time=start,
            tags=tags,
            run_name=f"{tags[TAG_NAME]} {tags[TAG_RUN_ID]}",
        )
        run_id = created.info.run_id
        try:
            params = [Param(k, v) for k, v in params_of(run.config).items()]
            for chunk in _chunks(params, BATCH_PARAMS):
                self.client.log_batch(run_id, params=chunk)
                check()
            stamp = end or 0
            points: list[Any] = []
            for row in run.history():
                step = int(row["epoch"])
                points.extend(Metric(k, v, stamp, step) for k, v in row.items() if k != "epoch")
            finals = final_metrics(run.test, record)
            points.extend(Metric(k, v, stamp, 0) for k, v in finals.items() if math.isfinite(v))
            done = 0
            for chunk in _chunks(points, BATCH_METRICS):
                self.client.log_batch(run_id, metrics=chunk)
                check()  # a stop signal: delete this half-written run (below) and stop
                done += len(chunk)
                if progress is not None:
                    progress(run_dir, done, len(points))
            for path in sorted(run_dir.iterdir()):
                if path.name.startswith("."):
                    continue
                check()
                if path.is_file():
                    self.client.log_artifact(run_id, str(path))
                elif path.is_dir():
                    self.client.log_artifacts(run_id, str(path), artifact_path=path.name)
            check()
            self.client.log_batch(run_id, tags=[RunTag(TAG_EXPORT, EXPORT_COMPLETE)])
            self.client.set_terminated(run_id, STATUS.get(run.status, "FAILED"), end_time=end)
        except BaseException:
            try:
                self.client.delete_run(run_id)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
            raise
        return Exported(run_dir, "exported", run_id)


def export_runs(
    paths: Iterable[Path], tracking_uri: str, experiment: str, progress: Progress | None = None
) -> Iterator[Exported]:
    """Export every run folder found under `paths`; yields one result per folder as it goes.

    Folders that are not readable runs, or whose history.csv is damaged, come back as
    "skipped" with the reason. A stop signal (Ctrl-C, SIGTERM, a closed terminal) raises
    `Interrupted` after the MLflow run being written is deleted: nothing is left RUNNING.
    """
    from nnrun.runs.reader import Unreadable, iter_runs

    items = list(iter_runs(paths))
    if not any(isinstance(item, RunInfo) for item in items):
        raise NnrunError("no run folders found (a run folder holds a run.json)")
    exporter = Exporter(tracking_uri, experiment)
    with StopAtCheckpoints() as stop:
        for item in items:
            stop.check()
            if isinstance(item, Unreadable):
                yield Exported(item.dir, "skipped", reason=item.reason)
            else:
                yield exporter.export(item, progress, stop.check)
