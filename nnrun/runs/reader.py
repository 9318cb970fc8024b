"""Reading run folders back: tolerant, fast, and never importing TensorFlow.

    from nnrun.runs.reader import iter_runs, read_run, RunInfo, Unreadable

    for item in iter_runs(["runs/"]):          # run folders, sweep folders, folders of them
        if isinstance(item, Unreadable):
            print(item.line())                  # one line: the folder and what is wrong
            continue
        item.status, item.config, item.metrics, item.history()

`read_run(dir)` reads run.json, metrics.json and config.yaml (history.csv only when asked,
or when metrics.json lacks what a caller needs), so thousands of runs read in about a second.
Each JSON file is validated by its record in `nnrun.runs.layout` (a wrong-typed field reads
as None); only regular files are opened (a FIFO never hangs a reader). A missing or corrupt
file makes the run `Unreadable` (or raises `RunUnreadable` from `read_run`), never a
traceback. The status shown is `liveness.current_status`: `crashed` for a "running" run
whose process is gone. Finding folders is `nnrun.runs.walk`; the key language of compare
(`optimizer.learning_rate`, `test.accuracy`) is `nnrun.compare.keys`.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError
from nnrun.runs import liveness
from nnrun.runs.history import read_history
from nnrun.runs.layout import MAX_FILE_BYTES, RunFolder, Status, read_regular
from nnrun.runs.liveness import parse_time
from nnrun.runs.records import MetricsJson, RunJson
from nnrun.runs.walk import Unreadable, find_runs, sweep_of

__all__ = [
    "MAX_FILE_BYTES",
    "RunInfo",
    "RunUnreadable",
    "Unreadable",
    "find_runs",
    "flatten",
    "iter_runs",
    "load_yaml",
    "lowest",
    "parse_time",
    "read_history",
    "read_run",
]

# a YAML anchor or alias: expanded only under the spec loader's budget (an alias bomb)
_YAML_ALIAS = re.compile(r"(^|[\s\[{,:-])[&*][^\s,\]}]", re.MULTILINE)


class RunUnreadable(NnrunError):
    """A folder that is not a readable run (the message says why, in one line)."""


@dataclass
class RunInfo:
    """One run folder, read back.

    Attributes:
        dir: the run folder.
        run_json: run.json, validated (its status may say running for a crashed run).
        metrics_json: metrics.json, validated (empty for runs that never wrote it).
        config: config.yaml (the resolved spec) as plain data; {} if the run died before writing it.
        status: the status to show: run.json's, except `crashed` for a dead "running" run.
        sweep: the sweep folder the run belongs to, if any.
    """

    dir: Path
    run_json: RunJson
    metrics_json: MetricsJson
    config: dict[str, Any]
    status: Status
    sweep: Path | None = None
    _history: list[dict[str, float]] | None = field(default=None, repr=False)

    @cached_property
    def record(self) -> dict[str, Any]:
        """run.json as data, every known field validated (wrong-typed values are None)."""
        return self.run_json.model_dump()

    @cached_property
    def metrics(self) -> dict[str, Any]:
        """metrics.json as data ({} for failed or interrupted runs that never wrote it)."""
        known = MetricsJson.model_fields
        return {k: v for k, v in self.metrics_json.model_dump().items() if v is not None or k not in known}

    @property
    def id(self) -> str:
        return self.run_json.id or self.dir.name

    @property
    def name(self) -> str:
        config_name = self.config.get("name")
        return self.run_json.name or (config_name if isinstance(config_name, str) else None) or self.dir.parent.name

    @property
    def started(self) -> Any:
        return parse_time(self.run_json.started)

    @property
    def duration(self) -> float | None:
        """Wall seconds from start to end (so far, for a run still going)."""
        if self.run_json.duration_seconds is not None:
            return self.run_json.duration_seconds
        started = self.started
        if started is None:
            return None
        if self.status == Status.RUNNING:
            import datetime as _dt

            return round((_dt.datetime.now().astimezone() - started).total_seconds(), 3)
        ended = parse_time(self.run_json.ended)
        return (ended - started).total_seconds() if ended is not None else None

    @property
    def train_seconds(self) -> float | None:
        return self.run_json.train_seconds

    @property
    def epochs(self) -> int | None:
        if self.run_json.epochs_run is not None:
            return self.run_json.epochs_run
        if self.status in (Status.RUNNING, Status.CRASHED):
            return len(self.history())
        return None

    @property
    def test(self) -> dict[str, Any]:
        return self.metrics_json.test or {}

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's row (from metrics.json, else history.csv)."""
        if self.metrics_json.final is not None:
            return self.metrics_json.final
        rows = self.history()
        return {k: v for k, v in rows[-1].items() if k != "epoch"} if rows else {}

    @property
    def best_val_loss(self) -> tuple[int | None, float | None]:
        """(epoch, value) of the lowest validation loss."""
        best = self.metrics_json.best_val_loss or {}
        value, epoch = best.get("val_loss"), best.get("epoch")
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return (epoch if isinstance(epoch, int) else None), float(value)
        return lowest(self.history(), "val_loss")

    @property
    def diagnosis(self) -> dict[str, Any] | None:
        """The fit diagnosis from run.json, or computed from history.csv for runs that lack it.

        Failed, running and crashed runs have none: their status says what matters.
        """
        stored = self.run_json.diagnosis
        if stored and isinstance(stored.get("verdict"), str) and isinstance(stored.get("label"), str):
            return stored
        if self.status not in (Status.COMPLETED, Status.INTERRUPTED, Status.DIVERGED):
            return None
        rows = self.history()
        if not rows and self.status != Status.DIVERGED:
            return None
        from nnrun.diagnose import Facts, diagnose

        return diagnose(rows, self.status, Facts.from_record(self.record)).as_dict()

    @property
    def blew_up(self) -> bool:
        """The run diverged: its loss became NaN/inf (status `diverged`) or exploded while staying
        finite (fit verdict `diverged`). Never a setting to recommend, even when early stopping
        kept the weights of a good epoch from before: a sweep does not choose it as best and
        `compare --sort` by a result ranks it after the runs that did not blow up."""
        return self.status == Status.DIVERGED or (self.diagnosis or {}).get("verdict") == "diverged"

    @property
    def kept_epoch(self) -> int | None:
        """The epoch whose weights the model holds: run.json's `kept_epoch`; for runs that predate
        it, the epoch early stopping restored (`restore_best_weights`), else the last epoch."""
        value = self.run_json.kept_epoch
        if value is not None and value > 0:
            return value
        if self.status not in (Status.COMPLETED, Status.INTERRUPTED):
            return None
        training = self.config.get("training")
        es = training.get("early_stopping") if isinstance(training, dict) else None
        best = self.run_json.best_epoch
        if isinstance(es, dict) and es.get("restore_best_weights", True) and best is not None and best > 0:
            return best
        epochs = self.run_json.epochs_run
        return epochs if epochs is not None and epochs > 0 else None

    @property
    def selected_on_test(self) -> bool:
        """Early stopping chose with the test split (`data.validation: test`). Runs that predate
        the field: read from the config (validation defaulted to test then)."""
        stored = self.run_json.selected_on_test
        if isinstance(stored, bool):
            return stored
        config = self.config if isinstance(self.config, dict) else {}
        data = config.get("data") if isinstance(config.get("data"), dict) else {}
        training = config.get("training") if isinstance(config.get("training"), dict) else {}
        split = self.record.get("split") if isinstance(self.record.get("split"), dict) else {}
        return (
            data.get("validation", "test") == "test"
            and data.get("dataset") not in ("xor", "and", "or")
            and not split.get("same_rows")
            and training.get("early_stopping") is not None
        )

    @property
    def kept(self) -> dict[str, Any]:
        """The kept epoch's row (metrics.json's `kept`, else history.csv); {} if unknown."""
        kept = self.metrics_json.kept
        if kept is not None and kept.get("epoch") == self.kept_epoch:
            return {k: v for k, v in kept.items() if k != "epoch"}
        epoch = self.kept_epoch
        if epoch is None:
            return {}
        if epoch == self.run_json.epochs_run and self.metrics_json.final is not None:
            return self.metrics_json.final
        for row in self.history():
            if row.get("epoch") == epoch:
                return {k: v for k, v in row.items() if k != "epoch"}
        return {}

    @cached_property
    def flat_config(self) -> dict[str, Any]:
        """config.yaml as dotted keys (`optimizer.learning_rate`, `model.layers.0.units`)."""
        return flatten(self.config)

    def history(self) -> list[dict[str, float]]:
        """history.csv as rows of floats (NaN for blanks or garbage); [] if there is none."""
        if self._history is None:
            self._history = read_history(RunFolder(self.dir).history)
        return self._history


