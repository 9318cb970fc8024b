"""`nnrun export mlflow [PATHS] --tracking-uri URI`: log run folders into MLflow."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import PathsArg


class Target(str, Enum):
    mlflow = "mlflow"


def export(
    target: Annotated[Target, typer.Argument(help="Where to export: mlflow.", show_default=False)],
    tracking_uri: Annotated[
        str,
        typer.Option(
            "--tracking-uri",
            envvar="MLFLOW_TRACKING_URI",
            help="MLflow tracking URI, e.g. sqlite:///mlflow.db or http://localhost:5000.",
            show_default=False,
        ),
    ],
    paths: PathsArg = None,
    experiment: Annotated[str, typer.Option("--experiment", help="MLflow experiment (created if missing).")] = "nnrun",
) -> None:
    """Log each run folder as an MLflow run: config as params, history as per-epoch metrics,
    test metrics, files as artifacts. Runs already exported are skipped."""
    from rich.markup import escape

    from nnrun.integrations.mlflow_export import export_runs
    from nnrun.signals import Interrupted

    counts = {"exported": 0, "already": 0, "skipped": 0, "error": 0}
    with _ExportProgress() as progress:
        try:
            for result in export_runs(paths or [Path("runs")], tracking_uri, experiment, progress.update):
                progress.done()
                counts[result.action] += 1
                where = escape(str(result.run_dir))
                if result.action == "exported":
                    console().print(f"exported {where} -> MLflow run {result.mlflow_run_id}")
                elif result.action == "already":
                    console().print(f"already there {where} (MLflow run {result.mlflow_run_id})")
                elif result.action == "skipped":
                    console().print(f"[yellow]skipped[/yellow] {where}: {escape(str(result.reason))}")
                else:
                    err_console().print(f"[red]failed[/red] {where}: {escape(str(result.reason))}")
        except Interrupted as exc:
            progress.done()
            err_console().print(
                f"[yellow]interrupted ({exc})[/yellow]: the MLflow run being written was removed; "
                f"{counts['exported']} exported before. Run the same command again to finish."
            )
            raise typer.Exit(exc.exit_code) from None
    console().print(
        f"{counts['exported']} exported, {counts['already']} already in MLflow, {counts['skipped']} skipped, "
        f"{counts['error']} failed; experiment '{experiment}' at {tracking_uri}"
    )
    if counts["error"]:
        raise typer.Exit(1)


class _ExportProgress:
    """A transient progress bar on stderr for the run being exported (only on a terminal, only
    once a run has enough points to take a while)."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.console = err_console()
        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        self.task: Any = None

    def __enter__(self) -> _ExportProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, run_dir: Path, done: int, total: int) -> None:
        if self.task is None:
            self.task = self.bar.add_task(f"{run_dir.name}: metric points", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def done(self) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None
