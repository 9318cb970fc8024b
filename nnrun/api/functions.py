"""nnrun's Python API: `train`, `sweep`, `load`, `runs` and `validate`.

    import nnrun
    run = nnrun.train("configs/xor.yaml", overrides={"optimizer.learning_rate": 0.1})
    run.history, run.metrics, run.diagnosis, run.plot(), run.predict(frame)
    table = nnrun.runs("runs")                      # the rows of `nnrun compare`

`nnrun train` and `nnrun sweep` go through the same functions (`train_prepared` below;
`nnrun.sweep.start.new_from`, `nnrun.sweep.runner.run`, the summary), so a run made from
Python is the same run folder as one made from the shell with the same config and seed. This module imports
nothing heavy: TensorFlow loads once, in the first call that trains, and stays loaded for
the calls that follow (a notebook pays its start-up once).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnrun.errors import NnrunError, TrainingInterrupted

if TYPE_CHECKING:
    from nnrun.api.config import Config, Overrides
    from nnrun.api.run import Run
    from nnrun.api.sweeps import Sweep
    from nnrun.experiment import Outcome, Prepared
    from nnrun.spec import Spec
    from nnrun.train.base import Row


# ------------------------------------------------------------------------------------ train


def train_prepared(
    prepared: Prepared,
    out: str | Path,
    command: list[str],
    on_rows: Callable[[list[Row]], None] | None = None,
    on_start: Callable[[Path, str], None] | None = None,
    record_extra: dict[str, Any] | None = None,
) -> Outcome:
    """Train a prepared experiment into a new run folder under `out`: what `nnrun train` and
    `nnrun rerun` run (through `nnrun.cli.running`) and `nnrun.train` calls.

    Raises `nnrun.signals.Interrupted` for a stop signal before the folder exists; after that
    the run always ends with a final status (see `nnrun.experiment.execute`).
    """
    from nnrun.runs.folder import ensure_writable

    root = Path(out).expanduser().resolve()  # the root every file of the run goes under, fixed once
    ensure_writable(root)  # before the seconds TensorFlow takes to load
    from nnrun.experiment import execute

    return execute(prepared, root, command=command, on_rows=on_rows, on_start=on_start, record_extra=record_extra)


def _call(name: str, config: Any, overrides: Any) -> list[str]:
    """What run.json records as the command of a run made from Python."""
    shown = str(config) if isinstance(config, str | Path) else f"<{type(config).__name__}>"
    return [f"nnrun.{name}", shown, *([f"overrides={dict(overrides)!r}"] if isinstance(overrides, Mapping) else [])]


def train(config: Config, overrides: Overrides = None, out: str | Path = "runs", quiet: bool = True) -> Run:
    """Train once and return the run, as `nnrun train CONFIG --set ... --out OUT` does.

    Args:
        config: a YAML file's path, a dict with the same keys, or a `Spec`.
        overrides: dotted keys to change, `{"optimizer.learning_rate": 0.1}`, or `--set`
            strings `["optimizer.learning_rate=0.1"]`.
        out: the root folder for run folders.
        quiet: False prints the data notes, the run folder and a one-line result.

    Raises:
        SpecError: the config (or its data) is not valid; the message is the CLI's.
        TrainingInterrupted: Ctrl-C stopped training; the run is kept as interrupted and is
            the exception's `result`.
    """
    from nnrun.api.config import prepare
    from nnrun.api.run import Run
    from nnrun.experiment import release_session

    prepared = prepare(config, overrides)
    release_session(collect=False)  # as in a fresh process: no layer names, graphs or steps of earlier runs
    if not quiet:
        for note in prepared.data.notes:
            print(f"note: {note}", file=sys.stderr)

    def started(run_dir: Path, trainer: str) -> None:
        if not quiet:
            print(f"training {prepared.spec.name} ({trainer} trainer) -> {run_dir}", file=sys.stderr)

    outcome = train_prepared(prepared, out, _call("train", config, overrides), on_start=started)
    run = Run(outcome.run_dir)
    if not quiet:
        print(run.headline())
    if outcome.status == "interrupted":
        raise TrainingInterrupted(
            f"training stopped after {run.record.get('epochs_run') or 0} epochs; the run is kept as "
            f"interrupted in {run.dir} (exception.result is the Run)",
            run,
        )
    return run


# ------------------------------------------------------------------------------------ sweep


def sweep(
    config: Config,
    grid: Mapping[str, Sequence[Any]] | Sequence[str] | None = None,
    lr: Sequence[float] | str | None = None,
    seeds: int | None = None,
    workers: int | None = None,
    out: str | Path = "runs",
    overrides: Overrides = None,
    select: str | None = None,
    fail_fast: bool = False,
) -> Sweep:
    """Train every point of a grid in parallel worker processes, as `nnrun sweep` does.

    Args:
        config: a YAML file's path, a dict or a `Spec`; its `sweep:` section counts.
        grid: `{"training.batch_size": [8, 32, 128]}` (keys combine as a product), or
            `--grid` strings `["training.batch_size=8,32,128"]`.
        lr: learning rates, `[1e-3, 1e-2, 1e-1]` or `"1e-4:1:9"` (log-spaced).
        seeds: run every point with this many seeds (default: the config's, else 1).
        workers: points trained at once in worker processes (default: one per core); 0 trains
            them one after another in this process, where TensorFlow is loaded already
            (quickest for a small grid in a notebook).
        out: the root folder for sweep folders.
        overrides: as for `train`, applied to the config before the grid.
        select: how to pick the best point, `METRIC[:min|max]` (default: the task's headline
            validation metric).
        fail_fast: stop at the first failed point.

    Raises:
        SpecError / NnrunError: an invalid config, grid or point, before anything trains.
        TrainingInterrupted: Ctrl-C stopped the sweep; `result` is the Sweep (finished
            points kept, the others interrupted; `nnrun sweep --resume` finishes it).
    """
    from nnrun.api.config import load_config, override, yaml_value
    from nnrun.api.sweeps import Sweep
    from nnrun.runs.layout import Status
    from nnrun.sweep import runner, start, summary

    doc, base, path = load_config(config)
    override(doc, overrides)
    if isinstance(grid, Mapping):
        items = [f"{key}={yaml_value(list(values))}" for key, values in grid.items()]
    else:
        items = [grid] if isinstance(grid, str) else list(grid or [])
    lr_text = lr if isinstance(lr, str) or lr is None else ",".join(repr(float(v)) for v in lr)
    inline = workers == 0  # in this process: TensorFlow is loaded already
    started = start.new_from(
        doc,
        base,
        path,
        lr_text,
        items,
        seeds,
        select,
        Path(out).expanduser(),
        _call("sweep", config, overrides),
        start.Execution(None if inline else workers, "inline" if inline else "local", fail_fast=fail_fast),
    )
    job, backend = started.job, started.backend
    try:
        status = runner.run(job, backend, job.record.json.command or [], fail_fast, runner.Reporter())
    finally:
        summary.write(job.record)  # summary.csv/md, the curves, the best point in sweep.json
    result = Sweep(job.dir)
    if status == Status.INTERRUPTED:
        raise TrainingInterrupted(f"the sweep was stopped; finished points are kept in {job.dir}", result)
    return result


# ------------------------------------------------------------------------------- read back


def load(path: str | Path) -> Run | Sweep:
    """A run folder as a `Run`, or a sweep folder (it holds sweep.json) as a `Sweep`."""
    from nnrun.api.run import Run
    from nnrun.api.sweeps import Sweep
    from nnrun.runs.layout import RunFolder, SweepFolder

    folder = Path(path).expanduser()
    if folder.name in (RunFolder.RUN, SweepFolder.SWEEP):
        folder = folder.parent
    if SweepFolder(folder).sweep_json.is_file():
        return Sweep(folder)
    return Run(folder)


def runs(
    paths: str | Path | Sequence[str | Path] = "runs",
    filter: str | Sequence[str] | None = None,  # noqa: A002 - the CLI's --filter
    status: str | Sequence[str] | None = None,
    sort: str | None = None,
    last: int | None = None,
) -> Any:
    """The table `nnrun compare --format json` prints, as a pandas DataFrame: one row per run
    (oldest first unless `sort` is given), the config keys that differ, metrics, the fit
    diagnosis, and the run folder in the `dir` column.

    Args:
        paths: run folders, sweep folders or folders of them.
        filter: `"optimizer.name=adam"`, `"test.accuracy>0.9"`... (all must hold), as `--filter`.
        status: `"completed"` or several (a list, or comma-separated), as `--status`.
        sort: a column to sort by, best first, as `--sort`.
        last: only the N most recently started runs, as `--last`.
    """
    import pandas as pd

    from nnrun.compare import collect
    from nnrun.compare.filters import parse_filters
    from nnrun.compare.formats import records
    from nnrun.compare.table import build_table, select

    where = [paths] if isinstance(paths, str | Path) else list(paths)
    filters = [filter] if isinstance(filter, str) else list(filter or [])
    statuses = [status] if isinstance(status, str) else list(status or [])
    statuses = [s.strip() for v in statuses for s in v.split(",") if s.strip()]
    found, _ = collect([Path(p) for p in where])
    chosen = select(found, statuses=statuses, filters=parse_filters(filters), last=last, sort=sort)
    table = build_table(chosen)
    return pd.DataFrame(records(table), columns=[*table.columns, "dir"])


def validate(config: Config, overrides: Overrides = None) -> Spec:
    """Check a config and the data it names without training, as `nnrun validate` does.

    Returns the validated `Spec`; raises `SpecError` (its message is the CLI's) otherwise.
    """
    from nnrun.api.config import prepare

    return prepare(config, overrides).spec


__all__ = ["NnrunError", "load", "runs", "sweep", "train", "validate"]
