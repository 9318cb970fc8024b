"""Starting or resuming a sweep: everything decided before the first point trains.

Which backend (a resumed sweep keeps the one it was started with unless told otherwise), how
many workers (no more than points to run) and how many threads each, and the checks that
must pass before the sweep folder is created or changed. The command line only formats.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from nnrun.spec.loader import Document
from nnrun.sweep import runner
from nnrun.sweep.backend import Backend
from nnrun.sweep.backends import check_backend, make_backend
from nnrun.sweep.worker import thread_budget


@dataclass(frozen=True)
class Execution:
    """How the points are trained: `--workers`, `--backend`, `--address` and `--fail-fast`."""

    workers: int | None = None  # one per core by default, never more than points to run
    backend: str | None = None  # "local" for a new sweep; a resumed one keeps its own
    address: str | None = None
    fail_fast: bool = False


@dataclass
class Started:
    job: runner.Sweep
    backend: Backend
    backend_name: str
    workers: int

    @property
    def to_run(self) -> int:
        return len(self.job.to_run)


def _workers(requested: int | None, n: int) -> tuple[int, int]:
    """Workers (one per core by default, never more than points to run) and threads for each."""
    workers = max(1, min(requested or os.cpu_count() or 1, max(n, 1)))
    return workers, thread_budget(workers)


def new(
    config: Path,
    lr: str | None,
    grid: list[str],
    seeds: int | None,
    select: str | None,
    overrides: list[str],
    out: Path,
    command: list[str],
    how: Execution = Execution(),
) -> Started:
    """Check every point (config and data), then create the sweep folder."""
    from nnrun.spec.loader import load
    from nnrun.spec.parse import apply_overrides

    doc = load(config)
    if overrides:
        apply_overrides(doc, overrides)
    return new_from(doc, config.resolve().parent, config, lr, grid, seeds, select, out, command, how)


def new_from(
    doc: Document,
    base: Path,
    config: Path | None,
    lr: str | None,
    grid: list[str],
    seeds: int | None,
    select: str | None,
    out: Path,
    command: list[str],
    how: Execution = Execution(),
) -> Started:
    """`new` for a loaded config (overrides applied): `base` is where relative data paths
    start, `config` its file if it has one (the Python API also takes a dict)."""
    from nnrun.spec.parse import parse
    from nnrun.sweep.expand import expand

    parse(doc)
    plan = expand(doc, lr, grid, seeds, select)
    name, address = how.backend or "local", how.address
    count, threads = _workers(how.workers, len(plan.points))
    check_backend(name, address)
    backend = make_backend(name, count, threads, address)
    backend.launch()  # the workers' libraries load while the data are checked
    try:
        runner.check_data(plan, base)
        job = runner.create(plan, doc, config, out, command, name, count, threads, address, how.fail_fast, base)
    except BaseException:
        backend.kill()  # the sweep did not begin: nothing is left running for it
        raise
    return Started(job, backend, name, count)


def resume(
    sweep_dir: Path,
    command: list[str],
    how: Execution = Execution(),
) -> Started:
    """Reopen a sweep folder; the backend it was started with unless another is named."""
    from nnrun.sweep.record import SweepRecord

    data = SweepRecord.load(sweep_dir).json
    name = how.backend or data.backend or "local"
    address = how.address if how.address is not None else (data.address if name == "ray" else None)
    check_backend(name, address)  # before resuming changes anything in the folder
    job = runner.open_for_resume(sweep_dir, command)
    count, threads = _workers(how.workers, len(job.to_run))
    job.record.json.set(
        backend=name, address=address, workers=count, threads_per_worker=threads, fail_fast=how.fail_fast
    )
    job.record.save()
    return Started(job, make_backend(name, count, threads, address), name, count)
