"""The inspect pictures' own shortcuts draw what the matplotlib calls they replace draw."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_rgba_array

from nnrun import plots
from nnrun.inspect import plots as inspect_plots


@pytest.mark.parametrize(("k", "marker"), [(2, "o"), (2, "^"), (3, "o")])
def test_points_are_the_scatter_they_replace(k: int, marker: str) -> None:
    rng = np.random.default_rng(k)
    x, y = rng.normal(size=(30, 2)), rng.integers(0, k, 30)
    images = []
    for mine in (False, True):
        fig, ax = plots.new_figure(figsize=(4, 3))
        if mine:
            inspect_plots._points(ax, x, y, k, marker, "training rows", 45)  # noqa: SLF001
        else:
            palette = to_rgba_array(["#2166ac", "#b2182b"] if k == 2 else [f"C{i}" for i in range(10)])
            c = palette[y % len(palette)]
            ax.scatter(
                x[:, 0], x[:, 1], c=c, marker=marker, s=45, edgecolors="k", linewidths=0.6, label="training rows"
            )
        ax.legend(loc="upper right")
        fig.canvas.draw()
        images.append(np.asarray(fig.canvas.buffer_rgba(), dtype=int))
    assert np.array_equal(images[0], images[1])
