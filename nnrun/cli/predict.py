"""`nnrun predict RUN_DIR INPUT.csv`: predict new rows with a saved run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import output_option, run_dir_argument


def predict(
    run_dir: Annotated[Path, run_dir_argument("A run folder (holds model.keras).")],
    input_csv: Annotated[
        Path,
        typer.Argument(
            metavar="INPUT.csv",
            help="Rows to predict, with the training feature columns by name.",
            show_default=False,
        ),
    ],
    output: Annotated[
        str | None, output_option("Output CSV; '-' for stdout. Default: <INPUT>.predictions.csv.")
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold", help="Binary models: probability above which a row is class 1 (default: the run's)."
        ),
    ] = None,
) -> None:
    """Predict rows of INPUT.csv with the model, scaler and encoders saved in RUN_DIR.

    Writes the same columns as the run's predictions.csv. A target column, if present,
    is not used for predicting; accuracy (or MAE) against it is reported.
    """
    from nnrun.output import write_output, write_stdout
    from nnrun.predict import check_output, csv_text, default_output, predict_csv
    from nnrun.tf_import import pause_collector

    pause_collector()

    path = Path(output) if output and output != "-" else default_output(input_csv)
    if output != "-":
        path = check_output(path, input_csv, run_dir)  # before the seconds the model takes to load
    result = predict_csv(run_dir, input_csv, threshold)
    text = csv_text(result.rows)
    # With `-o -` the CSV owns stdout; the summary goes to stderr.
    report = err_console() if output == "-" else console()
    if output == "-":
        write_stdout(text)
    else:
        write_output(path, text)
    parts = [f"{len(result.rows)} rows predicted"]
    if result.threshold is not None:
        parts.append(f"threshold {result.threshold:g}")
    for key, value in result.metrics.items():
        parts.append(f"{key} {value:.4f} against column {result.target_column!r}")
    report.print(", ".join(parts))
    if result.ignored_columns:
        report.print(f"ignored columns: {', '.join(result.ignored_columns)}")
    if output != "-":
        report.print(f"predictions: {path}")
