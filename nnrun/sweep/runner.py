"""Run a sweep: the Tuner's role. Check every point, create the sweep folder, hand points to a
backend, record each outcome in sweep.json as it arrives, stop on Ctrl-C or --fail-fast,
resume, and write the summary at the end.

A failed point is recorded and the sweep goes on (unless --fail-fast); a `Fatal` error (the
workers cannot start) stops everything. The runner never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.errors import NnrunError, SpecError
from nnrun.runs import folder
from nnrun.runs.files import atomic_write_yaml
from nnrun.runs.layout import FINISHED, RunFolder, Status, SweepFolder, read_regular
from nnrun.runs.records import RunJson, SweepJson, SweepPoint
from nnrun.signals import SweepSignals
from nnrun.spec.loader import Document
from nnrun.sweep.backend import Backend
from nnrun.sweep.expand import Plan, Point, expand_grid
from nnrun.sweep.record import SweepRecord
from nnrun.sweep.worker import Task

#: How often (seconds) a stopping sweep repeats its request to running points.
RESEND_SECONDS = 0.5
POLL_SECONDS = 0.2


@dataclass
class Reporter:
    """What the runner tells the display; every callback is optional."""

    started: Callable[[SweepPoint], None] = lambda point: None
    finished: Callable[[SweepPoint], None] = lambda point: None
    note: Callable[[str], None] = lambda text: None


@dataclass
class Sweep:
    record: SweepRecord
    plan: Plan
    base_dir: Path
    to_run: list[int] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return self.record.dir


def now() -> str:
    return folder.now().isoformat(timespec="seconds")


def check_data(plan: Plan, base_dir: Path) -> None:
    """The checks `nnrun train` makes after loading the data, for every point, before anything trains.

    The data are loaded once per distinct `data:` section (points that vary other keys share it).
    """
    from nnrun.data import Dataset
    from nnrun.experiment import prepare_loaded
    from nnrun.spec.checks import DataFacts, static_facts
    from nnrun.spec.parse import semantic_problems

    facts: dict[str, DataFacts] = {}
    for point in plan.points:
        key = json.dumps(point.spec.data.model_dump(mode="json"), sort_keys=True, default=str)
        if key not in facts:
            data: Dataset = prepare_loaded(point.spec, point.doc, base_dir).data
            facts[key] = DataFacts(data.task, data.input_shape, data.n_classes, data.n_outputs)
            continue
        if static_facts(point.spec) is None:
            problems = semantic_problems(point.spec, facts[key], point.doc)
            if problems:
                raise SpecError(problems, point.doc.source)


def _point_entry(point: Point) -> SweepPoint:
    return SweepPoint.new(
        index=point.index,
        values=point.values,
        label=point.label,
        seed=point.seed,
        seed_index=point.seed_index,
        status=Status.PENDING,
        run_dir=None,
        error=None,
        epochs_run=None,
        train_seconds=None,
        worker_pid=None,
        peak_rss_mib=None,
        rss_mib=None,
        attempts=[],
    )


def create(
    plan: Plan,
    doc: Document,
    config_path: Path | None,
    out_root: Path,
    command: list[str],
    backend: str,
    workers: int,
    threads: int,
    address: str | None,
    fail_fast: bool,
    base_dir: Path | None = None,
) -> Sweep:
    """Make `<out>/<name>/sweep-<timestamp>-<hex>/` with base.yaml and sweep.json (every point pending).

    Relative data paths start from `base_dir`, by default the config file's folder (a config
    given from Python as a dict has no file: `config_path` None and `base_dir` given).
    """
    folder.ensure_writable(out_root)
    base_spec_name = plan.name
    if base_dir is None:
        if config_path is None:
            raise ValueError("create: give config_path or base_dir")
        base_dir = config_path.resolve().parent
    sweep_dir = folder.create_run_dir(out_root, base_spec_name, prefix="sweep-")
    atomic_write_yaml(sweep_dir / SweepFolder.BASE, {k: v for k, v in doc.data.items() if k != "sweep"})
    data = SweepJson.new(
        id=sweep_dir.name,
        name=base_spec_name,
        status=Status.RUNNING,
        created=now(),
        ended=None,
        command=command,
        cwd=os.getcwd(),
        pid=os.getpid(),
        host=socket.gethostname(),
        config_source=str(config_path) if config_path is not None else None,
        base_dir=str(base_dir),
        backend=backend,
        address=address,
        workers=workers,
        threads_per_worker=threads,
        fail_fast=fail_fast,
        grid=plan.grid,
        seeds=plan.seeds,
        base_seed=plan.base_seed,
        learning_rate_sweep=plan.lr_sweep,
        select=plan.select,
        points=[_point_entry(p) for p in plan.points],
        best=None,
        resumed=[],
    )
    record = SweepRecord(sweep_dir, data)
    record.save()
    return Sweep(record, plan, base_dir, [p.index for p in plan.points])


def _run_status(run_dir: Path | None) -> tuple[Status | None, RunJson]:
    """A point folder's run.json status (None if there is no readable run.json) and the record."""
    if run_dir is None:
        return None, RunJson()
    try:
        data = json.loads(read_regular(RunFolder(run_dir).run_json))
    except (OSError, ValueError):
        return None, RunJson()
    run = RunJson.model_validate(data) if isinstance(data, dict) else RunJson()
    return run.status, run


