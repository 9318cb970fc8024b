"""Figures for a run folder, drawn on Agg canvases without pyplot (see `pyplot()`).

A run draws up to nine PNGs, so their fixed cost is kept small: `new_figure` makes a Figure
on its own Agg canvas (no pyplot state), `arrange` places the axes from the sizes of their
texts (what `Figure.tight_layout` does, without drawing the figure an extra time), `log_axis`
labels a log scale in plain text (10⁻³: no mathtext parser), and `save_png` writes the file
atomically (a kill never leaves half a PNG). `nnrun.figure_cache` keeps each kind's figure for
the next run of the same layout.
"""

from __future__ import annotations

import functools
import math
import re
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

#: Every run figure's resolution (a 6x4 inch figure is 600x400 pixels).
DPI = 100


def new_figure(nrows: int = 1, ncols: int = 1, *, figsize: Any = None, dpi: Any = DPI, **kwargs: Any) -> Any:
    """(figure, axes) as `pyplot.subplots` returns them: a `Figure` on its own Agg canvas, never
    registered with pyplot. So drawing a run's PNGs never opens a window, never changes the
    caller's backend, and in a Jupyter kernel never joins the inline backend's list of figures
    to show, which keeps every figure alive until the cell ends (a sweep of many points in one
    cell would grow by every point's PNGs). Separate Figures can be drawn in another thread."""
    from matplotlib.figure import Figure

    from nnrun.canvas import Canvas

    fig = Figure(figsize=figsize, dpi=dpi)
    Canvas(fig)
    return fig, fig.subplots(nrows, ncols, **kwargs)


class _FileFigures:
    """The two pyplot calls nnrun's figure code makes, for figures that only become files."""

    subplots = staticmethod(new_figure)

    @staticmethod
    def close(fig: Any = None) -> None:
        """Nothing to release: the figure is not registered anywhere."""


def pyplot() -> Any:
    """What nnrun draws files with: `subplots` and `close` as pyplot's, without pyplot (see
    `new_figure`). Figures shown to a user (`nnrun.Run.plot`) use matplotlib.pyplot itself."""
    return _FileFigures


def png_bytes(fig: Any) -> bytes:
    """The figure as PNG bytes: drawn as `fig.savefig` draws it, with its ticks drawn as a few
    artists (`nnrun.ticks`, once the layout is final); encoded by `nnrun.png` (a few times faster
    than savefig's). Every PNG nnrun writes or embeds is made here."""
    from nnrun import png, ticks

    ticks.flatten(fig)
    fig.canvas.draw()
    return png.encode(fig.canvas.buffer_rgba(), fig.dpi)


def save_png(fig: Any, path: Path) -> Path:
    """The figure as a PNG, written beside and renamed (a kill never leaves half a picture)."""
    from nnrun.runs.files import atomic_write_bytes

    atomic_write_bytes(path, png_bytes(fig))
    return path


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _plain(label: str) -> str:
    """matplotlib's mathtext log label (`$\\mathdefault{2\\times10^{-3}}$`) as plain text (2×10⁻³)."""
    m = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", label)
    if m is None:
        return label
    body = m.group(1).replace("\\times", "×").replace("\\mathdefault", "")
    return (
        re.sub(r"\^\{([^}]*)\}", lambda e: e.group(1).translate(_SUPERSCRIPT), body).replace("{", "").replace("}", "")
    )


_PLAIN_LOG: Any = None


def _plain_log_formatter(**kwargs: Any) -> Any:
    global _PLAIN_LOG
    if _PLAIN_LOG is None:
        from matplotlib import ticker

        class PlainLog(ticker.LogFormatterSciNotation):
            def __call__(self, x: float, pos: int | None = None) -> str:
                return _plain(super().__call__(x, pos))

        _PLAIN_LOG = PlainLog
    return _PLAIN_LOG(**kwargs)


_LEGEND: Any = None


