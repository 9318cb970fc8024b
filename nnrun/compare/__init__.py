"""Comparing runs: read run folders, diff their configs, filter, sort, tabulate, plot, report.

Only reads run folders (through `nnrun.runs.reader`), so it works on runs made by any
version of nnrun, and never imports TensorFlow or Keras.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from nnrun.runs.reader import RunInfo, Unreadable, iter_runs


def collect(paths: Iterable[str | Path]) -> tuple[list[RunInfo], list[Unreadable]]:
    """Every readable run under `paths` (duplicates removed) and the folders skipped."""
    runs: list[RunInfo] = []
    skipped: list[Unreadable] = []
    for item in iter_runs(paths):
        (skipped if isinstance(item, Unreadable) else runs).append(item)
    return runs, skipped


def write_output(path: Path, data: str | bytes) -> None:
    """Write a file the user asked for (a table, a plot, a report): atomically, and readable
    as any file they create (the temporary file behind an atomic write is private)."""
    from nnrun.runs.files import atomic_write_bytes

    atomic_write_bytes(path, data.encode("utf-8") if isinstance(data, str) else data)
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)
