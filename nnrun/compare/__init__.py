"""Comparing runs: read run folders, diff their configs, filter, sort, tabulate, plot, report.

Only reads run folders (through `nnrun.runs.reader`), so it works on runs made by any
version of nnrun, and never imports TensorFlow or Keras.
"""

from __future__ import annotations

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
