"""Log run folders into MLflow: each folder becomes one MLflow run.

What goes where:
    params     the flattened config.yaml (`optimizer.learning_rate`, `model.layers.0.units`)
    metrics    every history.csv column per epoch (step = epoch); the test metrics from
               metrics.json as `test_<name>`; `train_seconds` and `epochs_run`
    tags       `nnrun.run_id`, `nnrun.name`, `nnrun.status`, `nnrun.trainer`, `nnrun.run_dir`, ...
    artifacts  the folder's files (config, run.json, history, metrics, plots, model.keras, ...)

Run folders stay the source of truth; exporting is repeatable. An MLflow run is found again
by its `nnrun.run_id` and `nnrun.name` tags, so a second export skips folders already there.
A run whose export broke half-way (no `nnrun.export: complete` tag) is deleted and redone.

Per-epoch points carry the run's end time as their timestamp (run folders do not record when
each epoch ended); chart them against the step. MLflow is imported inside functions only.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import socket
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError

INSTALL_HINT = "pip install 'nnrun[mlflow]'"
TAG_RUN_ID = "nnrun.run_id"
TAG_NAME = "nnrun.name"
TAG_EXPORT = "nnrun.export"
EXPORT_COMPLETE = "complete"
#: nnrun status -> MLflow run status.
STATUS = {
    "completed": "FINISHED",
    "diverged": "FAILED",
    "failed": "FAILED",
    "crashed": "FAILED",
    "interrupted": "KILLED",
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


# --- reading run folders (a minimal local reader: only what the export needs) ---------------


def find_run_dirs(paths: Iterable[Path]) -> list[Path]:
    """Run folders (folders with a run.json) at or below each path, in order, without repeats."""
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        path = Path(path)
        if not path.exists():
            raise NnrunError(f"no such file or folder: {path}")
        if not path.is_dir():
            raise NnrunError(f"{path} is not a folder; pass run folders or folders that hold them (e.g. runs/)")
        candidates = [path] if (path / "run.json").is_file() else sorted(p.parent for p in path.rglob("run.json"))
        for run_dir in candidates:
            key = run_dir.resolve()
            if key not in seen:
                seen.add(key)
                found.append(run_dir)
    return found


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise NnrunError(f"cannot read {path}: {exc}") from None


def effective_status(record: dict[str, Any]) -> str:
    """run.json's status, with a "running" run whose process is gone reported as crashed."""
    status = str(record.get("status") or "unknown")
    if status != "running" or record.get("host") != socket.gethostname():
        return status
    pid = record.get("pid")
    if not isinstance(pid, int):
        return status
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "crashed"
    except PermissionError:
        pass
    return status


