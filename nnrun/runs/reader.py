"""Reading run folders back: tolerant, fast, and never importing TensorFlow.

    from nnrun.runs.reader import iter_runs, read_run, RunInfo, Unreadable

    for item in iter_runs(["runs/"]):          # run folders, sweep folders, folders of them
        if isinstance(item, Unreadable):
            print(item.line())                  # one line: the folder and what is wrong
            continue
        item.status, item.config, item.metrics, item.history()

`read_run(dir)` reads run.json, metrics.json and config.yaml (history.csv only when asked,
or when metrics.json lacks what a caller needs), so thousands of runs read in about a second.
A missing or corrupt file makes the run `Unreadable` (or raises `RunUnreadable` from
`read_run`), never a traceback. A run.json that still says "running" whose process is gone
(same host: the pid is dead or now belongs to a newer process; another host: no file in the
folder changed for `STALE_SECONDS`) reads as `crashed`.
"""

from __future__ import annotations

import csv
import datetime as _dt
import json
import math
import os
import re
import socket
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError
from nnrun.runs import folder

#: A "running" run on another host whose folder has not changed for this long is crashed.
STALE_SECONDS = 3600.0
#: How deep below each given path to look for run folders.
MAX_DEPTH = 6
#: Files larger than this are not a run's JSON/YAML (a hostile or broken folder).
MAX_FILE_BYTES = 5_000_000

RUN_FILE = "run.json"
SWEEP_FILE = "sweep.json"
# a YAML anchor or alias: the fast loader would expand it without a budget
_YAML_ALIAS = re.compile(r"(^|[\s\[{,:-])[&*][^\s,\]}]", re.MULTILINE)


class RunUnreadable(NnrunError):
    """A folder that is not a readable run (the message says why, in one line)."""


@dataclass(frozen=True)
class Unreadable:
    """A folder that was skipped, and why."""

    dir: Path
    reason: str

    def line(self) -> str:
        return f"skipped {self.dir}: {self.reason}"


@dataclass
class RunInfo:
    """One run folder, read back.

    Attributes:
        dir: the run folder.
        record: run.json as written (its "status" may say running for a crashed run).
        config: config.yaml (the resolved spec) as plain data; {} if the run died before writing it.
        metrics: metrics.json ({} for failed or interrupted runs that never wrote it).
        status: the status to show: run.json's, except `crashed` for a dead "running" run.
        sweep: the sweep folder the run belongs to, if any.
    """

    dir: Path
    record: dict[str, Any]
    config: dict[str, Any]
    metrics: dict[str, Any]
    status: str
    sweep: Path | None = None
    _history: list[dict[str, float]] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return str(self.record.get("id") or self.dir.name)

    @property
    def name(self) -> str:
        return str(self.record.get("name") or self.config.get("name") or self.dir.parent.name)

    @property
    def started(self) -> _dt.datetime | None:
        return parse_time(self.record.get("started"))

    @property
    def duration(self) -> float | None:
        """Wall seconds from start to end (so far, for a run still going)."""
        value = self.record.get("duration_seconds")
        if isinstance(value, int | float):
            return float(value)
        started = self.started
        if self.status == folder.RUNNING and started is not None:
            return round((_dt.datetime.now().astimezone() - started).total_seconds(), 3)
        ended = parse_time(self.record.get("ended"))
        if started is not None and ended is not None:
            return (ended - started).total_seconds()
        return None

    @property
    def train_seconds(self) -> float | None:
        value = self.record.get("train_seconds")
        return float(value) if isinstance(value, int | float) else None

    @property
    def epochs(self) -> int | None:
        value = self.record.get("epochs_run")
        if isinstance(value, int):
            return value
        if self.status in (folder.RUNNING, folder.CRASHED):
            return len(self.history())
        return None

    @property
    def test(self) -> dict[str, Any]:
        test = self.metrics.get("test")
        return test if isinstance(test, dict) else {}

    @property
    def final(self) -> dict[str, Any]:
        """The last epoch's row (from metrics.json, else history.csv)."""
        final = self.metrics.get("final")
        if isinstance(final, dict):
            return final
        rows = self.history()
        return {k: v for k, v in rows[-1].items() if k != "epoch"} if rows else {}

    @property
    def best_val_loss(self) -> tuple[int | None, float | None]:
        """(epoch, value) of the lowest validation loss."""
        best = self.metrics.get("best_val_loss")
        if isinstance(best, dict) and isinstance(best.get("val_loss"), int | float):
            return best.get("epoch"), float(best["val_loss"])
        return lowest(self.history(), "val_loss")

    @property
    def diagnosis(self) -> dict[str, Any] | None:
        """The fit diagnosis from run.json, or computed from history.csv for runs that lack it.

        Failed, running and crashed runs have none: their status says what matters.
        """
        stored = self.record.get("diagnosis")
        if isinstance(stored, dict) and stored.get("verdict"):
            return stored
        if self.status not in (folder.COMPLETED, folder.INTERRUPTED, folder.DIVERGED):
            return None
        rows = self.history()
        if not rows and self.status != folder.DIVERGED:
            return None
        from nnrun.diagnose import diagnose

        return diagnose(rows, self.status).as_dict()

    @cached_property
    def flat_config(self) -> dict[str, Any]:
        """config.yaml as dotted keys (`optimizer.learning_rate`, `model.layers.0.units`)."""
        return flatten(self.config)

    def history(self) -> list[dict[str, float]]:
        """history.csv as rows of floats (NaN for blanks or garbage); [] if there is none."""
        if self._history is None:
            self._history = read_history(self.dir / "history.csv")
        return self._history

    def get(self, key: str) -> Any:
        """A value by key: a config key (dotted), `test.<metric>`, `final.<column>`, or a run.json field."""
        return lookup(self, key)


