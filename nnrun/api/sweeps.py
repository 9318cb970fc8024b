"""`Sweep`: one sweep folder, as a Python object (what `nnrun.sweep` returns, and `nnrun.load`
of a sweep folder). Everything comes from sweep.json and the point folders, read through the
same code as the sweep's summary.csv, so the two always agree. Never imports TensorFlow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nnrun.api.folder import FolderObject
from nnrun.api.run import Run
from nnrun.errors import NnrunError
from nnrun.runs.layout import SweepFolder, read_json_object


class Sweep(FolderObject):
    """A sweep folder: its points' runs, the summary table, the best point and the curves.

    Attributes:
        dir: the sweep folder.
    """

    def __init__(self, sweep_dir: str | Path) -> None:
        super().__init__(sweep_dir)
        if not SweepFolder(self.dir).sweep_json.is_file():
            raise NnrunError(f"{self.dir} is not a sweep folder (no {SweepFolder.SWEEP})")

    def sweep_record(self) -> Any:
        """sweep.json, read now (a `nnrun.sweep.record.SweepRecord`)."""
        from nnrun.sweep.record import SweepRecord

        return SweepRecord.load(self.dir)

    @property
    def record(self) -> dict[str, Any]:
        """sweep.json as a dict: grid, seeds, status, every point, the best point ({} if unreadable)."""
        return read_json_object(SweepFolder(self.dir).sweep_json) or {}

    @property
    def status(self) -> str:
        return str(self.record.get("status"))

    @property
    def name(self) -> str:
        return str(self.record.get("name") or self.dir.parent.name)

    def _built(self) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        from nnrun.sweep.summary import build

        _, _, rows, best = build(self.sweep_record())
        return rows, best

    @property
    def summary(self) -> Any:
        """One row per grid point (the numbers of summary.csv) as a pandas DataFrame."""
        import pandas as pd

        rows, _ = self._built()
        return pd.DataFrame(rows)

    @property
    def best_point(self) -> dict[str, Any] | None:
        """The best point: its values, the metric and mode it was chosen by, the criterion, its folders."""
        return self._built()[1]

    @property
    def best(self) -> Run | None:
        """The best point's run (its first seed's), or None if no point has all its runs completed."""
        best = self.best_point
        if best is None or not best.get("run_dirs"):
            return None
        return Run(self.dir / best["run_dirs"][0])

    @property
    def runs(self) -> list[Run]:
        """Every point's run that has a readable folder, in point order."""
        from nnrun.runs.reader import RunInfo, iter_runs

        found = [item for item in iter_runs([self.dir]) if isinstance(item, RunInfo)]

        def order(info: RunInfo) -> tuple[int, str]:
            index = (info.run_json.sweep or {}).get("index")
            return (index if isinstance(index, int) else 1 << 30, info.dir.name)

        return [Run(info.dir) for info in sorted(found, key=order)]

    def plot(self, metric: str | None = None) -> Any:
        """A matplotlib Figure: `metric` (default: the metric the best point is chosen by) per
        epoch, one line per point (the mean over seeds, with a band) as curves.png draws it."""
        from nnrun.api.figures import sweep_curves

        return sweep_curves(self, metric)

    def status_counts(self) -> dict[str, int]:
        """How many points sweep.json gives each status, in the order of the statuses' names."""
        counts: dict[str, int] = {}
        for point in self.record.get("points") or []:
            counts[str(point.get("status"))] = counts.get(str(point.get("status")), 0) + 1
        return dict(sorted(counts.items()))

    def __repr__(self) -> str:
        text = ", ".join(f"{n} {s}" for s, n in self.status_counts().items())
        return f"Sweep({str(self.dir)!r}: {self.status}, {text})"

    def _repr_html_(self) -> str:
        from nnrun.api.html import sweep_html

        return sweep_html(self)
