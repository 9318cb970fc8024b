"""An axes' ticks, tick labels and grid lines drawn as a few artists instead of one Tick each.

matplotlib draws every tick as its own five artists (grid line, two tick marks, two labels),
updates each before every draw and measures every label twice to place the axis label: for
a line chart that is half the time of drawing the figure (a log axis has some thirty ticks).
`flatten` puts the same ticks on the axes once the layout is final (`nnrun.plots.save_png`
calls it after `arrange`): the tick marks of each kind as one line of markers, the grid lines
of each kind as one line, a text per label, with the properties of the axis's own ticks; the
axis keeps only its label, placed where matplotlib places it (beyond the tick labels).

A colour bar's axes are flattened too (its ticks and labels stand on the far side, right of
a vertical bar: drawn from the ticks' second mark and label). An axis it cannot draw the same
way is left to matplotlib: an offset or scale text beside its labels ("1e-5", "+1000"),
ticks on both sides, or on the side opposite its label. `nnrun.figure_cache.Sheet.empty` puts
a grid axis back as a new one is (default locators, label pad) and a kept colour bar's as its
Colorbar set it (`unflatten`).
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import NullLocator

from nnrun.plots import line_size

#: What `flatten` changed on an axis, for `unflatten`: (major locator, minor locator, whether
#: each was the default, label pad).
_BEFORE: weakref.WeakKeyDictionary[Any, tuple[Any, Any, bool, bool, float]] = weakref.WeakKeyDictionary()


def flatten(fig: Any) -> None:
    """Flatten the ticks of each of `fig`'s grid axes and colour bars (see the module docstring)."""
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        if not ax.axison or not ax.get_visible():
            continue
        if ax.get_subplotspec() is None and getattr(ax, "_colorbar", None) is None:
            continue  # an inset or other free axes: matplotlib draws it
        ax.apply_aspect()  # the box an image keeps: its size chooses the ticks
        for axis, x in ((ax.xaxis, True), (ax.yaxis, False)):
            if axis.get_visible():
                _flatten(ax, axis, x, renderer)


def _in_view(axis: Any, locs: Any, labels: list[str]) -> list[tuple[float, str]]:
    """The ticks matplotlib would draw: inside the view, give or take rounding."""
    if not len(locs):
        return []
    lo, hi = axis.get_transform().transform(sorted(axis.get_view_interval()))
    slack = (hi - lo) * 1e-10
    shown = axis.get_transform().transform(locs)
    return [(float(v), s) for v, s, t in zip(locs, labels, shown, strict=True) if lo - slack <= t <= hi + slack]


def unflatten(ax: Any) -> None:
    """Put `ax`'s axes back as they were before `flatten` (a kept colour bar, whose Colorbar
    sets its ticks again only when its colours change)."""
    for artist in [a for a in ax.artists if isinstance(a, _Group)]:
        artist.remove()
    for axis in (ax.xaxis, ax.yaxis):
        before = _BEFORE.pop(axis, None)
        if before is not None:
            major, minor, default_major, default_minor, axis.labelpad = before
            axis.set_major_locator(major)
            axis.set_minor_locator(minor)
            axis.isDefault_majloc, axis.isDefault_minloc = default_major, default_minor