def lowest(rows: list[dict[str, float]], key: str) -> tuple[int | None, float | None]:
    best: tuple[int | None, float | None] = (None, None)
    for i, row in enumerate(rows):
        v = row.get(key)
        if v is not None and math.isfinite(v) and (best[1] is None or v < best[1]):
            epoch = row.get("epoch")
            best = (int(epoch) if epoch is not None and math.isfinite(epoch) else i + 1, v)
    return best


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings -> {dotted.key: value}; list items by index (`model.layers.0.units`,
    the same syntax as `--set`); a list of plain values, and an empty mapping (e.g.
    `early_stopping: {}`, all defaults), stay one value."""
    out: dict[str, Any] = {}
    if _nested(data):
        _flatten_into(data, prefix, out)
    elif prefix:
        out[prefix] = data
    return out


def _nested(v: Any) -> bool:
    if isinstance(v, dict):
        return bool(v)
    return isinstance(v, list) and any(isinstance(x, dict | list) for x in v)


def _flatten_into(data: Any, prefix: str, out: dict[str, Any]) -> None:
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for k, v in items:
        key = f"{prefix}.{k}" if prefix else str(k)
        if _nested(v):
            _flatten_into(v, key, out)
        else:
            out[key] = v


def _read_bytes(path: Path, required: bool) -> bytes | None:
    try:
        return read_regular(path)
    except FileNotFoundError:
        if required:
            raise RunUnreadable(f"{path.name} is missing") from None
        return None
    except OSError as exc:
        raise RunUnreadable(f"cannot read {path.name}: {exc.strerror}") from None


def _read_json(path: Path, required: bool) -> dict[str, Any] | None:
    text = _read_bytes(path, required)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise RunUnreadable(f"{path.name} is not valid JSON{where}; the file is truncated or corrupt") from None
    except RecursionError:
        raise RunUnreadable(f"{path.name} is nested too deeply") from None
    if not isinstance(data, dict):
        raise RunUnreadable(f"{path.name} does not hold a JSON object")
    return data


def _read_yaml(path: Path) -> dict[str, Any] | None:
    import yaml

    raw = _read_bytes(path, required=False)
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RunUnreadable(f"{path.name} is not UTF-8 text") from None
    try:
        if _YAML_ALIAS.search(text):
            # anchors/aliases: nnrun never writes them; expand under the spec loader's budget
            from nnrun.errors import SpecError
            from nnrun.spec.loader import loads

            try:
                return loads(text, str(path)).data
            except SpecError as exc:
                raise RunUnreadable(f"{path.name}: {exc.problems[0].message}") from None
        data = load_yaml(text)
    except RecursionError:
        raise RunUnreadable(f"{path.name} is nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RunUnreadable(f"{path.name} is not valid YAML{where}") from None
    if data is None:
        return None
    if not isinstance(data, dict):
        raise RunUnreadable(f"{path.name} does not hold a mapping")
    return data


def load_yaml(text: str) -> Any:
    """`yaml.safe_load` with libyaml when it is there. Callers keep anchors/aliases away (they
    would be expanded without a budget) and bound the text's size."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


