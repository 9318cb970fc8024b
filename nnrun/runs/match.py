"""Do two run folders hold the same results? What `nnrun rerun` reports.

Compares history.csv (every epoch, every column) and metrics.json (every number, flattened
to dotted keys) exactly: the same config and seed on the same machine must give the same
bits. Timings are not results and are never compared. Never imports TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnrun.runs.layout import RunFolder, read_json_object
from nnrun.runs.reader import flatten, read_history


@dataclass
class Difference:
    """The first place two runs differ, and the largest gap between them."""

    file: str
    first: str
    largest: float | None = None
    largest_at: str | None = None

    def line(self) -> str:
        text = f"{self.file}: {self.first}"
        if self.largest is not None:
            text += f"; largest difference {self.largest:.3g} ({self.largest_at})"
        return text


@dataclass
class Match:
    epochs: int = 0
    columns: int = 0
    values: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences

    def lines(self) -> list[str]:
        if self.identical:
            return [
                f"history.csv: identical ({self.epochs} epochs x {self.columns} columns)",
                f"metrics.json: identical ({self.values} values)",
            ]
        return [d.line() for d in self.differences]


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _gap(a: Any, b: Any) -> float | None:
    if isinstance(a, bool) or isinstance(b, bool):
        return None
    if isinstance(a, int | float) and isinstance(b, int | float) and math.isfinite(a) and math.isfinite(b):
        return abs(float(a) - float(b))
    return None


@dataclass
class _Scan:
    """Pairs of values seen in order: the first place they differ and the largest numeric gap."""

    file: str
    first: str | None = None
    largest: tuple[float, str] | None = None

    def note(self, text: str) -> None:
        if self.first is None:
            self.first = text

    def pair(self, a: Any, b: Any, at: str, text: str) -> None:
        if _same(a, b):
            return
        self.note(text)
        gap = _gap(a, b)
        if gap is not None and (self.largest is None or gap > self.largest[0]):
            self.largest = (gap, at)

    def difference(self) -> Difference | None:
        if self.first is None:
            return None
        diff = Difference(self.file, self.first)
        if self.largest is not None:
            diff.largest, diff.largest_at = self.largest
        return diff


def compare_history(a_dir: Path, b_dir: Path) -> tuple[Difference | None, int, int]:
    """The first differing (epoch, column) of history.csv, or None; plus epochs and columns."""
    a, b = read_history(RunFolder(a_dir).history), read_history(RunFolder(b_dir).history)
    columns = list(a[0]) if a else []
    scan = _Scan(RunFolder.HISTORY)
    if columns != (list(b[0]) if b else []):
        scan.note(f"different columns ({', '.join(a[0]) if a else 'none'} vs {', '.join(b[0]) if b else 'none'})")
    for i, (ra, rb) in enumerate(zip(a, b, strict=False), start=1):
        for key in ra:
            va, vb = ra.get(key), rb.get(key, math.nan)
            scan.pair(va, vb, f"{key}, epoch {i}", f"differs from epoch {i} ({key}: {va!r} vs {vb!r})")
    if len(a) != len(b):
        scan.note(f"{len(a)} epochs vs {len(b)}")
    return scan.difference(), len(a), len(columns)


def _metrics(run_dir: Path) -> dict[str, Any]:
    data = read_json_object(RunFolder(run_dir).metrics)
    flat = flatten(data) if data is not None else {}
    out: dict[str, Any] = {}
    for key, value in flat.items():
        if isinstance(value, list):  # a confusion matrix row, class names: compare item by item
            for i, item in enumerate(value):
                out[f"{key}.{i}"] = item
        else:
            out[key] = value
    return out


def compare_metrics(a_dir: Path, b_dir: Path) -> tuple[Difference | None, int]:
    """The first differing key of metrics.json (in the original's order), or None; plus the count."""
    a, b = _metrics(a_dir), _metrics(b_dir)
    scan = _Scan(RunFolder.METRICS)
    for key in [*a, *(k for k in b if k not in a)]:
        va, vb = a.get(key), b.get(key)
        scan.pair(va, vb, key, f"{key}: {va!r} vs {vb!r}")
    return scan.difference(), len(a)


def compare_runs(original: Path, rerun: Path) -> Match:
    """Whether `rerun` reproduced `original`: history.csv and metrics.json, exactly."""
    match = Match()
    history, match.epochs, match.columns = compare_history(original, rerun)
    metrics, match.values = compare_metrics(original, rerun)
    match.differences = [d for d in (history, metrics) if d is not None]
    return match