def legend(ax: Any, **kwargs: Any) -> Any:
    """`ax.legend(**kwargs)` (the entries of the axes' labelled artists), placed once per draw:
    matplotlib's legend asks where its box goes twice in each draw (for the frame, then for the
    box), and at `loc="best"` each answer measures every line's vertices against nine places
    (about 0.7 ms for a 500-epoch curve)."""
    global _LEGEND
    if _LEGEND is None:
        from matplotlib.legend import Legend

        class PlacedOnce(Legend):
            _placed: dict[tuple[float, ...], tuple[float, float]] | None = None

            def draw(self, renderer: Any) -> None:
                self._placed = {}
                try:
                    super().draw(renderer)
                finally:
                    self._placed = None

            def _findoffset(self, width: float, height: float, xdescent: float, ydescent: float, renderer: Any) -> Any:
                placed = self._placed
                if placed is None:
                    return super()._findoffset(width, height, xdescent, ydescent, renderer)
                key = (width, height, xdescent, ydescent)
                if key not in placed:
                    placed[key] = super()._findoffset(width, height, xdescent, ydescent, renderer)
                return placed[key]

        _LEGEND = PlacedOnce
    handles, labels = ax.get_legend_handles_labels()
    made = _LEGEND(ax, handles, labels, **kwargs)
    made._remove_method = ax._remove_legend  # noqa: SLF001 - as Axes.legend sets it: remove() forgets it
    ax.legend_ = made
    return made


def log_axis(ax: Any, axis: str = "y") -> None:
    """A log scale whose tick labels are plain text with Unicode exponents: the same labels as
    matplotlib's (10⁻³, and 2×10⁻¹ on a short range), without parsing mathtext for each."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_formatter(_plain_log_formatter())
    target.set_minor_formatter(_plain_log_formatter(labelOnlyBase=False))


def epoch_axis(ax: Any) -> None:
    """An x axis of epochs: labelled so, ticks on whole epochs only (no 1.25 on a 3-epoch run)."""
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def few_epochs(ax: Any, last: int) -> None:
    """Whole epochs on the x axis of a run of one or two epochs, where the integer locator finds
    none and falls back to 0.95..1.05."""
    if last < 3:
        ax.set_xlim(0.5, last + 0.5)
        ax.set_xticks(range(1, last + 1))


def _text_size(renderer: Any, text: str, size: Any) -> tuple[float, float]:
    """(width, height) of one text in pixels."""
    from matplotlib import rcParams

    if not text:
        return 0.0, 0.0
    width, height = 0.0, 0.0
    family = tuple(rcParams["font.family"])
    for line in text.split("\n"):
        w, h = line_size(line or " ", size, renderer.dpi, family)
        width, height = max(width, w), height + h * 1.2
    return width, height


@functools.lru_cache(maxsize=4096)
def line_size(line: str, size: Any, dpi: float, family: tuple[str, ...]) -> tuple[float, float]:
    """(width, height) of one line of text in pixels, measured once per process: tick labels
    and axis labels repeat from one run's figures to the next."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    w, h, _ = RendererAgg(1, 1, dpi).get_text_width_height_descent(line, FontProperties(size=size), ismath=False)
    return w, h


def _tick_labels(axis: Any, lo: float, hi: float) -> list[str]:
    labels: list[str] = []
    lo, hi = min(lo, hi), max(lo, hi)
    for locator, formatter in (
        (axis.get_major_locator(), axis.get_major_formatter()),
        (axis.get_minor_locator(), axis.get_minor_formatter()),
    ):
        try:
            locs = [v for v in locator() if lo <= v <= hi]
            labels += [t for t in formatter.format_ticks(locs) if t]
        except Exception:  # noqa: BLE001, S112 - a locator with nothing to say
            continue
    return labels


