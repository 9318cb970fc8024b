"""The API's figures: matplotlib Figures returned to the caller (shown inline in a notebook,
saved with `fig.savefig` elsewhere), drawn by the same code as the run folder's PNGs."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from nnrun.errors import NnrunError

if TYPE_CHECKING:
    from nnrun.api.run import Run
    from nnrun.api.sweeps import Sweep


def run_curves(run: Run, metric: str = "loss") -> Any:
    """`metric` by epoch for one run (train and validation), as loss.png draws it."""
    import matplotlib.pyplot as plt  # the caller's backend: a notebook shows the figure inline

    from nnrun.plots import draw_curve

    rows = run.info.history()
    if not rows:
        raise NnrunError(f"{run.dir} has no history.csv rows to plot (status {run.status})")
    metric = metric.removeprefix("val_")
    if metric not in rows[0]:
        names = [k for k in rows[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
        raise NnrunError(f"plot: the run has no column {metric!r}; expected one of {', '.join(names)}")
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    draw_curve(ax, rows, metric, run.name, run.info.kept_epoch)
    fig.tight_layout()
    plt.close(fig)  # returned, not left open: a notebook shows it once, as the cell's value
    return fig


def sweep_curves(sweep: Sweep, metric: str | None = None) -> Any:
    """The sweep's curves.png as a Figure: `metric` (default: the selection metric) per epoch per point."""
    import matplotlib.pyplot  # noqa: F401 - in a notebook, registers how a Figure is shown inline

    from nnrun.sweep.select import auto_mode
    from nnrun.sweep.summary import curves_figure, groups_of

    record = sweep.sweep_record()
    selection = record.json.selection or {}
    mode = selection.get("mode", "min") if metric in (None, selection.get("metric")) else None
    metric = metric or selection.get("metric") or "val_loss"
    if mode is None:
        mode = auto_mode(metric)
    best = (record.json.best or {}).get("point")  # the sweep's choice, whatever the metric drawn
    fig = curves_figure(groups_of(record), str(record.json.name or "sweep"), metric, mode, best)
    if fig is None:
        raise NnrunError(f"{sweep.dir}: no point has a history to plot yet")
    return fig


def png_data_uri(fig: Any) -> str:
    """A figure as an inline `data:` URI for HTML."""
    from nnrun.plots import png_bytes

    return file_data_uri(png_bytes(fig))


def file_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
