"""Learning curves of several runs on one figure, labelled by what differs between them."""

from __future__ import annotations

import math
import os
import statistics
import textwrap
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnrun.compare.table import differing_keys, higher_is_better, rank_differing
from nnrun.errors import NnrunError
from nnrun.output import write_output
from nnrun.runs.layout import Status
from nnrun.runs.reader import RunInfo

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


def labels(runs: Sequence[RunInfo], seeds_averaged: bool = False) -> list[str]:
    """One legend label per run: its name and the values of the keys that differ (not the seed
    when each line is a mean over seeds: the seed of the run that stands for them means nothing)."""
    from nnrun.compare.formats import plain

    keys = [k for k in differing_keys(runs) if not (seeds_averaged and k == SEED_KEY)]
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


#: The config key of the seed: never a line's colour or style, and not named on a line that averages seeds.
SEED_KEY = "seed"
#: More lines than this on one panel: a colour bar for a numeric key, or the best few labelled.
MAX_LINES = 10
#: With many lines and no numeric key to colour by, this many best ones are labelled.
BEST_LABELLED = 5
#: Lines that differ in a numeric key take colours from a ramp ordered by it from this many on
#: (two lines are told apart best by two unrelated colours).
MIN_RAMP = 3
#: A legend of more entries than this, or with a longer label, sits outside the axes.
LEGEND_INSIDE = 4
#: Where a legend of more than LEGEND_INSIDE entries goes: beside the axes, top-aligned.
LEGEND_BESIDE: dict[str, Any] = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}
LEGEND_INSIDE_CHARS = 32
#: Line styles that tell apart the values of a second swept key (a 2-D grid: colour for the
#: learning rate, style for the other key).
LINE_STYLES = ("-", "--", ":", "-.")
#: At most this many panels (one per dataset and loss); the rest are named in the title.
MAX_PANELS = 6


@dataclass
class Series:
    """One line: the mean over its runs (seeds) per epoch, with the lowest and highest."""

    label: str
    epochs: list[float]
    mean: list[float]
    low: list[float]
    high: list[float]
    runs: int = 1
    #: The numeric value of the colour key (e.g. the learning rate), if any.
    value: float | None = None
    #: Dashed training curve (epochs, values), if asked for.
    train: tuple[list[float], list[float]] | None = None
    #: The value of a second swept key (`units=4`): up to LINE_STYLES.__len__() of them get a line style each.
    style: str | None = None
    #: The run(s) diverged: the axes are scaled to the other lines and this one is marked where it leaves them.
    diverged: bool = False
    #: The epoch whose weights the run kept (early stopping restores an earlier one), for a line of one run.
    kept: float | None = None
    #: The run's loss exploded while staying finite (`RunInfo.blew_up` without a NaN/inf): its
    #: finite curve is drawn whole (on a log axis), named as exploded and its end marked.
    exploded: bool = False

    @property
    def blew_up(self) -> bool:
        """Diverged or exploded: never ranked among the best lines."""
        return self.diverged or self.exploded

    @property
    def how(self) -> str:
        """`diverged`, `exploded` or ``: what the legend says of the line."""
        return "diverged" if self.diverged else "exploded" if self.exploded else ""

    def best(self, higher_better: bool) -> float:
        return max(self.mean) if higher_better else min(self.mean)


def series_of(epoch_values: Mapping[float, list[float]]) -> tuple[list[float], list[float], list[float], list[float]]:
    """(epochs, mean, lowest, highest) from epoch -> values of several runs."""
    epochs = sorted(epoch_values)
    return (
        epochs,
        [statistics.fmean(epoch_values[e]) for e in epochs],
        [min(epoch_values[e]) for e in epochs],
        [max(epoch_values[e]) for e in epochs],
    )


def spans_decades(values: Sequence[float], decades: float = 2.0) -> bool:
    """All positive and the largest more than 10**decades times the smallest."""
    return bool(values) and min(values) > 0 and max(values) / min(values) > 10**decades