def _needs(ax: Any, renderer: Any, px: float, xrotation: float = 0.0) -> tuple[float, float, float, float]:
    """(left, bottom, top, right) room in pixels that `ax`'s texts need outside its box."""
    from matplotlib import rcParams

    tick = (rcParams["ytick.major.size"] + rcParams["ytick.major.pad"]) * px
    left = bottom = top = right = 0.0
    if ax.yaxis.get_visible() and ax.get_yticks().size:
        ys = _tick_labels(ax.yaxis, *ax.get_ylim())
        left += max((_text_size(renderer, t, rcParams["ytick.labelsize"])[0] for t in ys), default=0.0) + tick
    if ax.get_ylabel():
        left += _text_size(renderer, ax.get_ylabel(), ax.yaxis.label.get_fontsize())[1] + rcParams["axes.labelpad"] * px
    if ax.xaxis.get_visible() and ax.get_xticks().size:
        xs = _tick_labels(ax.xaxis, *ax.get_xlim())
        sizes = [_text_size(renderer, t, rcParams["xtick.labelsize"]) for t in xs]
        turn = math.radians(xrotation)
        bottom += max((w * math.sin(turn) + h * math.cos(turn) for w, h in sizes), default=0.0) + tick
        right = max((w / 2 for w, _ in sizes[-1:]), default=0.0)
    if ax.get_xlabel():
        bottom += (
            _text_size(renderer, ax.get_xlabel(), ax.xaxis.label.get_fontsize())[1] + rcParams["axes.labelpad"] * px
        )
    if ax.get_title():
        top = _text_size(renderer, ax.get_title(), ax.title.get_fontsize())[1] + rcParams["axes.titlepad"] * px
    return left, bottom, top, right


def _pin_title(ax: Any) -> None:
    """Keep the title where it is (just above the axes) instead of letting matplotlib move it at
    draw time, which measures the whole y axis once more for each titled axes. It moves a title
    only above top ticks (nnrun draws none) or the y axis's offset text, so that case keeps it."""
    title = ax.title
    if not title.get_text():
        return
    formatter = ax.yaxis.get_major_formatter()
    if ax.yaxis.get_visible() and getattr(formatter, "get_offset", lambda: "")():
        return
    title.set_y(1.0)  # what `ax.set_title(..., y=1.0)` does, without setting its font again
    ax._autotitlepos = False  # noqa: SLF001


def arrange(fig: Any, pad: float = 0.08, right: float = 0.0, xrotation: float = 0.0) -> None:
    """Place the figure's grid of axes so that every tick label, axis label, title and the
    figure's suptitle fit, as `Figure.tight_layout` does, but from the texts' measured sizes
    alone: tight_layout draws the whole figure once more to find them (a third of a figure's
    cost). `pad` is the margin around everything, in inches; `right` extra room on the right
    (a colour bar beside the last column, `nnrun.figure_cache.Sheet.colorbar`); `xrotation` the x tick labels' angle."""
    axes = [ax for ax in fig.axes if ax.get_subplotspec() is not None and ax.axison]
    if not axes:
        return
    renderer = fig.canvas.get_renderer()
    px = fig.dpi / 72.0  # pixels per point
    nrows, ncols = axes[0].get_subplotspec().get_gridspec().get_geometry()
    width, height = fig.get_size_inches() * fig.dpi
    col_left, col_right = [0.0] * ncols, [0.0] * ncols
    row_top, row_bottom = [0.0] * nrows, [0.0] * nrows
    for ax in axes:
        spec = ax.get_subplotspec()
        left, bottom, top, over = _needs(ax, renderer, px, xrotation)
        _pin_title(ax)  # after _needs: the formatter knows its offset text
        c, r = spec.colspan.start, spec.rowspan.start
        col_left[c] = max(col_left[c], left)
        col_right[spec.colspan.stop - 1] = max(col_right[spec.colspan.stop - 1], over)
        row_top[r] = max(row_top[r], top)
        row_bottom[spec.rowspan.stop - 1] = max(row_bottom[spec.rowspan.stop - 1], bottom)
    margin = pad * fig.dpi
    suptitle = fig._suptitle  # noqa: SLF001 - matplotlib keeps it there; None without one
    above = 0.0
    if suptitle is not None and suptitle.get_text():
        above = _text_size(renderer, suptitle.get_text(), suptitle.get_fontsize())[1] + margin / 2
    left = col_left[0] + margin
    rightm = col_right[-1] + margin + right * fig.dpi
    top = row_top[0] + margin + above
    bottom = row_bottom[-1] + margin
    wgap = max((col_left[i + 1] + col_right[i] for i in range(ncols - 1)), default=0.0) + 2 * margin
    hgap = max((row_top[i + 1] + row_bottom[i] for i in range(nrows - 1)), default=0.0) + 2 * margin
    axw = max((width - left - rightm - (ncols - 1) * wgap) / ncols, 1.0)
    axh = max((height - top - bottom - (nrows - 1) * hgap) / nrows, 1.0)
    fig.subplots_adjust(
        left=min(left / width, 0.45),
        right=max(1 - rightm / width, 0.55),
        bottom=min(bottom / height, 0.45),
        top=max(1 - top / height, 0.55),
        wspace=wgap / axw,
        hspace=hgap / axh,
    )
    if suptitle is not None:
        suptitle.set_y(1 - (margin / 2) / height)
        suptitle.set_verticalalignment("top")


