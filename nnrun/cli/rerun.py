"""`nnrun rerun RUN_DIR`: train a run's saved config again and say whether the results match."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import QuietOpt, out_option, run_dir_argument
from nnrun.runs.layout import Status


def rerun(
    run_dir: Annotated[Path, run_dir_argument("The run folder to reproduce.")],
    out: Annotated[Path | None, out_option("Root folder for the new run (default: the original's runs root).")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Train RUN_DIR's saved config.yaml again (same seed) into a new run folder, then compare
    history.csv and metrics.json with the original. Exit 0 if identical, 1 if not."""
    from nnrun.experiment.rerun import prepare_rerun
    from nnrun.runs.match import compare_runs
    from nnrun.tf_import import pause_collector

    pause_collector()

    job = prepare_rerun(run_dir, out)
    original, run_dir = job.original, job.original.dir

    from nnrun.cli.running import execute_or_exit

    def started(new_dir: Path, trainer: str) -> None:
        if not quiet:
            err_console().print(f"re-running {run_dir} ({trainer} trainer) -> {new_dir}")

    outcome = execute_or_exit(job.prepared, job.root, "re-run", on_start=started, record_extra=job.record_extra)
    if outcome.status == Status.INTERRUPTED:
        console().print(f"[yellow]{outcome.status}[/yellow]; run folder: {outcome.run_dir}")
        raise typer.Exit(outcome.exit_code)

    match = compare_runs(run_dir, outcome.run_dir)
    lines = match.lines()
    if original.status != outcome.status:
        lines.insert(0, f"status: {original.status} vs {outcome.status}")
    if not quiet:
        for line in lines:
            console().print(line)
        console().print(f"run folder: {outcome.run_dir}")
    same = match.identical and original.status == outcome.status
    if same:
        console().print("[green]identical[/green]")
    else:
        console().print("[red]different[/red]")
        raise typer.Exit(1)
