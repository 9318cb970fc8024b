"""`nnrun report [PATHS...] -o report.html`: one self-contained HTML page about runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.compare import gather
from nnrun.cli.options import FilterOpt, LastOpt, PathsArg, ReverseOpt, SortOpt, StatusOpt, output_option
from nnrun.errors import NnrunError


def report(
    paths: PathsArg = None,
    output: Annotated[Path, output_option("The HTML file to write.")] = Path("report.html"),
    title: Annotated[str, typer.Option("--title", help="The page's title.")] = "nnrun report",
    filter_: FilterOpt = None,
    status: StatusOpt = None,
    last: LastOpt = None,
    sort: SortOpt = None,
    reverse: ReverseOpt = False,
) -> None:
    """Write one HTML page (no network needed to view it): the sortable comparison table, every
    run's curves and confusion matrix, the sweep plots and the fit diagnosis."""
    from nnrun.compare.report import build_report
    from nnrun.output import check_output, write_output

    output = check_output(output, "--output", suffixes=(".html", ".htm"))
    sources = [str(p) for p in paths or [Path("runs")]]
    all_runs, runs, skipped = gather(paths, status, filter_, last, sort, reverse)
    if not all_runs:
        raise NnrunError(f"no readable runs in {', '.join(sources)}")
    write_output(output, build_report(runs, skipped, title, sources))
    err_console().print(f"wrote {output} ({len(runs)} run{'s' if len(runs) != 1 else ''})")
    console().print(str(output.resolve()))
