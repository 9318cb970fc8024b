"""`nnrun export mlflow [PATHS] --tracking-uri URI`: log run folders into MLflow."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.completion import complete_run_dir


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
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Run folders, or folders that hold them (default: runs).",
            show_default=False,
            autocompletion=complete_run_dir,
        ),
    ] = None,
    experiment: Annotated[str, typer.Option("--experiment", help="MLflow experiment (created if missing).")] = "nnrun",
) -> None:
    """Log each run folder as an MLflow run: config as params, history as per-epoch metrics,
    test metrics, files as artifacts. Runs already exported are skipped."""
    from nnrun.integrations.mlflow_export import export_runs

    counts = {"exported": 0, "already": 0, "skipped": 0, "error": 0}
    for result in export_runs(paths or [Path("runs")], tracking_uri, experiment):
        counts[result.action] += 1
        if result.action == "exported":
            console().print(f"exported {result.run_dir} -> MLflow run {result.mlflow_run_id}")
        elif result.action == "already":
            console().print(f"already there {result.run_dir} (MLflow run {result.mlflow_run_id})")
        elif result.action == "skipped":
            console().print(f"[yellow]skipped[/yellow] {result.run_dir}: {result.reason}")
        else:
            err_console().print(f"[red]failed[/red] {result.run_dir}: {result.reason}")
    console().print(
        f"{counts['exported']} exported, {counts['already']} already in MLflow, {counts['skipped']} skipped, "
        f"{counts['error']} failed; experiment '{experiment}' at {tracking_uri}"
    )
    if counts["error"]:
        raise typer.Exit(1)