#: The room a colour bar (`nnrun.figure_cache.Sheet.colorbar`) takes right of its axes, in inches (gap, bar, tick labels, label).
COLORBAR_ROOM = 1.0


#: A curve is drawn with at most about this many points (a million epochs would take minutes).
MAX_CURVE_POINTS = 4000
#: Above this many classes the confusion matrix is a heat map without per-cell numbers.
MAX_LABELLED_CLASSES = 30
#: The confusion matrix figure's largest side, in inches (at 100 dpi).
MAX_MATRIX_INCHES = 14.0
#: Class names up to this wide (inches) stand level under the matrix's columns; longer are turned.
MAX_LEVEL_NAME_INCHES = 1.2


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
    buckets = min(max(1, limit // 2), n)
    # the stretches np.array_split(range(n), buckets) makes, each one's first index and number
    size, extra = divmod(n, buckets)
    sizes = np.full(buckets, size)
    sizes[:extra] += 1
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    stretch = np.repeat(np.arange(buckets), sizes)
    finite = np.isfinite(ys)
    # sorted by stretch, then value (non-finite last), then index: the first of each stretch is
    # its lowest finite value (the earliest of equal ones, as np.argmin), likewise the highest
    lowest = np.lexsort((np.where(finite, ys, np.inf), stretch))[starts]
    highest = np.lexsort((np.where(finite, -ys, np.inf), stretch))[starts]
    any_finite = np.logical_or.reduceat(finite, starts)
    keep = np.concatenate([[0, n - 1], starts[~any_finite], lowest[any_finite], highest[any_finite]])
    order = np.unique(keep)
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

    from nnrun.figure_cache import lend

    written = []
    keys = [k for k in history[0] if k not in ("epoch", "learning_rate") and not k.startswith("val_")]
    epochs = _series(history, "epoch")
    for key in keys:
        with lend("curve", figsize=(6, 4)) as sheet:
            draw_curve(sheet.axes, history, key, title, kept_epoch)
            arrange(sheet.fig)
            written.append(save_png(sheet.fig, out_dir / f"{key}.png"))
    lrs = _series(history, "learning_rate")
    x_lr, xlabel = epochs, "epoch"
    if lr_steps is not None:
        x_lr, lrs = np.asarray(lr_steps[0], dtype=float), np.asarray(lr_steps[1], dtype=float)
        xlabel = "epoch (every optimizer update)"
    seen = lrs[np.isfinite(lrs)]
    if len(seen) and seen.max() != seen.min():
        with lend("learning_rate", figsize=(6, 4)) as sheet:
            ax = sheet.axes
            ax.plot(*thin(x_lr, lrs), linewidth=1)
            ax.set_xlabel(xlabel)
            ax.set_ylabel("learning rate")
            ax.set_title(f"{title}: learning rate")
            ax.grid(True, alpha=0.3)
            arrange(sheet.fig)
            written.append(save_png(sheet.fig, out_dir / "learning_rate.png"))
    return written


def draw_curve(
    ax: Any, history: Sequence[Mapping[str, float]], key: str, title: str, kept_epoch: int | None = None
) -> None:
    """`key` by epoch on `ax`: training, validation (if recorded) and the kept epoch marked.

    A run that diverged is drawn up to its last finite values, with the epoch where a loss
    became NaN/inf marked (or, when it stayed finite, the epoch where it exploded); the kept-weights mark only stands on an epoch whose losses are
    finite (the weights of the epoch that diverged are not a result to point at). Only finite
    values are computed with, so drawing a diverged run warns about nothing."""
    import numpy as np

    epochs = _series(history, "epoch")
    blowup = divergence(history)
    lines = [(f"train {key}", _finite(_series(history, key)))]
    if f"val_{key}" in history[0]:
        lines.append((f"validation {key}", _finite(_series(history, f"val_{key}"))))
    for label, values in lines:
        # a single finite value is no line: a dot shows it (a run that diverged in epoch 2)
        alone = int(np.isfinite(values).sum()) == 1
        ax.plot(*thin(epochs, values), label=label, marker="o" if alone else None)
    anything = any(bool(np.isfinite(values).any()) for _, values in lines)
    kept_drawn = _mark_kept(ax, history, key, kept_epoch)
    if blowup is not None:
        _mark_diverged(ax, blowup, kept_epoch, kept_drawn)
    else:
        _mark_exploded(ax, history)
    epoch_axis(ax)
    ax.set_ylabel(key)
    ax.set_title(f"{title}: {key}")
    shown = np.concatenate([values[np.isfinite(values)] for _, values in lines])
    # compared without dividing: the largest finite loss of a diverged run is near float32's limit
    if key == "loss" and len(shown) and bool(np.all(shown > 0)) and np.max(shown) / 100 > max(np.min(shown), 1e-12):
        log_axis(ax)
    ax.grid(True, alpha=0.3)
    last = _float(history[-1].get("epoch"))
    last = int(last) if math.isfinite(last) else len(history)
    few_epochs(ax, last)
    if not anything:
        ax.set_yticks([])
        where = blowup.epoch if blowup is not None else None
        ax.text(
            0.5,
            0.5,
            f"diverged in epoch {where}: nothing finite to draw" if where else f"no finite {key} to draw",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color=DIVERGED_COLOUR,
            bbox={"facecolor": "white", "edgecolor": DIVERGED_COLOUR, "boxstyle": "round,pad=0.4"},
        )
        return
    legend(ax)


#: The colour of a divergence mark and note.
DIVERGED_COLOUR = "#b2182b"


class Divergence:
    """Where a run's loss first became NaN/inf: the epoch, the column and what it became."""

    def __init__(self, epoch: int, column: str, value: float) -> None:
        self.epoch, self.column = epoch, column
        self.became = "NaN" if math.isnan(value) else "inf" if value > 0 else "-inf"


def divergence(history: Sequence[Mapping[str, float]]) -> Divergence | None:
    """The first epoch with a NaN or infinite loss (any column named *loss, as the trainers
    decide that a run diverged), or None."""
    import numpy as np

    if not history:
        return None
    columns = [k for k in history[0] if k.endswith("loss")]
    first: tuple[int, str, float] | None = None
    for column in columns:
        values = _series(history, column)
        bad = np.flatnonzero(~np.isfinite(values))
        if len(bad) and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), column, float(values[bad[0]]))
    if first is None:
        return None
    at = _float(history[first[0]].get("epoch"))
    return Divergence(int(at) if math.isfinite(at) else first[0] + 1, first[1], first[2])


