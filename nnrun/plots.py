"""Figures for a run folder, drawn on Agg canvases without pyplot (see `pyplot()`)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any


class _FileFigures:
    """The two pyplot calls nnrun's figure code makes, for figures that only become files:
    a `Figure` on its own Agg canvas, never registered with pyplot. So drawing a run's PNGs
    never opens a window, never changes the caller's backend, and in a Jupyter kernel never
    joins the inline backend's list of figures to show, which keeps every figure alive until
    the cell ends (a sweep of many points in one cell would grow by every point's PNGs)."""

    @staticmethod
    def subplots(nrows: int = 1, ncols: int = 1, *, figsize: Any = None, dpi: Any = None, **kwargs: Any) -> Any:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, dpi=dpi)
        FigureCanvasAgg(fig)
        return fig, fig.subplots(nrows, ncols, **kwargs)

    @staticmethod
    def close(fig: Any = None) -> None:
        """Nothing to release: the figure is not registered anywhere."""


def pyplot() -> Any:
    """What nnrun draws files with: `subplots` and `close` as pyplot's, without pyplot (see
    `_FileFigures`). Figures shown to a user (`nnrun.Run.plot`) use matplotlib.pyplot itself."""
    return _FileFigures


#: A curve is drawn with at most about this many points (a million epochs would take minutes).
MAX_CURVE_POINTS = 4000
#: Above this many classes the confusion matrix is a heat map without per-cell numbers.
MAX_LABELLED_CLASSES = 30
#: The confusion matrix figure's largest side, in inches (at 100 dpi).
MAX_MATRIX_INCHES = 14.0


def draw_each(figures: Iterable[Callable[[], Any]], stopped: Callable[[], bool]) -> None:
    """Draw each figure in turn: a stop signal skips those not yet drawn, and one that fails is
    left out (a picture is never worth a run)."""
    for draw in figures:
        if stopped():
            return
        try:
            draw()
        except KeyboardInterrupt:  # a stop while drawing: no more pictures
            return
        except Exception:  # noqa: BLE001, S112 - a picture is never worth a run
            continue


