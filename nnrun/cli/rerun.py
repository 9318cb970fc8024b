"""`nnrun rerun RUN_DIR`: train a run's saved config again and say whether the results match."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.completion import complete_run_dir
from nnrun.cli.options import QuietOpt
from nnrun.runs.layout import Status


def _data_base(record: dict, run_dir: Path) -> Path:
    """Where the original config was, so a relative CSV `path` resolves as it did then."""
    source = record.get("config_source")
    if not isinstance(source, str) or not source:
        return run_dir
    path = Path(source)
    if not path.is_absolute():
        path = Path(str(record.get("cwd") or ".")) / path
    return path.resolve().parent


def _default_root(run_dir: Path, sweep: Path | None) -> Path:
    """The runs root the original lives in: <root>/<name>/<run> or <root>/<name>/<sweep>/<run>."""
    return (sweep or run_dir).resolve().parent.parent


def rerun(
    run_dir: Annotated[
        Path, typer.Argument(help="The run folder to reproduce.", show_default=False, autocompletion=complete_run_dir)
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Root folder for the new run (default: the original's runs root)."),
    ] = None,
    quiet: QuietOpt = False,
) -> None:
    """Train RUN_DIR's saved config.yaml again (same seed) into a new run folder, then compare
    history.csv and metrics.json with the original. Exit 0 if identical, 1 if not."""
    from nnrun.errors import NnrunError
    from nnrun.experiment import prepare_loaded
    from nnrun.runs.folder import ensure_writable
    from nnrun.runs.layout import RunFolder
    from nnrun.runs.match import compare_runs
    from nnrun.runs.reader import RunUnreadable, read_run
    from nnrun.spec.parse import load_spec

    if run_dir.name == RunFolder.RUN:
        run_dir = run_dir.parent
    try:
        original = read_run(run_dir)
    except RunUnreadable as exc:
        raise NnrunError(f"{run_dir}: {exc}") from None
    config = RunFolder(run_dir).config
    if not config.is_file():
        raise NnrunError(f"{run_dir}: config.yaml is missing; there is nothing to re-run")
    spec, doc = load_spec(config)
    prepared = prepare_loaded(spec, doc, _data_base(original.record, run_dir), config)
    root = out.expanduser().resolve() if out is not None else _default_root(run_dir, original.sweep)
    ensure_writable(root)

    from nnrun.cli.running import execute_or_exit

    def started(new_dir: Path, trainer: str) -> None:
        if not quiet:
            err_console().print(f"re-running {run_dir} ({trainer} trainer) -> {new_dir}")

    outcome = execute_or_exit(
        prepared, root, "re-run", on_start=started, record_extra={"rerun_of": str(run_dir.resolve())}
    )
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