def _finite(values: Any) -> Any:
    """The values with NaN where they are not finite (matplotlib leaves a gap there)."""
    import numpy as np

    return np.where(np.isfinite(values), values, np.nan)


def _kept_row(history: Sequence[Mapping[str, float]], kept_epoch: int) -> Mapping[str, float] | None:
    guess = kept_epoch - 1  # epochs count from 1: look there first, not through a million rows
    if 0 <= guess < len(history) and history[guess].get("epoch") == kept_epoch:
        return history[guess]
    return next((r for r in history if r.get("epoch") == kept_epoch), None)


def _mark_kept(ax: Any, history: Sequence[Mapping[str, float]], key: str, kept_epoch: int | None) -> bool:
    """Mark the kept epoch; True if marked. Not on an epoch whose loss is NaN/inf (the weights
    of a diverged epoch), nor where the value to mark is not finite."""
    if kept_epoch is None:
        return False
    row = _kept_row(history, kept_epoch)
    if row is None:
        return False
    if any(k.endswith("loss") and not math.isfinite(_float(v)) for k, v in row.items()):
        return False
    shown = f"val_{key}" if math.isfinite(_float(row.get(f"val_{key}"))) else key
    value = _float(row.get(shown))
    if not math.isfinite(value):
        return False
    last = kept_epoch == history[-1].get("epoch")
    label = f"kept weights (epoch {kept_epoch}{', the last' if last else ''})"
    ax.axvline(kept_epoch, color="0.4", linestyle="--", linewidth=1, zorder=1)
    ax.plot([kept_epoch], [value], "o", color="black", markersize=6, label=label, zorder=3)
    return True