def thin(x: Sequence[float], y: Sequence[float | None], limit: int = MAX_CURVE_POINTS) -> tuple[Any, Any]:
    """At most about `limit` points of a long curve, keeping each stretch's lowest and highest
    value (so spikes and the minimum stay visible), in epoch order."""
    import numpy as np

    xs = np.asarray(x, dtype=float)
    ys = y if isinstance(y, np.ndarray) else [math.nan if v is None else v for v in y]
    ys = np.asarray(ys, dtype=float)
    n = len(xs)
    if n <= limit:
        return xs, ys
    buckets = max(1, limit // 2)
    keep = {0, n - 1}
    for chunk in np.array_split(np.arange(n), buckets):
        values = ys[chunk]
        finite = np.isfinite(values)
        if not finite.any():
            keep.add(int(chunk[0]))
            continue
        idx = chunk[finite]
        keep.add(int(idx[np.argmin(ys[idx])]))
        keep.add(int(idx[np.argmax(ys[idx])]))
    order = np.array(sorted(keep))
    return xs[order], ys[order]


def _series(history: Sequence[Mapping[str, Any]], key: str) -> Any:
    """One column of the history as floats (NaN where missing), without a dict per epoch if it can."""
    import numpy as np

    column = getattr(history, "column", None)
    if column is not None:
        return np.asarray(column(key), dtype=float)
    return np.array([_float(r.get(key)) for r in history], dtype=float)


def _float(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def curves(
    history: Sequence[Mapping[str, float]],
    out_dir: Path,
    title: str,
    kept_epoch: int | None = None,
    lr_steps: tuple[Any, Any] | None = None,
) -> list[Path]:
    """loss.png and one PNG per metric: train vs validation by epoch (long runs thinned).

    `kept_epoch`, the epoch whose weights the model holds, is marked on each (a dashed line
    and a dot on the validation curve, or the training one without validation).
    `lr_steps` (positions in epochs, rates) draws learning_rate.png at every optimizer update,
    so a cyclical schedule shows its triangle rather than one sample per epoch.
    """
    if not history:
        return []
    import numpy as np

    plt = pyplot()
    written = []
    keys = [k for k in history[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    epochs = _series(history, "epoch")
    for key in keys:
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        draw_curve(ax, history, key, title, kept_epoch)
        fig.tight_layout()
        path = out_dir / f"{key}.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    lrs = _series(history, "learning_rate")
    x_lr, xlabel = epochs, "epoch"
    if lr_steps is not None:
        x_lr, lrs = np.asarray(lr_steps[0], dtype=float), np.asarray(lr_steps[1], dtype=float)
        xlabel = "epoch (every optimizer update)"
    seen = lrs[np.isfinite(lrs)]
    if len(seen) and seen.max() != seen.min():
        fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
        ax.plot(*thin(x_lr, lrs), linewidth=1)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("learning rate")
        ax.set_title(f"{title}: learning rate")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        path = out_dir / "learning_rate.png"
        fig.savefig(path)
        plt.close(fig)
        written.append(path)
    return written


def draw_curve(
    ax: Any, history: Sequence[Mapping[str, float]], key: str, title: str, kept_epoch: int | None = None
) -> None:
    """`key` by epoch on `ax`: training, validation (if recorded) and the kept epoch marked."""
    import numpy as np

    epochs = _series(history, "epoch")
    ax.plot(*thin(epochs, _series(history, key)), label=f"train {key}")
    if f"val_{key}" in history[0]:
        ax.plot(*thin(epochs, _series(history, f"val_{key}")), label=f"validation {key}")
    _mark_kept(ax, history, key, kept_epoch)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key)
    ax.set_title(f"{title}: {key}")
    values = _series(history, key)
    positive = key == "loss" and len(values) > 0 and bool(np.all(values > 0))
    if positive and np.max(values) / max(np.min(values), 1e-12) > 100:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend()


def _mark_kept(ax: Any, history: Sequence[Mapping[str, float]], key: str, kept_epoch: int | None) -> None:
    if kept_epoch is None:
        return
    guess = kept_epoch - 1  # epochs count from 1: look there first, not through a million rows
    if 0 <= guess < len(history) and history[guess].get("epoch") == kept_epoch:
        row: Mapping[str, float] | None = history[guess]
    else:
        row = next((r for r in history if r.get("epoch") == kept_epoch), None)
    if row is None:
        return
    shown = f"val_{key}" if row.get(f"val_{key}") is not None else key
    last = kept_epoch == history[-1].get("epoch")
    label = f"kept weights (epoch {kept_epoch}{', the last' if last else ''})"
    ax.axvline(kept_epoch, color="0.4", linestyle="--", linewidth=1, zorder=1)
    ax.plot([kept_epoch], [row.get(shown)], "o", color="black", markersize=6, label=label, zorder=3)


def confusion_matrix(matrix: list[list[int]], names: list[str], path: Path, title: str) -> Path:
    """The test confusion matrix; its size and drawing time are bounded whatever the number of
    classes: above `MAX_LABELLED_CLASSES` a heat map without per-cell numbers, with at most
    about 30 class names on each axis."""
    plt = pyplot()
    k = len(matrix)
    labelled = k <= MAX_LABELLED_CLASSES
    side = min(MAX_MATRIX_INCHES, 0.6 * k + 2)
    width = max(4.5, side)
    fig, ax = plt.subplots(figsize=(width, max(4, side - 0.5)), dpi=100)
    im = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
    fig.colorbar(im, ax=ax)
    step = max(1, math.ceil(k / MAX_LABELLED_CLASSES))
    ticks = list(range(0, k, step))
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=45 if k > 4 else 0)
    ax.set_yticks(ticks, [names[i] for i in ticks])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    counts = "" if labelled else f", {k} classes, counts by colour"
    # the run's name on its own line(s), wrapped to the figure: a long name is never clipped
    chars = max(20, int(width * 11))
    lines = [*textwrap.wrap(title, chars), *textwrap.wrap(f"confusion matrix (test{counts})", chars)]
    ax.set_title("\n".join(lines), fontsize="medium")
    peak = max(max(r) for r in matrix) or 1
    for i in range(k if labelled else 0):
        for j in range(k):
            ax.text(
                j,
                i,
                str(matrix[i][j]),
                ha="center",
                va="center",
                color="white" if matrix[i][j] > peak / 2 else "black",
            )
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
