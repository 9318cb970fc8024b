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
