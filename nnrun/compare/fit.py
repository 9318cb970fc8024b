"""A comparison table narrowed to a terminal's width: what a person reads first.

`fit(table, width)` keeps, in this order of importance, the run's identity (its folder id
without the timestamp, and the experiment's name), the diagnosis, the config keys the runs
of one experiment vary (a sweep's swept keys), the headline validation and test metrics,
parameters and epochs, and then whatever else fits. Columns that repeat another one value
for value (val_loss and test.loss when validating on test; test.loss and test.mse for an
MSE regression) and columns holding one value for every run are left out. Headers of long
keys are shortened for display only: the keys themselves (for --sort, --columns) are
unchanged, and `--wide`, CSV, JSON and Markdown keep every column.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import replace

from nnrun.compare.formats import show
from nnrun.compare.table import Table, rank_differing

#: The width used when standard output is not a terminal (and COLUMNS is unset).
DEFAULT_WIDTH = 100
#: Space between columns (both renderers use two spaces).
GAP = 2
#: Metrics that are compared first, in order.
HEADLINE = ("val_accuracy", "val_loss", "test.accuracy", "test.r2", "test.loss")
#: Columns that may be left out when every run has the same value.
DROP_WHEN_CONSTANT = ("status", "epochs", "kept_epoch", "params", "selected_on_test", "name")
#: A run id's timestamp part (`p003-20261129-213034-744d50` -> `p003`, `20261129-213252-3a628c` -> `3a628c`).
_STAMP = re.compile(r"-?\d{8}-\d{6}-?")


def terminal_width() -> int:
    """COLUMNS if set, else the terminal's width, else 100."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def short_ids(ids: Sequence[str]) -> list[str]:
    """Run ids without their timestamp, as short as they stay unique (else unchanged)."""

    def prefix(i: str) -> str:
        head, *rest = _STAMP.split(i, maxsplit=1)
        return head or (rest[0] if rest and rest[0] else i)

    for form in (prefix, lambda i: _STAMP.sub("-", i).strip("-")):
        short = [form(i) for i in ids]
        if len(set(short)) == len(set(ids)):
            return short
    return list(ids)


def short_headers(keys: Sequence[str], taken: Sequence[str] = ()) -> dict[str, str]:
    """Config keys by their shortest unique dotted ending (`optimizer.learning_rate` ->
    `learning_rate`); an ending that starts with a list index keeps the list's name, and
    one that is another column's name (`taken`) grows. Tied sweep keys (`a.x,b.y`) are
    shortened one by one."""
    single = _short(list(dict.fromkeys(one for key in keys for one in key.split(","))), taken)
    return {key: ",".join(single[one] for one in key.split(",")) for key in keys}


def _short(keys: Sequence[str], taken: Sequence[str]) -> dict[str, str]:
    parts = {k: k.split(".") for k in keys}
    out: dict[str, str] = {}
    for key, p in parts.items():
        for n in range(1, len(p) + 1):
            end = p[-n:]
            if end[0].isdigit() and n < len(p):
                continue
            label = ".".join(end)
            if label in taken and n < len(p):
                continue
            if all(
                not ".".join(q).endswith("." + label) and ".".join(q) != label for k, q in parts.items() if k != key
            ):
                out[key] = label
                break
        else:
            out[key] = key
    return out


def fold(header: str, room: int) -> str:
    """A header longer than `room` split over two lines after a `,` (tied keys), else a `.`,
    `_` or space (the split that makes the longer line shortest), else unchanged."""
    if len(header) <= room:
        return header
    cuts = [i + 1 for i, ch in enumerate(header[:-1]) if ch == ","] or [
        i + 1 for i, ch in enumerate(header[:-1]) if ch in "._ "
    ]
    if not cuts:
        return header
    cut = min(cuts, key=lambda i: max(i, len(header) - i))
    return header[:cut].rstrip() + "\n" + header[cut:]


def _duplicate_of(col: str, earlier: Sequence[str], cells: dict[str, list[str]]) -> bool:
    mine = cells[col]
    if all(c == "-" for c in mine):
        return True
    return any(cells[e] == mine for e in earlier)


def fit(table: Table, width: int) -> Table:
    """The columns of `table` that fit in `width` characters (see the module doc)."""
    if not table.rows:
        return table
    cells = {c: [show(c, row[c]) for row in table.rows] for c in table.columns}
    ids = short_ids([str(row.get("run")) for row in table.rows]) if "run" in cells else []
    if ids:
        cells["run"] = ids
    metrics = [c for c in table.columns if c in HEADLINE or c.startswith(("test.", "val_", "best_val"))]
    kept_metrics: list[str] = []
    for c in metrics:
        if not _duplicate_of(c, kept_metrics, cells):
            kept_metrics.append(c)
    dropped = set(metrics) - set(kept_metrics)
    if len(table.rows) > 1:
        dropped |= {c for c in DROP_WHEN_CONSTANT if c in cells and len(set(cells[c])) == 1}
    differing = [c for c in rank_differing(table.runs, table.differing) if c in cells]
    headers = {c: c for c in table.columns} | short_headers(differing, [c for c in table.columns if c not in differing])
    headers = {c: fold(h, max(len(v) for v in cells[c])) for c, h in headers.items()}

    def width_of(c: str) -> int:
        return max(*(len(line) for line in headers[c].split("\n")), *(len(v) for v in cells[c]))

    headline = [c for c in HEADLINE if c in kept_metrics]
    required = ["run", "name", "diagnosis", *headline[:2]]
    priority = [
        *required,
        *differing[:2],
        *headline[2:],
        "selected_on_test",
        "params",
        "status",
        *differing[2:],
        "epochs",
        *[c for c in kept_metrics if c not in headline],
        "kept_epoch",
        "train_seconds",
        "started",
        "duration",
    ]
    chosen: list[str] = []
    used = 0
    for c in dict.fromkeys(priority):
        if c not in cells or c in dropped:
            continue
        w = width_of(c) + (GAP if chosen else 0)
        if c in required or used + w <= width:
            chosen.append(c)
            used += w
    columns = [c for c in table.columns if c in chosen]
    rows = [
        dict(row, run=short) if ids else dict(row) for row, short in zip(table.rows, ids or table.rows, strict=True)
    ]
    hidden = [c for c in differing if c not in chosen]
    return replace(
        table,
        columns=columns,
        rows=rows,
        headers={c: headers[c] for c in columns},
        hidden_differing=hidden,
        hidden=[c for c in table.columns if c not in chosen and c not in dropped and c not in table.differing],
    )