def _flatten(ax: Any, axis: Any, x: bool, renderer: Any) -> None:
    groups = []
    far = None  # the ticks stand on the axes' far side (right, top): marks and labels 2
    for major in (True, False):
        locator = axis.get_major_locator() if major else axis.get_minor_locator()
        if isinstance(locator, NullLocator):
            continue
        locs = axis.get_majorticklocs() if major else axis.get_minorticklocs()
        formatter = axis.get_major_formatter() if major else axis.get_minor_formatter()
        labels = formatter.format_ticks(locs)  # all of them, as matplotlib does: it may look at the whole range
        if getattr(formatter, "get_offset", lambda: "")():
            return  # an offset text is placed from the labels' boxes: matplotlib keeps it
        tick = (axis.get_major_ticks if major else axis.get_minor_ticks)(1)[0]
        near = tick.tick1line.get_visible() or tick.label1.get_visible()
        beyond_spine = tick.tick2line.get_visible() or tick.label2.get_visible()
        if (near and beyond_spine) or (far is not None and beyond_spine != far):
            return  # ticks on both sides: not drawn here
        far = beyond_spine
        groups.append((tick, _in_view(axis, locs, labels)))
    if not groups:
        return
    if far and axis.get_label_position() != ("top" if x else "right"):
        return  # the label on the other side: matplotlib places it

    zorder = axis.get_zorder()
    drawn: list[Any] = []
    px = ax.figure.dpi / 72
    box = ax.bbox
    edge = (box.y1 if x else box.x1) if far else (box.y0 if x else box.x0)
    at = 1.0 if far else 0.0  # where the marks and labels stand across the axis, in axes units
    beyond = 0.0  # how far the ticks and their labels reach past the spine, in pixels
    for tick, ticks in groups:
        if not ticks:
            continue
        where = [v for v, _ in ticks]
        mark, label = (tick.tick2line, tick.label2) if far else (tick.tick1line, tick.label1)
        for template in (tick.gridline, mark):
            if not template.get_visible():
                continue
            if template is tick.gridline:  # one line of separate segments
                xs = [c for v in where for c in (v, v, math.nan)]
                ys = [c for _ in where for c in (0.0, 1.0, math.nan)]
            else:
                xs, ys = where, [at] * len(where)
                beyond = max(beyond, tick.get_tick_padding() * px)
            line = _like(template, *((xs, ys) if x else (ys, xs)))
            if template is tick.gridline:
                line.set_clip_path(ax.patch)
            else:
                line.set_clip_on(False)  # tick marks stand outside the axes
            drawn.append(line)
        if not label.get_visible():
            continue
        # an empty label still counts, as a point where its text would start
        beyond = max(beyond, (tick.get_pad() + tick.get_tick_padding()) * px)
        labels = [((v, at) if x else (at, v), s) for v, s in ticks if s]
        if labels:
            text = Text(0, 0, "")
            text.update_from(label)  # font, colour, alignment, rotation, padded transform
            text.set_rotation_mode(label.get_rotation_mode())
            text.set_figure(ax.figure)
            text.set_clip_on(False)
            drawn.append(_Labels(text, labels))
            beyond = max(beyond, _reach(text, labels, x, edge, renderer, far))
    ax.add_artist(_Group(drawn, zorder))
    _BEFORE[axis] = (
        axis.get_major_locator(),
        axis.get_minor_locator(),
        axis.isDefault_majloc,
        axis.isDefault_minloc,
        axis.labelpad,
    )
    axis.set_major_locator(NullLocator())
    axis.set_minor_locator(NullLocator())
    # matplotlib puts the axis label `labelpad` points beyond the tick labels, which are gone
    axis.labelpad += beyond / px


def _like(template: Any, xs: list[float], ys: list[float]) -> Any:
    """A line through (xs, ys) drawn as `template` (a tick's mark or grid line) is."""
    return Line2D(
        xs,
        ys,
        color=template.get_color(),
        linewidth=template.get_linewidth(),
        linestyle=template.get_linestyle(),
        alpha=template.get_alpha(),
        marker=template.get_marker(),
        markersize=template.get_markersize(),
        markeredgewidth=template.get_markeredgewidth(),
        markeredgecolor=template.get_markeredgecolor(),
        markerfacecolor=template.get_markerfacecolor(),
        transform=template.get_transform(),
    )


