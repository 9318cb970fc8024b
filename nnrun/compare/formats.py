"""The comparison table as text: a rich table, CSV, Markdown or JSON.

Table and Markdown are for people (4 significant digits, durations as 1m 05s); CSV and
JSON are for programs (full precision, seconds, ISO times, plus each run's folder `dir`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import io
import json
import math
from typing import Any

from nnrun.compare.table import Table
from nnrun.runs.layout import Status

FORMATS = ("table", "csv", "markdown", "json")
SUFFIXES = {".csv": "csv", ".md": "markdown", ".markdown": "markdown", ".json": "json", ".txt": "table"}

STATUS_STYLE = {
    Status.COMPLETED: "green",
    Status.FAILED: "red",
    Status.CRASHED: "red",
    Status.INTERRUPTED: "yellow",
    Status.DIVERGED: "magenta",
    Status.RUNNING: "cyan",
}
VERDICT_STYLE = {
    "good fit": "green",
    "overfitting": "yellow",
    "underfitting": "yellow",
    "not converged": "yellow",
    "diverged": "magenta",
    "stuck at chance level": "yellow",
}


def human_seconds(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def show(key: str, value: Any) -> str:
    """A value as people read it."""
    if value is None:
        return "-"
    if key == "started" and isinstance(value, str):
        try:
            return _dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")
        except ValueError:
            return value
    if key in ("duration", "train_seconds") and isinstance(value, int | float):
        return human_seconds(float(value)) if key == "duration" else f"{value:.2f}"
    return plain(value, digits=4)


def plain(value: Any, digits: int | None = None) -> str:
    """A value as text; floats in full (`digits=None`) or to `digits` significant digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{digits}g}" if digits else repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(plain(v, digits) for v in value) + "]"
    return str(value)


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*table.columns, "dir"])
    for run, row in zip(table.runs, table.rows, strict=True):
        writer.writerow([plain(row[c]) for c in table.columns] + [str(run.dir)])
    return buf.getvalue()


def records(table: Table) -> list[dict[str, Any]]:
    """One dict per run, the table's columns plus `dir`: what `--format json` writes and
    `nnrun.runs()` returns as a DataFrame."""
    out = []
    for run, row in zip(table.runs, table.rows, strict=True):
        item = {c: _jsonable(row[c]) for c in table.columns}
        item["dir"] = str(run.dir)
        out.append(item)
    return out


def to_json(table: Table) -> str:
    return json.dumps(records(table), indent=2, allow_nan=False, default=str) + "\n"


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def to_markdown(table: Table) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(c) for c in table.columns) + " |",
        "|" + "|".join("---" for _ in table.columns) + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(cell(show(c, row[c])) for c in table.columns) + " |")
    return "\n".join(lines) + "\n"


def to_rich(table: Table) -> Any:
    """A rich.table.Table (status and diagnosis coloured)."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    numeric = {c for c in table.columns if any(_is_number(r[c]) for r in table.rows)}
    out = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True, header_style="bold")
    for c in table.columns:
        out.add_column(table.header(c), justify="right" if c in numeric else "left", no_wrap=c != "diagnosis")
    for run, row in zip(table.runs, table.rows, strict=True):
        cells = []
        for c in table.columns:
            text = show(c, row[c])
            style = ""
            if c == "status":
                style = STATUS_STYLE.get(str(row[c]), "")
            elif c in ("diagnosis", "verdict"):
                verdict = (run.diagnosis or {}).get("verdict")
                style = VERDICT_STYLE.get(str(verdict), "")
            cells.append(Text(text, style=style))
        out.add_row(*cells)
    return out


def to_text(table: Table, color: bool = False) -> Any:
    """Aligned plain-text columns, fast for thousands of rows (rich's Table is not).

    Returns a `str`, or with `color=True` a `rich.text.Text` with status and diagnosis coloured.
    """
    from rich.text import Text

    cells = [[show(c, row[c]) for c in table.columns] for row in table.rows]
    heads = [table.header(c).split("\n") for c in table.columns]
    depth = max(len(h) for h in heads)
    heads = [[""] * (depth - len(h)) + h for h in heads]  # a folded header ends on the last line
    widths = [max([*(len(x) for x in h), *(len(r[i]) for r in cells)]) for i, h in enumerate(heads)]
    numeric = [any(_is_number(row[c]) for row in table.rows) for c in table.columns]

    def line(values: list[str]) -> str:
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    head = [line([h[k] for h in heads]) for k in range(depth)]
    lines = ["\n".join(head), "  ".join("-" * w for w in widths)]
    lines += [line(r) for r in cells]
    if not color:
        return "\n".join(lines) + "\n"
    text = Text("\n".join(lines) + "\n", no_wrap=True, overflow="ignore")
    text.stylize("bold", 0, len(lines[0]))
    offsets = [sum(w + 2 for w in widths[:i]) for i in range(len(widths))]
    styled = [(i, c) for i, c in enumerate(table.columns) if c in ("status", "diagnosis", "verdict")]
    pos = len(lines[0]) + len(lines[1]) + 2
    for run, row, text_line in zip(table.runs, table.rows, lines[2:], strict=True):
        for i, c in styled:
            if c == "status":
                style = STATUS_STYLE.get(str(row[c]), "")
            else:
                style = VERDICT_STYLE.get(str((run.diagnosis or {}).get("verdict")), "")
            if style:
                text.stylize(style, pos + offsets[i], pos + min(offsets[i] + widths[i], len(text_line)))
        pos += len(text_line) + 1
    return text


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def render(table: Table, fmt: str) -> str:
    """CSV, Markdown, JSON or the plain-text table."""
    if fmt == "csv":
        return to_csv(table)
    if fmt == "markdown":
        return to_markdown(table)
    if fmt == "json":
        return to_json(table)
    return to_text(table)
