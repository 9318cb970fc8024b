"""Running one training from a command (train, rerun): the errors they share, said once.

A signal before the run folder exists leaves nothing (exit 128+signal); an OSError once it
exists (a full disk, a lost mount) is one line with the run folder and the status readers
will show (exit 1). Everything else is the run's own outcome.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from nnrun.cli.common import err_console


def status_left(run_dir: Path) -> str:
    """The status compare and show will give the run once this process has ended: run.json's,
    or `crashed` if it still says running (a disk too full to rewrite it)."""
    from nnrun.runs.layout import Status
    from nnrun.runs.reader import read_record

    record = read_record(run_dir)
    if record is None or record.status is None:
        return "unknown (run.json is unreadable)"
    return str(Status.CRASHED if record.status == Status.RUNNING else record.status)


def os_error(exc: OSError) -> str:
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text}: {exc.filename}" if exc.filename else text


def execute_or_exit(
    prepared: Any,
    root: Path,
    what: str = "run",
    on_start: Callable[[Path, str], None] | None = None,
    **kwargs: Any,
) -> Any:
    """Train (`nnrun.api.functions.train_prepared`, what `nnrun.train` runs too) with the
    command-line endings of a signal or an OSError."""
    from nnrun.api.functions import train_prepared
    from nnrun.experiment import Interrupted

    made: list[Path] = []

    def started(run_dir: Path, trainer: str) -> None:
        made.append(run_dir)
        if on_start is not None:
            on_start(run_dir, trainer)

    try:
        return train_prepared(prepared, root, list(sys.argv), on_start=started, **kwargs)
    except Interrupted as exc:
        err_console().print(f"[yellow]interrupted ({exc}) before the run folder was created[/yellow]")
        raise typer.Exit(exc.exit_code) from None
    except OSError as exc:  # a full disk, a lost mount: the run is recorded as failed, no traceback
        where = f" (run folder: {made[0]}, status {status_left(made[0])})" if made else ""
        err_console().print(f"[bold red]error:[/bold red] the {what} failed: {os_error(exc)}{where}", soft_wrap=True)
        raise typer.Exit(1) from None