def read_history(path: Path) -> list[dict[str, float]]:
    if not path.is_file():
        return []
    rows: list[dict[str, float]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for raw in csv.DictReader(fh):
            row: dict[str, float] = {}
            for key, value in raw.items():
                try:
                    row[key] = float(value)
                except (TypeError, ValueError):
                    continue
            if "epoch" in row:
                rows.append(row)
    return rows


# --- turning a run folder into MLflow entities ------------------------------------------------


def _param_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= MAX_PARAM_VALUE else text[: MAX_PARAM_VALUE - 3] + "..."


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Dotted keys for a nested config; list items by index (`model.layers.0.units`).

    Lists of plain values stay one param (`metrics` -> `["accuracy"]`).
    """
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from flatten(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
        for i, inner in enumerate(value):
            yield from flatten(inner, f"{prefix}.{i}" if prefix else str(i))
    elif prefix:
        yield prefix, _param_value(value)


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


def final_metrics(metrics: dict[str, Any] | None, record: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in ((metrics or {}).get("test") or {}).items():
        number = _number(value)
        if number is not None:
            out[f"test_{key}"] = number
    for key in ("train_seconds", "epochs_run", "best_epoch"):
        number = _number(record.get(key))
        if number is not None:
            out[key] = number
    return out


def _tags(run_dir: Path, record: dict[str, Any], status: str) -> dict[str, str]:
    tags = {
        TAG_RUN_ID: str(record.get("id") or run_dir.name),
        TAG_NAME: str(record.get("name") or run_dir.parent.name),
        "nnrun.status": status,
        "nnrun.run_dir": str(run_dir.resolve()),
    }
    for key in ("trainer", "stop_reason", "seed", "host"):
        if record.get(key) is not None:
            tags[f"nnrun.{key}"] = str(record[key])
    versions = record.get("versions") or {}
    if isinstance(versions, dict) and versions.get("nnrun"):
        tags["nnrun.version"] = str(versions["nnrun"])
    return tags


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
        query = f"tags.`{TAG_RUN_ID}` = '{run_id}' and tags.`{TAG_NAME}` = '{name}'"
        return list(self.client.search_runs([self.experiment_id], filter_string=query, max_results=100))

    def export(self, run_dir: Path) -> Exported:
        record = read_json(run_dir / "run.json")
        if not isinstance(record, dict):
            return Exported(run_dir, "error", reason="run.json is not a JSON object")
        status = effective_status(record)
        if status == "running":
            return Exported(run_dir, "skipped", reason="still running; export it when it ends")
        tags = _tags(run_dir, record, status)
        for old in self.existing(tags[TAG_RUN_ID], tags[TAG_NAME]):
            if old.data.tags.get(TAG_EXPORT) == EXPORT_COMPLETE:
                return Exported(run_dir, "already", old.info.run_id)
            self.client.delete_run(old.info.run_id)  # a broken earlier export: redo it
        try:
            return self._create(run_dir, record, status, tags)
        except self.errors as exc:
            message = getattr(exc, "message", None) or str(exc)
            return Exported(run_dir, "error", reason=str(message).splitlines()[0][:300])

    def _create(self, run_dir: Path, record: dict[str, Any], status: str, tags: dict[str, str]) -> Exported:
        import yaml
        from mlflow.entities import Metric, Param, RunTag

        start = _millis(record.get("started"))
        end = _millis(record.get("ended")) or start
        run = self.client.create_run(
            self.experiment_id,
            start_time=start,
            tags=tags,
            run_name=f"{tags[TAG_NAME]} {tags[TAG_RUN_ID]}",
        )
        run_id = run.info.run_id
        try:
            config_path = run_dir / "config.yaml"
            config = yaml.safe_load(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
            params = [Param(k, v) for k, v in flatten(config or {})]
            for chunk in _chunks(params, BATCH_PARAMS):
                self.client.log_batch(run_id, params=chunk)
            stamp = end or 0
            points: list[Any] = []
            for row in read_history(run_dir / "history.csv"):
                step = int(row["epoch"])
                points.extend(Metric(k, v, stamp, step) for k, v in row.items() if k != "epoch")
            finals = final_metrics(read_json(run_dir / "metrics.json"), record)
            points.extend(Metric(k, v, stamp, 0) for k, v in finals.items() if math.isfinite(v))
            for chunk in _chunks(points, BATCH_METRICS):
                self.client.log_batch(run_id, metrics=chunk)
            for path in sorted(run_dir.iterdir()):
                if path.name.startswith("."):
                    continue
                if path.is_file():
                    self.client.log_artifact(run_id, str(path))
                elif path.is_dir():
                    self.client.log_artifacts(run_id, str(path), artifact_path=path.name)
            self.client.log_batch(run_id, tags=[RunTag(TAG_EXPORT, EXPORT_COMPLETE)])
            self.client.set_terminated(run_id, STATUS.get(status, "FAILED"), end_time=end)
        except BaseException:
            try:
                self.client.delete_run(run_id)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
            raise
        return Exported(run_dir, "exported", run_id)


def export_runs(paths: Iterable[Path], tracking_uri: str, experiment: str) -> Iterator[Exported]:
    """Export every run folder found under `paths`; yields one result per folder as it goes."""
    run_dirs = find_run_dirs(paths)
    if not run_dirs:
        raise NnrunError("no run folders found (a run folder holds a run.json)")
    exporter = Exporter(tracking_uri, experiment)
    for run_dir in run_dirs:
        yield exporter.export(run_dir)