def open_for_resume(sweep_dir: Path, command: list[str]) -> Sweep:
    """Read a sweep folder back and work out which points must run again.

    Completed and diverged points are kept. A point whose worker finished after the sweep
    process died is adopted from its run.json. Every other point (failed, interrupted,
    crashed, never started) runs again; its old folder is removed and the attempt is
    remembered in sweep.json.
    """
    from nnrun.spec.loader import load

    record = SweepRecord.load(sweep_dir)
    pid = record.still_running()
    if pid is not None:
        raise NnrunError(f"--resume: this sweep is still running (pid {pid}); stop it first (Ctrl-C)")
    doc = load(sweep_dir / SweepFolder.BASE)
    plan = expand_grid(doc, record.json.grid or {}, record.json.seeds or 1)
    planned = [(p.values, p.seed) for p in plan.points]
    recorded = [(p.values, p.seed) for p in record.points]
    if planned != recorded:
        raise NnrunError(f"--resume: {sweep_dir}/{SweepFolder.BASE} and sweep.json do not describe the same points")
    base_dir = Path(record.json.base_dir or sweep_dir)
    to_run = []
    # SweepRecord.load checked that every point's index is its place in the list
    for index in range(len(record.points)):
        # before anything is removed: every folder to remove must be one this sweep made
        status, _ = _run_status(record.run_dir(index))
        if status not in FINISHED:
            record.removable_run_dir(index)
    for index, point in enumerate(record.points):
        run_dir = record.run_dir(index)
        status, run = _run_status(run_dir)
        if status in FINISHED:
            if point.status != status:
                point.set(status=status, error=None, epochs_run=run.epochs_run, train_seconds=run.train_seconds)
            continue
        old = record.removable_run_dir(index)
        if old is not None:
            attempt = {"run_dir": point.run_dir, "status": _derived(status, point.status), "error": point.error}
            point.set(attempts=[*(point.attempts or []), attempt])
            shutil.rmtree(old, ignore_errors=True)
        point.set(status=Status.PENDING, run_dir=None, error=None, epochs_run=None, train_seconds=None)
        to_run.append(index)
    record.json.set(
        status=Status.RUNNING,
        pid=os.getpid(),
        host=socket.gethostname(),
        ended=None,
        resumed=[*(record.json.resumed or []), {"at": now(), "command": command, "points": len(to_run)}],
    )
    record.save()
    return Sweep(record, plan, base_dir, to_run)


def _derived(run_status: str | None, point_status: str | None) -> str | None:
    if run_status == Status.RUNNING:
        return Status.CRASHED
    return run_status or point_status


def _point_dir(sweep: Sweep, index: int) -> Path:
    import secrets

    stamp = folder.now().strftime("%Y%m%d-%H%M%S")
    return sweep.dir / SweepFolder.point_name(index, len(sweep.record.points), stamp, secrets.token_hex(3))


def _task(sweep: Sweep, point: Point, run_dir: Path, command: list[str]) -> Task:
    return Task(
        index=point.index,
        doc=point.doc,
        base=str(sweep.base_dir),
        config_path=sweep.record.json.config_source,
        run_dir=str(run_dir),
        command=command,
        record_extra={
            "sweep": {
                "id": sweep.record.json.id,
                "index": point.index,
                "point": point.values,
                "seed_index": point.seed_index,
            }
        },
    )


def _settle(record: SweepRecord, index: int, result: dict[str, Any], save: bool = True) -> SweepPoint:
    """Record a finished point; make its run.json agree (a killed worker leaves it "running").

    `save=False` leaves writing sweep.json to the caller: settling thousands of points at a
    stop is one write, not one (multi-megabyte, fsynced) write per point.
    """
    run_dir = record.run_dir(index)
    status = result.get("status") or Status.FAILED
    error = result.get("error")
    run_status, run = _run_status(run_dir)
    if run_status == Status.RUNNING and run_dir is not None:
        rr = folder.RunRecord(run_dir, run)
        fields: dict[str, Any] = {"error": {"type": "WorkerDied", "message": error}} if error else {}
        rr.finish(status if status != Status.COMPLETED else Status.FAILED, **fields)
        run_status = rr.json.status
    if run_status is not None:
        status = run_status  # the run folder is the truth (e.g. a point that ended before the cancel)
        if status in FINISHED:
            error = None
    elif run_dir is not None:
        if run_dir.is_dir() and not any(run_dir.iterdir()):
            run_dir.rmdir()
        if not run_dir.exists():
            record.points[index].set(run_dir=None)
    record.points[index].set(
        status=status,
        error=error,
        epochs_run=result.get("epochs_run", run.epochs_run),
        train_seconds=result.get("train_seconds", run.train_seconds),
        worker_pid=result.get("pid"),
        peak_rss_mib=result.get("peak_rss_mib"),
        rss_mib=result.get("rss_mib"),
    )
    if save:
        record.save()
    return record.points[index]