def draw(
    ax: Any,
    fig: Any,
    series: Sequence[Series],
    *,
    colour_key: str | None,
    higher_better: bool,
    best: int | None = None,
    legend_below: bool = False,
) -> None:
    """Draw the lines of one panel. Lines that differ in a numeric key (the learning rate) take
    their colour from a ramp ordered by that key: evenly spaced in a legend ordered by value up
    to MAX_LINES, beyond it placed by value (log for a learning rate or values over two decades)
    with a colour bar; other lines:
    a legend up to MAX_LINES, beyond it the best few labelled and the rest grey. A legend of
    more than LEGEND_INSIDE entries sits right of the axes, where it hides no curve. `best`
    (an index into `series`, e.g. the sweep's chosen point) is drawn thick, outlined, on top
    and named first in the legend. A band from the lowest to the highest run where a line is
    a mean over several (seeds), up to MAX_LINES lines. Log y when the curves span more than
    two decades. `legend_below`: such a legend goes under the axes instead (a grid of panels,
    where room beside each one would squeeze them all)."""
    from matplotlib import patheffects

    from nnrun.plots import thin

    many = len(series) > MAX_LINES
    values = [s.value for s in series]
    ramp = colour_key is not None and len(series) >= MIN_RAMP and all(v is not None for v in values)
    colours: list[Any] = []
    labelled: set[int] = set(range(len(series)))
    order = list(range(len(series)))
    if ramp:
        import matplotlib as mpl
        import numpy as np

        numbers = [float(v) for v in values if v is not None]
        log = ("learning_rate" in (colour_key or "") or spans_decades(numbers, 1.5)) and min(numbers) > 0
        low, high = min(numbers), max(numbers)
        if low == high:
            low, high = low / 2 if log else low - 1, high * 2 if log else high + 1
        norm = mpl.colors.LogNorm(low, high) if log else mpl.colors.Normalize(low, high)
        # viridis without its palest yellow, which is hard to see on white
        cmap = mpl.colors.ListedColormap(mpl.colormaps["viridis"](np.linspace(0.0, 0.88, 256)))
        order = sorted(order, key=lambda i: numbers[i])
        if many:  # the colour bar reads a line's value off its colour
            colours = [cmap(norm(float(v))) for v in numbers]
        else:  # the legend names the values: evenly spaced colours in their order tell 1 and 2 apart
            distinct = sorted(set(numbers))
            place = {v: n / max(1, len(distinct) - 1) for n, v in enumerate(distinct)}
            colours = [cmap(place[v]) for v in numbers]
        if many:
            labelled = set()
            bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax)
            bar.set_label(colour_key)
    elif many:
        sign = -1 if higher_better else 1
        ranked = sorted(range(len(series)), key=lambda i: (series[i].blew_up, sign * series[i].best(higher_better)))
        labelled = set(ranked[:BEST_LABELLED])
        palette = ["C0", "C1", "C2", "C3", "C4", "C5"]
        rank = {i: n for n, i in enumerate(ranked)}
        colours = [palette[rank[i] % len(palette)] if i in labelled else "0.75" for i in range(len(series))]
        order = ranked
    if best is not None:
        labelled.add(best)
        order = [best, *(i for i in order if i != best)]
    styles = sorted({s.style for s in series if s.style is not None}, key=_in_order)
    styled = (
        1 < len(styles) <= len(LINE_STYLES)
        and all(s.style is not None for s in series)
        and not any(s.train is not None for s in series)  # dashed already means training
    )
    shown: list[float] = []
    handles: dict[int, Any] = {}
    drawn: list[Any] = []  # each line's colour
    for i, s in enumerate(series):
        colour = colours[i] if colours else None
        x, y = thin(s.epochs, s.mean)
        kw: dict[str, Any] = {"linewidth": 1.4 if i in labelled or ramp else 0.8}
        if colour is not None:
            kw["color"] = colour
        if styled:
            kw["linestyle"] = LINE_STYLES[styles.index(s.style)]
        if i == best:
            kw |= {"linewidth": 2.6, "path_effects": [patheffects.withStroke(linewidth=4.2, foreground="black")]}
        (line,) = ax.plot(x, y, zorder=4 if i == best else 3 if i in labelled else 2, **kw)
        drawn.append(line.get_color())
        if i in labelled:
            name = s.label + (f" (mean of {s.runs})" if s.runs > 1 else "") + (f" ({s.how})" if s.how else "")
            line.set_label(f"best: {name}" if i == best else name)
            handles[i] = line
        if s.runs > 1 and not many:  # dozens of overlapping bands hide the lines
            ax.fill_between(s.epochs, s.low, s.high, color=line.get_color(), alpha=0.18, linewidth=0)
        if s.train is not None:
            tx, ty = thin(*s.train)
            ax.plot(tx, ty, linestyle="--", linewidth=1, color=line.get_color())
        if not s.diverged:
            shown += [v for v in (*s.low, *s.high) if math.isfinite(v)]
    # an exploded line grew tenfold or more: a log axis keeps the other lines readable beside it
    if spans_decades(shown) or (any(s.exploded for s in series) and spans_decades(shown, 1)):
        ax.set_yscale("log")
    ax.grid(True, which="both", alpha=0.3)
    shown = _cut_spikes(ax, series, shown)
    crosses = _mark_diverged(ax, series, shown) + _mark_exploded(ax, series) + _mark_kept(ax, series, drawn)
    # a line that blew up is named as such even alone
    if (handles or styled or crosses) and (len(series) > 1 or series[0].runs > 1 or series[0].blew_up):
        entries = [handles[i] for i in order if i in handles] + crosses
        if styled and many:  # the colour bar names the colours; these name the line styles
            from matplotlib.lines import Line2D

            entries += [
                Line2D([], [], color="0.3", linestyle=LINE_STYLES[n], label=style) for n, style in enumerate(styles)
            ]
        title = f"best {len(handles)} of {len(series)}" if many and not ramp else None
        where: dict[str, Any] = {"loc": "best"}
        bands = not many and sum(s.runs > 1 for s in series) > 1  # bands fill the axes: no room inside
        wide = max(len(e.get_label()) for e in entries) > LEGEND_INSIDE_CHARS  # would spill over the y label
        if (len(entries) > LEGEND_INSIDE or bands or wide) and legend_below:
            where = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.16), "ncol": 2 if not wide else 1}
        elif (len(entries) > LEGEND_INSIDE or bands or wide) and not (many and ramp):
            where = dict(LEGEND_BESIDE)  # (beside a colour bar it would lie on it: inside, where best)
        ax.legend(handles=entries, fontsize="small", title=title, title_fontsize="small", **where)


