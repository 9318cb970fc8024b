"""Figures kept for the next run's pictures of the same kind (one owner of the cache).

A run draws up to nine PNGs. Making a Figure and its Axes (axes, spines, ticks) costs more
than drawing a picture's data, and a process that runs one config after another (a sweep
worker, `nnrun.train` twice in a notebook, `nnrun train a.yaml b.yaml`) would pay it again
for every run. So `lend` lends the figure last used for the same kind and layout (the
arguments of `nnrun.plots.new_figure`), emptied of the previous run's data; it builds one
the first time, or when the layout differs.

Emptying (`Sheet.empty`) puts each axes back as a new one is: no lines, collections, images,
patches, texts or legend; colours from the start of the cycle; no title, labels or suptitle;
linear scales with default ticks, limits from the next data, automatic aspect, axis on; the
axes where a new figure places them; colour bars hidden until asked for again. A picture kind may set other things (grid style,
tick label angle) as long as it sets them the same way every time. tests/test_figure_cache.py
draws run A then run B on kept figures, and B then A, and compares each with the same
picture drawn on a new figure: the pixels are the same.

Thread-safe: a figure is lent to one thread at a time (two threads drawing the same kind
at once get two figures), and a figure whose drawing failed is dropped, not kept.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nnrun.plots import new_figure

#: At most this many figures are kept (a run of one architecture uses about nine; the least
#: recently used goes first). Each holds its Agg canvas, up to about 5 MB for the largest.
MAX_KEPT = 16

_LOCK = threading.Lock()
_KEPT: OrderedDict[tuple[Any, ...], Sheet] = OrderedDict()


class Sheet:
    """A figure lent by `lend`: `fig`, `axes` as `Figure.subplots` returns them, and the
    colour bars drawn beside its axes (kept with it)."""

    def __init__(self, fig: Any, axes: Any) -> None:
        import numpy as np

        self.fig = fig
        self.axes = axes
        self._grid = list(np.ravel(axes))
        self._bars: dict[int, Any] = {}

    def colorbar(self, ax: Any, mappable: Any, label: str | None = None) -> Any:
        """A colour bar for `mappable` right of `ax`, in the room `arrange(fig, right=COLORBAR_ROOM)`
        left (placed after the layout, so that the layout never has to measure it)."""
        ax.apply_aspect()  # an image's axes keep its aspect: the bar matches the box it shrank to
        box = ax.get_position()
        width = self.fig.get_size_inches()[0]
        where = (box.x1 + 0.15 / width, box.y0, 0.16 / width, box.height)
        bar = self._bars.get(id(ax))
        if bar is None:
            bar = self.fig.colorbar(mappable, cax=self.fig.add_axes(where))
            self._bars[id(ax)] = bar
        else:
            bar.ax.set_position(where)
            bar.ax.set_visible(True)
            same = mappable.norm is bar.norm and mappable.cmap is bar.cmap and mappable.get_alpha() == bar.alpha
            if same:  # the colours it shows already (boundary pictures share one norm and colour map)
                bar.mappable = mappable
            else:
                from nnrun import ticks

                ticks.unflatten(bar.ax)  # the Colorbar sets its own ticks again
                bar.update_normal(mappable)
        bar.set_label(label or "")
        return bar

    def empty(self) -> None:
        """Take the last picture's data off, so the figure draws as a new one would."""
        from matplotlib import rcParams
        from matplotlib.figure import SubplotParams

        for ax in self._grid:
            for artist in [*ax.lines, *ax.collections, *ax.images, *ax.patches, *ax.texts, *ax.tables, *ax.artists]:
                artist.remove()
            if ax.legend_ is not None:
                ax.legend_.remove()
            ax.set_prop_cycle(None)  # the next line takes the first colour again
            ax.set_title("")
            ax._autotitlepos = True  # noqa: SLF001 - what a new axes starts with (nnrun.plots pins it)
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.xaxis.labelpad = ax.yaxis.labelpad = rcParams["axes.labelpad"]  # `nnrun.ticks` moved them
            for axis, set_scale, set_lim in (
                (ax.xaxis, ax.set_xscale, ax.set_xlim),
                (ax.yaxis, ax.set_yscale, ax.set_ylim),
            ):
                if axis.get_scale() != "linear" or not (axis.isDefault_majfmt and axis.isDefault_minfmt):
                    set_scale("linear")  # also the default tick locators and formatters
                elif not (axis.isDefault_majloc and axis.isDefault_minloc):
                    _default_locators(axis)
                if axis.get_inverted():
                    set_lim(0, 1)  # a new axes' limits, not inverted (an image's y axis is)
            ax.set_aspect("auto", adjustable="box")
            ax.set_axis_on()
            ax.relim()
            ax.autoscale(True, tight=False)
        # the axes where a new figure has them: tick locators choose by the axes' size, and
        # `nnrun.plots.arrange` measures the ticks they choose before it moves the axes
        new = SubplotParams()  # rcParams figure.subplot.*, as a new figure reads them
        self.fig.subplots_adjust(new.left, new.bottom, new.right, new.top, new.wspace, new.hspace)
        suptitle = self.fig._suptitle  # noqa: SLF001 - matplotlib keeps it there; None without one
        if suptitle is not None:
            suptitle.set_text("")
        for bar in self._bars.values():
            bar.ax.set_visible(False)


def _default_locators(axis: Any) -> None:
    """The tick locators a linear scale gives a new axis (`LinearScale.set_default_locators_and_formatters`),
    for an axis whose scale and formatters are still a new one's: `nnrun.ticks` and the
    pictures change only its locators, and making the scale again would also make a new
    ScalarFormatter, which looks its font up (a third of emptying a figure)."""
    from matplotlib import rcParams
    from matplotlib.ticker import AutoLocator, AutoMinorLocator, NullLocator

    axis.set_major_locator(AutoLocator())
    minor = rcParams[f"{axis.axis_name}tick.minor.visible"]
    axis.set_minor_locator(AutoMinorLocator() if minor else NullLocator())
    axis.isDefault_majloc = axis.isDefault_minloc = True


@contextmanager
def lend(kind: str, nrows: int = 1, ncols: int = 1, **layout: Any) -> Iterator[Sheet]:
    """A `Sheet` for a picture of `kind` laid out as `new_figure(nrows, ncols, **layout)`: the
    one kept from the last such picture, emptied, or a new one. It is kept again when the
    block ends, and dropped if the block raises."""
    key = (kind, nrows, ncols, repr(sorted(layout.items())))
    with _LOCK:
        sheet = _KEPT.pop(key, None)
    if sheet is None:
        sheet = Sheet(*new_figure(nrows, ncols, **layout))
    yield sheet
    sheet.empty()  # now: the kept figure holds none of this run's data
    with _LOCK:
        _KEPT[key] = sheet
        while len(_KEPT) > MAX_KEPT:
            _KEPT.popitem(last=False)


def forget() -> None:
    """Drop every kept figure (the next pictures are drawn on new ones)."""
    with _LOCK:
        _KEPT.clear()