def parse_time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.astimezone()


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


#: Keys `lookup` answers besides config keys, `test.*`, `final.*` and run.json fields.
COMPUTED_KEYS = (
    "run",
    "name",
    "status",
    "started",
    "epochs",
    "val_loss",
    "best_val_loss",
    "best_epoch",
    "train_seconds",
    "duration",
    "diagnosis",
    "verdict",
    "dir",
)


def lookup(run: RunInfo, key: str) -> Any:
    """The value of `key` for a run, or None. See `RunInfo.get`."""
    if key == "run":
        return run.id
    if key == "name":
        return run.name
    if key == "status":
        return run.status
    if key == "started":
        return run.record.get("started")
    if key == "epochs":
        return run.epochs
    if key == "val_loss":
        return _num(run.final.get("val_loss"))
    if key == "best_val_loss":
        return run.best_val_loss[1]
    if key == "best_epoch":
        return run.best_val_loss[0]
    if key == "train_seconds":
        return run.train_seconds
    if key == "duration":
        return run.duration
    if key in ("diagnosis", "verdict"):
        d = run.diagnosis
        return d.get("label" if key == "diagnosis" else "verdict") if d else None
    if key == "dir":
        return str(run.dir)
    head, _, rest = key.partition(".")
    if head == "test" and rest:
        return _num(run.test.get(rest))
    if head == "final" and rest:
        return _num(run.final.get(rest))
    if head == "config" and rest:
        return run.flat_config.get(rest)
    flat = run.flat_config
    if key in flat:
        return flat[key]
    if key in run.record and not isinstance(run.record[key], dict | list):
        return run.record[key]
    return None


def _num(v: Any) -> Any:
    return None if isinstance(v, float) and not math.isfinite(v) else v