#: On a linear axis, first epochs this many times further from the bottom than everything
#: else are a start-up spike (one line's first epoch at ten times where the others are): cut
#: off, and named.
SPIKE = 3.0


def _in_order(label: str) -> tuple[int, float, str]:
    """`units=4` before `units=16`: a `key=value` label ordered by its number, else as text."""
    try:
        return (0, float(label.rsplit("=", 1)[-1]), label)
    except ValueError:
        return (1, 0.0, label)


def _cut_spikes(ax: Any, series: Sequence[Series], values: list[float]) -> list[float]:
    """On a linear y axis, the first epochs of a few lines (one in five at most) that start far
    above everything else (`SPIKE` times the rest's range) no longer set its top: the axis
    ends just above the rest and a note names the lines cut off. Spikes later in training are
    left whole (instability is worth seeing). The values the axis now shows (for `_mark_diverged`)."""
    calm = [s for s in series if not s.diverged and s.epochs]
    if ax.get_yscale() != "linear" or len(values) < 20 or not calm:
        return values

    def start(s: Series) -> int:
        return max(2, len(s.epochs) // 10)

    peaks = sorted(calm, key=lambda s: max(s.high[: start(s)]), reverse=True)
    spiky = peaks[: max(1, len(calm) // 5)]
    rest = []
    for s in calm:
        skip = start(s) if s in spiky else 0
        rest += [v for v in (*s.low[skip:], *s.high[skip:]) if math.isfinite(v)]
    if not rest:
        return values
    low, top, high = min(rest), max(rest), max(values)
    if not (top > low and high - low > SPIKE * (top - low)):
        return values
    top += 0.08 * (top - low)
    cut = [s.label for s in spiky if max(s.high[: start(s)]) > top]
    ax.set_ylim(top=top)
    named = ", ".join(cut[:2]) + (f" and {len(cut) - 2} more" if len(cut) > 2 else "")
    ax.annotate(
        textwrap.fill(f"↑ cut off: {named} (up to {high:.3g})", 48), xy=(0.5, 0.985), xycoords="axes fraction",
        ha="center", va="top", fontsize="small", color="0.3",
        bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "0.8", "alpha": 0.9},
    )  # fmt: skip
    return [v for v in values if v <= top]


def _mark_kept(ax: Any, series: Sequence[Series], colours: Sequence[Any]) -> list[Any]:
    """A dot on each line at the epoch whose weights its run kept, when some run kept an earlier
    epoch than its last (early stopping with restored weights): the sweep ranks points there,
    not at the end of the line. The dots' legend entry, if any."""
    kept = [(i, s) for i, s in enumerate(series) if s.kept is not None and s.epochs and s.kept in s.epochs]
    if not any(s.kept != s.epochs[-1] for _, s in kept):
        return []
    for i, s in kept:
        ax.plot(
            [s.kept], [s.mean[s.epochs.index(s.kept)]], marker="o", markersize=7, color=colours[i],
            markeredgecolor="black", linestyle="none", zorder=5,
        )  # fmt: skip
    from matplotlib.lines import Line2D

    return [
        Line2D([], [], marker="o", markersize=7, color="0.5", markeredgecolor="black", linestyle="none",
               label="kept epoch (early stopping kept its weights)")
    ]  # fmt: skip


def _mark_diverged(ax: Any, series: Sequence[Series], calm: list[float]) -> list[Any]:
    """Scale the y axis to the lines that did not diverge (`calm`: their values) and put a red
    cross where each diverged line ends or leaves the axes: a loss of 10^35 would otherwise
    squash every other line flat. The crosses' legend entry, if any."""
    diverged = [s for s in series if s.diverged and s.epochs]
    if not diverged or not calm:
        return []
    low, high = min(calm), max(calm)
    if ax.get_yscale() == "log":
        pad = (high / low) ** 0.05 if high > low else 2.0
        bottom, top = low / pad, high * pad
    else:
        pad = 0.05 * (high - low) if high > low else abs(high) * 0.1 or 1.0
        bottom, top = low - pad, high + pad
    ax.set_ylim(bottom, top)
    xs, ys = [], []
    for s in diverged:
        out = next((n for n, v in enumerate(s.mean) if not bottom <= v <= top), len(s.mean) - 1)
        xs.append(s.epochs[out])
        ys.append(min(max(s.mean[out], bottom), top))
    (cross,) = ax.plot(
        xs, ys, linestyle="none", marker="X", markersize=10, color="red", markeredgecolor="white",
        zorder=6, clip_on=False, label="diverged: off the scale from here",
    )  # fmt: skip
    return [cross]


def _mark_exploded(ax: Any, series: Sequence[Series]) -> list[Any]:
    """A cross like a diverged line's, hollow, at the end of each line whose loss exploded while
    staying finite (drawn whole: its values are real, if useless): named even where a colour
    bar leaves the lines unnamed. The crosses' legend entry, if any."""
    ends = [(s.epochs[-1], s.mean[-1]) for s in series if s.exploded and s.epochs]
    if not ends:
        return []
    (cross,) = ax.plot(
        *zip(*ends, strict=True), linestyle="none", marker="X", markersize=10, color="white", markeredgecolor="red",
        markeredgewidth=1.8, zorder=6, clip_on=False, label="exploded: the loss grew, still finite",
    )  # fmt: skip
    return [cross]


def colour_key(runs: Sequence[RunInfo]) -> str | None:
    """The numeric config key to colour many lines by: the learning rate if it varies, else
    the first varying numeric key."""
    keys = [k for k in rank_differing(runs, differing_keys(runs)) if k != SEED_KEY]
    numeric = [
        k
        for k in keys
        if all(
            isinstance(r.flat_config.get(k), int | float) and not isinstance(r.flat_config.get(k), bool) for r in runs
        )
    ]
    return next((k for k in numeric if "learning_rate" in k), numeric[0] if numeric else None)


def few_valued(keys: Iterable[str], values: Callable[[str], Iterable[Any]], skip: Container[str]) -> str | None:
    """The first of `keys` (not in `skip`) with a few distinct `values(key)` (2 to 4): what line
    styles can tell apart beside the colours (compare's overlay, a sweep's curves)."""
    for key in keys:
        if key not in skip and 1 < len(set(values(key))) <= len(LINE_STYLES):
            return key
    return None


def style_key(runs: Sequence[RunInfo], colour: str) -> str | None:
    """The differing key, other than the colour key, whose few values can be line styles."""
    return few_valued(
        rank_differing(runs, differing_keys(runs)),
        lambda key: (repr(r.flat_config.get(key)) for r in runs),
        (colour, SEED_KEY),
    )


def panels(runs: Sequence[RunInfo]) -> dict[str, list[RunInfo]]:
    """Runs grouped by dataset and loss: curves in different units never share an axis."""
    out: dict[str, list[RunInfo]] = {}
    for run in runs:
        dataset = run.flat_config.get("data.dataset") or run.flat_config.get("data.path") or "?"
        loss = run.flat_config.get("loss")
        key = f"{dataset}, {loss}" if isinstance(loss, str) else str(dataset)
        out.setdefault(key, []).append(run)
    return out


def _seed_groups(runs: Sequence[RunInfo]) -> list[list[RunInfo]]:
    """Runs that differ only in their seed, together."""
    groups: dict[str, list[RunInfo]] = {}
    for run in runs:
        key = repr(sorted((k, repr(v)) for k, v in run.flat_config.items() if k != SEED_KEY) + [("name", run.name)])
        groups.setdefault(key, []).append(run)
    return list(groups.values())


def _curve(run: RunInfo, metric: str) -> dict[float, float]:
    out = {}
    for i, row in enumerate(run.history()):
        v = row.get(metric)
        if isinstance(v, int | float) and math.isfinite(v):
            out[float(row.get("epoch", i + 1))] = float(v)
    return out


def curves_png(
    runs: Sequence[RunInfo], metric: str = "val_loss", train: bool = False, title: str | None = None
) -> bytes:
    """The figure as PNG bytes: `metric` per epoch, one panel per dataset and loss, one line
    per run (runs that differ only in the seed: their mean with a band), dashed: training."""
    from nnrun.compare.formats import plain
    from nnrun.plots import epoch_axis, png_bytes, pyplot

    train_key = metric.removeprefix("val_")
    groups = panels(runs)
    names = list(groups)[:MAX_PANELS]
    plt = pyplot()
    cols = min(len(names), 3)
    rows_n = math.ceil(len(names) / cols)
    size = (8.0, 5.0) if len(names) == 1 else (6.4 * cols, 6.2 * rows_n)  # room for a legend under each
    fig, axes = plt.subplots(rows_n, cols, figsize=size, dpi=100, squeeze=False)
    plotted = lines = 0
    trained = False
    drawn: list[RunInfo] = []
    for ax, name in zip(axes.flat, names, strict=False):
        panel = [r for r in groups[name] if _curve(r, metric)]
        drawn += panel
        seeds = _seed_groups(panel)
        key = colour_key([g[0] for g in seeds]) if len(seeds) >= MIN_RAMP else None
        texts = labels([g[0] for g in seeds], seeds_averaged=len(seeds) < len(panel)) if seeds else []
        style = style_key([g[0] for g in seeds], key) if key else None
        short = short_keys([style]) if style else {}
        series = []
        for group, text in zip(seeds, texts, strict=True):
            merged: dict[float, list[float]] = {}
            for run in group:
                for e, v in _curve(run, metric).items():
                    merged.setdefault(e, []).append(v)
            epochs, mean, low, high = series_of(merged)
            value = group[0].flat_config.get(key) if key else None
            tr = None
            if train and train_key != metric and len(group) == 1:
                t = _curve(group[0], train_key)
                tr = (sorted(t), [t[e] for e in sorted(t)]) if t else None
            diverged = any(r.status == Status.DIVERGED for r in group)
            exploded = not diverged and any(r.blew_up for r in group)
            kept = group[0].kept_epoch if len(group) == 1 else None
            styled = f"{short[style]}={plain(group[0].flat_config.get(style), 4)}" if style else None
            series.append(
                Series(
                    text,
                    epochs,
                    mean,
                    low,
                    high,
                    len(group),
                    value,
                    tr,
                    style=styled,
                    diverged=diverged,
                    kept=kept,
                    exploded=exploded,
                )  # fmt: skip
            )
        if not series:
            ax.set_visible(False)
            continue
        plotted += sum(s.runs for s in series)
        trained = trained or any(s.train is not None for s in series)
        lines += len(series)
        draw(ax, fig, series, colour_key=key, higher_better=higher_is_better(metric), legend_below=len(names) > 1)
        epoch_axis(ax)
        ax.set_ylabel(metric)
        if len(names) > 1:
            ax.set_title(name, fontsize="medium")
    for ax in list(axes.flat)[len(names) :]:
        ax.set_visible(False)
    if plotted == 0:
        plt.close(fig)
        raise NnrunError(f"no run has a {metric!r} curve to plot (history.csv missing or without that column)")
    suffix = " (dashed: training)" if trained else ""  # the training curves, not a second key's line styles
    more = f"; {len(groups) - len(names)} more datasets not drawn" if len(groups) > len(names) else ""
    seeds = f" in {lines} lines (seeds averaged)" if lines < plotted else ""
    who = f"{drawn[0].name} ({drawn[0].id})" if len(drawn) == 1 else f"{plotted} runs"
    head = title or f"{metric} by epoch, {who}{seeds}{suffix}{more}"
    head = "\n".join(textwrap.wrap(head, max(40, int(size[0] * 12))))
    if len(names) > 1:
        fig.suptitle(head)
    else:
        axes.flat[0].set_title(head)
    fig.tight_layout()
    data = png_bytes(fig)
    plt.close(fig)
    return data


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
