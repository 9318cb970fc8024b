"""`nnrun show RUN_DIR`: one run at a glance in the terminal."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from nnrun.cli.common import console
from nnrun.cli.options import RunDirArg


def _metrics_line(values: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    from nnrun.compare.formats import plain

    parts = [
        f"{k} {plain(v, 4)}"
        for k, v in values.items()
        if k not in skip and not isinstance(v, list | dict) and v is not None and k != "epoch"
    ]
    return " · ".join(parts) or "-"


def _is_matrix(matrix: Any, names: Any) -> bool:
    """A square list of number rows with one class name per row."""
    if not (isinstance(matrix, list) and matrix and isinstance(names, list) and len(names) == len(matrix)):
        return False
    return all(
        isinstance(row, list)
        and len(row) == len(names)
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in row)
        for row in matrix
    )


def show(
    run_dir: RunDirArg,
    all_: Annotated[bool, typer.Option("--all", help="Show the whole resolved config, defaults included.")] = False,
) -> None:
    """One run at a glance: status, config changes from the defaults, metrics, diagnosis, files."""
    from rich.table import Table
    from rich.text import Text

    from nnrun.compare.formats import STATUS_STYLE, VERDICT_STYLE, human_seconds, plain
    from nnrun.compare.formats import show as show_value
    from nnrun.compare.show import config_changes, files, human_bytes
    from nnrun.errors import NnrunError
    from nnrun.runs.layout import is_regular_file
    from nnrun.runs.reader import RunUnreadable, flatten, read_run

    try:
        run = read_run(run_dir)
    except RunUnreadable as exc:
        hint = (
            " (nnrun show takes one run folder; nnrun compare takes folders of runs)" if "missing" in str(exc) else ""
        )
        raise NnrunError(f"{run_dir}: {exc}{hint}") from None
    # every string from the run folder is shown as the text it is (Text), never read as markup
    con = console()
    rec = run.record
    style = STATUS_STYLE.get(run.status, "")
    con.print(Text.assemble((run.name, "bold"), "  ", run.id, "  ", (str(run.status), style)))

    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    facts.add_row("folder", Text(str(run.dir)))
    timing = show_value("started", rec.get("started"))
    if run.duration is not None:
        timing += f"   duration {human_seconds(run.duration)}"
    if run.train_seconds is not None:
        timing += f"   training {human_seconds(run.train_seconds)}"
    facts.add_row("started", Text(timing))
    epochs = run.epochs
    stop = rec.get("stop_reason")
    line = f"{rec.get('trainer') or '-'}   epochs {epochs if epochs is not None else '-'}"
    if stop and stop != "completed":
        line += f" (stopped: {stop}" + (f" at epoch {rec['stopped_epoch']}" if rec.get("stopped_epoch") else "") + ")"
    line += f"   seed {rec.get('seed') if rec.get('seed') is not None else '-'}"
    facts.add_row("trainer", Text(line))
    if run.sweep is not None:
        facts.add_row("sweep", Text(str(run.sweep)))
    if isinstance(rec.get("command"), list):
        facts.add_row("command", Text(" ".join(str(c) for c in rec["command"])))
    if rec.get("host"):
        facts.add_row("host", Text(f"{rec['host']} (pid {rec.get('pid') or '?'})"))
    error = rec.get("error")
    if isinstance(error, dict):
        facts.add_row("error", Text(f"{error.get('type')}: {error.get('message')}", style="red"))
    if rec.get("hint"):
        facts.add_row("hint", Text(str(rec["hint"])))
    if run.selected_on_test:
        facts.add_row(
            "warning",
            Text(
                "early stopping chose with the test split (data.validation: test): the test figures are optimistic",
                style="yellow",
            ),
        )
    split = rec.get("split")
    if isinstance(split, dict) and isinstance(split.get("train"), int):
        sizes = f"{split['train']} train / {split.get('validation')} validation / {split.get('test')} test rows"
        if split.get("same_rows"):
            sizes += " (the same rows: too few to split)"
        elif split.get("validation_is_test"):
            sizes += " (validation is the test split)"
        facts.add_row("split", Text(sizes))
    diagnosis = run.diagnosis
    if diagnosis:
        vstyle = VERDICT_STYLE.get(str(diagnosis.get("verdict")), "")
        facts.add_row(
            "diagnosis", Text.assemble((str(diagnosis.get("label")), vstyle), ": ", str(diagnosis.get("hint")))
        )
    from nnrun.inspect.verdicts import of_run

    found = of_run(run)
    if found is not None:
        lines = [Text.assemble((v.label, "red"), ": ", v.hint) for v in found]
        none = Text.assemble(("no problem seen", "green"), " in gradients or activations")
        facts.add_row("internals", Text("\n").join(lines) if lines else none)
    con.print(facts)

    if all_:
        shown, note, title = flatten(run.config), None, "config (all of it)"
    else:
        shown, note = config_changes(run.config) if run.config else ({}, "config.yaml was never written")
        title = "config (what differs from the defaults)"
    con.print(f"\n[bold]{title}[/bold]")
    if note:
        con.print(Text(note, style="yellow"))
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="cyan")
    grid.add_column()
    for key, value in shown.items():
        grid.add_row(Text(key), Text(plain(value)))
    con.print(grid)

    con.print("\n[bold]metrics[/bold]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="dim")
    grid.add_column()
    if run.test:
        grid.add_row("test", Text(_metrics_line(run.test, skip=("threshold",))))
    final = run.final
    kept_epoch = run.kept_epoch
    if final:
        label = f"final (epoch {epochs})" if epochs else "final"
        if epochs and kept_epoch == epochs:
            label = f"final (epoch {epochs}, the saved weights)"
        grid.add_row(label, Text(_metrics_line(final)))
    kept_epoch, kept = run.kept_epoch, run.kept
    if kept and kept_epoch is not None and kept_epoch != epochs:
        grid.add_row(f"kept (epoch {kept_epoch}, the saved weights)", Text(_metrics_line(kept)))
    epoch, low = run.best_val_loss
    if low is not None:
        where = "the kept epoch" if epoch == kept_epoch else "not the kept weights"
        grid.add_row("lowest val_loss", Text(f"{plain(low, 4)} at epoch {epoch} ({where})"))
    if not grid.rows:
        grid.add_row("-", "no metrics recorded")
    con.print(grid)

    matrix, names = run.test.get("confusion_matrix"), run.test.get("class_names")
    if _is_matrix(matrix, names):
        con.print("\n[bold]confusion matrix (test; rows true, columns predicted)[/bold]")
        cm = Table(show_edge=False, box=None, padding=(0, 2))
        cm.add_column("")
        for name in names:
            cm.add_column(Text(str(name)), justify="right")
        for name, row in zip(names, matrix, strict=True):
            cm.add_row(Text(str(name)), *(Text(plain(v)) for v in row))
        con.print(cm)
    elif matrix is not None:
        con.print("\n[dim]confusion matrix: not readable in metrics.json, left out[/dim]")

    pictures = sorted(p for p in run.dir.glob("*.png") if is_regular_file(p))
    if pictures:
        con.print("\n[bold]pictures[/bold]")
        for path in pictures:
            con.print(Text(str(path)), soft_wrap=True)

    con.print("\n[bold]files[/bold]")
    grid = Table.grid(padding=(0, 2))
    grid.add_column()
    grid.add_column(justify="right", style="dim")
    for name, size in files(run):
        grid.add_row(Text(name), human_bytes(size) if size is not None else "unreadable")
    con.print(grid)
