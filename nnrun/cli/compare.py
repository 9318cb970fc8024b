"""`nnrun compare [PATHS...]`: runs side by side, with the keys that differ and a fit verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from nnrun.cli.common import console, err_console
from nnrun.cli.options import FilterOpt, LastOpt, OutputOpt, PathsArg, ReverseOpt, SortOpt, StatusOpt
from nnrun.errors import NnrunError

#: Up to this many runs the terminal gets a rich table fitted to its width; beyond, plain
#: aligned columns (rich's table layout takes seconds on thousands of rows).
RICH_TABLE_ROWS = 200


def split_statuses(values: list[str] | None) -> list[str]:
    return [s.strip() for v in values or [] for s in v.split(",") if s.strip()]


def gather(
    paths: list[Path] | None,
    statuses: list[str] | None,
    filters: list[str] | None,
    last: int | None,
    sort: str | None,
    reverse: bool,
):  # noqa: ANN201
    """Read, report skipped folders on stderr, select. Shared by compare and report.

    Returns (every readable run, the runs selected, the folders skipped).
    """
    from nnrun.compare import collect
    from nnrun.compare.filters import parse_filters
    from nnrun.compare.table import select

    parsed = parse_filters(filters or [])
    runs, skipped = collect(paths or [Path("runs")])
    for item in skipped:
        err_console().print(f"[yellow]{_escape(item.line())}[/yellow]")
    chosen = select(runs, statuses=split_statuses(statuses), filters=parsed, last=last, sort=sort, reverse=reverse)
    return runs, chosen, skipped


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def compare(
    paths: PathsArg = None,
    sort: SortOpt = None,
    reverse: ReverseOpt = False,
    filter_: FilterOpt = None,
    columns: Annotated[
        str | None,
        typer.Option(
            "--columns", help="Comma-separated columns to show instead of the default ones (any key --sort takes)."
        ),
    ] = None,
    wide: Annotated[
        bool,
        typer.Option("--wide", help="Every column, however wide (the table is otherwise fitted to the terminal)."),
    ] = False,
    last: LastOpt = None,
    status: StatusOpt = None,
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="table, csv, markdown or json [default: table, or from --output's suffix].",
            show_default=False,
        ),
    ] = None,
    output: OutputOpt = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also draw the runs' validation curves into this PNG.")
    ] = None,
    plot_metric: Annotated[
        str, typer.Option("--plot-metric", help="The history.csv column --plot draws.")
    ] = "val_loss",
    plot_train: Annotated[
        bool, typer.Option("--plot-train", help="--plot also draws the training curves (dashed).")
    ] = False,
) -> None:
    """Compare runs: one row each, the config keys that differ, metrics and a fit diagnosis."""
    from nnrun.compare.formats import FORMATS, SUFFIXES, render, to_rich, to_text
    from nnrun.compare.table import build_table
    from nnrun.output import check_output, write_output, write_stdout

    fmt = format_ or (SUFFIXES.get(output.suffix.lower(), "table") if output else "table")
    if fmt not in FORMATS:
        raise NnrunError(f"--format: expected one of {', '.join(FORMATS)}. Received: {fmt!r}")
    if output is not None:
        output = check_output(output, "--output")
    if plot is not None:
        plot = check_output(plot, "--plot")
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    all_runs, runs, _ = gather(paths, status, filter_, last, sort, reverse)
    if not all_runs:
        raise NnrunError(f"no readable runs in {', '.join(str(p) for p in paths or [Path('runs')])}")
    if plot is not None:
        from nnrun.compare.plot import write_curves

        if runs:
            write_curves(runs, plot, plot_metric, plot_train)
            err_console().print(f"wrote {plot}")
    table = build_table(runs, wanted)
    if fmt == "table" and output is None and not wanted and not wide:
        from nnrun.compare.fit import fit, terminal_width

        table = fit(table, terminal_width())
    hidden = table.hidden_differing + table.hidden
    if hidden:
        more = ", ".join(hidden[:8]) + (" ..." if len(hidden) > 8 else "")
        err_console().print(
            f"{len(hidden)} more columns: {more} (--wide shows all, --columns picks; --format csv has all)",
            markup=False,
        )
    if not runs:
        err_console().print(f"no runs match ({len(all_runs)} read)")
    if output is not None:
        write_output(output, render(table, fmt))
        err_console().print(f"wrote {output} ({len(runs)} run{'s' if len(runs) != 1 else ''})")
        return
    if fmt == "table":
        if not runs:
            return
        con = console()
        if con.is_terminal and len(runs) <= RICH_TABLE_ROWS:
            con.print(to_rich(table))
        elif con.is_terminal:
            con.print(to_text(table, color=True), soft_wrap=True, end="")
        else:
            write_stdout(to_text(table))
        return
    write_stdout(render(table, fmt))