def read_run(path: str | Path, sweep: Path | None = None) -> RunInfo:
    """Read one run folder (or the folder of a run.json path, as a user may name it); raises
    `RunUnreadable` (an NnrunError) with a one-line reason."""
    run_dir = Path(path)
    if run_dir.name == RunFolder.RUN and run_dir.is_file():
        run_dir = run_dir.parent
    if not run_dir.is_dir():
        raise RunUnreadable(f"{run_dir} is not a folder" if run_dir.exists() else f"{run_dir} does not exist")
    if RunFolder.is_lr_find(run_dir):
        raise RunUnreadable(f"{run_dir} is an lr-find folder, not a run (see its {RunFolder.LR_FIND_PLOT})")
    return _read(run_dir, sweep if sweep is not None else sweep_of(run_dir))


def read_record(run_dir: Path) -> RunJson | None:
    """A run folder's run.json, validated; None if it is missing or unreadable."""
    try:
        data = _read_json(RunFolder(run_dir).run_json, required=False)
    except RunUnreadable:
        return None
    return None if data is None else RunJson.model_validate(data)


def _read(run_dir: Path, sweep: Path | None) -> RunInfo:
    """`read_run` for a folder `find_runs` found (it knows the folder and its sweep)."""
    files = RunFolder(run_dir)
    data = _read_json(files.run_json, required=True)
    assert data is not None
    record = RunJson.model_validate(data)
    status = liveness.current_status(record, run_dir)
    if status is None:
        raise RunUnreadable(f"run.json has no valid status (received {data.get('status')!r})")
    metrics = MetricsJson.model_validate(_read_json(files.metrics, required=False) or {})
    config = _read_yaml(files.config)
    if config is None:
        if record.status != Status.RUNNING:
            raise RunUnreadable("config.yaml is missing or empty")
        config = {}
    return RunInfo(run_dir, record, metrics, config, status, sweep)


def iter_runs(paths: Iterable[str | Path]) -> Iterator[RunInfo | Unreadable]:
    """Every run under `paths`, read; folders that are not readable runs come as `Unreadable`.

    Raises NnrunError at once (before any reading) for a path that does not exist.
    """
    found = find_runs(paths)

    def read_all() -> Iterator[RunInfo | Unreadable]:
        for item in found:
            if isinstance(item, Unreadable):
                yield item
                continue
            run_dir, sweep = item
            try:
                yield _read(run_dir, sweep)
            except RunUnreadable as exc:
                yield Unreadable(run_dir, str(exc))

    return read_all()