def _mark_diverged(ax: Any, blowup: Divergence, kept_epoch: int | None, kept_drawn: bool) -> None:
    """A red dotted line at the epoch whose loss became NaN/inf, saying so (and, when the saved
    model holds that epoch's weights, that too: no finite epoch was kept)."""
    label = f"diverged at epoch {blowup.epoch}: {blowup.column} {blowup.became}"
    if not kept_drawn and kept_epoch is not None and kept_epoch >= blowup.epoch:
        label += f"\n(the saved model holds epoch {kept_epoch}'s weights)"
    ax.axvline(blowup.epoch, color=DIVERGED_COLOUR, linestyle=":", linewidth=1.5, zorder=2, label=label)


def _mark_exploded(ax: Any, history: Sequence[Mapping[str, float]]) -> None:
    """A red dotted line where the training loss exploded while staying finite (the fit
    diagnosis's `diverged` rule, `nnrun.diagnose.explosion`), saying how far it grew."""
    from nnrun.diagnose import explosion

    found = explosion(history)
    if found is not None:
        label = f"loss exploded from epoch {found.epoch}\n(finite, up to {found.times()} its lowest)"
        ax.axvline(found.epoch, color=DIVERGED_COLOUR, linestyle=":", linewidth=1.5, zorder=2, label=label)


def _text_inches(text: str) -> float:
    """How wide `text` is drawn as a tick label, in inches."""
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import RendererAgg

    return _text_size(RendererAgg(1, 1, DPI), text, rcParams["xtick.labelsize"])[0] / DPI


def confusion_matrix(matrix: list[list[int]], names: list[str], path: Path, title: str) -> Path:
    """The test confusion matrix; its size and drawing time are bounded whatever the number of
    classes: above `MAX_LABELLED_CLASSES` a heat map without per-cell numbers, with at most
    about 30 class names on each axis."""
    from nnrun.figure_cache import lend

    k = len(matrix)
    labelled = k <= MAX_LABELLED_CLASSES
    step = max(1, math.ceil(k / MAX_LABELLED_CLASSES))
    ticks = list(range(0, k, step))
    longest = max(_text_inches(names[i]) for i in ticks)
    # a few classes: cells wide enough for their names side by side; more, or long names: names turned
    rotation = 45 if k > 4 or longest > MAX_LEVEL_NAME_INCHES else 0
    if rotation:  # the names turned take about their width to the left and below
        side = min(MAX_MATRIX_INCHES, 0.6 * k + 2)
        room = min(longest, 3.0)
        width = min(MAX_MATRIX_INCHES, max(4.5, side + room))
        height = min(MAX_MATRIX_INCHES, max(4, side - 0.5 + 0.7 * room))
    else:
        cell = max(0.6, longest + 0.3)
        width = max(4.5, longest + 0.5 + k * cell + COLORBAR_ROOM + 0.2)  # y names and label, cells, bar
        height = max(4, k * cell + 1.6)  # title, x names and label
    with lend("confusion_matrix", figsize=(width, height)) as sheet:
        fig, ax = sheet.fig, sheet.axes
        im = ax.imshow(matrix, cmap="Blues", interpolation="nearest")
        turned = (
            {"ha": "right", "rotation_mode": "anchor"} if rotation else {"ha": "center", "rotation_mode": "default"}
        )
        ax.set_xticks(ticks, [names[i] for i in ticks], rotation=rotation, **turned)  # a turned name ends at its column
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
        arrange(fig, right=COLORBAR_ROOM, xrotation=rotation)
        sheet.colorbar(ax, im)
        return save_png(fig, path)
