"""history.csv: one row per epoch, appended while the run trains and read back by everyone.

The writer appends complete lines only, each batch in one `write` followed by `fsync`, so a
long run costs the same per epoch at epoch one million as at epoch ten (rewriting the whole
file every second made it quadratic). A kill or a full disk can at worst leave a last line
without its newline; the reader ignores such a line, and the writer truncates it away
itself when a write fails. Never imports TensorFlow.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nnrun.runs.files import csv_cell
from nnrun.runs.layout import read_regular


class HistoryFile:
    """Appends epochs to `<run>/history.csv`; the columns are those of the first rows written.

    nnrun's trainers give every epoch the same keys; a key first seen later is not a column
    (a blank cell stands for a key missing from a row).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.columns: list[str] | None = None
        self.fd: int | None = None
        self.size = 0
        self.rows_written = 0

    def _open(self, rows: list[Mapping[str, Any]]) -> str:
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        self.columns = columns
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        return _lines([columns])

    def append(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Add `rows` (complete lines, one write, then fsync)."""
        rows = list(rows)
        if not rows:
            return
        header = self._open(rows) if self.columns is None else ""
        assert self.columns is not None and self.fd is not None
        cols = self.columns
        data = (header + _lines([[csv_cell(row.get(c, "")) for c in cols] for row in rows])).encode("utf-8")
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self.fd, view) :]
            os.fsync(self.fd)
        except OSError as exc:
            # leave the file as it was before this batch: never a torn line in the middle
            try:
                os.ftruncate(self.fd, self.size)
            except OSError:
                pass
            raise OSError(exc.errno, exc.strerror, str(self.path)) from exc
        self.size += len(data)
        self.rows_written += len(rows)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _lines(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerows(rows)
    return buf.getvalue()


def read_history(path: Path) -> list[dict[str, float]]:
    """history.csv as rows of floats (NaN for blanks or garbage); [] if there is none.

    A last line without its newline is a write that did not finish: it is ignored.
    """
    try:
        data = read_regular(path, limit=None)  # never blocks on a FIFO
    except OSError:
        return []
    end = data.rfind(b"\n")
    text = data[: end + 1].decode("utf-8", errors="replace")
    try:
        rows = []
        for raw in csv.DictReader(io.StringIO(text, newline="")):
            row: dict[str, float] = {}
            for k, v in raw.items():
                if k is None:
                    continue
                try:
                    row[k] = float(v) if v not in (None, "") else math.nan
                except (TypeError, ValueError):
                    row[k] = math.nan
            rows.append(row)
        return rows
    except csv.Error:
        return []
