"""`nnrun train CONFIG`: train once and write a run folder."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.completion import complete_config
from nnrun.runs.layout import Status


def _status_left(run_dir: Path) -> str:
    """The status compare and show will give the run once this process has ended: run.json's,
    or `crashed` if it still says running (a disk too full to rewrite it)."""
    from nnrun.runs.reader import read_record

    record = read_record(run_dir)
    if record is None or record.status is None:
        return "unknown (run.json is unreadable)"
    return str(Status.CRASHED if record.status == Status.RUNNING else record.status)


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


def _os_error(exc: OSError) -> str:
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text}: {exc.filename}" if exc.filename else text


def train(
    config: Annotated[
        Path,
        typer.Argument(help="The experiment's YAML file.", show_default=False, autocompletion=complete_config),
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a dotted key: --set training.epochs=5 (repeatable)."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Root folder for run folders.")] = Path("runs"),
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Train a model from CONFIG and write a timestamped run folder."""
    from nnrun.experiment import prepare_experiment
    from nnrun.runs.folder import ensure_writable

    prepared = prepare_experiment(config, set_ or [])
    for note in prepared.data.notes:
        err_console().print(f"note: {note}", markup=False)
    out = out.expanduser().resolve()  # the root every file of the run goes under, fixed once
    ensure_writable(out)  # before the seconds TensorFlow takes to load
    from nnrun.cli.progress import TrainingProgress
    from nnrun.experiment import Interrupted, execute

    spec = prepared.spec
    show = not quiet and sys.stderr.isatty()
    made: list[Path] = []
    with TrainingProgress(spec.training.epochs, spec.name, enabled=show) as progress:

        def started(run_dir: Path, trainer: str) -> None:
            made.append(run_dir)
            if not quiet:
                err_console().print(f"training [bold]{spec.name}[/bold] ({trainer} trainer) -> {run_dir}")
            progress.start()

        try:
            outcome = execute(prepared, out, command=sys.argv, on_rows=progress.rows, on_start=started)
        except Interrupted as exc:
            err_console().print(f"[yellow]interrupted ({exc}) before the run folder was created[/yellow]")
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:  # a full disk, a lost mount: the run is recorded as failed, no traceback
            where = f" (run folder: {made[0]}, status {_status_left(made[0])})" if made else ""
            err_console().print(f"[bold red]error:[/bold red] the run failed: {_os_error(exc)}{where}", soft_wrap=True)
            raise typer.Exit(1) from None
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