def read_history(path: Path) -> list[dict[str, float]]:
    try:
        with path.open(newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.DictReader(fh)
            rows = []
            for raw in reader:
                row: dict[str, float] = {}
                for k, v in raw.items():
                    if k is None:
                        continue
                    try:
                        row[k] = float(v) if v not in (None, "") else math.nan
                    except ValueError:
                        row[k] = math.nan
                rows.append(row)
            return rows
    except (OSError, csv.Error):
        return []


def _read_json(path: Path, required: bool) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RunUnreadable(f"{path.name} is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        text = path.read_bytes()
    except FileNotFoundError:
        if required:
            raise RunUnreadable(f"{path.name} is missing") from None
        return None
    except OSError as exc:
        raise RunUnreadable(f"cannot read {path.name}: {exc.strerror}") from None
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise RunUnreadable(f"{path.name} is not valid JSON{where}; the file is truncated or corrupt") from None
    if not isinstance(data, dict):
        raise RunUnreadable(f"{path.name} does not hold a JSON object")
    return data


def _read_yaml(path: Path) -> dict[str, Any] | None:
    import yaml

    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise RunUnreadable(f"{path.name} is larger than {MAX_FILE_BYTES // 1_000_000} MB")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except UnicodeDecodeError:
        raise RunUnreadable(f"{path.name} is not UTF-8 text") from None
    except OSError as exc:
        raise RunUnreadable(f"cannot read {path.name}: {exc.strerror}") from None
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


_TAGS: dict[tuple[str, Any], str] = {}
_SCALARS: dict[tuple[str, str], Any] = {}
_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def load_yaml(text: str) -> Any:
    """`yaml.safe_load`, about twice as fast on many similar files.

    libyaml parses; the tag of each plain scalar and the value of each non-string scalar
    are memoised (thousands of configs repeat the same keys and values), and nodes become
    Python objects without the generic constructor's bookkeeping. Only safe YAML tags are
    known; anything else raises like `safe_load`. Callers keep anchors/aliases away (they
    would be expanded without a budget).
    """
    import yaml

    try:
        from yaml._yaml import CParser
    except ImportError:  # PyYAML without libyaml
        return yaml.safe_load(text)

    class _Loader(CParser, yaml.resolver.Resolver):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.resolver.Resolver.__init__(self)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is not yaml.ScalarNode:
                return yaml.resolver.Resolver.resolve(self, kind, value, implicit)
            key = (value, implicit[0])
            tag = _TAGS.get(key)
            if tag is None:
                if len(_TAGS) > 100_000:
                    _TAGS.clear()
                tag = _TAGS[key] = yaml.resolver.Resolver.resolve(self, kind, value, implicit)
            return tag

    constructor = yaml.constructor.SafeConstructor()

    def build(node: Any) -> Any:
        if isinstance(node, yaml.ScalarNode):
            if node.tag == _STR_TAG:
                return node.value
            key = (node.tag, node.value)
            try:
                return _SCALARS[key]
            except KeyError:
                if len(_SCALARS) > 100_000:
                    _SCALARS.clear()
                value = _SCALARS[key] = constructor.construct_object(node, deep=True)
                return value
        if node.tag not in (_MAP_TAG, _SEQ_TAG):
            # !!set, !!omap ... as safe_load does; any other tag raises ConstructorError
            return constructor.construct_object(node, deep=True)
        if isinstance(node, yaml.MappingNode):
            if any(k.tag == _MERGE_TAG for k, _ in node.value):
                return constructor.construct_object(node, deep=True)
            out = {}
            for k, v in node.value:
                key = build(k)
                if isinstance(key, list | dict):
                    raise yaml.constructor.ConstructorError(None, None, "a mapping key is not hashable", k.start_mark)
                out[key] = build(v)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(v) for v in node.value]
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", None)

    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    return None if node is None else build(node)


def read_run(path: str | Path, sweep: Path | None = None) -> RunInfo:
    """Read one run folder; raises `RunUnreadable` (an NnrunError) with a one-line reason."""
    run_dir = Path(path)
    if not run_dir.is_dir():
        raise RunUnreadable(f"{run_dir} is not a folder" if run_dir.exists() else f"{run_dir} does not exist")
    if sweep is None and (run_dir.parent / SWEEP_FILE).is_file():
        sweep = run_dir.parent
    return _read(run_dir, sweep)


def _read(run_dir: Path, sweep: Path | None) -> RunInfo:
    """`read_run` for a folder `find_runs` found (it knows the folder and its sweep)."""
    record = _read_json(run_dir / RUN_FILE, required=True)
    assert record is not None
    status = record.get("status")
    if status not in folder.STATUSES:
        raise RunUnreadable(f"run.json has no valid status (received {status!r})")
    metrics = _read_json(run_dir / "metrics.json", required=False) or {}
    config = _read_yaml(run_dir / "config.yaml")
    if config is None:
        if status != folder.RUNNING:
            raise RunUnreadable("config.yaml is missing or empty")
        config = {}
    if status == folder.RUNNING and not is_alive(record, run_dir):
        status = folder.CRASHED
    return RunInfo(run_dir, record, config, metrics, status, sweep)


def is_alive(record: dict[str, Any], run_dir: Path) -> bool:
    """Whether the process that wrote a "running" run.json still runs it."""
    pid, host = record.get("pid"), record.get("host")
    if host != socket.gethostname() or not isinstance(pid, int) or pid <= 0:
        newest = 0.0
        for name in (RUN_FILE, "history.csv"):
            try:
                newest = max(newest, (run_dir / name).stat().st_mtime)
            except OSError:
                pass
        return time.time() - newest < STALE_SECONDS
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    except OSError:
        return False
    started = parse_time(record.get("started"))
    began = _process_start(pid)
    # a process that began after the run started is a later process that reuses the pid
    return not (started is not None and began is not None and began > started.timestamp() + 2)


def _process_start(pid: int) -> float | None:
    """When `pid` started (Unix time), from /proc; None where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        ticks = int(stat.rsplit(")", 1)[1].split()[19])
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None
    return None


def find_runs(paths: Iterable[str | Path]) -> Iterator[tuple[Path, Path | None] | Unreadable]:
    """Run folders under `paths` as (run folder, sweep folder or None), plus skipped folders.

    A path may be a run folder, a sweep folder, or any folder holding them (nested up to
    `MAX_DEPTH` levels); hidden folders are not searched. A leaf folder with no run.json is
    reported as `Unreadable`. Raises NnrunError for a path that does not exist.
    """
    roots = [Path(p) for p in paths]
    for root in roots:
        if not root.exists():
            raise NnrunError(f"{root} does not exist")
        if not root.is_dir() and root.name != RUN_FILE:
            raise NnrunError(f"{root} is not a folder (expected a run folder, a sweep folder or a folder of runs)")
    return _find(roots)


def _find(roots: list[Path]) -> Iterator[tuple[Path, Path | None] | Unreadable]:
    seen: set[str] = set()  # folders searched (real paths of roots and symlinks) and runs found
    for root in roots:
        if root.name == RUN_FILE and root.is_file():
            root = root.parent
        real = os.path.realpath(root)
        if real in seen:
            continue
        if (root / RUN_FILE).is_file():
            seen.add(real)
            sweep = root.parent if (root.parent / SWEEP_FILE).is_file() else None
            yield (root, sweep)
            continue
        yield from _walk(root, real, None, 0, seen, top=True)


def _walk(path: Path, real: str, sweep: Path | None, depth: int, seen: set[str], top: bool) -> Iterator[Any]:
    # Speed matters with thousands of runs: one listing per folder that is *not* a run, one
    # stat per run folder, real paths only for roots and symlinks (loops need a symlink).
    seen.add(real)
    try:
        with os.scandir(path) as it:
            entries = list(it)
    except OSError as exc:
        yield Unreadable(path, f"cannot list the folder: {exc.strerror}")
        return
    if any(e.name == SWEEP_FILE for e in entries):
        sweep = path
    subdirs = []
    for e in entries:
        if e.name.startswith((".", "__")):
            continue
        try:
            if e.is_dir():
                subdirs.append(e)
        except OSError:
            continue
    if not subdirs:
        yield Unreadable(path, "no run folders here" if top else "not a run folder (no run.json)")
        return
    for e in sorted(subdirs, key=lambda e: e.name):
        sub_real = os.path.realpath(e.path) if e.is_symlink() else os.path.join(real, e.name)
        if sub_real in seen:
            continue
        if os.path.isfile(os.path.join(e.path, RUN_FILE)):
            seen.add(sub_real)
            yield (Path(e.path), sweep)
        elif depth + 1 <= MAX_DEPTH:
            yield from _walk(Path(e.path), sub_real, sweep, depth + 1, seen, top=False)


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
