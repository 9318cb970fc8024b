"""`nnrun sweep CONFIG --lr ... --grid KEY=V1,V2 ...`: train a grid of points in parallel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import FailFastOpt, OptionalConfigArg, OutOpt, QuietOpt, SetOpt
from nnrun.errors import NnrunError
from nnrun.runs.layout import FINISHED, Status

if TYPE_CHECKING:
    from nnrun.runs.records import SweepPoint


def _headline(point: SweepPoint, run: Any) -> str:
    """`best val_loss 0.012, test accuracy 1.000, 500 epochs, 0.91 s`, from the point's run folder."""
    parts = []
    best = run.best_val_loss[1] if run is not None else None
    if best is not None:
        parts.append(f"best val_loss {best:.4g}")
    test = run.test if run is not None else {}
    for key in ("accuracy", "r2", "mae"):
        if isinstance(test.get(key), int | float):
            parts.append(f"test {key} {test[key]:.4g}")
            break
    if point.epochs_run is not None:
        parts.append(f"{point.epochs_run} epochs")
    if point.train_seconds is not None:
        parts.append(f"{point.train_seconds:.2f} s")
    return ", ".join(parts)


class _Display:
    """A progress bar of points (on a terminal) and one line per finished point, as it finishes."""

    def __init__(self, record: Any, total: int, quiet: bool) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.record = record
        self.quiet = quiet
        self.console = err_console()
        enabled = not quiet and self.console.is_terminal
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not enabled,
        )
        self.task = self.progress.add_task(f"sweep {record.json.name}", total=total, counts="starting the workers")
        self.done = 0
        self.failed = 0
        self.running: set[int] = set()

    def __enter__(self) -> _Display:
        self.progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.stop()

    def _counts(self) -> None:
        running = len(self.running)
        text = f"running {running}" if running or self.done else "starting the workers"
        if self.failed:
            text += f"  [red]failed {self.failed}[/red]"
        self.progress.update(self.task, completed=self.done, counts=text)

    def started(self, point: SweepPoint) -> None:
        self.running.add(point.index)
        self._counts()

    def finished(self, point: SweepPoint) -> None:
        from rich.markup import escape

        from nnrun.runs.reader import RunUnreadable, read_run

        self.running.discard(point.index)
        status = point.status
        where = f"point {point.index} ({point.label}, seed {point.seed})"
        run_dir = self.record.run_dir(point.index) if point.run_dir and point.index is not None else None
        if status == Status.FAILED:
            self.failed += 1
            self.done += 1
            folder_text = f"run folder: {run_dir}" if run_dir else "no run folder"
            self.progress.console.print(
                f"[red]✗ {escape(where)} failed: {escape(str(point.error))}[/red] ({escape(folder_text)})"
            )
        elif status in FINISHED:
            self.done += 1
            if not self.quiet:
                try:
                    run = read_run(run_dir) if run_dir else None
                except RunUnreadable:
                    run = None
                style = "green" if status == Status.COMPLETED else "yellow"
                self.progress.console.print(
                    f"[{style}]✓ {escape(where)} {status}[/{style}]: {escape(_headline(point, run))}"
                )
        elif not self.quiet:
            self.progress.console.print(f"[yellow]· {escape(where)} {status}[/yellow]")
        self._counts()

    def note(self, text: str) -> None:
        self.progress.console.print(f"[yellow]{text}[/yellow]")


