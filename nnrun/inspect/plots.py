"""The pictures of a network's insides, drawn from what the recorder kept (matplotlib only).

gradients.png    gradient norm per layer by epoch (log scale), input to output layer in one
                 colour ramp, with the update-to-weight ratio beside it
activations.png  dead (ReLU) and saturated (sigmoid/tanh) fractions per layer by epoch
weights.png      each layer's weight histogram after the first epoch and at the end
boundary.png     decision regions of the saved model (the kept epoch's weights) with the training and test points
boundary_epochs.png  the regions at about six epochs spaced on a log scale
predictions.png  regression: predicted against actual on the test split (a sequence: both over time)

Every function takes plain arrays and rows and writes one PNG; none imports TensorFlow.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nnrun.figure_cache import lend
from nnrun.inspect.internals import series
from nnrun.inspect.regions import regions
from nnrun.plots import COLORBAR_ROOM, DIVERGED_COLOUR, arrange, epoch_axis, few_epochs, legend, log_axis, save_png

#: Colour ramp from the input layer (dark) to the output layer (light).
RAMP = "viridis"
#: At most this many layers get a panel in weights.png.
MAX_WEIGHT_PANELS = 8


def _ramp(n: int) -> list[Any]:
    import matplotlib

    cmap = matplotlib.colormaps[RAMP]
    return [cmap(0.9 * i / max(n - 1, 1)) for i in range(n)]


def _save(fig: Any, path: Path) -> Path:
    arrange(fig)
    return save_png(fig, path)


def _verdict_note(ax: Any, notes: Sequence[str]) -> None:
    if notes:
        ax.text(
            0.01,
            0.01,
            "\n".join(notes),
            transform=ax.transAxes,
            fontsize=8.5,
            va="bottom",
            color="#a01010",
            bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "#a01010", "boxstyle": "round,pad=0.3"},
        )


def _layer_lines(
    ax: Any, data: dict[str, tuple[np.ndarray, np.ndarray]], order: Sequence[str], log: bool, zero: str = ""
) -> None:
    """One line per layer, coloured by the layer's place in `order` (every layer, input to output).

    On a log scale a value of exactly 0 has no place, yet it is the one that matters (a layer
    that gets no gradient at all: dead units, a vanished gradient): zeros are drawn as
    triangles on a floor line below the smallest positive value, labelled `0 (zero)`."""
    colours = _ramp(len(order))
    zeros: list[tuple[str, np.ndarray, Any]] = []
    for layer, (epochs, values) in data.items():
        i = order.index(layer) if layer in order else 0
        where = " (input side)" if i == 0 else " (output)" if i == len(order) - 1 else ""
        finite = np.isfinite(values)  # a diverged run's last epoch may hold inf
        shown = np.where(finite & (values > 0) if log else finite, values, np.nan)
        ax.plot(
            epochs, shown, color=colours[i], lw=1.8, label=f"{layer}{where}", marker="o" if len(epochs) < 12 else None
        )
        if log and bool((values == 0).any()):
            zeros.append((layer, epochs[values == 0], colours[i]))
    if log:
        log_axis(ax)
        if zeros:
            _zero_floor(ax, data, zeros, zero)
    epoch_axis(ax)
    ax.grid(True, alpha=0.3, which="both")


#: Where exact zeros go on a log axis (decades): the floor line below the smallest positive
#: value, the spacing of one layer's row of zeros under it, the room under them for the label.
ZERO_FLOOR_DECADES = 1.0
ZERO_ROW_DECADES = 0.15
ZERO_FLOOR_ROOM = 0.45


def _zero_floor(
    ax: Any, data: dict[str, tuple[np.ndarray, np.ndarray]], zeros: list[tuple[str, np.ndarray, Any]], zero: str
) -> None:
    """Draw exact zeros on a log axis: under a grey dashed line a decade below the smallest
    positive value (at 1e-8 when nothing is positive), one row of triangles per layer in its
    colour (input side on top), and a label naming them, so they are not read as tiny numbers."""
    positive = np.concatenate([v[np.isfinite(v) & (v > 0)] for _, v in data.values()])
    floor = float(positive.min()) / 10**ZERO_FLOOR_DECADES if len(positive) else 1e-8
    rows = [floor / 10 ** (ZERO_ROW_DECADES * (n + 1)) for n in range(len(zeros))]
    top = max(ax.get_ylim()[1], float(positive.max()) * 2) if len(positive) else floor * 10
    ax.set_ylim(rows[-1] / 10**ZERO_FLOOR_ROOM, top)
    if not len(positive):  # every value is 0: a scale would only invite reading the floor as 1e-8
        ax.set_yticks([])
        ax.set_yticks([], minor=True)
    ax.axhline(floor, color="0.45", linestyle="--", linewidth=0.9, zorder=1)
    for (_, epochs, colour), y in zip(zeros, rows, strict=True):
        ax.plot(epochs, np.full(len(epochs), y), linestyle="none", marker="v", markersize=6, color=colour, zorder=5)
    names = ", ".join(layer for layer, _, _ in zeros)
    ax.text(
        0.99,
        rows[-1] / 10**0.1,
        textwrap.shorten(f"\u25bc = 0 ({zero}): {names}" if zero else f"\u25bc = 0: {names}", 70, placeholder=" ..."),
        transform=ax.get_yaxis_transform(),
        ha="right",
        va="top",
        fontsize=8.5,
        color="0.2",
        zorder=9,
    )


def _mark_diverged(ax: Any, rows: list[dict[str, Any]], diverged: int | None, exploded: int | None = None) -> None:
    """The epoch whose loss became NaN/inf, a red dotted line (the internals there are NaN or
    blown up, so the lines stop at or just before it), or else the epoch from which the loss
    exploded while staying finite; and whole epochs on a short run."""
    last = max((int(r["epoch"]) for r in rows), default=1)
    if diverged is not None:
        ax.axvline(diverged, color=DIVERGED_COLOUR, linestyle=":", lw=1.5, label=f"loss NaN/inf at epoch {diverged}")
        last = max(last, diverged)
    elif exploded is not None:
        ax.axvline(exploded, color=DIVERGED_COLOUR, linestyle=":", lw=1.5, label=f"loss exploded from epoch {exploded}")
    few_epochs(ax, last)


def _order(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(str(r["layer"]) for r in rows))


def gradients(
    rows: list[dict[str, Any]],
    path: Path,
    title: str,
    notes: Sequence[str] = (),
    diverged: int | None = None,
    exploded: int | None = None,
) -> Path | None:
    """`diverged`: the epoch whose loss became NaN/inf, marked on both panels; `exploded`: else
    the epoch from which it exploded while staying finite (`nnrun.diagnose.explosion`)."""
    grads = series(rows, "grad_norm")
    if not grads:
        return None
    with lend("gradients", 1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [3, 2]}) as sheet:
        fig, (ax, ax2) = sheet.fig, sheet.axes
        order = _order(rows)
        _layer_lines(ax, grads, order, log=True, zero="no gradient")
        _mark_diverged(ax, rows, diverged, exploded)
        ax.set_ylabel("gradient L2 norm (mean over the epoch's updates)")
        ax.set_title("gradient norm per layer")
        legend(ax, fontsize=8, loc="best", ncol=2 if len(grads) > 6 else 1)
        _verdict_note(ax, notes)
        _layer_lines(ax2, series(rows, "update_ratio"), order, log=True, zero="no update")
        _mark_diverged(ax2, rows, diverged, exploded)
        ax2.set_ylabel("||update|| / ||weights|| per epoch")
        ax2.set_title("how much each epoch moves the weights")
        fig.suptitle(f"{title}: gradients, input layer (dark) to output layer (light)")
        return _save(fig, path)


def activations(
    rows: list[dict[str, Any]],
    path: Path,
    title: str,
    notes: Sequence[str] = (),
    diverged: int | None = None,
    exploded: int | None = None,
) -> Path | None:
    """`diverged`: the epoch whose loss became NaN/inf, marked on each panel (`exploded`: as in `gradients`). An epoch whose
    activations are NaN/inf is left out: its units are neither dead nor saturated, they are broken."""
    order = _order(rows)
    # the output layer is left out: a confident classifier saturates its sigmoid by design
    hidden = [r for r in rows if order and r["layer"] != order[-1] and not _broken(r)]
    dead, saturated = series(hidden, "dead_fraction"), series(hidden, "saturated_fraction")
    panels = [
        (d, label)
        for d, label in (
            (dead, "dead units (ReLU: zero for every probe row)"),
            (saturated, "saturated units (sigmoid/tanh pinned near a limit)"),
        )
        if d
    ]
    if not panels:
        return None
    with lend("activations", 1, len(panels), figsize=(6.2 * len(panels), 4.4), squeeze=False) as sheet:
        fig, axes = sheet.fig, sheet.axes
        for ax, (data, label) in zip(axes[0], panels, strict=True):
            _layer_lines(ax, {k: (e, 100 * v) for k, (e, v) in data.items()}, order, log=False)
            ax.set_ylim(-3, 103)
            _mark_diverged(ax, rows, diverged, exploded)
            ax.set_ylabel("% of the layer's units")
            ax.set_title(label)
            legend(ax, fontsize=8, loc="best")
        _verdict_note(axes[0][0], notes)
        text = f"{title}: hidden layers' activations on a fixed batch of training rows"
        fig.suptitle("\n".join(textwrap.wrap(text, int(6.2 * len(panels) * 11))))  # one panel: no room for one line
        return _save(fig, path)


def _broken(row: dict[str, Any]) -> bool:
    """A row whose activations were NaN/inf on the probe batch (its fractions mean nothing)."""
    return any(
        isinstance(v, float) and not math.isfinite(v) for v in (row.get("activation_mean"), row.get("activation_std"))
    )


def weights(
    kernels: dict[str, tuple[np.ndarray, np.ndarray]],
    first_epoch: int,
    last_epoch: int,
    path: Path,
    title: str,
    diverged: int | None = None,
) -> Path | None:
    """kernels: {layer: (values after the first epoch, the saved model's)}, flattened; `last_epoch`
    is the epoch whose weights the saved model holds (early stopping may have restored an earlier one).
    `diverged`: the epoch whose loss became NaN/inf (the end's weights are that epoch's); only
    finite weights are drawn and counted, and a layer with none says so."""
    if not kernels:
        return None
    items = list(kernels.items())[:MAX_WEIGHT_PANELS]
    cols = min(4, len(items))
    rows_n = math.ceil(len(items) / cols)
    with lend("weights", rows_n, cols, figsize=(4.2 * cols, 3.3 * rows_n + 0.6), squeeze=False) as sheet:
        fig, axes = sheet.fig, sheet.axes
        for ax, (layer, (before, after)) in zip(axes.flat, items, strict=False):
            b, a = before[np.isfinite(before)], after[np.isfinite(after)]
            both = np.concatenate([b, a])
            if not len(both):
                why = f"diverged in epoch {diverged}: " if diverged else ""
                _nothing(ax, f"{layer}: {why}no finite weights to draw")
                continue
            lo, hi = float(both.min()), float(both.max())
            if lo == hi:
                lo, hi = lo - 0.5, hi + 0.5
            bins = np.linspace(lo, hi, 41)
            _histogram(ax, b, bins, fill=True, alpha=0.35, facecolor="tab:blue", lw=0, label=f"epoch {first_epoch}")
            lost = f" ({len(after) - len(a)} not finite)" if len(a) < len(after) else ""
            _histogram(ax, a, bins, fill=False, lw=2, edgecolor="tab:red", label=f"epoch {last_epoch}{lost}")
            ax.set_title(f"{layer} ({len(after)} weights)\n{_spread(b, a, first_epoch)}", fontsize=9)
            ax.set_xlabel("weight value")
            ax.legend(fontsize=8, loc="upper right")
            ax.grid(True, alpha=0.3)
        for ax in list(axes.flat)[len(items) :]:
            ax.axis("off")
        more = f" (first {MAX_WEIGHT_PANELS} of {len(kernels)} layers)" if len(kernels) > MAX_WEIGHT_PANELS else ""
        blew = f" (the loss became NaN/inf at epoch\u00a0{diverged})" if diverged else ""  # kept on one line
        text = f"{title}: weight histograms, epoch {first_epoch} vs the saved model (epoch {last_epoch}){more}{blew}"
        fig.suptitle("\n".join(textwrap.wrap(text, int(4.2 * cols * 10))))  # about 10 characters an inch
        return _save(fig, path)


def _histogram(ax: Any, values: np.ndarray, bins: np.ndarray, **style: Any) -> None:
    """What `ax.hist(values, bins, histtype="step"/"stepfilled")` draws, as one step patch whose
    data limits are its bins and tallest bar (hist measures every vertex of its polygon, a
    third of this picture's time)."""
    from matplotlib.patches import StepPatch

    counts, _ = np.histogram(values, bins)
    patch = ax.add_artist(StepPatch(counts, bins, baseline=0, **style))
    patch.sticky_edges.y.append(0)  # bars stand on the x axis, as hist's do
    ax.update_datalim([(bins[0], 0), (bins[-1], counts.max())])
    ax.autoscale(True)  # the limits from the data, worked out once when first asked for


def _spread(before: np.ndarray, after: np.ndarray, first_epoch: int) -> str:
    """The share of near-zero weights and the spread, first -> last, over the finite weights
    (the first epoch's alone when none of the last is finite)."""

    def zero(w: np.ndarray) -> str:
        return f"{100 * float(np.mean(np.abs(w) < 1e-3)):.0f}%"

    def std(w: np.ndarray) -> str:
        s = float(np.std(w.astype("float64")))  # float32 weights near 1e38 square to inf
        return f"{s:.3g}" if s >= 1e3 or 0 < s < 1e-3 else f"{s:.3f}"

    if not len(after):
        return f"epoch {first_epoch}: |w| < 0.001: {zero(before)}, std {std(before)}"
    if not len(before):
        return f"|w| < 0.001: {zero(after)}, std {std(after)}"
    return f"|w| < 0.001: {zero(before)} -> {zero(after)}, std {std(before)} -> {std(after)}"


def _nothing(ax: Any, note: str) -> None:
    """Axes with nothing finite to draw: the note where the data would be, no empty scale."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="#a01010", wrap=True)


class Grid:
    """A grid over two input features, wide enough for every point (standardised units)."""

    def __init__(self, points: np.ndarray, steps: int = 150) -> None:
        lo, hi = points.min(axis=0), points.max(axis=0)
        pad = 0.12 * np.maximum(hi - lo, 1e-6) + 0.05
        self.xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], steps)
        self.ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], steps)
        xx, yy = np.meshgrid(self.xs, self.ys)
        self.shape = xx.shape
        self.points = np.stack([xx.ravel(), yy.ravel()], axis=1).astype("float32")

    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the grid's cells, each centred on its grid point."""
        dx, dy = (self.xs[-1] - self.xs[0]) / (len(self.xs) - 1), (self.ys[-1] - self.ys[0]) / (len(self.ys) - 1)
        return (self.xs[0] - dx / 2, self.xs[-1] + dx / 2, self.ys[0] - dy / 2, self.ys[-1] + dy / 2)


def _over_white(colours: np.ndarray, alpha: float) -> Any:
    """`colours` as they look at `alpha` over the white axes, opaque (an image with an alpha
    takes half as long again to draw)."""
    from matplotlib.colors import ListedColormap

    rgb = np.asarray(colours)[:, :3]
    return ListedColormap(alpha * rgb + (1 - alpha))


def _line(ax: Any, grid: Grid, z: np.ndarray, level: float) -> None:
    """The contour line of `z` at `level`, black, as `ax.contour` draws it: contourpy's lines
    (what matplotlib contours with; it requires it), as one line collection, which takes a
    tenth of a ContourSet's time to make."""
    import contourpy
    from matplotlib.collections import LineCollection

    lines = contourpy.contour_generator(grid.xs, grid.ys, z, line_type="Separate").lines(level)
    ax.add_collection(LineCollection(lines, colors="k", linewidths=1.5), autolim=False)


@functools.cache
def _bands() -> tuple[Any, Any]:
    """(colour map, norm) of p(class 1) in ten red-blue bands, one pair for every picture: its
    colour table is made once, and a kept colour bar sees the same colours (nothing to redo)."""
    import matplotlib
    from matplotlib.colors import BoundaryNorm

    levels = np.linspace(0, 1, 11)
    bands = _over_white(matplotlib.colormaps["RdBu_r"]((levels[:-1] + levels[1:]) / 2), 0.75)
    return bands, BoundaryNorm(levels, bands.N)


def _regions(ax: Any, grid: Grid, probs: np.ndarray, names: Sequence[str]) -> Any:
    """Binary: p(class 1) in ten red-blue bands with the 0.5 line, an image of the grid (bands
    from its values interpolated between grid points), which draws in a fraction of the time
    filled contours take and looks the same. More classes: the winning class."""
    if probs.shape[1] == 2:
        p = probs[:, 1].reshape(grid.shape)
        im = regions(ax, p, grid.extent(), *_bands())
        if np.nanmin(p) < 0.5 < np.nanmax(p):
            _line(ax, grid, p, 0.5)
        return im
    # more classes: filled contours of the winning class, whose edges an image would draw in steps
    cls = probs.argmax(axis=1).reshape(grid.shape)
    k = probs.shape[1]
    ax.contourf(grid.xs, grid.ys, cls, levels=np.arange(-0.5, k), cmap="tab10", vmin=-0.5, vmax=9.5, alpha=0.45)
    return None


def _points(ax: Any, x: np.ndarray, y: np.ndarray, k: int, marker: str, label: str, size: float) -> None:
    """`ax.scatter(x[:, 0], x[:, 1], c=colours, marker=marker, s=size, edgecolors="k", linewidths=0.6,
    label=label)`, made as scatter makes it without its checks and colour parsing (a third of
    its time; boundary_epochs.png has six)."""
    import matplotlib
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_rgba_array
    from matplotlib.transforms import IdentityTransform

    # one RGBA row per point from a palette (matplotlib parses a colour name per point otherwise)
    palette = to_rgba_array(["#2166ac", "#b2182b"]) if k == 2 else np.asarray(matplotlib.colormaps["tab10"].colors)
    colours = palette[np.asarray(y, dtype=int) % len(palette)]
    points = PathCollection(
        (_marker(marker),),
        np.array([size], dtype=float),
        facecolors=colours,
        edgecolors="k",
        linewidths=0.6,
        offsets=np.column_stack([x[:, 0], x[:, 1]]),
        offset_transform=ax.transData,
        label=label,
    )
    points.set_transform(IdentityTransform())
    ax.add_collection(points)


@functools.cache
def _marker(marker: str) -> Any:
    """A scatter marker's path, at the size scatter gives it (one point: sizes scale it)."""
    from matplotlib.markers import MarkerStyle

    style = MarkerStyle(marker)
    return style.get_path().transformed(style.get_transform())


def boundary(
    grid: Grid,
    probs: np.ndarray,
    train: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray] | None,
    names: Sequence[str],
    features: Sequence[str],
    path: Path,
    title: str,
    weights: str = "final model",
) -> Path:
    """`weights`: whose decision regions these are (the saved model's: "kept weights, epoch 3 of 9"
    when early stopping restored an earlier epoch)."""
    with lend("boundary", figsize=(6.8, 5.6)) as sheet:
        fig, ax = sheet.fig, sheet.axes
        im = _regions(ax, grid, probs, names)
        k = probs.shape[1]
        size = 60 if len(train[0]) < 50 else 14
        _points(ax, train[0], train[1], k, "o", "training rows", size)
        if test is not None:
            _points(ax, test[0], test[1], k, "^", "test rows", size * 1.6)
        ax.set_xlabel(features[0])
        ax.set_ylabel(features[1])
        ax.legend(fontsize=8, loc="upper right", framealpha=0.9)
        classes = ", ".join(f"{n}" for n in names)
        ax.set_title(
            f"{title}: decision regions ({weights})\nclasses {classes}; circles train, triangles test", fontsize=10
        )
        arrange(fig, right=COLORBAR_ROOM if im is not None else 0.0)
        if im is not None:
            sheet.colorbar(ax, im, f"p({names[1] if len(names) > 1 else 1})")
        return save_png(fig, path)


def boundary_epochs(
    grid: Grid,
    frames: list[tuple[int, np.ndarray, float | None]],
    train: tuple[np.ndarray, np.ndarray],
    names: Sequence[str],
    features: Sequence[str],
    path: Path,
    title: str,
) -> Path | None:
    """frames: (epoch, grid probabilities, training accuracy) in epoch order."""
    if not frames:
        return None
    cols = min(3, len(frames))
    rows_n = math.ceil(len(frames) / cols)
    with lend("boundary_epochs", rows_n, cols, figsize=(4.3 * cols, 3.9 * rows_n + 0.5), squeeze=False) as sheet:
        fig, axes = sheet.fig, sheet.axes
        size = 45 if len(train[0]) < 50 else 8
        for ax, (epoch, probs, acc) in zip(axes.flat, frames, strict=False):
            _regions(ax, grid, probs, names)
            _points(ax, train[0], train[1], probs.shape[1], "o", "training rows", size)
            extra = f" · train accuracy {acc:.0%}" if acc is not None else ""
            ax.set_title(f"epoch {epoch}{extra}", fontsize=10)
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in list(axes.flat)[len(frames) :]:
            ax.axis("off")
        axes[0][0].set_ylabel(features[1])
        axes[-1][0].set_xlabel(features[0])
        colours = f"red: {names[1]}, blue: {names[0]}, black line: p = 0.5" if len(names) == 2 else ""
        head = f"{title}: the decision boundary forming (epochs on a log scale)"
        # wrapped to the figure (about 10 characters an inch): one snapshot is one narrow panel
        fig.suptitle("\n".join([*textwrap.wrap(head, int(4.3 * cols * 10)), colours]).strip())
        return _save(fig, path)


def predictions(
    actual: np.ndarray, predicted: np.ndarray, sequence: bool, path: Path, title: str, target: str = "target"
) -> Path:
    """Regression on the test split: predicted against actual (a sequence: both over time)."""
    a = np.asarray(actual, dtype="float64").reshape(len(actual), -1)[:, 0]
    p = np.asarray(predicted, dtype="float64").reshape(len(predicted), -1)[:, 0]
    ok = np.isfinite(a) & np.isfinite(p)
    r2 = 1 - float(np.sum((a[ok] - p[ok]) ** 2)) / max(float(np.sum((a[ok] - a[ok].mean()) ** 2)), 1e-12)
    with lend("predictions", figsize=(10, 4.2) if sequence else (6, 5.6)) as sheet:
        fig, ax = sheet.fig, sheet.axes
        if sequence:
            t = np.arange(len(a))
            ax.plot(t, a, lw=1.8, color="k", label="actual")
            ax.plot(t, p, lw=1.5, color="tab:orange", ls="--", label="predicted")
            ax.set_xlabel("test row (in time order)")
            ax.set_ylabel(target)
        else:
            ax.scatter(a, p, s=16, alpha=0.7, edgecolors="none", label="test rows")
            lo, hi = float(np.nanmin([a.min(), p.min()])), float(np.nanmax([a.max(), p.max()]))
            ax.plot([lo, hi], [lo, hi], color="k", lw=1, ls="--", label="perfect prediction")
            ax.set_xlabel(f"actual {target}")
            ax.set_ylabel(f"predicted {target}")
            ax.set_aspect("equal", adjustable="datalim")
        ax.grid(True, alpha=0.3)
        legend(ax, fontsize=9)
        ax.set_title(f"{title}: test predictions (R² {r2:.3f})")
        return _save(fig, path)