#: A grid with more points than this gets a warning, and an estimate once the first points finish.
LARGE_GRID = 300


class _Pace:
    """Warns before a large grid starts, and says how long it will take at the measured rate."""

    def __init__(self, total: int, reporter: Reporter) -> None:
        self.total = total
        self.reporter = reporter
        self.start = time.monotonic()
        self.done = 0
        self.told = total <= LARGE_GRID
        if not self.told:
            reporter.note(
                f"warning: {total} points to train, one model each; an estimate of the time follows once "
                "a few have finished (Ctrl-C stops the sweep cleanly; --resume continues it)"
            )

    def finished(self, left: int) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        if self.told or (self.done < 5 and elapsed < 30):
            return
        self.told = True
        rate = elapsed / self.done
        self.reporter.note(
            f"{self.done} of {self.total} points took {elapsed:.0f} s: the other {left} will take about "
            f"{_duration(rate * left)} at this rate"
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _load_drawing_code() -> threading.Thread:
    """Load matplotlib and the summary's drawing code (`summary.warm_up`) in a background
    thread, started while the backend starts (the local backend waits there for its fork server
    to finish loading TensorFlow, this process idle): the summary's pictures need them once the
    last point is done, when nothing else is left to run beside them, and loading them then
    (about 0.35 s of CPU) would lengthen the sweep by as much. A warm-up that fails only means
    the summary pays for it itself."""

    def load() -> None:
        try:
            import nnrun.canvas  # noqa: F401 - matplotlib's Agg canvas and font list
            import nnrun.ticks  # noqa: F401
            from nnrun.sweep import summary

            summary.warm_up()
        except Exception:  # noqa: BLE001, S110 - the pictures are drawn anyway, only slower
            pass

    thread = threading.Thread(target=load, name="nnrun-load-drawing", daemon=True)
    thread.start()
    return thread


def run(sweep: Sweep, backend: Backend, command: list[str], fail_fast: bool, reporter: Reporter) -> str:
    """Train every point in `sweep.to_run` on `backend`; returns the sweep's final status."""
    record = sweep.record
    points = {p.index: p for p in sweep.plan.points}
    pending = deque(sweep.to_run)
    stop: str | None = None
    last_resend = 0.0
    pace = _Pace(len(pending), reporter)
    warming: threading.Thread | None = None
    with SweepSignals() as interrupts:
        try:
            if pending:
                # first: the local backend's start waits for its fork server to load TensorFlow
                warming = _load_drawing_code()
                backend.start(SweepFolder(sweep.dir).logs)
            while True:
                if stop is None and interrupts.count:
                    stop = Status.INTERRUPTED
                    reporter.note("stopping: running points finish their current step; Ctrl-C again to kill them")
                while stop is None and pending and backend.free_slots() > 0:
                    index = pending.popleft()
                    run_dir = _point_dir(sweep, index)
                    record.mark(index, status=Status.RUNNING, run_dir=run_dir.name, started=now())
                    backend.submit(_task(sweep, points[index], run_dir, command))
                if not backend.busy() and (stop is not None or not pending):
                    break
                if stop is not None and interrupts.count >= 2:
                    reporter.note("killing the workers")
                    backend.kill()
                    for index in backend.busy():
                        killed = {"status": Status.INTERRUPTED, "error": "killed by a second Ctrl-C"}
                        _settle(record, index, killed, save=False)
                    record.save()
                    break
                if stop is not None and time.monotonic() - last_resend > RESEND_SECONDS:
                    backend.interrupt()
                    last_resend = time.monotonic()
                for event in backend.poll(POLL_SECONDS):
                    if event.kind == "started":
                        reporter.started(record.point(event.index))
                        continue
                    point = _settle(record, event.index, event.result)
                    reporter.finished(point)
                    pace.finished(len(pending) + len(backend.busy()))
                    if point.status == Status.FAILED and fail_fast and stop is None:
                        stop = Status.STOPPED
                        reporter.note(f"--fail-fast: stopping after the failure of point {event.index}")
        except BaseException:
            stop = stop or Status.FAILED
            backend.kill()
            raise
        finally:
            left = Status.SKIPPED if stop == Status.STOPPED else Status.INTERRUPTED
            never_started = set(pending)
            unfinished = [*pending, *backend.busy()]
            backend.close(wait=bool(unfinished))  # (points to settle: their workers must be gone first)
            for index in unfinished:  # one sweep.json write below for all of them
                if record.point(index).status in (Status.PENDING, Status.RUNNING):
                    result = {"status": left} if index in never_started else {"status": Status.INTERRUPTED}
                    _settle(record, index, result, save=False)
            final = stop or Status.COMPLETED
            record.json.set(status=final, ended=now())
            record.save()
            if warming is not None:  # the summary draws next, never beside the warm-up
                warming.join()
    return final
