"""Learning curves of several runs on one figure, labelled by what differs between them."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Sequence
from pathlib import Path

from nnrun.compare.table import differing_keys, rank_differing
from nnrun.errors import NnrunError
from nnrun.output import write_output
from nnrun.runs.reader import RunInfo

#: Beyond this many runs the legend would hide the curves.
MAX_LEGEND = 25
#: A legend label names at most this many differing keys (the most telling ones) ...
MAX_LABEL_KEYS = 4
#: ... in at most this many characters.
MAX_LABEL_CHARS = 70


def short_keys(keys: Sequence[str]) -> dict[str, str]:
    """The last part of each dotted key, or more of it where that would be ambiguous."""
    out: dict[str, str] = {}
    for key in keys:
        parts = key.split(".")
        for n in range(1, len(parts) + 1):
            short = ".".join(parts[-n:])
            clash = [k for k in keys if k != key and ".".join(k.split(".")[-n:]) == short]
            if not clash:
                break
        out[key] = short
    return out


def labels(runs: Sequence[RunInfo]) -> list[str]:
    """One legend label per run: its name and the values of the keys that differ."""
    from nnrun.compare.formats import plain

    keys = differing_keys(runs)
    if len(keys) > MAX_LABEL_KEYS:
        top = set(rank_differing(runs, keys)[:MAX_LABEL_KEYS])
        keys = [k for k in keys if k in top]
    short = short_keys(keys)
    names = {r.name for r in runs}
    out = []
    for run in runs:
        parts = [run.name] if len(names) > 1 or not keys else []
        parts += [f"{short[k]}={plain(run.flat_config.get(k), 4)}" for k in keys if k in run.flat_config]
        label = " ".join(parts) or run.id
        out.append(label if len(label) <= MAX_LABEL_CHARS else label[: MAX_LABEL_CHARS - 3] + "...")
    return out


def curves_png(
    runs: Sequence[RunInfo], metric: str = "val_loss", train: bool = False, title: str | None = None
) -> bytes:
    """The figure as PNG bytes: `metric` per epoch for each run (dashed: the training curve)."""
    from nnrun.plots import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    train_key = metric.removeprefix("val_")
    plotted = 0
    positive = True
    for run, label in zip(runs, labels(runs), strict=True):
        rows = run.history()
        points = [(r.get("epoch", i + 1), r.get(metric)) for i, r in enumerate(rows)]
        points = [(e, v) for e, v in points if v is not None and math.isfinite(v)]
        if not points:
            continue
        positive = positive and all(v > 0 for _, v in points)
        (line,) = ax.plot([e for e, _ in points], [v for _, v in points], label=label, linewidth=1.4)
        if train and train_key != metric:
            tpoints = [(r.get("epoch", i + 1), r.get(train_key)) for i, r in enumerate(rows)]
            tpoints = [(e, v) for e, v in tpoints if v is not None and math.isfinite(v)]
            ax.plot(
                [e for e, _ in tpoints], [v for _, v in tpoints], linestyle="--", linewidth=1, color=line.get_color()
            )
        plotted += 1
    if plotted == 0:
        plt.close(fig)
        raise NnrunError(f"no run has a {metric!r} curve to plot (history.csv missing or without that column)")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    if "loss" in metric and positive:
        lo, hi = ax.get_ylim()
        if lo > 0 and hi / lo > 100:
            ax.set_yscale("log")
    suffix = " (dashed: training)" if train and train_key != metric else ""
    ax.set_title(title or f"{metric} by epoch, {plotted} run{'s' if plotted != 1 else ''}{suffix}")
    ax.grid(True, alpha=0.3)
    if plotted <= MAX_LEGEND:
        ax.legend(fontsize="small", loc="best")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def write_curves(runs: Sequence[RunInfo], path: Path, metric: str = "val_loss", train: bool = False) -> Path:
    """Write the overlay figure to `path` (a .png) atomically."""
    path = Path(path)
    if not path.parent.is_dir():
        raise NnrunError(f"--plot: the folder {path.parent} does not exist")
    if not os.access(path.parent, os.W_OK):
        raise NnrunError(f"--plot: the folder {path.parent} is not writable")
    if path.suffix.lower() != ".png":
        raise NnrunError(f"--plot writes a PNG image; give a file name ending in .png. Received: {path}")
    write_output(path, curves_png(runs, metric, train))
    return path
