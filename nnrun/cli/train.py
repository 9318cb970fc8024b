"""`nnrun train CONFIG`: train once and write a run folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import ConfigArg, OutOpt, QuietOpt, SetOpt
from nnrun.runs.layout import Status


def summary_line(outcome: Any) -> str:
    """One line: status, the headline test metric, epochs and seconds."""
    rec = outcome.record
    test = outcome.metrics.get("test", {})
    parts = [f"{outcome.status}"]
    for key in ("accuracy", "r2", "mae"):
        if key in test and test[key] is not None:
            parts.append(f"test {key} {test[key]:.4f}")
            break
    if "loss" in test:
        parts.append(f"test loss {test['loss']:.4g}")
    parts.append(f"{rec.get('epochs_run', 0)} epochs in {rec.get('train_seconds') or 0:.2f} s ({rec.get('trainer')})")
    diagnosis = rec.get("diagnosis") or {}
    if diagnosis.get("verdict"):
        parts.append(diagnosis["verdict"])
    split = rec.get("split") or {}
    if split.get("same_rows"):
        parts.append(f"train = validation = test: the same {split.get('test')} rows")
    return ", ".join(parts)


def selection_warning(record: dict[str, Any]) -> str | None:
    """The one warning line for a run that chose with its test split."""
    if not record.get("selected_on_test"):
        return None
    return (
        "warning: early stopping chose with the test split (data.validation: test), "
        "so the test figures are optimistic; data.validation: 0.2 holds out a validation split"
    )


def train(config: ConfigArg, set_: SetOpt = None, out: OutOpt = Path("runs"), quiet: QuietOpt = False) -> None:
    """Train a model from CONFIG and write a timestamped run folder."""
    from nnrun.experiment import prepare_experiment
    from nnrun.runs.folder import ensure_writable

    prepared = prepare_experiment(config, set_ or [])
    for note in prepared.data.notes:
        err_console().print(f"note: {note}", markup=False)
    out = out.expanduser().resolve()  # the root every file of the run goes under, fixed once
    ensure_writable(out)  # before the seconds TensorFlow takes to load
    from nnrun.cli.progress import TrainingProgress
    from nnrun.cli.running import execute_or_exit

    spec = prepared.spec
    show = not quiet and sys.stderr.isatty()
    with TrainingProgress(spec.training.epochs, spec.name, enabled=show) as progress:

        def started(run_dir: Path, trainer: str) -> None:
            if not quiet:
                err_console().print(f"training [bold]{spec.name}[/bold] ({trainer} trainer) -> {run_dir}")
            progress.start()

        outcome = execute_or_exit(prepared, out, "run", on_start=started, on_rows=progress.rows)
    line = summary_line(outcome)
    style = {Status.COMPLETED: "green", Status.INTERRUPTED: "yellow"}.get(outcome.status, "red")
    console().print(f"[{style}]{line}[/{style}]")
    console().print(f"run folder: {outcome.run_dir}")
    warning = selection_warning(outcome.record)
    if warning:
        err_console().print(f"[yellow]{warning}[/yellow]")
    if outcome.record.get("hint"):
        console().print(f"hint: {outcome.record['hint']}")
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)
