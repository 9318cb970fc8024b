"""Ticks drawn as a few artists (`nnrun.ticks`) look as matplotlib's own ticks do."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from matplotlib.ticker import NullLocator

from nnrun import plots, ticks


def _log_lines(ax: Any) -> None:
    e = np.arange(1, 301)
    ax.plot(e, 0.2 / e, label="first")
    ax.plot(e, 0.05 / np.sqrt(e), label="second")
    plots.log_axis(ax)
    plots.epoch_axis(ax)
    ax.set_ylabel("gradient norm")
    ax.set_title("log scale, grid on both")
    ax.grid(True, alpha=0.3, which="both")
    ax.legend(loc="best")


def _short_log(ax: Any) -> None:  # minor ticks labelled (2×10⁻¹ ...)
    ax.plot([1, 2, 3], [0.15, 0.3, 0.45])
    plots.log_axis(ax)
    ax.set_xlabel("x")
    ax.set_ylabel("y")


def _turned_names(ax: Any) -> None:  # a confusion matrix's names, turned
    ax.imshow(np.arange(36).reshape(6, 6), cmap="Blues")
    names = [f"class number {i}" for i in range(6)]
    ax.set_xticks(range(6), names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(6), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")


def _offset(ax: Any) -> None:  # an offset text: left to matplotlib
    ax.plot([1000.1, 1000.2, 1000.3], [1, 2, 3])
    ax.set_xlabel("x")


@pytest.mark.parametrize("draw", [_log_lines, _short_log, _turned_names, _offset])
def test_flat_ticks_draw_the_same_pixels(draw: Callable[[Any], None]) -> None:
    images = []
    for flat in (False, True):
        fig, ax = plots.new_figure(figsize=(6, 4))
        draw(ax)
        plots.arrange(fig)
        if flat:
            ticks.flatten(fig)
            assert isinstance(ax.yaxis.get_major_locator(), NullLocator)  # drawn by nnrun.ticks
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba(), dtype=int))
    differ = np.abs(images[0] - images[1]).max(axis=2)
    assert differ.max() <= 2, (int((differ > 2).sum()), "pixels differ")


def test_an_offset_axis_keeps_its_own_ticks_and_the_other_is_flattened() -> None:
    fig, ax = plots.new_figure()
    _offset(ax)
    plots.arrange(fig)
    ticks.flatten(fig)
    assert not isinstance(ax.xaxis.get_major_locator(), NullLocator)
    assert isinstance(ax.yaxis.get_major_locator(), NullLocator)


def _bar(ax: Any, norm: Any) -> Any:
    """An image with a colour bar right of it, placed as `figure_cache.Sheet.colorbar` places it."""
    image = ax.imshow(np.linspace(0, 1, 48).reshape(6, 8), cmap="RdBu_r", norm=norm)
    plots.arrange(ax.figure, right=plots.COLORBAR_ROOM)
    box = ax.get_position()
    bar = ax.figure.colorbar(image, cax=ax.figure.add_axes((box.x1 + 0.03, box.y0, 0.03, box.height)))
    bar.set_label("p(class 1)")
    return bar


@pytest.mark.parametrize("bands", [True, False])
def test_a_colour_bar_s_ticks_on_its_far_side_draw_the_same_pixels(bands: bool) -> None:
    from matplotlib.colors import BoundaryNorm, Normalize

    images = []
    for flat in (False, True):
        fig, ax = plots.new_figure(figsize=(6, 4))
        bar = _bar(ax, BoundaryNorm(np.linspace(0, 1, 11), 256) if bands else Normalize(0, 37))
        if flat:
            ticks.flatten(fig)
            assert isinstance(bar.ax.yaxis.get_major_locator(), NullLocator)  # drawn by nnrun.ticks
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba(), dtype=int))
    differ = np.abs(images[0] - images[1]).max(axis=2)
    assert differ.max() <= 2, (int((differ > 2).sum()), "pixels differ")


def test_unflatten_gives_a_colour_bar_its_own_ticks_back() -> None:
    from matplotlib.colors import Normalize

    fig, ax = plots.new_figure(figsize=(6, 4))
    bar = _bar(ax, Normalize(0, 37))
    locator, pad = bar.ax.yaxis.get_major_locator(), bar.ax.yaxis.labelpad
    ticks.flatten(fig)
    ticks.unflatten(bar.ax)
    assert bar.ax.yaxis.get_major_locator() is locator and bar.ax.yaxis.labelpad == pad
    assert not [a for a in bar.ax.artists if isinstance(a, ticks._Group)]  # noqa: SLF001


def test_tick_labels_are_drawn_from_kept_layouts() -> None:
    fig, ax = plots.new_figure(figsize=(6, 4))
    _log_lines(ax)
    plots.arrange(fig)
    ticks.flatten(fig)
    fig.canvas.draw()
    assert ticks._OWN_LAYOUT  # noqa: SLF001 - no fallback to Text.draw label by label
    assert any(key[0] == "10⁻²" for key in ticks._LAYOUTS)  # noqa: SLF001 - a y tick label's layout kept