def sweep(
    config: OptionalConfigArg = None,
    lr: Annotated[
        str | None,
        typer.Option(
            "--lr", help="Learning rates: 1e-4,1e-3,1e-2 or LOW:HIGH:COUNT, e.g. 1e-4:1:9 (log-spaced, both ends)."
        ),
    ] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(
            "--grid",
            help="KEY=V1,V2,... for any dotted key (repeatable; keys combine as a product). "
            "KEY1,KEY2=V1,V2 ties keys to one value each point; KEY=[{...}, {...}] takes whole mappings.",
        ),
    ] = None,
    seeds: Annotated[
        int | None, typer.Option("--seeds", help="Run every point with N seeds (seed, seed+1, ...).", min=1, max=100)
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-w", help="Points trained at once (default: one per core).", min=1),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option("--resume", help="Finish a sweep folder: skip completed points, re-run the others."),
    ] = None,
    backend: Annotated[
        str | None,
        typer.Option(
            "--backend",
            help="local (worker processes, the default), ray, or inline (one point after another in this process).",
        ),
    ] = None,
    address: Annotated[
        str | None, typer.Option("--address", help="Ray cluster address (with --backend ray); default: a local Ray.")
    ] = None,
    fail_fast: FailFastOpt = False,
    select_: Annotated[
        str | None,
        typer.Option(
            "--select",
            help="Rank points by METRIC[:min|max], a history column at each run's kept epoch "
            "(default: val_accuracy for classifiers, val_loss otherwise; a metric all points share for a grid over loss).",
        ),
    ] = None,
    out: OutOpt = Path("runs"),
    quiet: QuietOpt = False,
    set_: SetOpt = None,
) -> None:
    """Train every combination of a grid (learning rates, any key, seeds) in parallel, then summarise."""
    from nnrun.cli.common import end_quickly
    from nnrun.errors import Fatal
    from nnrun.sweep import runner, start

    end_quickly()  # this process loads scikit-learn, pandas and matplotlib, and writes every file itself
    command = list(sys.argv)
    how = start.Execution(workers, backend, address, fail_fast)
    if resume is not None:
        if config is not None or lr or grid or seeds or set_ or select_:
            raise NnrunError(
                "--resume finishes a sweep exactly as it was started; give only --resume SWEEP_DIR "
                "(and optionally --workers, --backend, --address, --fail-fast)"
            )
        started = start.resume(resume, command, how)
    else:
        if config is None:
            raise NnrunError("missing CONFIG: nnrun sweep CONFIG --lr 1e-3,1e-2 (or --resume SWEEP_DIR)")
        started = start.new(config, lr, grid or [], seeds, select_, set_ or [], out, command, how)
    job, chosen, n, workers = started.job, started.backend, started.to_run, started.workers
    backend = started.backend_name
    record = job.record
    if not quiet:
        err_console().print(
            f"sweep [bold]{record.json.name}[/bold]: {len(record.points)} points, {n} to run on "
            f"{backend} with {workers} worker{'s' if workers != 1 else ''} -> {job.dir}"
        )
    try:
        with _Display(record, len(job.to_run), quiet) as display:
            reporter = runner.Reporter(display.started, display.finished, display.note)
            status = runner.run(job, chosen, command, fail_fast, reporter)
    except Fatal as exc:
        err_console().print(f"[bold red]error:[/bold red] {exc}")
        _finish(record, quiet)
        raise typer.Exit(1) from None
    counts = _finish(record, quiet)
    if status == Status.INTERRUPTED:
        raise typer.Exit(130)
    if counts.get(Status.FAILED) or status == Status.STOPPED:
        raise typer.Exit(1)


def _finish(record: Any, quiet: bool) -> dict[str, int]:
    """Write the summary files and print the table, the best point and the folder."""
    from nnrun.sweep import summary

    result = summary.write(record)
    counts = record.counts()
    out = console()
    if result.rows and len(result.rows) <= 40:
        from nnrun.compare.fit import terminal_width

        out.print(summary.terminal_table(result, terminal_width()), markup=False, end="", soft_wrap=True)
    else:
        out.print(f"{len(result.rows)} points: see {record.dir / 'summary.md'}")
    out.print(
        f"{record.json.status}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
        markup=False,
    )
    best = result.best
    if best is not None:
        dirs = " ".join(str(record.dir / d) for d in best["run_dirs"])
        spread = f" ± {best['std']:.2g}" if best.get("std") is not None else ""
        out.print(
            f"best: point {best['point']} ({best['label']}), mean {best['metric']} {best['value']:.4g}{spread} -> {dirs}",
            markup=False,
        )
        out.print(
            f"chosen by {best['criterion']}; points within one standard error of the best are tied, "
            "and a tie goes to a good fit, then the lower val_loss",
            markup=False,
        )
        if best.get("selected_on_test") and not best.get("same_rows"):
            err_console().print(
                "[yellow]warning:[/yellow] chosen on the test split (data.validation: test): "
                "the best point's test figures are optimistic"
            )
    else:
        out.print("best: none (no grid point has all its runs completed without diverging)")
    out.print(f"sweep folder: {record.dir}", markup=False)
    return counts