class _Labels(Artist):
    """An axis's tick labels: one text drawn at each place with each string.

    Drawn as `Text.draw` draws each of them, with what does not change from label to label
    done once: the graphics context, the places (one transform of them all), and each
    string's layout (kept per string and text style: tick labels repeat from picture to
    picture). A text style this does not cover (path effects, TeX, wrapping, a box) is drawn
    by `Text.draw` label by label."""

    def __init__(self, text: Any, labels: list[tuple[tuple[float, float], str]]) -> None:
        super().__init__()
        self.text, self.labels = text, labels

    def draw(self, renderer: Any) -> None:
        global _OWN_LAYOUT
        text = self.text
        plain = not (text.get_path_effects() or text.get_usetex() or text.get_wrap() or text.get_bbox_patch())
        if not (_OWN_LAYOUT and plain and not text.get_clip_on()):
            self._each(renderer)
            return
        try:
            layouts = [_layout(text, label, renderer) for _, label in self.labels]
        except (AttributeError, TypeError, ValueError):  # a matplotlib whose Text differs inside
            _OWN_LAYOUT = False
            self._each(renderer)
            return
        places = text.get_transform().transform(np.array([where for where, _ in self.labels], dtype=float))
        gc = renderer.new_gc()
        gc.set_foreground(to_rgba(text.get_color()), isRGBA=True)
        gc.set_alpha(text.get_alpha())
        gc.set_url(text.get_url())
        gc.set_antialiased(text.get_antialiased())
        gc.set_snap(text.get_snap())
        height = renderer.get_canvas_width_height()[1]
        flip = renderer.flipy()
        angle, font = text.get_rotation(), text.get_fontproperties()
        for (posx, posy), lines in zip(places, layouts, strict=True):
            if not (math.isfinite(posx) and math.isfinite(posy)):
                continue
            for line, ismath, x, y in lines:
                y = y + posy
                renderer.draw_text(
                    gc,
                    x + posx,
                    height - y if flip else y,
                    line,
                    font,
                    angle,
                    ismath=ismath,
                    mtext=text if len(lines) == 1 else None,  # its font features and language: every label's
                )
        gc.restore()

    def _each(self, renderer: Any) -> None:
        for where, label in self.labels:
            self.text.set_position(where)
            self.text.set_text(label)
            self.text.draw(renderer)


#: Layouts kept: (string, text style, dpi) -> its lines as `Text._get_layout` places them
#: around the text's position (the least recently used goes first).
MAX_LAYOUTS = 4096
_LAYOUTS: OrderedDict[tuple[Any, ...], list[tuple[str, Any, float, float]]] = OrderedDict()
_LAYOUT_LOCK = threading.Lock()
#: False once `Text`'s insides turned out different (a matplotlib newer than pyproject.toml
#: allows): labels are drawn by `Text.draw` from then on.
_OWN_LAYOUT = True


def _layout(text: Any, label: str, renderer: Any) -> list[tuple[str, Any, float, float]]:
    """`label`'s lines drawn with `text`'s style: (line, ismath, x, y) around the position."""
    key = (
        label,
        hash(text.get_fontproperties()),
        text.get_horizontalalignment(),
        text.get_verticalalignment(),
        text.get_rotation(),
        text.get_rotation_mode(),
        text.get_linespacing(),
        text._get_multialignment(),  # noqa: SLF001 - how _get_layout aligns lines
        renderer.dpi,
    )
    with _LAYOUT_LOCK:
        kept = _LAYOUTS.get(key)
        if kept is not None:
            _LAYOUTS.move_to_end(key)
            return kept
    text.set_text(label)
    _, info, _ = text._get_layout(renderer)  # noqa: SLF001 - what Text.draw places its lines by
    made = []
    for line, _, (x, y) in info:
        clean, ismath = text._preprocess_math(line)  # noqa: SLF001
        made.append((clean, ismath, float(x), float(y)))
    with _LAYOUT_LOCK:
        _LAYOUTS[key] = made
        while len(_LAYOUTS) > MAX_LAYOUTS:
            _LAYOUTS.popitem(last=False)
    return made


class _Group(Artist):
    """Artists drawn together as one child of the axes: a legend placed at "best" avoids the
    axes' lines and texts, and ticks are neither (nor are they measured for it)."""

    def __init__(self, artists: list[Any], zorder: float) -> None:
        super().__init__()
        self.children = artists
        self.set_zorder(zorder)

    def draw(self, renderer: Any) -> None:
        for artist in self.children:
            artist.draw(renderer)


def _reach(
    text: Any, labels: list[tuple[tuple[float, float], str]], x: bool, edge: float, renderer: Any, far: bool
) -> float:
    """How far past the spine at `edge` (pixels; `far`: the right or top one) the labels drawn with `text` reach, measured
    as matplotlib measures them: level labels on an x axis are all as tall, so one is measured;
    on a y axis the widest; turned labels each."""
    if text.get_rotation() == 0:
        if x:
            labels = labels[:1]
        else:
            size, family = text.get_fontsize(), tuple(text.get_fontfamily())
            labels = [max(labels, key=lambda label: line_size(label[1], size, renderer.dpi, family)[0])]
    reach = 0.0
    for where, label in labels:
        text.set_position(where)
        text.set_text(label)
        box = text.get_window_extent(renderer)
        reach = max(reach, ((box.y1 if x else box.x1) - edge) if far else edge - (box.y0 if x else box.x0))
    return reach
